/**
 * PCP benchmark on the lab home (needs root), against the UPnP path in the
 * same lab and the same run: sequential PCP MAP round trips (our
 * `adapters/pcp` client in the console's namespace → Debian's miniupnpd, an
 * IPv6 pinhole each, request sent to answer decoded) against warm UPnP
 * AddPinhole calls (our `adapters/upnp` client on a kept-alive connection,
 * `upnp-agent-timings.ts`), printing both medians and their ratio. Both
 * paths start on a freshly restarted router (no lease file, flushed firewall)
 * and add the same number of entries without deleting, since miniupnpd's cost
 * per request grows with its table.
 *
 * `npm run bench -- pcp`
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { labDown, labRebootRouter, labUp } from '../plugin/lab/lab';
import { startLabPcpClient } from '../plugin/lab/pcp-lab-client';
import { describe, median } from './stats';

export async function benchPcp(log: (line: string) => void, options: { runs?: number; warmup?: number } = {}): Promise<void> {
  const runs = options.runs ?? 100;
  const warmup = options.warmup ?? 20;
  if (process.getuid?.() !== 0) {
    log('pcp: skipped (needs root for the lab home)');
    return;
  }
  const prefix = `bp${(process.pid % 1296).toString(36)}`;
  const lab = await labUp({ prefix });
  const pcp6 = await startLabPcpClient(lab.plan, 'console', 'ipv6');
  const pcp4 = await startLabPcpClient(lab.plan, 'console', 'ipv4');
  try {
    const client6 = pcp6.localAddress;
    const timesOf = async (client: typeof pcp6, firstPort: number, count: number): Promise<number[]> => {
      const r = await client.command({ op: 'bench-map', firstPort, count });
      if (!r.ok) throw new Error(`PCP bench-map failed: ${r.error?.message}`);
      return r.times as number[];
    };
    const ns = lab.plan.hosts.console.namespace;
    const upnp = spawnSync('ip', ['netns', 'exec', ns, process.execPath, join(__dirname, 'upnp-agent-timings.js'), client6, '1', String(runs + warmup)], { encoding: 'utf8', timeout: 300_000 });
    if (upnp.status !== 0) throw new Error(`UPnP timings failed: ${upnp.stderr}`);
    const { warm } = JSON.parse(upnp.stdout.trim().split('\n').pop()!) as { warm: number[] };
    const addPinhole = warm.slice(warmup);

    await labRebootRouter({ prefix, keepLeases: false });
    const map6 = (await timesOf(pcp6, 30000, warmup + runs)).slice(warmup);
    await labRebootRouter({ prefix, keepLeases: false });
    const map4 = (await timesOf(pcp4, 33000, warmup + runs)).slice(warmup);

    log(`# PCP MAP round trip vs UPnP AddPinhole (our clients -> miniupnpd 2.3.1, sequential, in the console namespace; ${warmup} warm-up requests each, then ${runs})`);
    log(`PCP MAP IPv6 pinhole            ${describe(map6)}`);
    log(`PCP MAP IPv4 mapping            ${describe(map4)}`);
    log(`UPnP AddPinhole (warm, keep-alive) ${describe(addPinhole)}`);
    log(`ratio AddPinhole / PCP MAP IPv6 (median)  ${(median(addPinhole) / median(map6)).toFixed(2)}x`);
  } finally {
    await pcp6.stop();
    await pcp4.stop();
    await labDown({ prefix });
  }
}
