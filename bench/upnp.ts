/**
 * UPnP client benchmarks on the lab home (needs root), each against a peer
 * measured in the same run:
 * 1. cold start to an open pinhole: `homenet open --once --family ipv6` (a
 *    whole process: Node start, discovery, description, GetFirewallStatus,
 *    AddPinhole) against `upnpc -6 ... -A` (miniupnpc, which waits a fixed 2 s
 *    for SSDP answers); plus the same path in-process (library);
 * 2. a warm AddPinhole on a kept-alive connection against a bare SOAP POST
 *    made with curl (`time_total` of each request).
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { labDown, labUp } from '../plugin/lab/lab';
import { describe, median } from './stats';

const HOMENET = join(__dirname, '../homenet.js'); // the bin users run
const CLIENT = '2001:db8:77::10';

function timed(args: string[], env: NodeJS.ProcessEnv = process.env): { ms: number; ok: boolean; out: string } {
  const t0 = performance.now();
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8', env });
  return { ms: performance.now() - t0, ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

function soapBody(port: number): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" s:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/">' +
    '<s:Body><u:AddPinhole xmlns:u="urn:schemas-upnp-org:service:WANIPv6FirewallControl:1"><RemoteHost></RemoteHost><RemotePort>0</RemotePort>' +
    `<InternalClient>${CLIENT}</InternalClient><InternalPort>${port}</InternalPort><Protocol>17</Protocol><LeaseTime>600</LeaseTime></u:AddPinhole></s:Body></s:Envelope>`
  );
}

export async function benchUpnp(log: (line: string) => void, options: { coldRuns?: number; warmRuns?: number } = {}): Promise<void> {
  const coldRuns = options.coldRuns ?? 7;
  const warmRuns = options.warmRuns ?? 50;
  if (process.getuid?.() !== 0) {
    log('upnp: skipped (needs root for the lab home)');
    return;
  }
  const prefix = `bn${(process.pid % 1296).toString(36)}`;
  const lab = await labUp({ prefix });
  const ns = lab.plan.hosts.console.namespace;
  const inNs = (cmd: string[]) => ['ip', 'netns', 'exec', ns, ...cmd];
  const env = { ...process.env, HOMENET_STATE_DIR: `${lab.plan.runDir}/agent-state` };
  try {
    // upnpc sends from the address the kernel picks — the RFC 8981 temporary one —
    // and miniupnpd refuses a pinhole for any other (606). Its pinhole is therefore
    // asked for that temporary address; ours for the stable one.
    const addrs = JSON.parse(timed(inNs(['ip', '-j', '-6', 'addr', 'show', 'dev', 'eth0'])).out) as { addr_info: { local: string; temporary?: boolean }[] }[];
    const temporary = addrs[0].addr_info.find((a) => a.temporary)?.local;
    if (!temporary) throw new Error('the lab console has no temporary address');
    const refused = timed(inNs(['upnpc', '-6', '-i', '-m', 'eth0', '-A', 'empty', '0', CLIENT, '44999', 'UDP', '600']));
    log(`upnpc -6 -A for the stable address ${CLIENT}: ${/failed with code (\d+)/.exec(refused.out)?.[0] ?? 'accepted'} (it sends from ${temporary})`);
    log('# UPnP: cold start to an open IPv6 pinhole (whole process, wall time)');
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < coldRuns; i += 1) {
      const a = timed(inNs([process.execPath, HOMENET, 'open', '--protocol', 'udp', '--port', String(44000 + i), '--family', 'ipv6', '--once', '--json']), env);
      if (!a.ok || !a.out.includes('"verdict":"open"')) throw new Error(`homenet open failed: ${a.out}`);
      ours.push(a.ms);
      const b = timed(inNs(['upnpc', '-6', '-i', '-m', 'eth0', '-A', 'empty', '0', temporary, String(44100 + i), 'UDP', '600']));
      if (!/Pinhole ID = \d+/.test(b.out)) throw new Error(`upnpc failed: ${b.out}`);
      theirs.push(b.ms);
    }
    log(`homenet open --once --family ipv6   ${describe(ours)}`);
    log(`upnpc -6 -A (miniupnpc 2.2.4)       ${describe(theirs)}`);
    log(`ratio upnpc / homenet (median)      ${(median(theirs) / median(ours)).toFixed(1)}x faster (target >= 10x)`);

    const inProcess = timed(inNs([process.execPath, join(__dirname, 'upnp-agent-timings.js'), CLIENT, String(coldRuns), String(warmRuns)]));
    if (!inProcess.ok) throw new Error(`in-process timings failed: ${inProcess.out}`);
    const { cold, warm, controlUrl } = JSON.parse(inProcess.out.trim().split('\n').pop()!) as { cold: number[]; warm: number[]; controlUrl: string };
    log(`library cold start (discover+description+AddPinhole, in-process) ${describe(cold)}`);
    log(`ratio upnpc / library cold start (median)  ${(median(theirs) / median(cold)).toFixed(1)}x`);

    log('# UPnP: warm AddPinhole (keep-alive) against a bare SOAP POST with curl');
    const curl: number[] = [];
    for (let i = 0; i < warmRuns; i += 1) {
      const r = timed(
        inNs([
          'curl', '-s', '-o', '/dev/null', '-w', '%{time_total}', '--interface', CLIENT,
          '-H', 'Content-Type: text/xml; charset="utf-8"',
          '-H', 'SOAPAction: "urn:schemas-upnp-org:service:WANIPv6FirewallControl:1#AddPinhole"',
          '--data-binary', soapBody(47000 + i), controlUrl,
        ]),
      );
      curl.push(Number(r.out.trim()) * 1000);
    }
    log(`homenet AddPinhole (warm)           ${describe(warm)}`);
    log(`curl AddPinhole (time_total)        ${describe(curl)}`);
    log(`ratio homenet / curl (median)       ${(median(warm) / median(curl)).toFixed(2)}x (target <= 1.2x)`);
  } finally {
    await labDown({ prefix });
  }
}
