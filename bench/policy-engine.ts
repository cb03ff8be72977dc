/**
 * Benchmark of the policy engine: events per second on one core, p99 time per
 * event, memory per need, with 1k, 10k and 100k active needs over 10k
 * devices, and the growth of per-event cost from 1k to 100k needs. A naive
 * scan-based admission check over an array of needs runs on the same event
 * stream in the same process, so the numbers are relative to a peer.
 *
 * Run with `node --expose-gc` for meaningful memory numbers.
 *
 * @example
 * ```ts
 * import { benchPolicyEngine } from './policy-engine';
 * await benchPolicyEngine((line) => console.log(line));
 * ```
 */
import { performance } from 'node:perf_hooks';
import { VirtualTimeScheduler } from 'rxjs';
import { Action, NeedRequest, PolicyEngine, PolicyEvent, createPolicyEngine } from '../policies';
import { prng } from '../plugin/replay/synthetic-home';

const DEVICES = 10_000;
const GATEWAYS = 100; // 100 homes of 100 devices: one IPv4 port space per gateway
const SIZES = [1_000, 10_000, 100_000];
const TIMED_EVENTS = 40_000;
const NAIVE_EVENTS = 4_000;

function deviceEvent(d: number): PolicyEvent {
  const g = d % GATEWAYS;
  return {
    type: 'device-seen',
    deviceId: `dev${d}`,
    kinds: [{ kind: d % 10 === 0 ? 'matter' : 'game-console', evidence: 'bench' }],
    addresses: [{ address: `2001:db8:${g.toString(16)}::${(d + 1).toString(16)}` }, { address: `10.${(d >> 16) & 255}.${(d >> 8) & 255}.${d & 255}` }],
  };
}

function needRequest(id: number, d: number, slot: number): NeedRequest {
  const local = Math.floor(d / GATEWAYS); // index of the device inside its home
  const port = 1024 + ((local * 16 + slot) % 64000);
  return {
    id: `n${id}`,
    requester: { deviceId: `dev${d}` },
    protocol: id % 5 === 0 ? 'tcp' : 'udp',
    internalPort: port,
    family: id % 3 === 0 ? 'both' : 'ipv6',
    class: id % 7 === 0 ? 'voice' : 'game-session',
    priority: id % 3,
    gatewayId: `gw${d % GATEWAYS}`,
  };
}

/** Devices that may ask (Matter devices would be denied and not stay active). */
function askingDevice(rand: () => number): number {
  for (;;) {
    const d = Math.floor(rand() * DEVICES);
    if (d % 10 !== 0) return d;
  }
}

interface Workload {
  setup: PolicyEvent[];
  needs: PolicyEvent[];
  /** Timed stream: end a need, submit a replacement, acknowledge it, refresh a device. */
  stream: (PolicyEvent | 'ack')[];
}

function workload(size: number, seed: number, timed: number): Workload {
  const rand = prng(seed);
  const setup: PolicyEvent[] = [];
  for (let g = 0; g < GATEWAYS; g++) setup.push({ type: 'gateway-seen', gatewayId: `gw${g}`, bootId: '1' });
  for (let d = 0; d < DEVICES; d++) setup.push(deviceEvent(d));
  const needs: PolicyEvent[] = [];
  const active: { id: number; d: number; slot: number }[] = [];
  const slots = new Map<number, number>();
  let nextId = 0;
  for (let i = 0; i < size; i++) {
    const d = askingDevice(rand);
    const slot = slots.get(d) ?? 0;
    slots.set(d, slot + 1);
    const id = nextId++;
    active.push({ id, d, slot });
    needs.push({ type: 'need-submitted', need: needRequest(id, d, slot) });
  }
  const stream: (PolicyEvent | 'ack')[] = [];
  const refresh = new Map<number, PolicyEvent>();
  while (stream.length < timed) {
    const j = Math.floor(rand() * active.length);
    const old = active[j];
    stream.push({ type: 'need-ended', needId: `n${old.id}` });
    const id = nextId++;
    active[j] = { id, d: old.d, slot: old.slot };
    stream.push({ type: 'need-submitted', need: needRequest(id, old.d, old.slot) });
    stream.push('ack');
    const d = askingDevice(rand);
    let ev = refresh.get(d);
    if (!ev) refresh.set(d, (ev = deviceEvent(d)));
    stream.push(ev);
  }
  return { setup, needs, stream };
}

