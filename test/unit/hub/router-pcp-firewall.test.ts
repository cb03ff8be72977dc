import { randomBytes } from 'node:crypto';
import { VirtualTimeScheduler } from 'rxjs';
import { PcpClient } from '../../../adapters/pcp';
import type { Action } from '../../../policies/model/action';
import { RouterPcpApplyError, RouterPcpFirewall, RouterPcpFirewallEvent, RouterPortMismatchError } from '../../../plugin/hub/router-pcp-firewall';
import { probeRouterPcp } from '../../../plugin/hub/router-pcp-probe';
import { advance, FakePcpTransport, settle } from '../pcp/fake-pcp-transport';
import { FakePcpRouter } from './router-fake-pcp';

const HUB4 = '192.168.77.5';
const HUB6 = '2001:db8:77::5';
const CONSOLE4 = '192.168.77.10';
const CONSOLE6 = '2001:db8:77::10';

function action(over: Partial<Action> & Pick<Action, 'op'>): Action {
  const family = over.family ?? 'ipv4';
  return {
    type: 'action',
    seq: 0,
    at: 0,
    table: family === 'ipv4' ? 'port-mapping' : 'pinhole',
    key: `${over.op}|${family}|${over.internalPort ?? 3074}`,
    gatewayId: 'router',
    grantId: 'grant-1',
    needId: 'need-1',
    generation: 1,
    family,
    protocol: 'udp',
    internalClient: family === 'ipv4' ? CONSOLE4 : CONSOLE6,
    internalPort: 3074,
    ...(family === 'ipv4' ? { externalPort: 3074 } : {}),
    remoteHost: '',
    remotePort: 0,
    leaseSeconds: 3600,
    reason: { rule: 'lease-policy', code: 'need-released' },
    ...over,
  };
}

function world(options: { secret?: Buffer; router?: FakePcpRouter } = {}) {
  const scheduler = options.router?.scheduler ?? new VirtualTimeScheduler();
  const router = options.router ?? new FakePcpRouter(scheduler);
  const v4 = router.client(HUB4, '192.168.77.1');
  const v6 = router.client(HUB6, '2001:db8:77::1');
  const firewall = new RouterPcpFirewall({ ipv4: v4.client, ipv6: v6.client, scheduler, now: () => scheduler.now(), ...(options.secret ? { nonceSecret: options.secret } : {}) });
  const events: RouterPcpFirewallEvent[] = [];
  firewall.events$.subscribe((e) => events.push(e));
  return { scheduler, router, firewall, events, v4, v6 };
}

/** Waits for a promise whose answers come on microtasks. */
async function done<T>(p: Promise<T>): Promise<T> {
  const outcome = p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  for (let i = 0; i < 5; i++) await settle();
  const o = await outcome;
  if (!o.ok) throw o.error;
  return o.value;
}

/** Moves virtual time in 1 s steps, letting answers through after each. */
async function pass(scheduler: VirtualTimeScheduler, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 1000) {
    await settle(); // answers already on their way arrive before time moves
    advance(scheduler, Math.min(1000, ms - t));
    for (let i = 0; i < 3; i++) await settle();
  }
}

