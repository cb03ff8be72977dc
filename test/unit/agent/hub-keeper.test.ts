/**
 * The agent's behaviour with a hub, driven through a scripted hub (HubCalls)
 * and scripted router application: who touches the router, what is reported,
 * what happens when the hub goes away and comes back. Time is virtual.
 */
import { BehaviorSubject, VirtualTimeScheduler } from 'rxjs';
import type { CoordinationAsk, CoordinationGrant, CoordinationOutcome, CoordinationRefusal } from '../../../plugin/hub/coordination-protocol';
import { HubAnswer, HubCalls, HubUnavailableError } from '../../../plugin/agent/hub-client';
import { HubKeeper, HubReachability } from '../../../plugin/agent/hub-keeper';
import type { Keeper } from '../../../plugin/agent/lease-keeper';
import type { Opened } from '../../../plugin/agent/protocol-race';
import type { OpenReachability, Reachability } from '../../../plugin/agent/reachability';
import { openPort } from '../../../plugin/agent/open-port';
import type { HostAddress } from '../../../adapters/observe/host-address';
import type { DiscoveredGateway } from '../../../adapters/upnp/gateway';
import { DiscoverGatewayOptions, GatewayNotFoundError } from '../../../adapters/upnp/gateway-discovery';

const URL_V4 = 'http://192.168.77.5:5390/homenet/v1';
const CLIENT = '192.168.77.10';

type Script = (HubAnswer | Error)[];

class ScriptedHub implements HubCalls {
  readonly url = URL_V4;
  readonly asks: { ask: CoordinationAsk; from: string }[] = [];
  readonly reports: { needId: string; outcome: CoordinationOutcome; from: string }[] = [];
  readonly ended: string[] = [];
  constructor(private readonly script: Script) {}
  async ask(ask: CoordinationAsk, from: string): Promise<HubAnswer> {
    this.asks.push({ ask, from });
    const next = this.script.length > 1 ? this.script.shift()! : this.script[0];
    if (next instanceof Error) throw next;
    return next;
  }
  async report(needId: string, outcome: CoordinationOutcome, from: string): Promise<CoordinationGrant> {
    this.reports.push({ needId, outcome, from });
    return grant('agent');
  }
  async end(needId: string): Promise<boolean> {
    this.ended.push(needId);
    return true;
  }
}

function grant(applier: 'hub' | 'agent', over: Partial<CoordinationGrant> = {}): CoordinationGrant {
  return {
    verdict: 'granted', needId: 'need-1', applier, family: 'ipv4', protocol: 'udp', internalClient: CLIENT, internalPort: 3074,
    externalPort: 3074, externalAddress: '203.0.113.7', leaseSeconds: 100, applied: applier === 'hub', reasons: [], ...over,
  };
}

const refusal: CoordinationRefusal = {
  verdict: 'denied', needId: 'need-9',
  reasons: [{ rule: 'matter-device-guard', code: 'device-protected', detail: 'the plug is a Matter device', conflictsWith: 'device:plug' }],
};

const down = () => new HubUnavailableError('refused', URL_V4, 'connection refused (no hub listening)');

/** A router application that records what it was asked and holds an open mapping. */
class ScriptedRouterSide {
  readonly applied: { how: 'settled' | 'alone'; externalPort?: number; client: string }[] = [];
  readonly closed: number[] = [];
  make(how: 'settled' | 'alone', client: string, externalPort: number, lease = 100): Opened {
    this.applied.push({ how, client, externalPort });
    const verdict: OpenReachability = {
      family: 'ipv4', verdict: 'open', reason: 'mapped', protocol: 'udp', externalAddress: '203.0.113.7', externalPort,
      internalClient: client, internalPort: 3074, leaseSeconds: lease, gateway: 'http://192.168.77.1:5000/rootDesc.xml',
    };
    const subject = new BehaviorSubject<Reachability | undefined>(verdict);
    const keeper: Keeper = {
      reachability$: subject.asObservable(),
      get reachability() { return subject.value; },
      internalClient: client,
      open: async () => verdict,
      renewNow: async () => verdict,
      moveTo: async () => verdict,
      close: async () => { this.closed.push(externalPort); },
      detach: () => undefined,
    };
    return { keeper, verdict, kind: 'upnp' };
  }
}

function keeperWith(hub: ScriptedHub, router: ScriptedRouterSide, scheduler?: VirtualTimeScheduler, logs: string[] = []) {
  return new HubKeeper({
    family: 'ipv4',
    hub,
    ask: { protocol: 'udp', internalPort: 3074, family: 'ipv4', leaseSeconds: 100 },
    applySettled: async (g, client) => router.make('settled', client, g.externalPort ?? 3074, g.leaseSeconds),
    applyAlone: async (client) => router.make('alone', client, 3074),
    log: (m) => logs.push(m),
    ...(scheduler ? { scheduler } : {}),
  });
}

