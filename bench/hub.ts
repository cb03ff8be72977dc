/**
 * Hub benchmark on the lab home (needs root): the agent-to-hub decision round
 * trip — a coordination ask from the console to `homenet serve --mode hub` on
 * the hub host (HTTP + JSON, a fresh connection each, the engine's decision and
 * the journal write included) — against the peer every agent already pays:
 * a UPnP AddPinhole round trip from the same console to the lab's miniupnpd,
 * in the same lab and the same run. Target: hub ask p50 ≤ 5 ms.
 *
 * `npm run bench -- hub`
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { labDown, labUp } from '../plugin/lab/lab';
import { startLabHub, stopLabHub } from '../plugin/lab/lab-hub';
import { describe, median } from './stats';

/** The decision round trip the issue asks for (p50, ms). */
const HUB_ASK_TARGET_MS = 5;

export async function benchHub(log: (line: string) => void, options: { runs?: number; warmup?: number } = {}): Promise<void> {
  const runs = options.runs ?? 200;
  const warmup = options.warmup ?? 20;
  if (process.getuid?.() !== 0) {
    log('hub: skipped (needs root for the lab home)');
    return;
  }
  const prefix = `bh${(process.pid % 1296).toString(36)}`;
  const lab = await labUp({ prefix });
  const hub = await startLabHub(lab.plan, { logLevel: 'warn', config: { leases: { maxPerClient: 100_000 }, hub: { auditSeconds: 0 } } });
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
    const asks = hub4.asks.slice(warmup);
    const renewals = hub4.renewals.slice(warmup);
    const addPinhole = upnp.warm.slice(warmup);
    log(`# agent -> hub decision round trip (console -> homenet hub on the hub host, HTTP+JSON, new connection each; ${warmup} warm-up, then ${runs}) vs UPnP AddPinhole console -> miniupnpd 2.3.1 (kept-alive), same lab, same run`);
    log(`hub ask (new need, IPv4)       ${describe(asks)}`);
    log(`hub ask (renewal)              ${describe(renewals)}`);
    log(`miniupnpd AddPinhole (peer)    ${describe(addPinhole)}`);
    log(`ratio hub ask / AddPinhole (median)  ${(median(asks) / median(addPinhole)).toFixed(2)}x`);
    log(`target hub ask p50 <= ${HUB_ASK_TARGET_MS} ms: ${median(asks).toFixed(2)} ms ${median(asks) <= HUB_ASK_TARGET_MS ? 'met' : 'NOT met'}`);
  } finally {
    await stopLabHub(hub);
    await labDown({ prefix });
  }
}
