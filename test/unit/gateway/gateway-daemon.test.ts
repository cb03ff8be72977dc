import { GatewayDaemon } from '../../../plugin/gateway/gateway-daemon';
import { entryKey } from '../../../plugin/gateway/gateway-firewall';
import { advance, CONSOLE, CONSOLE2_V4, CONSOLE_V4, PLUG, PLUG_V4, requester, startTestDaemon, testConfig, testWorld, TestWorld } from './support';

const pinhole = (client: string, port: number, lease = 600) => ({ remoteHost: '', remotePort: 0, internalClient: client, internalPort: port, protocol: 'udp' as const, leaseSeconds: lease });
const mapping = (client: string, ext: number, lease = 600) => ({
  remoteHost: '', externalPort: ext, protocol: 'udp' as const, internalPort: ext, internalClient: client, enabled: true, description: 'test', leaseSeconds: lease,
});

describe('gateway daemon (in memory, virtual time)', () => {
  let world: TestWorld;
  let daemon: GatewayDaemon | undefined;

  beforeEach(() => {
    world = testWorld();
  });
  afterEach(async () => {
    await daemon?.stop();
    daemon = undefined;
  });

  it('grants a pinhole to its own requester: journal first, then the kernel entry with the client lease', async () => {
    daemon = await startTestDaemon(world);
    const answer = await daemon.decider.addPinhole(pinhole(CONSOLE, 3074), requester(CONSOLE));
    expect(answer).toEqual({ ok: true, value: { uniqueId: 1 } });
    expect(world.journal.liveNeeds(world.scheduler.now()).map((n) => n.id)).toEqual([`upnp6:udp:${CONSOLE}:3074:*:0`]);
    const entries = await world.firewall.list();
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ kind: 'pinhole', internalClient: CONSOLE, internalPort: 3074, owner: `upnp6:udp:${CONSOLE}:3074:*:0#ipv6` });
    expect(entries[0].expiresInSeconds).toBe(600);
    expect(daemon.engine.snapshot().grants.map((g) => g.state)).toEqual(['active']);
  });

  it('the same pinhole asked again keeps its UniqueID and extends the lease', async () => {
    daemon = await startTestDaemon(world);
    await daemon.decider.addPinhole(pinhole(CONSOLE, 3074, 100), requester(CONSOLE));
    await advance(world.scheduler, 50_000);
    const again = await daemon.decider.addPinhole(pinhole(CONSOLE, 3074, 100), requester(CONSOLE));
    expect(again).toEqual({ ok: true, value: { uniqueId: 1 } });
    expect((await world.firewall.list())[0].expiresInSeconds).toBe(100);
  });

  it("refuses a Matter device's own pinhole with 606, and the decision names the device", async () => {
    daemon = await startTestDaemon(world);
    const answer = await daemon.decider.addPinhole(pinhole(PLUG, 5540), requester(PLUG));
    expect(answer).toMatchObject({ ok: false, code: 606 });
    const denied = daemon.history.recent(10).find((d) => d.verdict === 'denied');
    expect(denied?.reasons[0]).toMatchObject({ rule: 'matter-isolation', code: 'matter-device-isolation', conflictsWith: { kind: 'device', id: 'plug' } });
    expect(await world.firewall.list()).toEqual([]);
    expect(world.journal.liveNeeds(world.scheduler.now())).toEqual([]);
    expect(world.lines.some((l) => l.msg === 'decision' && l.verdict === 'denied' && (l.conflictsWith as { id: string })?.id === 'plug')).toBe(true);
    const v4 = await daemon.decider.addPortMapping(mapping(PLUG_V4, 5540), requester(PLUG_V4));
    expect(v4).toMatchObject({ ok: false, code: 606 });
    // The wire answer carries the engine's reason and names the device.
    expect((answer as { description?: string }).description).toMatch(/^Action not authorized: matter-device-isolation — plug is matter/);
    expect((v4 as { description?: string }).description).toContain('matter-device-isolation');
  });

  it('the per-client cap is the engine\'s client-limit rule (leases.maxPerClient): the next need is 701/728, naming the rule', async () => {
    daemon = await startTestDaemon(world, testConfig({ leases: { maxPerClient: 2 } }));
    expect(daemon.engine.config.maxNeedsPerRequester).toBe(2);
    expect((await daemon.decider.addPinhole(pinhole(CONSOLE, 3074), requester(CONSOLE))).ok).toBe(true);
    expect((await daemon.decider.addPinhole(pinhole(CONSOLE, 3075), requester(CONSOLE))).ok).toBe(true);
    expect((await daemon.decider.addPinhole(pinhole(CONSOLE, 3074), requester(CONSOLE))).ok).toBe(true); // a renewal is not a new need
    const third = await daemon.decider.addPinhole(pinhole(CONSOLE, 3076), requester(CONSOLE));
    expect(third).toMatchObject({ ok: false, code: 701 });
    expect((third as { description?: string }).description).toMatch(/^PinholeSpaceExhausted: client-limit-reached — 2001:db8:77::10 already holds 2/);
    const decided = daemon.history.recent(20).find((d) => d.needId === `upnp6:udp:${CONSOLE}:3076:*:0`);
    expect(decided?.reasons[0]).toMatchObject({ rule: 'client-limit', code: 'client-limit-reached' });
    const v4 = await daemon.decider.addPortMapping(mapping(CONSOLE_V4, 3077), requester(CONSOLE_V4));
    expect(v4.ok).toBe(true); // another address of the same host is another requester
    expect(await daemon.decider.deletePinhole({ uniqueId: 1 }, requester(CONSOLE))).toEqual({ ok: true, value: undefined });
    expect((await daemon.decider.addPinhole(pinhole(CONSOLE, 3076), requester(CONSOLE))).ok).toBe(true);
  });

  it('the lease cap is the engine\'s: the deadline the client is promised and the grant agree', async () => {
    daemon = await startTestDaemon(world, testConfig({ leases: { capSeconds: { 'game-session': 120 } } }));
    await daemon.decider.addPinhole(pinhole(CONSOLE, 3074, 3600), requester(CONSOLE));
    const need = daemon.needs.list()[0];
    expect((need.deadline - world.scheduler.now()) / 1000).toBe(120);
    expect(need.grantedLeaseSeconds).toBe(120);
  });

  it('two consoles asking for the same external port: the second gets 718, AddAnyPortMapping another port', async () => {
    daemon = await startTestDaemon(world);
    expect(await daemon.decider.addPortMapping(mapping(CONSOLE_V4, 3074), requester(CONSOLE_V4))).toEqual({ ok: true, value: undefined });
    const taken = await daemon.decider.addPortMapping(mapping(CONSOLE2_V4, 3074), requester(CONSOLE2_V4));
    expect(taken).toMatchObject({ ok: false, code: 718 });
    // The engine decided it (exact-external-port: AddPortMapping takes no other port), naming who holds the port.
    const decided = daemon.history.recent(20).filter((d) => d.needId === `upnp4:udp:3074:*:${CONSOLE2_V4}`);
    expect(decided).toHaveLength(1);
    expect(decided[0].verdict).toBe('denied');
    expect(decided[0].reasons.map((r) => r.code)).toEqual(['external-port-unavailable', 'external-port-in-use']);
    expect(decided[0].reasons[0].conflictsWith).toEqual({ kind: 'need', id: `upnp4:udp:3074:*:${CONSOLE_V4}` });
    expect((taken as { description?: string }).description).toMatch(/^ConflictInMappingEntry: external-port-unavailable — external port 3074 is not available \(held by upnp4:udp:3074:\*:192\.168\.77\.10\)/);
    const any = await daemon.decider.addAnyPortMapping(mapping(CONSOLE2_V4, 3074), requester(CONSOLE2_V4));
    expect(any.ok).toBe(true);
    const port = (any as { value: { reservedPort: number } }).value.reservedPort;
    expect(port).not.toBe(3074);
    const keys = (await world.firewall.list()).map((e) => `${e.internalClient}:${e.externalPort}`).sort();
    expect(keys).toEqual([`${CONSOLE_V4}:3074`, `${CONSOLE2_V4}:${port}`].sort());
    expect(await daemon.decider.getPortMapping({ remoteHost: '', externalPort: 3074, protocol: 'udp' }, requester(CONSOLE2_V4))).toMatchObject({ ok: true, value: { internalClient: CONSOLE_V4 } });
  });

  it('delete, unknown UniqueID and somebody else\'s pinhole answer like miniupnpd (200, 402, 606)', async () => {
    daemon = await startTestDaemon(world);
    await daemon.decider.addPinhole(pinhole(CONSOLE, 3074), requester(CONSOLE));
    const notYours = await daemon.decider.deletePinhole({ uniqueId: 1 }, requester('2001:db8:77::11'));
    expect(notYours).toMatchObject({ ok: false, code: 606, description: `Action not authorized: target-not-owned — pinhole 1 belongs to ${CONSOLE}; only the client that opened it may change it; a device may only open ports to its own address` });
    expect(await daemon.decider.updatePinhole({ uniqueId: 99, leaseSeconds: 60 }, requester(CONSOLE))).toMatchObject({ ok: false, code: 402 });
    expect(await daemon.decider.deletePinhole({ uniqueId: 1 }, requester(CONSOLE))).toEqual({ ok: true, value: undefined });
    expect(await world.firewall.list()).toEqual([]);
    expect(daemon.engine.snapshot().grants).toEqual([]);
    expect(await daemon.decider.deletePortMapping({ remoteHost: '', externalPort: 9999, protocol: 'udp' }, requester(CONSOLE_V4))).toEqual({ ok: true, value: undefined });
    expect(await daemon.decider.getPortMappingAt(0, requester(CONSOLE_V4))).toMatchObject({ ok: false, code: 713 });
  });

  it('a lease that runs out ends the need: the kernel entry was set to expire at that instant, the engine lets go', async () => {
    daemon = await startTestDaemon(world);
    await daemon.decider.addPinhole(pinhole(CONSOLE, 3074, 30), requester(CONSOLE));
    await advance(world.scheduler, 29_000);
    expect(await world.firewall.list()).toHaveLength(1);
    expect(daemon.needs.size).toBe(1);
    await advance(world.scheduler, 2_000);
    expect(await world.firewall.list()).toEqual([]);
    expect(daemon.needs.size).toBe(0);
    expect(daemon.engine.snapshot().grants).toEqual([]);
  });

  it('engine renewals never push a kernel timeout past the client deadline', async () => {
    daemon = await startTestDaemon(world, testConfig({ leases: { capSeconds: { 'game-session': 100 } } }));
    await daemon.decider.addPinhole(pinhole(CONSOLE, 3074, 100), requester(CONSOLE));
    await advance(world.scheduler, 60_000); // the engine renews at 40 s
    expect(world.firewall.calls.filter((c) => c.startsWith('add')).length).toBeGreaterThan(1);
    expect((await world.firewall.list())[0].expiresInSeconds).toBeLessThanOrEqual(40);
  });

  it('recovers after a crash: journal needs re-granted with the lease left, orphans removed, missing entries added', async () => {
    daemon = await startTestDaemon(world);
    await daemon.decider.addPinhole(pinhole(CONSOLE, 3074, 600), requester(CONSOLE));
    await daemon.decider.addPortMapping(mapping(CONSOLE_V4, 3074, 600), requester(CONSOLE_V4));
    // "kill -9": no stop(); the kernel keeps its entries, one entry vanished, an orphan appeared.
    const before = await world.firewall.list();
    const pinholeEntry = before.find((e) => e.kind === 'pinhole')!;
    await world.firewall.apply([{ type: 'action', seq: 0, at: 0, op: 'delete', table: 'pinhole', key: 'x', gatewayId: 'local', grantId: 'x', needId: 'x', generation: 1, family: 'ipv6', protocol: 'udp', internalClient: pinholeEntry.internalClient, internalPort: 3074, remoteHost: '', remotePort: 0, leaseSeconds: 0, reason: { rule: 'lease-policy', code: 'need-released' } }]);
    await world.firewall.apply([{ type: 'action', seq: 0, at: 0, op: 'add', table: 'pinhole', key: 'y', gatewayId: 'local', grantId: 'orphan', needId: 'orphan', generation: 1, family: 'ipv6', protocol: 'tcp', internalClient: '2001:db8:77::99', internalPort: 8080, remoteHost: '', remotePort: 0, leaseSeconds: 900, reason: { rule: 'lease-policy', code: 'need-released' } }]);
    daemon.engine.dispose();
    daemon = undefined;
    await advance(world.scheduler, 100_000);

    daemon = await startTestDaemon(world);
    expect(daemon.recovery).toMatchObject({ resubmitted: 2, granted: 2, reconcile: { added: 1, removed: 1 } });
    const after = await world.firewall.list();
    expect(after.map(entryKey).sort()).toEqual(before.map(entryKey).sort());
    for (const e of after) expect(e.expiresInSeconds).toBeLessThanOrEqual(500);
    expect(daemon.engine.snapshot().grants.map((g) => g.state)).toEqual(['active', 'active']);
    // The UniqueID survives, and the next one is new.
    expect(daemon.needs.byUnique(1)?.request.internalClient).toBe(CONSOLE);
    expect(await daemon.decider.addPinhole(pinhole(CONSOLE, 3075), requester(CONSOLE))).toEqual({ ok: true, value: { uniqueId: 2 } });
  });

  it('a firewall that refuses the change answers 501 and keeps nothing', async () => {
    daemon = await startTestDaemon(world);
    world.firewall.failWith = new Error('nft: Operation not permitted');
    const failed = await daemon.decider.addPinhole(pinhole(CONSOLE, 3074), requester(CONSOLE));
    // The failure went back to the engine (action-failed) and its decision is the answer.
    expect(failed).toMatchObject({ ok: false, code: 501 });
    expect((failed as { reasons?: { code: string }[] }).reasons?.[0]?.code).toBe('router-rejected');
    expect((failed as { description?: string }).description).toMatch(/^Action Failed: router-rejected/);
    world.firewall.failWith = undefined;
    expect(daemon.needs.size).toBe(0);
    expect(world.journal.liveNeeds(world.scheduler.now())).toEqual([]);
  });

  it('a Matter device found through the neighbour table is isolated from a temporary address too', async () => {
    const config = testConfig({ devices: { known: [{ id: 'plug', kind: 'matter', mac: '02:00:00:00:00:20' }], watchNeighbours: true } });
    const temporary = '2001:db8:77:0:1234:5678:9abc:def0';
    daemon = await startTestDaemon(world, config, {
      readNeighbours: async () => [{ interface: 'lan0', address: temporary, mac: '02:00:00:00:00:20', state: ['REACHABLE'], router: false }],
    });
    const answer = await daemon.decider.addPinhole(pinhole(temporary, 5540), requester(temporary));
    expect(answer).toMatchObject({ ok: false, code: 606 });
    expect(daemon.engine.snapshot().devices.find((d) => d.id === 'plug')?.addresses.map((a) => a.address)).toContain(temporary);
  });

  it('upnp.answerAfter "journal" answers before the kernel is done; "firewall" (default) waits for it', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const apply = world.firewall.apply.bind(world.firewall);
    world.firewall.apply = async (actions) => {
      await gate;
      return apply(actions);
    };
    daemon = await startTestDaemon(world, testConfig({ upnp: { answerAfter: 'journal' } }));
    expect(await daemon.decider.addPinhole(pinhole(CONSOLE, 3074), requester(CONSOLE))).toEqual({ ok: true, value: { uniqueId: 1 } });
    expect(world.journal.liveNeeds(world.scheduler.now())).toHaveLength(1);
    expect(await world.firewall.list()).toEqual([]);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(await world.firewall.list()).toHaveLength(1);
    await daemon.stop();

    let answered = false;
    const gate2 = new Promise<void>((resolve) => (release = resolve));
    world.firewall.apply = async (actions) => {
      await gate2;
      return apply(actions);
    };
    daemon = await startTestDaemon(world);
    const pending = daemon.decider.addPinhole(pinhole(CONSOLE, 3075), requester(CONSOLE));
    void Promise.resolve(pending).then(() => (answered = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(answered).toBe(false);
    release();
    expect(await pending).toEqual({ ok: true, value: { uniqueId: 2 } });
  });

  it('stop drains the firewall queue, closes the journal, leaves kernel entries to their timeouts', async () => {
    daemon = await startTestDaemon(world);
    await daemon.decider.addPinhole(pinhole(CONSOLE, 3074), requester(CONSOLE));
    await daemon.stop();
    daemon = undefined;
    expect(world.journal.closed).toBe(true);
    expect(await world.firewall.list()).toHaveLength(1);
    expect(world.lines.some((l) => l.msg === 'stopped' && l.component === 'daemon')).toBe(true);
  });
});
