import { VirtualTimeScheduler } from 'rxjs';
import { Action, Decision, NeedRequest, PolicyEngine, PolicyEvent, createPolicyEngine, PolicyConfig, NetworkFacts } from '../../../policies';

export interface Harness {
  engine: PolicyEngine;
  scheduler: VirtualTimeScheduler;
  decisions: Decision[];
  actions: Action[];
  /** Submit an event and return what it produced. */
  send(event: PolicyEvent): { decisions: readonly Decision[]; actions: readonly Action[] };
  /** Advance virtual time to `at` (ms), running due lease timers. */
  advanceTo(at: number): void;
  /** Acknowledge every add/renew action produced so far that is not yet acknowledged. */
  ackAll(): void;
}

export function harness(options: { config?: Partial<PolicyConfig>; network?: Partial<NetworkFacts> } = {}): Harness {
  const scheduler = new VirtualTimeScheduler();
  const engine = createPolicyEngine({ scheduler, ...options });
  const decisions: Decision[] = [];
  const actions: Action[] = [];
  engine.decisions$.subscribe((d) => decisions.push(d));
  engine.actions$.subscribe((a) => actions.push(a));
  let acked = 0;
  return {
    engine,
    scheduler,
    decisions,
    actions,
    send: (event) => engine.submit(event),
    advanceTo(at: number) {
      scheduler.maxFrames = at;
      scheduler.flush();
      scheduler.frame = Math.max(scheduler.frame, at);
    },
    ackAll() {
      const todo = actions.slice(acked);
      acked = actions.length;
      let uid = 100 + acked;
      for (const a of todo) {
        if (a.op === 'delete') continue;
        engine.submit({ type: 'action-succeeded', key: a.key, ...(a.table === 'pinhole' && a.op === 'add' ? { uniqueId: uid++ } : {}) });
      }
      acked = actions.length;
    },
  };
}

export const GW = 'gw';

export function gateway(extra: Partial<Extract<PolicyEvent, { type: 'gateway-seen' }>> = {}): PolicyEvent {
  return { type: 'gateway-seen', gatewayId: GW, bootId: 'boot-1', ...extra };
}

export function consoleDevice(id: string, n: number, extra: Partial<Extract<PolicyEvent, { type: 'device-seen' }>> = {}): PolicyEvent {
  return {
    type: 'device-seen',
    deviceId: id,
    kinds: [{ kind: 'game-console', evidence: 'dhcp-vendor-class' }],
    addresses: [{ address: `2001:db8:1::${n.toString(16)}` }, { address: `192.168.1.${n}` }],
    ...extra,
  };
}

export function need(id: string, deviceId: string, extra: Partial<NeedRequest> = {}): NeedRequest {
  return { id, requester: { deviceId }, protocol: 'udp', internalPort: 3074, family: 'both', class: 'game-session', ...extra };
}

export function submitNeed(id: string, deviceId: string, extra: Partial<NeedRequest> = {}): PolicyEvent {
  return { type: 'need-submitted', need: need(id, deviceId, extra) };
}
