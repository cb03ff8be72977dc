import { Observable, SchedulerLike, Subscription } from 'rxjs';
import { Action } from './model/action';
import { PolicyConfig, PolicyConfigInput, resolveConfig } from './model/config';
import { Decision, Verdict } from './model/decision';
import { Device } from './model/device';
import { PolicyEvent, EventType, GatewaySeen, NetworkChanged } from './model/event';
import { validateEvent } from './model/event-schema';
import { Gateway, Table, capacityOf, defaultGateway } from './model/gateway';
import { Grant } from './model/grant';
import { Need, NeedRequest } from './model/need';
import { DEFAULT_NETWORK, NetworkFacts } from './model/network';
import { Reason, reason } from './model/reason';
import { Inventory } from './inventory';
import { LeaseScheduler } from './lease-scheduler';
import { OutputBuffer, Step, EMPTY_STEP, assess } from './output';
import { Reconciler } from './reconciler';
import { Settlement } from './settlement';
import { OutputSubject } from './util/output-subject';
import { GrantRecord, HomeState, NeedRecord, TableRecord } from './state';

export type { Step } from './output';

/** Options of {@link createPolicyEngine}. */
export interface PolicyEngineOptions {
  /** The clock and timer source: `asyncScheduler` live, a `VirtualTimeScheduler`/`TestScheduler` for replay and tests. */
  scheduler: SchedulerLike;
  config?: PolicyConfigInput;
  /** Initial network facts (default: public IPv4, no transition). */
  network?: Partial<NetworkFacts>;
  /** Events to process as they arrive (same as calling {@link PolicyEngine.connect}). */
  events$?: Observable<PolicyEvent>;
  /** Check every submitted event's shape (default true). */
  validate?: boolean;
}

/** One need as the snapshot reports it. */
export interface NeedView {
  readonly need: Need;
  readonly verdict: Verdict;
  readonly reasons: readonly Reason[];
  readonly grantIds: readonly string[];
}

/** The desired state: what the engine wants to exist, sorted by id (JSON-serialisable). */
export interface EngineSnapshot {
  readonly at: number;
  readonly network: NetworkFacts;
  readonly gateways: readonly (Gateway & { readonly used: Record<Table, number>; readonly queued: Record<Table, number> })[];
  readonly devices: readonly Device[];
  readonly needs: readonly NeedView[];
  readonly grants: readonly Grant[];
}

/** Cheap counters after each step, on {@link PolicyEngine.state$}. */
export interface EngineStats {
  readonly at: number;
  readonly cause: EventType | 'lease-timer';
  readonly events: number;
  readonly devices: number;
  readonly needs: number;
  readonly grants: number;
  readonly pendingGrants: number;
  readonly queued: number;
}

/** The policy engine: see {@link createPolicyEngine}. */
export interface PolicyEngine {
  /**
   * Processes one event synchronously and returns what it produced (the same
   * decisions and actions are emitted on the Observables, in `seq` order).
   * Called from inside an output subscriber, the event is queued and processed
   * right after the current one; it then returns an empty step.
   */
  submit(event: PolicyEvent): Step;
  /**
   * Submits a need and returns its decision in the same tick: what a gateway
   * turns into the SOAP answer of an AddPinhole/AddPortMapping request.
   */
  request(need: NeedRequest): Decision;
  /** Processes every event of an Observable as it arrives. */
  connect(events$: Observable<PolicyEvent>): Subscription;
  /** Decisions and actions in `seq` order. */
  readonly output$: Observable<Decision | Action>;
  readonly decisions$: Observable<Decision>;
  readonly actions$: Observable<Action>;
  /** Counters after each step (computed only while observed). */
  readonly state$: Observable<EngineStats>;
  /** The current desired state (devices, needs, grants), sorted by id. O(n): not for the hot path. */
  snapshot(): EngineSnapshot;
  /** Stops the lease timer, completes the Observables, disconnects inputs. */
  dispose(): void;
  /** The resolved configuration the rules apply (lease caps, limits): callers that need a lease up front use these, never a copy. */
  readonly config: Readonly<PolicyConfig>;
}

