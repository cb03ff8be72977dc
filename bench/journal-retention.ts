/**
 * Journal size and prune pauses under churn (issue 9, item 5): N add+delete
 * cycles through the SQLite gateway journal exactly as the daemon drives it
 * (putNeed, the decision, write-ahead intent + applied; then endNeed, the
 * delete intent + applied, the decision), printing database and WAL bytes as
 * it goes. Each cycle is its own event-loop task (as a request is in the
 * daemon), so pruning the journal does in the background gets its turns.
 *
 * Pauses: how long pruning held the thread at a stretch. A journal that
 * reports its prune steps (`onPruneStep`) is measured per step; an older one
 * (pruning inside a write) per cycle that pruned (its oldest decision
 * changed, or its WAL shrank: a prune ends with `wal_checkpoint(TRUNCATE)`),
 * cycle included. Independently of both, `monitorEventLoopDelay`
 * (1 ms resolution) gives the event loop's worst delay over the whole run.
 * Wall times on a shared machine include waits for a CPU; the CPU time per
 * step (process.cpuUsage) does not, nor waits for the disk.
 *
 * `--dist DIR` loads the journal from another compiled tree (e.g. the
 * baseline `/work/baseline/dist`) so before and after are measured the same way.
 *
 * @example
 * ```sh
 * node dist/bench/journal-retention.js --cycles 100000 --max-bytes 16777216
 * node dist/bench/journal-retention.js --cycles 1000 --dist /work/baseline/dist
 * ```
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Action } from '../policies/model/action';
import type { Decision } from '../policies/model/decision';
import type { NeedRequest } from '../policies/model/need';
import type * as SqliteJournalModule from '../plugin/gateway/sqlite-gateway-journal';
import type * as LogModule from '../plugin/gateway/structured-log';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = process.argv[i + 1];
  if (v === undefined) throw new Error(`--${name} needs a value`);
  return v;
}

function size(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

const cycles = Number(arg('cycles', '1000'));
const maxBytes = Number(arg('max-bytes', String(16 * 1024 * 1024)));
const retentionSeconds = Number(arg('retention-seconds', String(7 * 86_400)));
const dist = resolve(arg('dist', join(__dirname, '..')));
if (!Number.isInteger(cycles) || cycles < 1) throw new Error(`--cycles must be a positive whole number, got ${cycles}`);

const { openSqliteGatewayJournal } = require(join(dist, 'plugin/gateway/sqlite-gateway-journal.js')) as typeof SqliteJournalModule;
const { createLogger } = require(join(dist, 'plugin/gateway/structured-log.js')) as typeof LogModule;

const dir = mkdtempSync(join(tmpdir(), 'hn-bench-journal-'));
const path = join(dir, 'state', 'gateway.db');
let now = Date.now();
const clock = () => now;
const stepMs: number[] = [];
const stepCpuMs: number[] = [];
const stepMsByKind = new Map<string, number[]>();
const journal = openSqliteGatewayJournal(path, createLogger({ level: 'error', write: () => undefined }), clock, {
  retention: { maxAgeMs: retentionSeconds * 1000, maxBytes },
  onPruneStep: (step: { kind: string; ms: number; cpuMs: number }) => {
    stepMs.push(step.ms);
    stepCpuMs.push(step.cpuMs);
    const ofKind = stepMsByKind.get(step.kind) ?? [];
    ofKind.push(step.ms);
    stepMsByKind.set(step.kind, ofKind);
  },
});
const oldestSeq = () => journal.journal.decisions({ limit: 1 })[0]?.seq ?? 0;
const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

function action(i: number, op: 'add' | 'delete'): Action {
  return {
    type: 'action', seq: 2 * i + (op === 'add' ? 0 : 1), at: now, op, table: 'pinhole', key: `${op}|local|ipv6|udp|2001:db8:77::10|${3000 + (i % 1000)}|-|n${i}#ipv6`,
    gatewayId: 'local', grantId: `n${i}#ipv6`, needId: `n${i}`, generation: 1, family: 'ipv6', protocol: 'udp', internalClient: '2001:db8:77::10',
    internalPort: 3000 + (i % 1000), remoteHost: '', remotePort: 0, leaseSeconds: 3600, reason: { rule: 'lease-cap', code: 'lease-capped' },
  } as unknown as Action;
}

function decision(i: number, verdict: 'granted' | 'ended'): Decision {
  return {
    type: 'decision', seq: i, at: now, cause: 'need-submitted', needId: `n${i}`, deviceId: 'console-a', verdict,
    reasons: [{ rule: 'requester-owns-target', code: 'requester-is-target', detail: 'the requester opens its own address' }], changes: [], grants: [],
  } as unknown as Decision;
}

const started = process.hrtime.bigint();
let peak = 0;
const report = (n: number) => {
  const db = size(path);
  const wal = size(`${path}-wal`);
  peak = Math.max(peak, db + wal);
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`cycles ${n}: db ${db} B, wal ${wal} B, db+wal ${db + wal} B, peak ${peak} B, ${s.toFixed(1)} s`);
};
const cycleMs: number[] = [];
/** Cycles during which the oldest decision changed or the WAL shrank: a prune ran inside them (journals that prune inside a write). */
const pruningCycleMs: number[] = [];
const pruningCycleCpuMs: number[] = [];
const loop = monitorEventLoopDelay({ resolution: 1 });