describe('RouterPcpFirewall: the hub programs the router over PCP THIRD_PARTY', () => {
  it('maps an IPv4 port for the console: THIRD_PARTY, the settled port with PREFER_FAILURE, the lease as lifetime; list shows the time left', async () => {
    const { router, firewall, scheduler } = world();
    await done(firewall.apply([action({ op: 'add' })]));
    const request = router.requests.find((r) => r.opcode === 'map')!;
    expect(request).toMatchObject({ lifetime: 3600, mapping: { internalPort: 3074, externalPort: 3074, protocol: 17 } });
    expect(request.options).toEqual(expect.arrayContaining([{ type: 'third-party', address: CONSOLE4 }, { type: 'prefer-failure' }]));
    expect(router.alive()).toEqual([expect.objectContaining({ internalAddress: CONSOLE4, externalPort: 3074 })]);
    advance(scheduler, 600_000);
    expect(await firewall.list()).toEqual([
      expect.objectContaining({ kind: 'port-mapping', family: 'ipv4', internalClient: CONSOLE4, externalPort: 3074, owner: 'grant-1', timeoutSeconds: 3600, expiresInSeconds: 3000 }),
    ]);
  });

  it('opens an IPv6 pinhole over the IPv6 client; delete sends lifetime 0 and the router forgets it', async () => {
    const { router, firewall } = world();
    await done(firewall.apply([action({ op: 'add', family: 'ipv6' })]));
    expect(router.alive()).toEqual([expect.objectContaining({ internalAddress: CONSOLE6, externalPort: 3074 })]);
    expect(router.requests[0].clientAddress).toBe(HUB6);
    await done(firewall.apply([action({ op: 'delete', family: 'ipv6' })]));
    expect(router.requests[router.requests.length - 1]).toMatchObject({ opcode: 'map', lifetime: 0 });
    expect(router.alive()).toEqual([]);
    expect(await firewall.list()).toEqual([]);
  });

  it('a delete of a mapping it does not hold is success and sends nothing', async () => {
    const { router, firewall } = world();
    await expect(done(firewall.apply([action({ op: 'delete', internalPort: 5000 })]))).resolves.toBeUndefined();
    expect(router.requests).toEqual([]);
  });

  it('the settled port taken on the router: PREFER_FAILURE makes it a clear failure, nothing is held', async () => {
    const { router, firewall } = world();
    router.taken.add('17|3074');
    const error = await done(firewall.apply([action({ op: 'add' })])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RouterPcpApplyError);
    expect((error as Error).message).toMatch(/CANNOT_PROVIDE_EXTERNAL/);
    expect(await firewall.list()).toEqual([]);
    expect(router.alive()).toEqual([]);
  });

  it('a router that ignores PREFER_FAILURE and gives another port: a RouterPortMismatchError, and its mapping is deleted', async () => {
    const { router, firewall } = world();
    router.taken.add('17|3074');
    router.honourPreferFailure = false;
    const error = (await done(firewall.apply([action({ op: 'add' })])).catch((e: unknown) => e)) as RouterPcpApplyError;
    expect(error).toBeInstanceOf(RouterPcpApplyError);
    expect(error.failures[0].error).toBeInstanceOf(RouterPortMismatchError);
    expect(error.message).toMatch(/external port 3075, not the settled 3074/);
    await done(Promise.resolve());
    expect(router.alive()).toEqual([]);
    expect(await firewall.list()).toEqual([]);
  });

  it('a lifetime the router caps is renewed before half of it, only for the time left, and the mapping is gone at the deadline', async () => {
    const { router, firewall, scheduler, events } = world();
    router.maxLifetime = 600;
    await done(firewall.apply([action({ op: 'add', leaseSeconds: 1000 })]));
    expect(router.alive()[0].expiresAtMs).toBe(600_000);
    await pass(scheduler, 280_000); // renewal at 0.45 × 600 s = 270 s
    const renewals = router.requests.filter((r) => r.opcode === 'map').slice(1);
    expect(renewals.map((r) => r.lifetime)).toEqual([730]);
    expect(events.filter((e) => e.type === 'renewed')).toHaveLength(1);
    await pass(scheduler, 1000_000);
    const asked = router.requests.filter((r) => r.opcode === 'map').map((r) => r.lifetime);
    // Each renewal asks for what is left before the deadline at 1000 s; the last request deletes it (lifetime 0).
    expect(asked.slice(0, -1).every((l, i, all) => i === 0 || l < all[i - 1])).toBe(true);
    expect(asked[asked.length - 1]).toBe(0);
    expect(router.alive()).toEqual([]);
    expect(await firewall.list()).toEqual([]);
    expect(events[events.length - 1]).toMatchObject({ type: 'expired' });
  });

  it("a lease shorter than the router's minimum lifetime: the hub deletes the mapping at the lease's end", async () => {
    const { router, firewall, scheduler } = world();
    await done(firewall.apply([action({ op: 'add', leaseSeconds: 30 })]));
    expect(router.alive()[0].expiresAtMs).toBe(120_000); // miniupnpd's min_lifetime
    await pass(scheduler, 29_000);
    expect(router.alive()).toHaveLength(1);
    await pass(scheduler, 2000);
    expect(router.alive()).toEqual([]);
  });

  it('the router restarts and announces it: every held mapping is mapped again at once', async () => {
    const { router, firewall, scheduler, events } = world();
    await done(firewall.apply([action({ op: 'add' }), action({ op: 'add', family: 'ipv6', grantId: 'grant-2' })]));
    await pass(scheduler, 10_000);
    router.restart(true);
    expect(router.alive()).toEqual([]);
    const before = scheduler.now();
    await pass(scheduler, 1000);
    expect(router.alive().map((m) => m.internalAddress).sort()).toEqual([CONSOLE4, CONSOLE6].sort());
    const remapped = events.filter((e) => e.type === 'remapped');
    expect(remapped).toHaveLength(2);
    expect(remapped.map((e) => e.type === 'remapped' && [e.state.epoch, e.elapsedMs < 1000])).toEqual([[0, true], [0, true]]);
    expect(scheduler.now() - before).toBeLessThanOrEqual(1000);
  });

  it('a restart the hub hears of only through the epoch of a later answer also brings its mappings back', async () => {
    const { router, firewall, scheduler, events } = world();
    await done(firewall.apply([action({ op: 'add' })]));
    await pass(scheduler, 60_000);
    router.restart(false);
    // Another entry's answer carries epoch 0: the first one is mapped again.
    await done(firewall.apply([action({ op: 'add', internalPort: 3075, externalPort: 3075, grantId: 'grant-2' })]));
    await pass(scheduler, 1000);
    expect(router.alive().map((m) => m.internalPort).sort()).toEqual([3074, 3075]);
    expect(events.filter((e) => e.type === 'remapped')).toHaveLength(1);
  });

  it('after a restart another host holds the port and the router ignores PREFER_FAILURE: the entry is lost, the other port deleted', async () => {
    const { router, firewall, scheduler, events } = world();
    router.honourPreferFailure = false;
    await done(firewall.apply([action({ op: 'add' })]));
    await pass(scheduler, 10_000);
    router.taken.add('17|3074'); // another host is quicker after the restart
    router.restart(true);
    await pass(scheduler, 1000);
    expect(events.map((e) => e.type)).toEqual(['lost']);
    expect(events[0]).toMatchObject({ type: 'lost', error: expect.any(RouterPortMismatchError) });
    expect(router.alive()).toEqual([]);
    expect(await firewall.list()).toEqual([]);
  });

  it('a renew with a longer lease keeps the nonce and moves the deadline', async () => {
    const { router, firewall, scheduler } = world();
    await done(firewall.apply([action({ op: 'add', leaseSeconds: 300 })]));
    await pass(scheduler, 100_000);
    await done(firewall.apply([action({ op: 'renew', leaseSeconds: 900 })]));
    const maps = router.requests.filter((r) => r.opcode === 'map');
    expect(maps.map((r) => r.opcode === 'map' && r.mapping.nonce.toString('hex')).every((n, _, all) => n === all[0])).toBe(true);
    expect((await firewall.list())[0].expiresInSeconds).toBe(900);
    await pass(scheduler, 400_000);
    expect(router.alive()).toHaveLength(1);
  });

  it('reconcile maps what is missing, unmaps orphans it holds, fixes deadlines', async () => {
    const { router, firewall, scheduler } = world();
    await done(firewall.apply([action({ op: 'add', grantId: 'keep', leaseSeconds: 600 }), action({ op: 'add', grantId: 'orphan', internalPort: 4000, externalPort: 4000 })]));
    const keep = { kind: 'port-mapping' as const, family: 'ipv4' as const, protocol: 'udp' as const, internalClient: CONSOLE4, internalPort: 3074, externalPort: 3074, remoteHost: '', remotePort: 0, owner: 'keep' };
    const summary = await done(
      firewall.reconcile([
        { ...keep, leaseSeconds: 600, expiresAt: scheduler.now() + 1_200_000 },
        { ...keep, kind: 'pinhole', family: 'ipv6', internalClient: CONSOLE6, externalPort: undefined, owner: 'new', leaseSeconds: 300 },
      ]),
    );
    expect(summary).toEqual({ added: 1, removed: 1, corrected: 1, unchanged: 0 });
    expect(router.alive().map((m) => `${m.internalAddress}/${m.internalPort}`).sort()).toEqual([`${CONSOLE6}/3074`, `${CONSOLE4}/3074`].sort());
    const listed = await firewall.list();
    expect(listed.map((e) => [e.owner, e.expiresInSeconds]).sort()).toEqual([['keep', 1200], ['new', 300]]);
    expect(await done(firewall.reconcile(listed.map((e) => ({ ...e, leaseSeconds: e.timeoutSeconds, expiresAt: scheduler.now() + e.expiresInSeconds! * 1000 }))))).toEqual({ added: 0, removed: 0, corrected: 0, unchanged: 2 });
  });

  it('the same secret gives the same nonces: a restarted hub takes over its mappings, another secret is refused', async () => {
    const secret = randomBytes(32);
    const first = world({ secret });
    await done(first.firewall.apply([action({ op: 'add' })]));
    // The hub dies (no delete); a new one with the same secret reconciles the journal's entry.
    const again = world({ secret, router: first.router });
    const desired = [{ kind: 'port-mapping' as const, family: 'ipv4' as const, protocol: 'udp' as const, internalClient: CONSOLE4, internalPort: 3074, externalPort: 3074, remoteHost: '', remotePort: 0, owner: 'grant-1', leaseSeconds: 3600 }];
    await expect(done(again.firewall.reconcile(desired))).resolves.toMatchObject({ added: 1 });
    const stranger = world({ secret: randomBytes(32), router: first.router });
    await expect(done(stranger.firewall.reconcile(desired))).rejects.toThrow(/NOT_AUTHORIZED/);
  });

  describe('on a miniupnpd 2.3.1-like router (a refreshed IPv6 pinhole cannot be deleted)', () => {
    const mini = () => {
      const scheduler = new VirtualTimeScheduler();
      const router = new FakePcpRouter(scheduler);
      router.flavour = 'miniupnpd-2.3.1';
      return world({ router, secret: Buffer.alloc(32, 7) });
    };

    it('an engine renew replaces the pinhole (delete, map) so a later delete still closes it', async () => {
      const { router, firewall, scheduler } = mini();
      await done(firewall.apply([action({ op: 'add', family: 'ipv6', leaseSeconds: 300 })]));
      await pass(scheduler, 10_000);
      await done(firewall.apply([action({ op: 'renew', family: 'ipv6', leaseSeconds: 900 })]));
      expect(router.requests.map((r) => r.lifetime)).toEqual([300, 0, 900]);
      expect((await firewall.list())[0].expiresInSeconds).toBe(900);
      await done(firewall.apply([action({ op: 'delete', family: 'ipv6' })]));
      expect(router.alive()).toEqual([]);
    });

    it("a pinhole the PCP client refreshed itself: the delete is refused, so it is cut to the router's shortest lifetime", async () => {
      const { router, firewall, scheduler, events } = mini();
      router.maxLifetime = 600;
      await done(firewall.apply([action({ op: 'add', family: 'ipv6', leaseSeconds: 3600 })]));
      await pass(scheduler, 280_000); // the client's renewal at 270 s refreshes it on the router
      expect(events.map((e) => e.type)).toEqual(['renewed']);
      await done(firewall.apply([action({ op: 'delete', family: 'ipv6' })]));
      expect(router.requests.slice(-2).map((r) => r.lifetime)).toEqual([0, 1]);
      expect(events[1]).toMatchObject({ type: 'delete-shortened', lifetimeSeconds: 120, error: expect.objectContaining({ resultName: 'NOT_AUTHORIZED' }) });
      expect(router.alive()[0].expiresAtMs - scheduler.now()).toBe(120_000);
      await pass(scheduler, 200_000); // and nobody renews it
      expect(router.alive()).toEqual([]);
      expect(await firewall.list()).toEqual([]);
    });

    it('a hub restarted with the same secret takes its pinhole over by replacing it, so it stays deletable', async () => {
      const first = mini();
      await done(first.firewall.apply([action({ op: 'add', family: 'ipv6' })]));
      const again = world({ router: first.router, secret: Buffer.alloc(32, 7) });
      const desired = { kind: 'pinhole' as const, family: 'ipv6' as const, protocol: 'udp' as const, internalClient: CONSOLE6, internalPort: 3074, remoteHost: '', remotePort: 0, owner: 'grant-1', leaseSeconds: 3600 };
      await expect(done(again.firewall.reconcile([desired]))).resolves.toMatchObject({ added: 1 });
      expect(first.router.requests.slice(-2).map((r) => r.lifetime)).toEqual([0, 3600]);
      await done(again.firewall.apply([action({ op: 'delete', family: 'ipv6' })]));
      expect(first.router.alive()).toEqual([]);
    });
  });

  it('an IPv6 entry without an IPv6 client, and an IPv4 pinhole, fail with a clear error', async () => {
    const scheduler = new VirtualTimeScheduler();
    const router = new FakePcpRouter(scheduler);
    const firewall = new RouterPcpFirewall({ ipv4: router.client(HUB4, '192.168.77.1').client, scheduler });
    await expect(done(firewall.apply([action({ op: 'add', family: 'ipv6' })]))).rejects.toThrow(/no PCP client toward the router for ipv6/);
    await expect(done(firewall.apply([action({ op: 'add', table: 'pinhole', externalPort: undefined })]))).rejects.toThrow(/IPv4 pinhole/);
    expect(() => new RouterPcpFirewall({})).toThrow(/needs a PCP client/);
  });
});

