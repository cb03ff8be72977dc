/**
 * `homenet serve --mode gateway [--config FILE] [--state-dir DIR]`: runs the
 * gateway daemon on the router (policy-enforcing IGD, nftables, journal,
 * admin API) until SIGTERM/SIGINT. Logs are JSON lines on stdout.
 *
 * With no config file it starts on defaults: it finds the LAN and WAN
 * interfaces and logs which it chose and why, and creates the admin token
 * file (`/var/lib/homenet/admin-token`, 0600) and logs where it is (see
 * `plugin/gateway/effective-gateway-config.ts`). `--check` prints the
 * effective configuration as JSON (defaults filled in, the token redacted,
 * plus `chosen`: the interfaces and why, the token's origin) and exits 0,
 * creating nothing. A bad configuration — a bad key, interfaces it cannot choose, a
 * token file others can read — exits 2 with a message naming the key and the
 * value.
 *
 * `--mode hub` runs the same engine, journal and admin API on a LAN host
 * beside a router it does not run (`plugin/hub/hub-daemon.ts`): it follows its
 * default route to find the router, programs it with PCP THIRD_PARTY when the
 * router allows it, otherwise answers agents that apply its settled needs
 * themselves, and audits the router's mappings.
 *
 * @example
 * ```sh
 * homenet serve --mode gateway                                   # first start on a router
 * homenet serve --mode hub                                       # on a home hub beside the router
 * homenet serve --mode gateway --config /etc/homenet/gateway.json
 * homenet serve --mode gateway --check --config gateway.json     # validate, print the effective config
 * ```
 */
import { parseArgs } from 'node:util';
import { CliCommand, UsageError } from '../command';

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'run the daemon: on the router (--mode gateway: IGD, nftables) or beside it (--mode hub: PCP THIRD_PARTY, agents, audit)',
  usage: 'homenet serve --mode gateway|hub [--config FILE] [--state-dir DIR] [--check] [--log-level debug|info|warn|error]',
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        mode: { type: 'string' },
        config: { type: 'string' },
        'state-dir': { type: 'string' },
        check: { type: 'boolean', default: false },
        'log-level': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.mode !== 'gateway' && values.mode !== 'hub') throw new UsageError(values.mode === undefined ? "--mode is required: 'gateway' (on the router) or 'hub' (beside it)" : `unknown mode '${values.mode}' (use 'gateway' or 'hub')`);
    const mode = values.mode;
    const { readGatewayConfigFile, GatewayConfigError, LOG_LEVELS } = require('../../gateway/gateway-config') as typeof import('../../gateway/gateway-config');
    const { effectiveGatewayConfig, redactedGatewayConfig } = require('../../gateway/effective-gateway-config') as typeof import('../../gateway/effective-gateway-config');
    const level = values['log-level'];
    if (level !== undefined && !(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
    let effective;
    try {
      const read = values.config ? readGatewayConfigFile(values.config) : {};
      const fileMode = typeof read === 'object' && read !== null && !Array.isArray(read) ? (read as { mode?: unknown }).mode : undefined;
      if (fileMode !== undefined && fileMode !== mode) throw new GatewayConfigError('mode', fileMode, `"${mode}" as --mode says (or leave "mode" out of the file)`);
      const file = typeof read === 'object' && read !== null && !Array.isArray(read) ? { ...(read), mode } : read;
      effective = await effectiveGatewayConfig({ file, check: values.check, ...(values['state-dir'] !== undefined ? { stateDir: values['state-dir'] } : {}) });
    } catch (error) {
      if (error instanceof GatewayConfigError || /config file/.test((error as Error).message)) {
        io.err(`homenet serve: ${values.config && error instanceof GatewayConfigError ? `${values.config}: ` : ''}${(error as Error).message}`);
        return 2;
      }
      throw error;
    }
    let config = effective.config;
    if (level !== undefined) config = { ...config, log: { level: level as (typeof LOG_LEVELS)[number] } };
    if (values.check) {
      const { interfaces, token } = effective.chosen;
      io.out(JSON.stringify({ ok: true, config: redactedGatewayConfig({ ...effective, config }), chosen: { interfaces, token } }));
      return 0;
    }
    const { startGatewayDaemon } = require('../../gateway/gateway-daemon') as typeof import('../../gateway/gateway-daemon');
    const { createLogger } = require('../../gateway/structured-log') as typeof import('../../gateway/structured-log');
    const log = createLogger({ level: config.log.level, write: (line) => io.out(line.replace(/\n$/, '')) });
    const slog = log.child('serve');
    const { interfaces, token, stateDir } = effective.chosen;
    slog.info(interfaces.detected ? 'interfaces chosen' : 'interfaces configured', { wan: interfaces.wan, lan: interfaces.lan, whyWan: interfaces.why.wan, whyLan: interfaces.why.lan });
    if (token.path !== undefined) {
      slog.info(token.origin === 'created' ? 'admin token created' : 'admin token file', { path: token.path, stateDir, use: `Authorization: Bearer $(cat ${token.path})` });
    }
    const stop = io.interrupted();
    if (mode === 'hub') {
      const { startHubDaemonWithDefaults } = require('../../hub/hub-defaults') as typeof import('../../hub/hub-defaults');
      const hub = await startHubDaemonWithDefaults({ config, log });
      await stop;
      await hub.stop();
      return 0;
    }
    const daemon = await startGatewayDaemon({ config, log });
    await stop;
    await daemon.stop();
    return 0;
  },
};