function gc(): void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (g) {
    g();
    g();
  }
}

interface Result {
  eventsPerSecond: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  bytesPerNeed: number | null;
  grants: number;
}

function quantile(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function runEngine(w: Workload): Result {
  const engine: PolicyEngine = createPolicyEngine({ scheduler: new VirtualTimeScheduler() });
  let lastAdd: string | undefined;
  engine.actions$.subscribe((a: Action) => {
    if (a.op === 'add') lastAdd = a.key;
  });
  for (const e of w.setup) engine.submit(e);
  gc();
  const before = process.memoryUsage().heapUsed;
  for (const e of w.needs) engine.submit(e);
  gc();
  const after = process.memoryUsage().heapUsed;
  const grants = engine.snapshot().grants.length;
  const times = new Float64Array(w.stream.length);
  // warm-up on a copy of the first events would change state; the first 10% are simply not timed
  const warm = Math.floor(w.stream.length / 10);
  const start = performance.now();
  let timedStart = start;
  for (let i = 0; i < w.stream.length; i++) {
    if (i === warm) timedStart = performance.now();
    const item = w.stream[i];
    const t0 = performance.now();
    if (item === 'ack') {
      if (lastAdd !== undefined) engine.submit({ type: 'action-succeeded', key: lastAdd });
    } else engine.submit(item);
    times[i] = (performance.now() - t0) * 1000;
  }
  const total = (performance.now() - timedStart) / 1000;
  engine.dispose();
  const measured = times.slice(warm).sort();
  let sum = 0;
  for (const t of measured) sum += t;
  return {
    eventsPerSecond: measured.length / total,
    meanUs: sum / measured.length,
    p50Us: quantile(measured, 0.5),
    p99Us: quantile(measured, 0.99),
    bytesPerNeed: (globalThis as { gc?: unknown }).gc ? (after - before) / w.needs.length : null,
    grants,
  };
}

/**
 * The naive peer: the same admission checks (isolation, external port
 * exclusivity per gateway+protocol, capacity count) done by scanning one
 * array of active needs; ending a need and acknowledging an action scan too.
 */
class NaiveEngine {
  private readonly needs: { id: string; device: string; gw: string; proto: string; port: number; v4: boolean; key: string; acked: boolean }[] = [];
  private readonly isolated = new Set<string>();
  private lastKey = '';

  /** Bulk load without checks (setup is not measured; checking would be O(n^2)). */
  load(e: PolicyEvent): void {
    if (e.type !== 'need-submitted') return;
    const r = e.need;
    const port = r.externalPort || r.internalPort;
    this.needs.push({ id: r.id, device: r.requester.deviceId, gw: r.gatewayId ?? 'gw0', proto: String(r.protocol), port, v4: r.family !== 'ipv6', key: `add|${r.id}`, acked: false });
  }

  submit(e: PolicyEvent | 'ack'): void {
    if (e === 'ack') {
      const n = this.needs.find((x) => x.key === this.lastKey);
      if (n) n.acked = true;
      return;
    }
    switch (e.type) {
      case 'device-seen':
        if (e.kinds?.some((k) => k.kind === 'matter')) this.isolated.add(e.deviceId);
        for (const n of this.needs) if (n.device === e.deviceId && this.isolated.has(n.device)) n.acked = false;
        return;
      case 'need-submitted': {
        const r = e.need;
        if (this.isolated.has(r.requester.deviceId)) return;
        const gw = r.gatewayId ?? 'gw0';
        const proto = String(r.protocol);
        const v4 = r.family !== 'ipv6';
        let port = r.externalPort || r.internalPort;
        let used = 0;
        for (;;) {
          let clash = false;
          used = 0;
          for (const n of this.needs) {
            if (n.gw !== gw) continue;
            used++;
            if (v4 && n.v4 && n.proto === proto && n.port === port) clash = true;
          }
          if (!clash) break;
          port++;
        }
        if (used >= 1_000_000) return;
        this.lastKey = `add|${gw}|${r.id}|${port}`;
        this.needs.push({ id: r.id, device: r.requester.deviceId, gw, proto, port, v4, key: this.lastKey, acked: false });
        return;
      }
      case 'need-ended': {
        const i = this.needs.findIndex((n) => n.id === e.needId);
        if (i >= 0) this.needs.splice(i, 1);
        return;
      }
      default:
        return;
    }
  }
}

function runNaive(w: Workload, count: number): { eventsPerSecond: number; meanUs: number; p99Us: number } {
  const naive = new NaiveEngine();
  for (const e of w.setup) naive.submit(e);
  for (const e of w.needs) naive.load(e);
  const n = Math.min(count, w.stream.length);
  const times = new Float64Array(n);
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    naive.submit(w.stream[i]);
    times[i] = (performance.now() - t0) * 1000;
  }
  const total = (performance.now() - start) / 1000;
  const sorted = times.sort();
  let sum = 0;
  for (const t of sorted) sum += t;
  return { eventsPerSecond: n / total, meanUs: sum / n, p99Us: quantile(sorted, 0.99) };
}