async function run(): Promise<void> {
loop.enable();
for (let i = 0; i < cycles; i++) {
  now += 1000;
  const oldest = oldestSeq();
  const walBefore = size(`${path}-wal`);
  const cycleStart = process.hrtime.bigint();
  const cycleCpu = process.cpuUsage();
  const request: NeedRequest = {
    id: `n${i}`, requester: { deviceId: 'console-a', address: '2001:db8:77::10' }, internalClient: '2001:db8:77::10', protocol: 'udp',
    internalPort: 3000 + (i % 1000), family: 'ipv6', leaseSeconds: 3600, class: 'game-session', requesterMustBeTarget: true,
  };
  journal.putNeed({ id: `n${i}`, source: 'upnp', request, deadline: now + 3_600_000, uniqueId: i + 1, createdAt: now });
  journal.recordDecision(decision(i, 'granted'));
  const add = action(i, 'add');
  journal.recordIntents?.([add]);
  journal.markApplied?.([add.key]);
  journal.endNeed(`n${i}`, now, 'deleted');
  const del = action(i, 'delete');
  journal.recordIntents?.([del]);
  journal.markApplied?.([del.key]);
  journal.recordDecision(decision(i, 'ended'));
  const ms = Number(process.hrtime.bigint() - cycleStart) / 1e6;
  const used = process.cpuUsage(cycleCpu);
  cycleMs.push(ms);
  if (i > 0 && (oldestSeq() !== oldest || size(`${path}-wal`) < walBefore)) {
    pruningCycleMs.push(ms);
    pruningCycleCpuMs.push((used.user + used.system) / 1000);
  }
  if ((i + 1) % Math.max(1, Math.floor(cycles / 10)) === 0) {
    const sample = size(path) + size(`${path}-wal`);
    peak = Math.max(peak, sample);
    report(i + 1);
  } else if ((i + 1) % 100 === 0) {
    peak = Math.max(peak, size(path) + size(`${path}-wal`));
  }
  await turn(); // the next request: whatever the event loop has waiting (background prune steps) runs first
}
// Let a background prune still under way finish before closing.
await (journal.prune?.() as Promise<unknown> | undefined);
loop.disable();
journal.close();
const pct = (xs: number[], p: number) => (xs.length === 0 ? 'n/a' : xs[Math.min(xs.length - 1, Math.floor(p * xs.length))].toFixed(2));
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const cyc = sorted(cycleMs);
console.log(`one add+delete cycle (8 journal writes, inline prune work included): p50 ${pct(cyc, 0.5)} ms, p99 ${pct(cyc, 0.99)} ms, max ${pct(cyc, 1)} ms`);
if (stepMs.length > 0) {
  const st = sorted(stepMs);
  console.log(`prune pause per step (${st.length} steps, reported by the journal): p50 ${pct(st, 0.5)} ms, p99 ${pct(st, 0.99)} ms, worst ${pct(st, 1)} ms`);
  const sc = sorted(stepCpuMs);
  console.log(`  CPU time per step (no waits for a CPU or the disk): p50 ${pct(sc, 0.5)} ms, p99 ${pct(sc, 0.99)} ms, worst ${pct(sc, 1)} ms`);
  for (const [kind, xs] of stepMsByKind) {
    const k = sorted(xs);
    console.log(`  ${kind}: ${k.length} steps, p50 ${pct(k, 0.5)} ms, p99 ${pct(k, 0.99)} ms, worst ${pct(k, 1)} ms`);
  }
} else {
  const pc = sorted(pruningCycleMs);
  console.log(`prune pause per step (${pc.length} prunes, each one step inside a cycle; cycle time of the cycles that pruned): p50 ${pct(pc, 0.5)} ms, p99 ${pct(pc, 0.99)} ms, worst ${pct(pc, 1)} ms`);
  const cc = sorted(pruningCycleCpuMs);
  console.log(`  CPU time per step (no waits for a CPU or the disk): p50 ${pct(cc, 0.5)} ms, p99 ${pct(cc, 0.99)} ms, worst ${pct(cc, 1)} ms`);
}
console.log(`event loop delay over the run (monitorEventLoopDelay, 1 ms resolution): p99 ${(loop.percentile(99) / 1e6).toFixed(2)} ms, max ${(loop.max / 1e6).toFixed(2)} ms`);
console.log(`after close: db ${size(path)} B, wal ${size(`${path}-wal`)} B; peak db+wal while running ${peak} B (bound ${maxBytes} B); from ${dist}`);
rmSync(dir, { recursive: true, force: true });
}

run().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