function sortById<T extends { id: string }>(list: T[]): T[] {
  return list.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function grantOf(g: GrantRecord): Grant {
  const out: { -readonly [K in keyof Grant]: Grant[K] } = {
    id: g.id,
    needId: g.needId,
    class: g.class,
    gatewayId: g.gatewayId,
    table: g.table,
    family: g.family,
    protocol: g.protocol,
    internalClient: g.internalClient,
    internalPort: g.internalPort,
    remoteHost: g.remoteHost,
    remotePort: g.remotePort,
    leaseSeconds: g.leaseSeconds,
    leaseStartedAt: g.leaseStartedAt,
    expiresAt: g.expiresAt,
    renewAt: g.renewAt,
    generation: g.generation,
    state: g.state,
  };
  if (g.externalPort !== undefined) out.externalPort = g.externalPort;
  if (g.uniqueId !== undefined) out.uniqueId = g.uniqueId;
  return out;
}

/**
 * Creates a policy engine: a pure, deterministic state machine over plain
 * JSON events, with time taken from the given rxjs scheduler.
 *
 * @example
 * ```ts
 * import { VirtualTimeScheduler } from 'rxjs';
 * import { createPolicyEngine } from './policies';
 *
 * const engine = createPolicyEngine({ scheduler: new VirtualTimeScheduler() });
 * engine.actions$.subscribe((a) => console.log(a.op, a.table, a.key));
 * engine.submit({ type: 'gateway-seen', gatewayId: 'gw', bootId: '1' });
 * engine.submit({ type: 'device-seen', deviceId: 'console-a',
 *   kinds: [{ kind: 'game-console', evidence: 'dhcp-vendor-class' }],
 *   addresses: [{ address: '2001:db8:1::10' }, { address: '192.168.1.10' }] });
 * const decision = engine.request({ id: 'a-3074', requester: { deviceId: 'console-a' },
 *   protocol: 'udp', internalPort: 3074, family: 'both', class: 'game-session' });
 * decision.verdict; // 'granted': an IPv6 pinhole and an IPv4 mapping, two add actions
 * ```
 */
export function createPolicyEngine(options: PolicyEngineOptions): PolicyEngine {
  const scheduler = options.scheduler;
  const config = resolveConfig(options.config);
  const validate = options.validate !== false;
  const now = () => scheduler.now();
  const home = new HomeState({ ...DEFAULT_NETWORK, ...(options.network ?? {}) });
  const out = new OutputBuffer();
  const output = new OutputSubject<Decision | Action>();
  const decisionsOut = new OutputSubject<Decision>();
  const actionsOut = new OutputSubject<Action>();
  const stats = new OutputSubject<EngineStats>();
  let events = 0;
  let busy = false;
  let disposed = false;
  const backlog: PolicyEvent[] = [];
  const inputs = new Subscription();

  const leases = new LeaseScheduler(scheduler, () => run('lease-timer', undefined));
  const settlement = new Settlement(home, out, leases, config, now);
  const reconciler = new Reconciler(home, settlement, out, leases, config, now);
  const inventory = new Inventory(home);

  /** Processes one event (or, with `ev` undefined, the due lease renewals) as one step. */
  function run(cause: EventType | 'lease-timer', ev: PolicyEvent | undefined): Step {
    if (disposed) return EMPTY_STEP;
    busy = true;
    let step: Step;
    try {
      out.begin(cause, now());
      if (ev === undefined) reconciler.renewDue(now());
      else work(ev);
      settlement.finishStep();
      step = out.flush();
      leases.arm();
    } finally {
      busy = false;
    }
    // Emit in seq order; skip Subjects nobody listens to (hot path).
    if (step === EMPTY_STEP) {
      // nothing to emit
    } else if (output.observed) {
      for (const d of step.decisions) output.next(d);
      for (const a of step.actions) output.next(a);
    }
    if (step !== EMPTY_STEP) {
      if (decisionsOut.observed) for (const d of step.decisions) decisionsOut.next(d);
      if (actionsOut.observed) for (const a of step.actions) actionsOut.next(a);
    }
    if (stats.observed) {
      stats.next({
        at: now(),
        cause,
        events,
        devices: home.devices.size,
        needs: home.needs.size,
        grants: home.grantCount,
        pendingGrants: home.pendingCount,
        queued: home.queuedCount,
      });
    }
    while (!busy && backlog.length > 0) process(backlog.shift() as PolicyEvent);
    return step;
  }

  /** Settles a snapshot of the needs (the collection may change while settling). */
  function settleAll(list: Iterable<NeedRecord>): void {
    for (const nr of [...list]) settlement.settle(nr);
  }

  /** Settles needs from a fresh array nobody else holds (no copy needed). */
  function settleList(list: readonly NeedRecord[]): void {
    for (let i = 0; i < list.length; i++) settlement.settle(list[i]);
  }

  function gatewaySeen(ev: GatewaySeen): void {
    let gw = home.gateways.get(ev.gatewayId);
    const isNew = !gw;
    if (!gw) {
      gw = {
        facts: { ...defaultGateway(ev.gatewayId) },
        pinhole: new TableRecord(ev.gatewayId, 'pinhole'),
        'port-mapping': new TableRecord(ev.gatewayId, 'port-mapping'),
        routerHeld: new Set(),
        order: home.gateways.size,
      };
      home.gateways.set(ev.gatewayId, gw);
    }
    const f = gw.facts;
    const before = `${f.grade}|${f.pinholes}|${f.portMappings}|${f.firewallEnabled}|${f.inboundPinholeAllowed}`;
    const capBefore = [capacityOf(f, 'pinhole'), capacityOf(f, 'port-mapping')];
    const bootBefore = f.bootId;
    if (ev.grade !== undefined) f.grade = ev.grade;
    if (ev.pinholes !== undefined) f.pinholes = ev.pinholes;
    if (ev.portMappings !== undefined) f.portMappings = ev.portMappings;
    if (ev.firewallEnabled !== undefined) f.firewallEnabled = ev.firewallEnabled;
    if (ev.inboundPinholeAllowed !== undefined) f.inboundPinholeAllowed = ev.inboundPinholeAllowed;
    if (ev.pinholeCapacity !== undefined) f.pinholeCapacity = ev.pinholeCapacity ?? undefined;
    if (ev.portMappingCapacity !== undefined) f.portMappingCapacity = ev.portMappingCapacity ?? undefined;
    if (ev.bootId !== undefined) f.bootId = ev.bootId;
    if (isNew) {
      settleAll(home.waitingForGateway);
      return;
    }
    if (bootBefore !== undefined && ev.bootId !== undefined && ev.bootId !== bootBefore) {
      reconciler.reconcileGateway(gw, reason('router-feedback', 'gateway-rebooted', { detail: `boot id ${bootBefore} -> ${ev.bootId}: re-adding every active grant` }));
    }
    const after = `${f.grade}|${f.pinholes}|${f.portMappings}|${f.firewallEnabled}|${f.inboundPinholeAllowed}`;
    const tables: Table[] = ['pinhole', 'port-mapping'];
    tables.forEach((table, i) => {
      const cap = capacityOf(f, table);
      if (cap < capBefore[i]) {
        const tbl = gw[table];
        const why = reason('capacity', 'capacity-full', { conflictsWith: { kind: 'gateway', id: ev.gatewayId }, detail: `${table} capacity lowered to ${cap}` });
        while (tbl.grants.size > cap) settlement.evict(tbl.grants.peek() as GrantRecord, why);
      } else if (cap > capBefore[i]) settlement.markFreed(gw[table]);
    });
    if (after !== before) {
      reconciler.resettleTable(gw, 'pinhole');
      reconciler.resettleTable(gw, 'port-mapping');
    }
    settleAll(home.waitingForGateway);
  }

  function networkChanged(ev: NetworkChanged): void {
    const n = { ...home.network };
    if (ev.wanIpv4 !== undefined) n.wanIpv4 = ev.wanIpv4;
    if (ev.ipv4OverIpv6 !== undefined) n.ipv4OverIpv6 = ev.ipv4OverIpv6;
    if (ev.pref64 !== undefined) {
      if (ev.pref64 === null) delete (n as { pref64?: string }).pref64;
      else n.pref64 = ev.pref64;
    }
    home.network = n;
    // Rare event: every active need is re-settled (O(needs)).
    settleAll(home.needs.values());
  }

  function dispatch(ev: PolicyEvent): Step {
    events++;
    return run(ev.type, ev);
  }

  function work(ev: PolicyEvent): void {
    switch (ev.type) {
      case 'need-submitted':
        settlement.submit(ev.need);
        break;
      case 'need-ended':
        settlement.end(ev.needId, ev.why === 'released' ? 'need-released' : 'session-ended');
        break;
      case 'device-seen':
        settleList(inventory.seen(ev, now()));
        break;
      case 'device-left': {
        const detail = `${ev.deviceId} left the network`;
        for (const nr of inventory.left(ev.deviceId)) settlement.end(nr.need.id, 'device-left', detail);
        break;
      }
      case 'owner-allow': {
        const rec = home.devices.get(ev.deviceId);
        if (rec && rec.ownerAllowed !== ev.allowed) {
          rec.ownerAllowed = ev.allowed;
          settleList(inventory.affected(rec));
        }
        break;
      }
      case 'owner-port-opening': {
        const id = home.devices.has(ev.deviceId) ? ev.deviceId : inventory.resolve(ev.deviceId, []);
        const was = home.portOpeningDisabled.get(id);
        if (ev.allowed) home.portOpeningDisabled.delete(id);
        else home.portOpeningDisabled.set(id, ev.by ?? 'owner');
        if (was === home.portOpeningDisabled.get(id)) break;
        const rec = home.devices.get(id);
        settleList(rec ? inventory.affected(rec) : [...(home.needsByDevice.get(id) ?? [])]);
        break;
      }
      case 'network-changed':
        networkChanged(ev);
        break;
      case 'gateway-seen':
        gatewaySeen(ev);
        break;
      case 'gateway-rebooted': {
        const gw = home.gateways.get(ev.gatewayId);
        if (!gw) break;
        const previous = gw.facts.bootId;
        if (ev.bootId !== undefined) gw.facts.bootId = ev.bootId;
        reconciler.reconcileGateway(
          gw,
          reason('router-feedback', 'gateway-rebooted', { detail: `gateway rebooted${previous !== undefined && ev.bootId !== undefined ? ` (boot id ${previous} -> ${ev.bootId})` : ''}: re-adding every active grant` }),
        );
        break;
      }
      case 'action-succeeded':
        reconciler.succeeded(ev);
        break;
      case 'action-failed':
        reconciler.failed(ev);
        break;
      case 'capacity-exhausted':
        reconciler.capacityExhausted(ev);
        break;
      case 'tick':
        break;
    }
  }

  function process(event: PolicyEvent): Step {
    const ev = validate ? validateEvent(event) : event;
    if (busy) {
      backlog.push(ev);
      return EMPTY_STEP;
    }
    return dispatch(ev);
  }

  const engine: PolicyEngine = {
    config,
    submit: process,
    request(need: NeedRequest): Decision {
      const step = process({ type: 'need-submitted', need });
      const decision = step.decisions.find((d) => d.needId === need.id);
      if (!decision) throw new Error('request() cannot be called from inside an output subscriber');
      return decision;
    },
    connect(events$: Observable<PolicyEvent>): Subscription {
      const sub = events$.subscribe({ next: (e) => process(e) });
      inputs.add(sub);
      return sub;
    },
    output$: output.asObservable(),
    decisions$: decisionsOut.asObservable(),
    actions$: actionsOut.asObservable(),
    state$: stats.asObservable(),
    snapshot(): EngineSnapshot {
      const gateways = [...home.gateways.values()].map((gw) => ({
        ...gw.facts,
        used: { pinhole: gw.pinhole.grants.size, 'port-mapping': gw['port-mapping'].grants.size },
        queued: { pinhole: gw.pinhole.queue.size, 'port-mapping': gw['port-mapping'].queue.size },
      }));
      const grants: Grant[] = [];
      for (const gw of home.gateways.values()) {
        for (const g of gw.pinhole.grants.values()) grants.push(grantOf(g));
        for (const g of gw['port-mapping'].grants.values()) grants.push(grantOf(g));
      }
      const needs: NeedView[] = [...home.needs.values()].map((nr) => {
        const a = assess(nr);
        return { need: nr.need, verdict: a.verdict, reasons: a.reasons, grantIds: a.grants.map((g) => g.id) };
      });
      needs.sort((a, b) => (a.need.id < b.need.id ? -1 : a.need.id > b.need.id ? 1 : 0));
      return {
        at: now(),
        network: home.network,
        gateways: sortById(gateways),
        devices: sortById([...home.devices.values()].map((d) => JSON.parse(JSON.stringify(d)) as Device)),
        needs,
        grants: sortById(grants),
      };
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      leases.dispose();
      inputs.unsubscribe();
      output.complete();
      decisionsOut.complete();
      actionsOut.complete();
      stats.complete();
    },
  };
  if (options.events$) engine.connect(options.events$);
  return engine;
}