const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** Runs the benchmark and reports through `log`, one line at a time. */
export async function benchPolicyEngine(log: (line: string) => void, sizes: readonly number[] = SIZES): Promise<void> {
  log(`policy engine: ${DEVICES} devices on ${GATEWAYS} gateways; ${TIMED_EVENTS} timed events per size (need-ended, need-submitted, action-succeeded, device-seen), first 10% untimed`);
  if (!(globalThis as { gc?: unknown }).gc) log('  (memory per need needs node --expose-gc; not measured)');
  const results: { size: number; engine: Result; naive: ReturnType<typeof runNaive> }[] = [];
  for (const size of sizes) {
    const w = workload(size, 1234 + size, TIMED_EVENTS);
    const engine = runEngine(w);
    const naive = runNaive(w, NAIVE_EVENTS);
    results.push({ size, engine, naive });
    log(
      `  ${String(size).padStart(7)} needs (${engine.grants} grants): ${fmt(engine.eventsPerSecond, 0)} events/s, mean ${fmt(engine.meanUs, 2)} us, p50 ${fmt(engine.p50Us, 2)} us, p99 ${fmt(engine.p99Us, 2)} us` +
        `${engine.bytesPerNeed !== null ? `, ${fmt(engine.bytesPerNeed, 0)} B/need` : ''}` +
        ` | naive scan: ${fmt(naive.eventsPerSecond, 0)} events/s, mean ${fmt(naive.meanUs, 2)} us, p99 ${fmt(naive.p99Us, 2)} us`,
    );
    await new Promise((resolve) => setImmediate(resolve));
  }
  const first = results[0];
  const last = results[results.length - 1];
  const ratio = last.engine.meanUs / first.engine.meanUs;
  const naiveRatio = last.naive.meanUs / first.naive.meanUs;
  log(`  per-event cost ${last.size / 1000}k vs ${first.size / 1000}k needs: engine x${fmt(ratio, 2)} (p99 x${fmt(last.engine.p99Us / first.engine.p99Us, 2)}), naive scan x${fmt(naiveRatio, 2)}; requirement <= x2: ${ratio <= 2 ? 'met' : 'NOT met'}`);
  log(`  target >= 100k events/s at ${last.size / 1000}k needs: ${last.engine.eventsPerSecond >= 100_000 ? 'met' : 'NOT met'} (${fmt(last.engine.eventsPerSecond, 0)})`);
}
