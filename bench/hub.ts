/**
 * Hub benchmark on the lab home (needs root): the agent-to-hub decision round
 * trip — a coordination ask from the console to `homenet serve --mode hub` on
 * the hub host (HTTP + JSON, a fresh connection each, the engine's decision and
 * the journal write included) — against the peer every agent already pays:
 * a UPnP AddPinhole round trip from the same console to the lab's miniupnpd,
 * in the same lab and the same run. Target: hub ask p50 ≤ 5 ms, on the default
 * miniupnpd where the hub decides and the agent applies; with PCP THIRD_PARTY
 * the hub also maps on the router before it answers (printed apart).
 *
 * Then the whole agent process: cold start of `homenet open --hub auto --once`
 * (DNS-SD browse, the ask, the hub's PCP THIRD_PARTY mapping) to a port a WAN
 * packet reaches, against `homenet open --once` alone (UPnP to miniupnpd), and
 * `--hub auto` in a home with no hub (the browse's timeout is the cost).
 *
 * `npm run bench -- hub`
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { labDown, labRebootRouter, labUp } from '../plugin/lab/lab';
import { labProbe } from '../plugin/lab/lab-probe';
import { startLabHub, stopLabHub } from '../plugin/lab/lab-hub';
import { describe, median } from './stats';

/** The decision round trip the issue asks for (p50, ms). */
const HUB_ASK_TARGET_MS = 5;

export async function benchHub(log: (line: string) => void, options: { runs?: number; warmup?: number; coldRuns?: number } = {}): Promise<void> {
  const runs = options.runs ?? 200;
  const warmup = options.warmup ?? 20;
  if (process.getuid?.() !== 0) {
    log('hub: skipped (needs root for the lab home)');
    return;
  }
  const prefix = `bh${(process.pid % 1296).toString(36)}`;
  // The decision round trip on the default miniupnpd (no THIRD_PARTY: the hub decides, the agent applies).
  const lab = await labUp({ prefix });
  let hub = await startLabHub(lab.plan, { logLevel: 'warn', config: { leases: { maxPerClient: 100_000 }, hub: { auditSeconds: 0 } } });
  try {
    const ns = lab.plan.hosts.console.namespace;
    const consoleV4 = lab.plan.hosts.console.interfaces[0].ipv4[0].address;
    const consoleV6 = lab.plan.hosts.console.interfaces[0].ipv6[0].address;
    const run = (script: string, args: string[]) => {
      const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, join(__dirname, script), ...args], { encoding: 'utf8', timeout: 300_000 });
      if (r.status !== 0) throw new Error(`${script} failed: ${r.stderr}`);
      return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number[]>;
    };
    const hub4 = run('hub-ask-timings.js', [hub.coordinationUrl, consoleV4, String(warmup + runs), '20000']);
    const upnp = run('upnp-agent-timings.js', [consoleV6, '1', String(warmup + runs)]);
    // The same asks when the hub applies them itself: the decision plus the PCP THIRD_PARTY MAP on the router before the answer.
    await stopLabHub(hub);
    await labRebootRouter({ prefix, keepLeases: false, pcpThirdParty: true });
    hub = await startLabHub(lab.plan, { logLevel: 'warn', config: { leases: { maxPerClient: 100_000 }, hub: { auditSeconds: 0 } } });
    const applied = run('hub-ask-timings.js', [hub.coordinationUrl, consoleV4, String(warmup + runs), '24000']);
    const asks = hub4.asks.slice(warmup);
    const renewals = hub4.renewals.slice(warmup);
    const addPinhole = upnp.warm.slice(warmup);
    log(`# agent -> hub decision round trip (console -> homenet hub on the hub host, HTTP+JSON, new connection each; ${warmup} warm-up, then ${runs}) vs UPnP AddPinhole console -> miniupnpd 2.3.1 (kept-alive), same lab, same run`);
    log(`hub ask (new need, IPv4)       ${describe(asks)}`);
    log(`hub ask (renewal)              ${describe(renewals)}`);
    log(`hub ask, hub applies (decision + PCP THIRD_PARTY MAP on the router)  new ${describe(applied.asks.slice(warmup))}`);
    log(`hub ask, hub applies, renewal  ${describe(applied.renewals.slice(warmup))}`);
    log(`miniupnpd AddPinhole (peer)    ${describe(addPinhole)}`);
    log(`ratio hub ask / AddPinhole (median)  ${(median(asks) / median(addPinhole)).toFixed(2)}x`);
    log(`target hub ask p50 <= ${HUB_ASK_TARGET_MS} ms: ${median(asks).toFixed(2)} ms ${median(asks) <= HUB_ASK_TARGET_MS ? 'met' : 'NOT met'}`);

    // Cold start, whole process, to a port a WAN packet reaches.
    const homenet = join(__dirname, '..', 'homenet.js');
    const coldRuns = options.coldRuns ?? 7;
    const coldStart = (port: number, extra: string[]): number => {
      const t0 = performance.now();
      const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, homenet, 'open', '--protocol', 'udp', '--port', String(port), '--family', 'ipv4', '--once', '--json', ...extra], { encoding: 'utf8', timeout: 60_000 });
      const ms = performance.now() - t0;
      if (r.status !== 0) throw new Error(`homenet open ${extra.join(' ')} failed (${r.status}): ${r.stdout}${r.stderr}`);
      return ms;
    };
    const delivered = async (port: number) => (await labProbe(lab.plan, { to: 'console', family: 'ipv4', port, timeoutMs: 1500 })).delivered;
    const viaHub: number[] = [];
    const alone: number[] = [];
    for (let i = 0; i < coldRuns; i++) {
      const p1 = 21000 + i;
      viaHub.push(coldStart(p1, ['--hub', 'auto']));
      if (!(await delivered(p1))) throw new Error(`port ${p1} opened through the hub carried no WAN packet`);
      const p2 = 22000 + i;
      alone.push(coldStart(p2, ['--via', 'upnp']));
      if (!(await delivered(p2))) throw new Error(`port ${p2} opened alone carried no WAN packet`);
    }
    await stopLabHub(hub);
    const noHub: number[] = [];
    for (let i = 0; i < coldRuns; i++) noHub.push(coldStart(23000 + i, ['--hub', 'auto', '--via', 'upnp']));
    log(`# cold start, whole process, to a port a WAN packet reaches (console namespace, IPv4, --once; ${coldRuns} runs each, same lab)`);
    log(`homenet open --hub auto (hub applies, PCP THIRD_PARTY)  ${describe(viaHub)}`);
    log(`homenet open --via upnp (alone, peer)                   ${describe(alone)}`);
    log(`homenet open --hub auto, no hub on the LAN             ${describe(noHub)}`);
    log(`ratio --hub auto / alone (median)  ${(median(viaHub) / median(alone)).toFixed(2)}x; no hub / alone ${(median(noHub) / median(alone)).toFixed(2)}x`);
    hub = await startLabHub(lab.plan, { logLevel: 'warn', config: { hub: { auditSeconds: 0 } } }); // stopped in finally
  } finally {
    await stopLabHub(hub);
    await labDown({ prefix });
  }
}
