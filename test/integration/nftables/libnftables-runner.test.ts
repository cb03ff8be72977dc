/**
 * The in-process libnftables runner (what the gateway daemon uses inside the
 * router namespace) against the nft binary: the same script gives the same
 * table, read back through both. The runner works on its own process's
 * namespace, so the test runs it in a child process inside a private one.
 */
import { join } from 'node:path';
import { runCommand } from '../../../adapters/system/run-command';
import { createNftablesAdapter } from '../../../adapters/nftables';
import { describeAsRoot, uniquePrefix } from './support/firewall-topology';

const DIST = join(__dirname, '../../../dist/adapters/nftables');

const CHILD = `
const { createNftablesAdapter } = require(${JSON.stringify(DIST)});
const { libnftablesRunner } = require(${JSON.stringify(join(DIST, 'libnftables-runner'))});
(async () => {
  const fw = createNftablesAdapter({ table: 'hnlib', wanInterfaces: ['lo'], run: libnftablesRunner() });
  await fw.install();
  const base = { type: 'action', seq: 1, at: 0, op: 'add', gatewayId: 'gw', generation: 1, protocol: 'udp', remoteHost: '', remotePort: 0,
    leaseSeconds: 600, reason: { rule: 'test', code: 'test' } };
  const t0 = performance.now();
  const report = await fw.apply([
    { ...base, table: 'pinhole', family: 'ipv6', key: 'k6', grantId: 'n1#ipv6', needId: 'n1', internalClient: '2001:db8:77::10', internalPort: 3074 },
    { ...base, table: 'port-mapping', family: 'ipv4', key: 'k4', grantId: 'n1#ipv4', needId: 'n1', internalClient: '192.168.77.10', internalPort: 3074, externalPort: 3074 },
  ]);
  const applyMs = performance.now() - t0;
  const read = await fw.read();
  let failed;
  try { await libnftablesRunner()(['-f', '-'], 'add element inet nosuchtable nosuchset { 1 }\\n').then((r) => { failed = r; }); } catch (e) { failed = String(e); }
  process.stdout.write(JSON.stringify({ applyMs, feedback: report.feedback.length, entries: read.entries.map((e) => e.id ?? e), failed }));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`;

describeAsRoot('libnftables in-process runner', () => {
  const ns = `${uniquePrefix('lib')}-rt`;
  beforeAll(async () => {
    await runCommand('ip', ['netns', 'add', ns]);
  });
  afterAll(async () => {
    await runCommand('ip', ['netns', 'del', ns], { allowFailure: true });
  });

  it('applies and reads back what the nft binary sees, and reports nft errors', async () => {
    const child = await runCommand('ip', ['netns', 'exec', ns, process.execPath, '-e', CHILD], { allowFailure: true });
    expect(child.stderr).toBe('');
    const out = JSON.parse(child.stdout) as { applyMs: number; feedback: number; entries: unknown[]; failed: { code: number; stderr: string; argv: string[] } };
    expect(out.feedback).toBe(2);
    expect(out.entries).toHaveLength(2);
    expect(out.failed.code).toBe(1);
    expect(out.failed.stderr).toMatch(/No such file or directory/);
    expect(out.failed.argv[0]).toBe('libnftables');
    // The nft binary, from outside, sees the same two elements.
    const viaBinary = await createNftablesAdapter({ table: 'hnlib', wanInterfaces: ['lo'], netns: ns }).read();
    expect(viaBinary.present).toBe(true);
    expect(viaBinary.entries.map((e) => `${e.family} ${e.protocol} ${e.internalClient}:${e.internalPort}`).sort()).toEqual([
      'ipv4 udp 192.168.77.10:3074',
      'ipv6 udp 2001:db8:77::10:3074',
    ]);
  });
});
