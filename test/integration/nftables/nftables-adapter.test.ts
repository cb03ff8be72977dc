import { createNftablesAdapter, NftablesAdapter } from '../../../adapters/nftables';
import { runCommand } from '../../../adapters/system/run-command';
import { action, mapping } from '../../unit/nftables/support';
import { buildTopology, describeAsRoot, FirewallTopology, hostFirewall, removeTopology, udpProbe, uniquePrefix } from './support/firewall-topology';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeAsRoot('nftables adapter in a private network namespace', () => {
  let topo: FirewallTopology | undefined;
  let fw: NftablesAdapter;
  const nft = (args: string[], input?: string) => runCommand('ip', ['netns', 'exec', topo!.router, 'nft', ...args], input !== undefined ? { input } : {});

  beforeAll(async () => {
    const probe = createNftablesAdapter({ wanInterfaces: ['wan0'] });
    topo = await buildTopology(uniquePrefix('hnf'), probe.hostAcceptRule());
    fw = createNftablesAdapter({ wanInterfaces: ['wan0'], netns: topo.router });
  });
  afterAll(async () => removeTopology(topo));
  beforeEach(async () => {
    await fw.uninstall();
    await fw.install();
  });

  it('installs idempotently, applies, and reads back typed entries', async () => {
    await fw.install();
    await fw.apply([action(), mapping({ externalPort: 3075, remoteHost: '198.51.100.2' })]);
    const contents = await fw.read();
    expect(contents.present).toBe(true);
    expect([...contents.chains].sort()).toEqual(['forward', 'prerouting']);
    expect(contents.entries).toHaveLength(2);
    const pinhole = contents.entries.find((e) => e.kind === 'pinhole')!;
    expect(pinhole).toMatchObject({ set: 'pinhole_ipv6', internalClient: '2001:db8:77::10', internalPort: 3074, protocol: 'udp', owner: 'n1#ipv6', timeoutSeconds: 3600 });
    expect(pinhole.expiresInSeconds).toBeGreaterThanOrEqual(3595);
    expect(contents.entries.find((e) => e.kind === 'port-mapping')).toMatchObject({ set: 'portmap_ipv4_rh', externalPort: 3075, remoteHost: '198.51.100.2', internalClient: '192.168.77.10' });
    // install again (daemon restart): the elements stay.
    await fw.install();
    expect((await fw.read()).entries).toHaveLength(2);
  });

  it('is idempotent: the same add twice, renew refreshes the timeout, delete of a missing element succeeds', async () => {
    await fw.apply([action({ leaseSeconds: 100 })]);
    await fw.apply([action({ leaseSeconds: 100 })]);
    let entries = (await fw.read()).entries;
    expect(entries).toHaveLength(1);
    expect(entries[0].timeoutSeconds).toBe(100);
    await fw.apply([action({ op: 'renew', key: 'renew', leaseSeconds: 500 })]);
    entries = (await fw.read()).entries;
    expect(entries).toHaveLength(1);
    expect(entries[0].timeoutSeconds).toBe(500);
    expect(entries[0].expiresInSeconds).toBeGreaterThanOrEqual(495);
    const del = action({ op: 'delete', key: 'del' });
    expect((await fw.apply([del])).feedback).toEqual([{ type: 'action-succeeded', key: 'del' }]);
    expect((await fw.apply([del, del, mapping({ op: 'delete', key: 'del2' })])).path).toBe('fast');
    expect((await fw.read()).entries).toEqual([]);
  });

  it('moves a mapping to another client in one call (the kernel refused the blind add)', async () => {
    await fw.apply([mapping()]);
    const report = await fw.apply([mapping({ key: 'b', grantId: 'b#ipv4', internalClient: '192.168.77.11' })]);
    expect(report.path).toBe('exact');
    const [entry] = (await fw.read()).entries;
    expect(entry).toMatchObject({ internalClient: '192.168.77.11', owner: 'b#ipv4', externalPort: 3074 });
  });

  it('lets the kernel expire a lease by itself', async () => {
    await fw.apply([action({ leaseSeconds: 2 }), mapping({ leaseSeconds: 2 })]);
    expect((await fw.read()).entries).toHaveLength(2);
    await sleep(3200);
    expect((await fw.read()).entries).toEqual([]);
  });

  it('reconciles after someone changed the table behind its back', async () => {
    const now = Date.now();
    const desired = [
      { kind: 'pinhole' as const, family: 'ipv6' as const, protocol: 'udp' as const, internalClient: '2001:db8:77::10', internalPort: 3074, remoteHost: '', remotePort: 0, owner: 'a#ipv6', leaseSeconds: 3600, expiresAt: now + 1000_000 },
      { kind: 'port-mapping' as const, family: 'ipv4' as const, protocol: 'tcp' as const, internalClient: '192.168.77.10', internalPort: 22, externalPort: 2222, remoteHost: '', remotePort: 0, owner: 'b#ipv4', leaseSeconds: 600, expiresAt: now + 300_000 },
    ];
    await fw.reconcile(desired);
    await nft(['delete', 'element', 'inet', 'homenet', 'pinhole_ipv6', '{ 2001:db8:77::10 . udp . 3074 }']);
    await nft(['add', 'element', 'inet', 'homenet', 'pinhole_ipv6', '{ 2001:db8:77::66 . tcp . 80 timeout 1h }']);
    await nft(['-f', '-'], 'delete element inet homenet portmap_ipv4 { tcp . 2222 }\nadd element inet homenet portmap_ipv4 { tcp . 2222 timeout 86400s comment "b#ipv4" : 192.168.77.10 . 22 }\n');
    const report = await fw.reconcile(desired);
    expect(report.plan.add.map((a) => a.entry.owner)).toEqual(['a#ipv6']);
    expect(report.plan.remove.map((r) => r.internalClient)).toEqual(['2001:db8:77::66']);
    expect(report.plan.correct.map((c) => c.entry.owner)).toEqual(['b#ipv4']);
    const entries = (await fw.read()).entries;
    expect(entries).toHaveLength(2);
    const pin = entries.find((e) => e.owner === 'a#ipv6')!;
    expect(Math.abs(pin.expiresInSeconds! - 1000)).toBeLessThanOrEqual(2);
    const map = entries.find((e) => e.owner === 'b#ipv4')!;
    expect(Math.abs(map.expiresInSeconds! - 300)).toBeLessThanOrEqual(2);
    expect((await fw.reconcile(desired)).plan.unchanged).toBe(2);
  });

  it('reinstalls a table someone deleted, and never touches the host table', async () => {
    const before = (await nft(['list', 'table', 'inet', 'filter'])).stdout;
    await nft(['delete', 'table', 'inet', 'homenet']);
    const report = await fw.reconcile([{ kind: 'pinhole', family: 'ipv6', protocol: 'udp', internalClient: '2001:db8:77::10', internalPort: 1, remoteHost: '', remotePort: 0, leaseSeconds: 0 }]);
    expect(report.installed).toBe(true);
    expect((await fw.read()).entries.map((e) => e.timeoutSeconds)).toEqual([0]);
    await fw.uninstall();
    await fw.uninstall();
    expect((await fw.read()).present).toBe(false);
    expect((await nft(['list', 'table', 'inet', 'filter'])).stdout).toBe(before);
    expect(before).toContain(fw.hostAcceptRule().replace(/ comment.*/, ''));
  });

  it('proves an IPv6 pinhole with real packets: dropped before, delivered with it, dropped after it expired', async () => {
    const t = topo!;
    const probe = () => udpProbe(t, { family: 'ipv6', address: t.lanHost.ipv6, port: 40000, listenPort: 40000 });
    expect(await probe()).toBe(false);
    await fw.apply([action({ internalPort: 40000, leaseSeconds: 3 })]);
    expect(await probe()).toBe(true);
    await sleep(3300);
    expect((await fw.read()).entries).toEqual([]);
    expect(await probe()).toBe(false);
  }, 20_000);

  it('proves an IPv4 port mapping (DNAT + mark) and a remote-host filter with real packets', async () => {
    const t = topo!;
    const probe = () => udpProbe(t, { family: 'ipv4', address: t.routerWan.ipv4, port: 41000, listenPort: 40001 });
    expect(await probe()).toBe(false);
    await fw.apply([mapping({ internalPort: 40001, externalPort: 41000, remoteHost: '198.51.100.99' })]);
    expect(await probe()).toBe(false); // mapped for another remote host only
    await fw.apply([mapping({ internalPort: 40001, externalPort: 41000, leaseSeconds: 3 })]);
    expect(await probe()).toBe(true);
    await fw.apply([mapping({ op: 'delete', internalPort: 40001, externalPort: 41000 })]);
    await fw.apply([mapping({ op: 'delete', internalPort: 40001, externalPort: 41000, remoteHost: '198.51.100.99' })]);
    expect(await probe()).toBe(false);
  }, 20_000);

  it('shows why the mark is needed: a host chain without the accept rule still drops', async () => {
    const t = topo!;
    await nft(['-f', '-'], `delete table inet filter\n${hostFirewall('')}`);
    try {
      await fw.apply([action({ internalPort: 40002 })]);
      expect(await udpProbe(t, { family: 'ipv6', address: t.lanHost.ipv6, port: 40002, listenPort: 40002 })).toBe(false);
    } finally {
      await nft(['-f', '-'], `delete table inet filter\n${hostFirewall(fw.hostAcceptRule())}`);
    }
    expect(await udpProbe(t, { family: 'ipv6', address: t.lanHost.ipv6, port: 40002, listenPort: 40002 })).toBe(true);
  }, 20_000);
});
