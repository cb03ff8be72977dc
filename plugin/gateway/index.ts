/**
 * Gateway mode's public surface (`homenet-controller/gateway`): load and check
 * a gateway config, and start the policy-enforcing IGD:2 daemon that
 * `homenet serve --mode gateway` runs (IGD front, nftables, SQLite journal,
 * admin API). A thin re-export: the modules behind it may move, these names
 * stay.
 *
 * @example
 * ```ts
 * import { loadGatewayConfig, startGatewayDaemon } from 'homenet-controller/gateway';
 *
 * const daemon = await startGatewayDaemon({ config: loadGatewayConfig('/etc/homenet/gateway.json') });
 * process.once('SIGTERM', () => void daemon.stop());
 * ```
 */
export { startGatewayDaemon } from './gateway-daemon';
export type { GatewayDaemon, GatewayDaemonOptions, GatewayDaemonServices, GatewayDaemonEvent } from './gateway-daemon';
export { loadGatewayConfig, parseGatewayConfig, GatewayConfigError, DEFAULT_GATEWAY_CONFIG } from './gateway-config';
export type { GatewayConfig } from './gateway-config';
