/**
 * Log bytes written while one LAN host is refused over and over (issue 9,
 * item 5): starts the gateway daemon (SQLite journal, firewall off, IGD
 * front on 127.0.0.1, log level info), sends N AddPinhole calls for another
 * host's address (each refused 606 by the requester-owns-target rule), stops
 * the daemon, and prints the bytes and lines its logger wrote.
 *
 * `--dist DIR` runs another compiled tree (e.g. the baseline
 * `/work/baseline/dist`) the same way, for a before/after.
 *
 * @example
 * ```sh
 * node dist/bench/refusal-logs.js --calls 10000
 * node dist/bench/refusal-logs.js --calls 10000 --dist /work/baseline/dist
 * ```
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type * as DaemonModule from '../plugin/gateway/gateway-daemon';
import type * as ConfigModule from '../plugin/gateway/gateway-config';
import type * as FrontModule from '../plugin/gateway/igd-front';
import type * as LogModule from '../plugin/gateway/structured-log';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  if (v === undefined) throw new Error(`--${name} needs a value`);
  return v;
}

const calls = Number(arg('calls', '10000'));
const concurrency = Number(arg('concurrency', '8'));
const dist = resolve(arg('dist', join(__dirname, '..')));
if (!Number.isInteger(calls) || calls < 1) throw new Error(`--calls must be a positive whole number, got ${calls}`);

const { startGatewayDaemon } = require(join(dist, 'plugin/gateway/gateway-daemon.js')) as typeof DaemonModule;
const { parseGatewayConfig } = require(join(dist, 'plugin/gateway/gateway-config.js')) as typeof ConfigModule;
const { startIgdFront } = require(join(dist, 'plugin/gateway/igd-front.js')) as typeof FrontModule;
const { createLogger } = require(join(dist, 'plugin/gateway/structured-log.js')) as typeof LogModule;

const FIREWALL_SERVICE = 'urn:schemas-upnp-org:service:WANIPv6FirewallControl:1';

function addPinholeBody(port: number): string {
  const args = `<RemoteHost></RemoteHost><RemotePort>0</RemotePort><InternalClient>2001:db8:77::99</InternalClient><InternalPort>${port}</InternalPort><Protocol>17</Protocol><LeaseTime>3600</LeaseTime>`;
  return `<?xml version="1.0"?>\r\n<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:AddPinhole xmlns:u="${FIREWALL_SERVICE}">${args}</u:AddPinhole></s:Body></s:Envelope>\r\n`;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'hn-bench-refusals-'));
  let bytes = 0;
  let lines = 0;
  const byMsg = new Map<string, number>();
  const log = createLogger({
    level: 'info',
    write: (line) => {
      bytes += Buffer.byteLength(line);
      lines++;
      const msg = (JSON.parse(line) as { msg: string }).msg;
      byMsg.set(msg, (byMsg.get(msg) ?? 0) + 1);
    },
  });
  const config = parseGatewayConfig({
    lan: { interfaces: ['lan-bench'] },
    wan: { interface: 'wan-bench', ipv4: { source: 'static', address: '198.51.100.1' } },
    firewall: { enabled: false },
    journal: { path: join(dir, 'state', 'gateway.db') },
    admin: { listen: null },
    devices: { watchNeighbours: false },
  });
  const loopback = { 'lan-bench': [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4' as const, mac: '00:00:00:00:00:00', internal: false, cidr: '127.0.0.1/8' }] };
  const daemon = await startGatewayDaemon({
    config,
    log,
    readNeighbours: null,
    startAdminApi: null,
    startLanObservation: null,
    startIgdFront: (decider, _cfg, l) => startIgdFront({ decider, lanInterfaces: ['lan-bench'], httpPort: 0, uuid: '00000000-0000-4000-a000-000000000001', log: l, interfaces: () => loopback, ssdp: false }),
  });
  const url = new URL(`${daemon.igdUrls[0]}`);
  const before = { bytes, lines };
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const controlPath = '/igd/ctl/IPv6Firewall';
  let sent = 0;
  const statuses = new Map<number, number>();
  const post = (port: number) =>
    new Promise<void>((done, fail) => {
      const body = addPinholeBody(port);
      const req = http.request(
        { host: url.hostname, port: Number(url.port), path: controlPath, method: 'POST', agent, headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: `"${FIREWALL_SERVICE}#AddPinhole"`, 'Content-Length': Buffer.byteLength(body) } },
        (res) => {
          statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
          res.resume();
          res.on('end', () => done());
        },
      );
      req.on('error', fail);
      req.end(body);
    });
  const started = Date.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (sent < calls) {
        sent++;
        await post(10_000 + (sent % 1000));
      }
    }),
  );
  const ms = Date.now() - started;
  agent.destroy();
  await daemon.stop();
  rmSync(dir, { recursive: true, force: true });
  console.log(`${calls} refused AddPinhole calls in ${ms} ms; HTTP statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
  console.log(`log while refusing (start-up excluded, stop included): ${bytes - before.bytes} B in ${lines - before.lines} lines; by msg ${JSON.stringify(Object.fromEntries(byMsg))}`);
  console.log(`from ${dist}`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.stack : error);
  process.exit(1);
});
