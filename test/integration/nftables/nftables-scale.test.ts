import type { Action } from '../../../policies/model/action';
import { createNftablesAdapter, DesiredEntry } from '../../../adapters/nftables';
import { runCommand } from '../../../adapters/system/run-command';
import { action, mapping } from '../../unit/nftables/support';
import { describeAsRoot, uniquePrefix } from './support/firewall-topology';

/** Measured numbers, printed for the report (`npx jest test/integration/nftables/nftables-scale`). */
describeAsRoot('nftables adapter at scale', () => {
  const netns = uniquePrefix('hns');
  const fw = createNftablesAdapter({ wanInterfaces: ['wan0'], netns });
  beforeAll(async () => {
    await runCommand('ip', ['netns', 'add', netns]);
    await fw.install();
  });
  afterAll(async () => {
    await runCommand('ip', ['netns', 'delete', netns], { allowFailure: true });
  });

  const pinhole = (i: number): Action =>
    action({ key: `k${i}`, grantId: `g${i}`, internalClient: `2001:db8:77:${(i >> 16).toString(16)}::${(i & 0xffff).toString(16)}`, internalPort: 1000 + (i % 50000) });
  const desired = (n: number, now: number): DesiredEntry[] =>
    Array.from({ length: n }, (_, i) => ({
      kind: i % 2 ? ('port-mapping' as const) : ('pinhole' as const),
      family: i % 2 ? ('ipv4' as const) : ('ipv6' as const),
      protocol: 'udp' as const,
      internalClient: i % 2 ? `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` : `2001:db8:77::${i.toString(16)}`,
      internalPort: 3074,
      ...(i % 2 ? { externalPort: 1024 + (i >> 1) } : {}),
      remoteHost: '',
      remotePort: 0,
      owner: `g${i}`,
      leaseSeconds: 3600,
      expiresAt: now + 1800_000,
    }));

  it('applies one action per transaction in a few ms, batches faster', async () => {
    const n = 50;
    let t = performance.now();
    for (let i = 0; i < n; i++) await fw.apply([pinhole(i)]);
    const single = (performance.now() - t) / n;
    t = performance.now();
    const batch = Array.from({ length: 1000 }, (_, i) => pinhole(1000 + i));
    await fw.apply(batch);
    const batched = (performance.now() - t) / batch.length;
    t = performance.now();
    await fw.apply([mapping({ externalPort: 9 })]);
    const mapOne = performance.now() - t;
    expect((await fw.read()).entries).toHaveLength(n + 1000 + 1);
    process.stdout.write(`apply: ${single.toFixed(2)} ms/action one at a time, ${batched.toFixed(3)} ms/action in a batch of 1000, mapping ${mapOne.toFixed(2)} ms\n`);
    expect(single).toBeLessThan(500);
  }, 60_000);

  it.each([1000, 10_000])('reconciles %i elements from empty, then a 10%% drift, then a no-op', async (n) => {
    await fw.uninstall();
    await fw.install();
    const want = desired(n, Date.now());
    let t = performance.now();
    const fill = await fw.reconcile(want);
    const fillMs = performance.now() - t;
    expect(fill.plan.add).toHaveLength(n);
    // Drift: delete every 10th element behind our back, add n/10 orphans.
    const drift = want.filter((_, i) => i % 10 === 0).map((e) => `delete element inet homenet ${e.kind === 'pinhole' ? 'pinhole_ipv6' : 'portmap_ipv4'} { ${e.kind === 'pinhole' ? `${e.internalClient} . udp . 3074` : `udp . ${e.externalPort}`} }`);
    for (let i = 0; i < n / 10; i++) drift.push(`add element inet homenet pinhole_ipv4 { 10.99.${i >> 8}.${i & 255} . tcp . 80 timeout 1h }`);
    await runCommand('ip', ['netns', 'exec', netns, 'nft', '-f', '-'], { input: drift.join('\n') + '\n' });
    t = performance.now();
    const fix = await fw.reconcile(want);
    const fixMs = performance.now() - t;
    expect(fix.plan.add).toHaveLength(n / 10);
    expect(fix.plan.remove).toHaveLength(n / 10);
    t = performance.now();
    const noop = await fw.reconcile(want);
    const noopMs = performance.now() - t;
    expect(noop.plan.unchanged).toBe(n);
    t = performance.now();
    const read = await fw.read();
    const readMs = performance.now() - t;
    expect(read.entries).toHaveLength(n);
    process.stdout.write(
      `reconcile ${n}: fill ${fillMs.toFixed(0)} ms, 10% drift ${fixMs.toFixed(0)} ms, no-op ${noopMs.toFixed(0)} ms (read-back alone ${readMs.toFixed(0)} ms)\n`,
    );
  }, 120_000);
});