async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe('HubKeeper', () => {
  test('a refusal: denied with the hub rule, code and detail, and the router is not touched', async () => {
    const hub = new ScriptedHub([{ kind: 'refusal', refusal }]);
    const router = new ScriptedRouterSide();
    const verdict = (await keeperWith(hub, router).open(CLIENT)) as HubReachability;
    expect(verdict.verdict).toBe('denied');
    expect(verdict.reason).toBe('the hub refused it: matter-device-guard device-protected: the plug is a Matter device (conflicts with device:plug)');
    expect(verdict.hub).toEqual({ url: URL_V4, needId: 'need-9', reasons: refusal.reasons, reachable: true });
    expect(router.applied).toEqual([]);
    expect(hub.asks).toEqual([{ ask: { protocol: 'udp', internalPort: 3074, family: 'ipv4', leaseSeconds: 100 }, from: CLIENT }]);
  });

  test("applier 'hub': open as the hub settled it, the router untouched, and asked again before half the lease", async () => {
    const scheduler = new VirtualTimeScheduler();
    const hub = new ScriptedHub([{ kind: 'grant', grant: grant('hub', { externalPort: 3075, verdict: 'granted-with-changes', reasons: [{ rule: 'port-settlement', code: 'external-port-taken', conflictsWith: 'need:console-1' }] }) }]);
    const router = new ScriptedRouterSide();
    const keeper = keeperWith(hub, router, scheduler);
    const verdict = (await keeper.open(CLIENT)) as HubReachability;
    expect(verdict).toMatchObject({ verdict: 'open', externalPort: 3075, externalAddress: '203.0.113.7', internalClient: CLIENT, leaseSeconds: 100, gateway: URL_V4 });
    expect(verdict.reason).toMatch(/conflicts with need:console-1/);
    expect(verdict.hub).toMatchObject({ applier: 'hub', needId: 'need-1', reachable: true });
    expect(router.applied).toEqual([]);
    scheduler.flush(); // runs the renewal timer (45 s of virtual time) ...
    await flush();
    expect(hub.asks.length).toBe(2); // ... which asked the hub again
    expect(router.applied).toEqual([]);
    await keeper.close();
    expect(hub.ended).toEqual(['need-1']);
  });

  test("applier 'agent': applies exactly the settled external port, reports the outcome, ends the need on close", async () => {
    const hub = new ScriptedHub([{ kind: 'grant', grant: grant('agent', { externalPort: 3080, verdict: 'granted-with-changes' }) }]);
    const router = new ScriptedRouterSide();
    const keeper = keeperWith(hub, router);
    const verdict = (await keeper.open(CLIENT)) as HubReachability;
    expect(router.applied).toEqual([{ how: 'settled', client: CLIENT, externalPort: 3080 }]);
    expect(hub.reports).toEqual([{ needId: 'need-1', outcome: { ok: true, via: 'upnp', externalPort: 3080, leaseSeconds: 100 }, from: CLIENT }]);
    expect(verdict).toMatchObject({ verdict: 'open', externalPort: 3080, hub: { applier: 'agent', needId: 'need-1', reachable: true } });
    await keeper.close();
    expect(router.closed).toEqual([3080]);
    expect(hub.ended).toEqual(['need-1']);
  });

  test('the hub unreachable: decides alone, says so once, re-asks at each renewal, and reconciles when it is back', async () => {
    const scheduler = new VirtualTimeScheduler();
    const hub = new ScriptedHub([down(), down(), { kind: 'grant', grant: grant('agent') }]);
    const router = new ScriptedRouterSide();
    const logs: string[] = [];
    const keeper = keeperWith(hub, router, scheduler, logs);
    const first = (await keeper.open(CLIENT)) as HubReachability;
    expect(first).toMatchObject({ verdict: 'open', hub: { reachable: false } });
    expect(first.hub!.detail).toMatch(/connection refused/);
    expect(router.applied).toEqual([{ how: 'alone', client: CLIENT, externalPort: 3074 }]);
    // Renewal 1: still down — no second log line, nothing applied again.
    scheduler.schedule(() => undefined, 46_000);
    scheduler.flush();
    await flush();
    expect(hub.asks.length).toBe(2);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toMatch(/decided by this host alone/);
    // Renewal 2: the hub is back and settles what the agent already holds: reported, not re-applied.
    scheduler.flush();
    await flush();
    expect(hub.asks.length).toBeGreaterThanOrEqual(3);
    expect(logs[1]).toMatch(/answers again/);
    expect(router.applied).toHaveLength(1);
    expect(hub.reports[0]).toMatchObject({ needId: 'need-1', outcome: { ok: true, externalPort: 3074 } });
    expect(keeper.reachability?.hub).toMatchObject({ reachable: true, applier: 'agent' });
    keeper.detach();
  });

  test('back from an outage with a different settled port: the mapping held alone is replaced by the settled one', async () => {
    const scheduler = new VirtualTimeScheduler();
    const hub = new ScriptedHub([down(), { kind: 'grant', grant: grant('agent', { externalPort: 3090 }) }]);
    const router = new ScriptedRouterSide();
    const keeper = keeperWith(hub, router, scheduler);
    await keeper.open(CLIENT);
    scheduler.flush();
    await flush();
    expect(router.closed).toEqual([3074]);
    expect(router.applied.map((a) => `${a.how} ${a.externalPort}`)).toEqual(['alone 3074', 'settled 3090']);
    keeper.detach();
  });
});

