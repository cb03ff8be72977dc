/**
 * `homenet serve --mode gateway [--config FILE]`: runs the gateway daemon on
 * the router (policy-enforcing IGD, nftables, journal, admin API) until
 * SIGTERM/SIGINT. Logs are JSON lines on stdout. A bad configuration exits 2
 * with a message naming the key and the value.
 *
 * @example
 * ```sh
 * homenet serve --mode gateway --config /etc/homenet/gateway.json
 * homenet serve --mode gateway --check --config gateway.json   # validate only
 * ```
 */
import { parseArgs } from 'node:util';
import { CliCommand, UsageError } from '../command';

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'run the gateway daemon on the router: a policy-enforcing IGD, nftables, a journal, an admin API',
  usage: 'homenet serve --mode gateway [--config FILE] [--check] [--log-level debug|info|warn|error]',
  async run(argv, io) {
    const { values } = parseArgs({
      args: argv,
      options: {
        mode: { type: 'string' },
        config: { type: 'string' },
        check: { type: 'boolean', default: false },
        'log-level': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    });
    if (values.mode !== 'gateway') throw new UsageError(values.mode === undefined ? "--mode is required (only 'gateway' exists)" : `unknown mode '${values.mode}' (only 'gateway' exists)`);
    const { loadGatewayConfig, parseGatewayConfig, GatewayConfigError, LOG_LEVELS } = require('../../gateway/gateway-config') as typeof import('../../gateway/gateway-config');
    let config;
    try {
      config = values.config ? loadGatewayConfig(values.config) : parseGatewayConfig({});
    } catch (error) {
      if (error instanceof GatewayConfigError || /config file/.test((error as Error).message)) {
        io.err(`homenet serve: ${(error as Error).message}`);
        return 2;
      }
      throw error;
    }
    const level = values['log-level'];
    if (level !== undefined) {
      if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, got '${level}'`);
      config = { ...config, log: { level: level as (typeof LOG_LEVELS)[number] } };
    }
    if (values.check) {
      io.out(JSON.stringify({ ok: true, config: { ...config, admin: { ...config.admin, ...(config.admin.token ? { token: '(set)' } : {}) } } }));
      return 0;
    }
    const { startGatewayDaemon } = require('../../gateway/gateway-daemon') as typeof import('../../gateway/gateway-daemon');
    const { createLogger } = require('../../gateway/structured-log') as typeof import('../../gateway/structured-log');
    const log = createLogger({ level: config.log.level, write: (line) => io.out(line.replace(/\n$/, '')) });
    const stop = io.interrupted();
    const daemon = await startGatewayDaemon({ config, log });
    await stop;
    await daemon.stop();
    return 0;
  },
};