describe('probeRouterPcp: what the router offers the hub', () => {
  it('THIRD_PARTY allowed: the test mapping is granted and deleted again', async () => {
    const scheduler = new VirtualTimeScheduler();
    const router = new FakePcpRouter(scheduler);
    advance(scheduler, 5000);
    const { client } = router.client(HUB4, '192.168.77.1');
    const offer = await done(probeRouterPcp({ client, thirdPartyFor: CONSOLE4 }));
    expect(offer).toMatchObject({ pcp: true, thirdParty: 'allowed', version: 2, epoch: 5 });
    expect(router.alive()).toEqual([]);
    expect(router.requests.map((r) => [r.opcode, r.lifetime])).toEqual([['announce', 0], ['map', 120], ['map', 0]]);
  });

  it('THIRD_PARTY switched off (miniupnpd default): unsupported, with UNSUPP_OPTION in the detail', async () => {
    const scheduler = new VirtualTimeScheduler();
    const router = new FakePcpRouter(scheduler);
    router.allowThirdParty = false;
    const offer = await done(probeRouterPcp({ client: router.client(HUB4, '192.168.77.1').client, thirdPartyFor: CONSOLE4 }));
    expect(offer).toMatchObject({ pcp: true, thirdParty: 'unsupported', version: 2 });
    expect(offer.detail).toMatch(/UNSUPP_OPTION/);
  });

  it('no other host to test with: unknown; no answer at all: no PCP', async () => {
    const scheduler = new VirtualTimeScheduler();
    const router = new FakePcpRouter(scheduler);
    await expect(done(probeRouterPcp({ client: router.client(HUB4, '192.168.77.1').client }))).resolves.toMatchObject({ pcp: true, thirdParty: 'unknown' });
    const silent = new PcpClient({ transport: new FakePcpTransport(HUB4, '192.168.77.1', scheduler), scheduler, retransmission: { random: () => 0.5 } });
    const probing = probeRouterPcp({ client: silent, thirdPartyFor: CONSOLE4 });
    for (let i = 0; i < 20; i++) {
      advance(scheduler, 1000);
      await settle();
    }
    await expect(probing).resolves.toMatchObject({ pcp: false, thirdParty: 'unknown', detail: expect.stringMatching(/no PCP answer/) });
  });
});
