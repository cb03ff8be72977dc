/**
 * Gateway benchmarks on the lab home (needs root), against miniupnpd in the
 * same run with the same client: the lab router first runs Debian's
 * miniupnpd, then `homenet serve --mode gateway`; one raw-SOAP client in the
 * console namespace (node, a fresh TCP connection per request, as upnpc
 * does) measures
 * 1. AddPinhole and AddPortMapping latency (sequential requests), and
 * 2. requests per second with 8 concurrent clients,
 * for miniupnpd, the homenet gateway as configured by default (answer once
 * the kernel holds the entry) and with `upnp.answerAfter: "journal"`; then
 * the homenet daemon's memory (RSS) with 1k and 10k grants.
 *
 * `npm run bench -- gateway`
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { labDown, labUp } from '../plugin/lab/lab';
import { LabPlan } from '../plugin/lab/lab-plan';
import { homenetRouterPaths, restartHomenetRouter, useHomenetRouter } from '../plugin/lab/homenet-router';
import { stopLabProcess } from '../plugin/lab/lab-process';
import { parseTableJson } from '../adapters/nftables/nft-json';
import { describe, median, percentile } from './stats';

/** The client: plain JS run with node inside the console namespace. Prints one JSON line. */
const CLIENT = String.raw`
const http = require('http');
const { performance } = require('perf_hooks');
const [mode, op, firstPortText, countText, concurrencyText, host6, client6, client4] = process.argv.slice(2);
const FC = 'urn:schemas-upnp-org:service:WANIPv6FirewallControl:1';
const IP = 'urn:schemas-upnp-org:service:WANIPConnection:2';
const paths = JSON.parse(process.env.PATHS);
function request(port) {
  const v6 = op === 'AddPinhole';
  const service = v6 ? FC : IP;
  const args = v6
    ? { RemoteHost: '', RemotePort: 0, InternalClient: client6, InternalPort: port, Protocol: 17, LeaseTime: 3600 }
    : { NewRemoteHost: '', NewExternalPort: port, NewProtocol: 'UDP', NewInternalPort: port, NewInternalClient: client4, NewEnabled: 1, NewPortMappingDescription: 'bench', NewLeaseDuration: 3600 };
  const body = '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body><u:' + op + ' xmlns:u="' + service + '">' +
    Object.entries(args).map(([k, v]) => '<' + k + '>' + v + '</' + k + '>').join('') + '</u:' + op + '></s:Body></s:Envelope>';
  return new Promise((resolve) => {
    const t0 = performance.now();
    const req = http.request({ host: v6 ? host6 : '192.168.77.1', port: 5000, method: 'POST', path: v6 ? paths.fc : paths.ip, localAddress: v6 ? client6 : client4, agent: false,
      headers: { 'Content-Type': 'text/xml; charset="utf-8"', SOAPAction: '"' + service + '#' + op + '"', 'Content-Length': Buffer.byteLength(body), Connection: 'close' } }, (res) => {
      res.resume(); res.on('end', () => resolve({ ms: performance.now() - t0, ok: res.statusCode === 200 }));
    });
    req.on('error', () => resolve({ ms: performance.now() - t0, ok: false }));
    req.end(body);
  });
}
(async () => {
  const first = Number(firstPortText), count = Number(countText), concurrency = Number(concurrencyText);
  const times = []; let failed = 0; let next = 0;
  const t0 = performance.now();
  const worker = async () => { while (next < count) { const port = first + next++; const r = await request(port); times.push(r.ms); if (!r.ok) failed++; } };
  await Promise.all(Array.from({ length: mode === 'latency' ? 1 : concurrency }, worker));
  console.log(JSON.stringify({ times, failed, seconds: (performance.now() - t0) / 1000 }));
})();
`;

interface ClientResult {
  times: number[];
  failed: number;
  seconds: number;
}

