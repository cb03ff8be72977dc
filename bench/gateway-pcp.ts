/**
 * Gateway PCP benchmark on the lab home (needs root): PCP MAPs per second
 * served by Debian's miniupnpd 2.3.1 and by `homenet serve --mode gateway`
 * (journal, engine, nftables, answer after the kernel holds the entry), in
 * the same lab and the same run, with the same client (our `adapters/pcp`
 * client in the console's namespace, sequential MAPs of new IPv6 pinholes and
 * IPv4 mappings, request sent to answer decoded). Each router starts fresh.
 *
 * `npm run bench -- gateway-pcp`
 */
import { labDown, labRebootRouter, labUp } from '../plugin/lab/lab';
import { useHomenetRouter } from '../plugin/lab/homenet-router';
import { startLabPcpClient, LabPcpClient } from '../plugin/lab/pcp-lab-client';
import { describe, median } from './stats';

export async function benchGatewayPcp(log: (line: string) => void, options: { runs?: number; warmup?: number } = {}): Promise<void> {
  const runs = options.runs ?? 200;
  const warmup = options.warmup ?? 20;
  if (process.getuid?.() !== 0) {
    log('gateway-pcp: skipped (needs root for the lab home)');
    return;
  }
  const prefix = `bq${(process.pid % 1296).toString(36)}`;
  const lab = await labUp({ prefix });
  const clients: LabPcpClient[] = [];
  const timesOf = async (family: 'ipv4' | 'ipv6', firstPort: number): Promise<{ times: number[]; perSecond: number }> => {
    const client = await startLabPcpClient(lab.plan, 'console', family);
    clients.push(client);
    const t0 = performance.now();
    const r = await client.command({ op: 'bench-map', firstPort, count: warmup + runs });
    const elapsed = performance.now() - t0;
    if (!r.ok) throw new Error(`PCP bench-map (${family}) failed: ${r.error?.message}`);
    const times = (r.times as number[]).slice(warmup);
    return { times, perSecond: ((warmup + runs) / elapsed) * 1000 };
  };
  try {
    await labRebootRouter({ prefix, keepLeases: false });
    const mu6 = await timesOf('ipv6', 30000);
    await labRebootRouter({ prefix, keepLeases: false });
    const mu4 = await timesOf('ipv4', 33000);
    await Promise.all(clients.splice(0).map((c) => c.stop()));
    // The same lab with our gateway as its router: the per-client cap and the PCP rate limit opened for the bench.
    await useHomenetRouter({ prefix, logLevel: 'warn', config: { leases: { maxPerClient: 100_000, maxPinholes: 100_000, maxPortMappings: 100_000 }, pcp: { requestsPerSecond: 100_000, burst: 100_000 } } });
    const hn6 = await timesOf('ipv6', 36000);
    const hn4 = await timesOf('ipv4', 39000);
    log(`# gateway PCP MAPs/s: miniupnpd 2.3.1 vs homenet gateway (our PCP client in the console namespace, sequential new mappings; ${warmup} warm-up, then ${runs})`);
    log(`miniupnpd  PCP MAP IPv6 pinhole  ${describe(mu6.times)}  ${mu6.perSecond.toFixed(0)} MAPs/s`);
    log(`homenet    PCP MAP IPv6 pinhole  ${describe(hn6.times)}  ${hn6.perSecond.toFixed(0)} MAPs/s`);
    log(`miniupnpd  PCP MAP IPv4 mapping  ${describe(mu4.times)}  ${mu4.perSecond.toFixed(0)} MAPs/s`);
    log(`homenet    PCP MAP IPv4 mapping  ${describe(hn4.times)}  ${hn4.perSecond.toFixed(0)} MAPs/s`);
    log(`ratio homenet / miniupnpd MAPs/s (median round trip)  IPv6 ${(median(mu6.times) / median(hn6.times)).toFixed(2)}x  IPv4 ${(median(mu4.times) / median(hn4.times)).toFixed(2)}x`);
  } finally {
    await Promise.all(clients.map((c) => c.stop()));
    await labDown({ prefix });
  }
}