describe('openPort with a hub', () => {
  const v4: HostAddress = { interface: 'eth0', family: 'ipv4', address: CLIENT, prefixLength: 24, scope: 'private', temporary: false, deprecated: false, tentative: false, preferredLifetime: Infinity, validLifetime: Infinity };
  const routerTouched = () => {
    const asked: string[] = [];
    return {
      asked,
      discover: async (o: DiscoverGatewayOptions): Promise<DiscoveredGateway> => {
        asked.push(o.family ?? '?');
        throw new GatewayNotFoundError(100, [], 0);
      },
    };
  };

  test('a refusal is reported per family with the hub field and no gateway discovery at all', async () => {
    const hub = new ScriptedHub([{ kind: 'refusal', refusal }]);
    const { asked, discover } = routerTouched();
    const handle = await openPort({
      protocol: 'udp', port: 3074, family: 'ipv4', keepOpen: false, discover, addresses: { read: async () => [v4] },
      hub: { url: URL_V4, clientFor: () => hub },
    });
    expect(asked).toEqual([]);
    expect(handle.reachability).toHaveLength(1);
    expect(handle.reachability[0]).toMatchObject({ family: 'ipv4', verdict: 'denied', hub: { needId: 'need-9', reachable: true } });
    expect(hub.asks[0].from).toBe(CLIENT);
    handle.detach();
  });

  test("'auto' with no hub answering behaves exactly as without a hub", async () => {
    const without = routerTouched();
    const plain = await openPort({ protocol: 'udp', port: 3074, family: 'ipv4', keepOpen: false, discover: without.discover, addresses: { read: async () => [v4] } });
    const withAuto = routerTouched();
    const logs: string[] = [];
    const auto = await openPort({
      protocol: 'udp', port: 3074, family: 'ipv4', keepOpen: false, discover: withAuto.discover, addresses: { read: async () => [v4] },
      hub: { url: 'auto', discover: async () => undefined, log: (m) => logs.push(m) },
    });
    expect(auto.reachability).toEqual(plain.reachability);
    expect(withAuto.asked).toEqual(without.asked);
    expect(logs).toEqual(['no hub answered on this LAN (DNS-SD _homenet._tcp); deciding alone']);
    plain.detach();
    auto.detach();
  });

  test('a hub that is down: the agent decides alone (the router is asked) and the verdict says the hub was not reachable', async () => {
    const hub = new ScriptedHub([down()]);
    const { asked, discover } = routerTouched();
    const handle = await openPort({
      protocol: 'udp', port: 3074, family: 'ipv4', keepOpen: false, discover, addresses: { read: async () => [v4] },
      hub: { url: URL_V4, clientFor: () => hub },
    });
    expect(asked).toEqual(['ipv4']);
    expect(handle.reachability[0]).toMatchObject({ verdict: 'unsupported', hub: { reachable: false } });
    handle.detach();
  });

  test('a hub URL with only an IPv4 address leaves IPv6 to the agent alone, and says so', async () => {
    const hub = new ScriptedHub([{ kind: 'grant', grant: grant('hub') }]);
    const { asked, discover } = routerTouched();
    const logs: string[] = [];
    const handle = await openPort({
      protocol: 'udp', port: 3074, family: 'both', keepOpen: false, discover, addresses: { read: async () => [v4] },
      hub: { url: URL_V4, clientFor: () => hub, log: (m) => logs.push(m) },
    });
    expect(asked).toEqual(['ipv6']);
    expect(handle.reachability.map((r) => `${r.family} ${r.verdict}`)).toEqual(['ipv6 unsupported', 'ipv4 open']);
    expect(logs.join('\n')).toMatch(/cannot be asked over ipv6/);
    handle.detach();
  });
});