function runClient(plan: LabPlan, script: string, paths: { fc: string; ip: string }, mode: 'latency' | 'rps', op: 'AddPinhole' | 'AddPortMapping', firstPort: number, count: number, concurrency = 8): ClientResult {
  const client6 = plan.hosts.console.interfaces[0].ipv6.find((a) => a.kind === 'gua-stable')!.address;
  const client4 = plan.hosts.console.interfaces[0].ipv4[0].address;
  const r = spawnSync(
    'ip',
    ['netns', 'exec', plan.hosts.console.namespace, process.execPath, script, mode, op, String(firstPort), String(count), String(concurrency), plan.lan.routerIpv6, client6, client4],
    { encoding: 'utf8', env: { ...process.env, PATHS: JSON.stringify(paths) }, maxBuffer: 64 * 1024 * 1024, timeout: 600_000 },
  );
  if (r.status !== 0) throw new Error(`bench client failed: ${r.stderr}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ClientResult;
}

function controlPaths(plan: LabPlan): { fc: string; ip: string } {
  // Each server's own control URLs, read from its description (the client then posts to them).
  const desc = spawnSync('ip', ['netns', 'exec', plan.hosts.console.namespace, 'upnpc', '-i', '-m', 'eth0', '-l'], { encoding: 'utf8' }).stdout;
  const url = /desc: (http:\/\/[^\s]+)/.exec(desc)?.[1];
  if (!url) throw new Error(`no IGD found: ${desc}`);
  const xml = spawnSync('ip', ['netns', 'exec', plan.hosts.console.namespace, 'curl', '-s', url], { encoding: 'utf8' }).stdout;
  const control = (type: string) => {
    const at = xml.indexOf(type);
    const m = /<controlURL>([^<]+)<\/controlURL>/.exec(xml.slice(at));
    if (at < 0 || !m) throw new Error(`no ${type} in ${url}`);
    return m[1];
  };
  return { fc: control('WANIPv6FirewallControl:1'), ip: control('WANIPConnection:') };
}

/** Entries in the router's `inet homenet` table (each grant is one). */
function kernelEntries(plan: LabPlan): number {
  const r = spawnSync('ip', ['netns', 'exec', plan.hosts.router.namespace, 'nft', '-j', 'list', 'table', 'inet', 'homenet'], { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  return parseTableJson(r.stdout, 'homenet').entries.length;
}

function rssMiB(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return kb / 1024;
}

export async function benchGateway(log: (line: string) => void, options: { latencyRuns?: number; rpsRequests?: number } = {}): Promise<void> {
  if (process.getuid?.() !== 0) {
    log('gateway: skipped (needs root for the lab home)');
    return;
  }
  const latencyRuns = options.latencyRuns ?? 100;
  const rpsRequests = options.rpsRequests ?? 300;
  const prefix = `bg${(process.pid % 1296).toString(36)}`;
  const lab = await labUp({ prefix });
  const script = `${lab.plan.runDir}/gateway-bench-client.js`;
  writeFileSync(script, CLIENT);
  const results: Record<string, { latency: number[]; rps: number; failed: number }> = {};
  const measure = (who: string, portBase: number) => {
    const paths = controlPaths(lab.plan);
    for (const [op, offset] of [['AddPinhole', 0], ['AddPortMapping', 10000]] as const) {
      const latency = runClient(lab.plan, script, paths, 'latency', op, portBase + offset, latencyRuns);
      const rps = runClient(lab.plan, script, paths, 'rps', op, portBase + offset + 2000, rpsRequests);
      results[`${who} ${op}`] = { latency: latency.times, rps: rpsRequests / rps.seconds, failed: latency.failed + rps.failed };
      log(`${`${who} ${op}`.padEnd(45)} latency ${describe(latency.times)}  ${(rpsRequests / rps.seconds).toFixed(0)} req/s (8 clients)${latency.failed + rps.failed ? `  FAILED ${latency.failed + rps.failed}` : ''}`);
    }
  };
  try {
    log(`# gateway: the same raw-SOAP client (node, new connection per request), ${latencyRuns} sequential requests, then ${rpsRequests} with 8 concurrent clients`);
    measure('miniupnpd 2.3.1', 20000);
    const fill = { leases: { maxPerClient: 100_000, maxPinholes: 100_000, maxPortMappings: 100_000 } };
    let router = await useHomenetRouter({ prefix, config: fill, logLevel: 'warn' });
    const baseline = rssMiB(router.process.pid);
    measure('homenet gateway', 20000);
    // The same daemon answering once the need is journaled and granted (upnp.answerAfter "journal"), the kernel following.
    router = await restartHomenetRouter(lab.plan, router.process, 'SIGTERM', { config: { ...fill, upnp: { answerAfter: 'journal' } }, logLevel: 'warn' });
    measure('homenet (answer after journal)', 25000);
    for (const [who, op] of ['homenet gateway', 'homenet (answer after journal)'].flatMap((w) => ['AddPinhole', 'AddPortMapping'].map((o) => [w, o]))) {
      const ours = results[`${who} ${op}`];
      const theirs = results[`miniupnpd 2.3.1 ${op}`];
      log(
        `${`${who} ${op}`.padEnd(45)} median latency homenet/miniupnpd ${(median(ours.latency) / median(theirs.latency)).toFixed(2)}x, p90 ${(percentile(ours.latency, 90) / percentile(theirs.latency, 90)).toFixed(2)}x, ` +
          `throughput homenet/miniupnpd ${(ours.rps / theirs.rps).toFixed(2)}x (target: latency <= 1x, throughput >= 1x)`,
      );
    }
    // Memory: a fresh daemon (empty journal and table), filled to 1k and 10k grants (half pinholes, half mappings).
    await stopLabProcess(router.process, 5000, 'SIGKILL');
    const paths = homenetRouterPaths(lab.plan);
    for (const f of [paths.journal, `${paths.journal}-wal`, `${paths.journal}-shm`]) rmSync(f, { force: true });
    spawnSync('ip', ['netns', 'exec', lab.plan.hosts.router.namespace, 'nft', 'delete', 'table', 'inet', 'homenet']);
    router = await restartHomenetRouter(lab.plan, undefined, 'SIGTERM', { config: { ...fill, upnp: { answerAfter: 'journal' } }, logLevel: 'warn' });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const idle = rssMiB(router.process.pid);
    log(`homenet RSS idle ${idle.toFixed(1)} MiB (first start: ${baseline.toFixed(1)} MiB)`);
    const control = controlPaths(lab.plan);
    let pinholePort = 40000;
    let mappingPort = 50000;
    for (const target of [1000, 10000]) {
      const missing = target - kernelEntries(lab.plan);
      if (missing > 0) {
        const pinholes = Math.ceil(missing / 2);
        runClient(lab.plan, script, control, 'rps', 'AddPinhole', pinholePort, pinholes);
        pinholePort += pinholes;
        runClient(lab.plan, script, control, 'rps', 'AddPortMapping', mappingPort, missing - pinholes);
        mappingPort += missing - pinholes;
      }
      await new Promise((resolve) => setTimeout(resolve, 1000));
      const held = kernelEntries(lab.plan);
      const rss = rssMiB(router.process.pid);
      log(`homenet RSS with ${held} grants  ${rss.toFixed(1)} MiB (${(((rss - idle) * 1024 * 1024) / held).toFixed(0)} bytes per grant above the idle daemon)`);
    }
  } finally {
    await labDown({ prefix });
  }
}
