import { Action, Decision, EngineSnapshot, PolicyEvent } from '../../policies';

/** Nearest-rank percentiles of a sample, in ms. */
export interface Percentiles {
  readonly count: number;
  readonly p50: number | null;
  readonly p90: number | null;
  readonly p99: number | null;
  readonly max: number | null;
}

/** What a replay produced, in numbers. Deterministic key order. */
export interface ReplaySummary {
  readonly events: number;
  readonly virtualMs: number;
  readonly decisions: number;
  readonly actions: { readonly add: number; readonly renew: number; readonly delete: number };
  readonly needs: { readonly submitted: number; readonly everGranted: number; readonly activeAtEnd: number };
  readonly verdicts: Record<string, number>;
  /** Decisions with verdict granted or granted-with-changes. */
  readonly grants: number;
  /** For each denied decision, its first reason code. */
  readonly denialsByReason: Record<string, number>;
  readonly ineffectiveByReason: Record<string, number>;
  /** Reasons that name a conflicting party, by code. */
  readonly conflicts: { readonly total: number; readonly byCode: Record<string, number> };
  /** From a need's submission to its first decision with a grant. */
  readonly timeToGrantMs: Percentiles;
  readonly grantsAtEnd: number;
}

export function percentiles(sample: number[]): Percentiles {
  if (sample.length === 0) return { count: 0, p50: null, p90: null, p99: null, max: null };
  const s = [...sample].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  return { count: s.length, p50: at(50), p90: at(90), p99: at(99), max: s[s.length - 1] };
}

function sorted(counts: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of [...counts.keys()].sort()) out[k] = counts.get(k) as number;
  return out;
}

/** Accumulates a summary while a replay runs. */
export class SummaryBuilder {
  private events = 0;
  private decisions = 0;
  private readonly actions = { add: 0, renew: 0, delete: 0 };
  private readonly verdicts = new Map<string, number>();
  private readonly denials = new Map<string, number>();
  private readonly ineffective = new Map<string, number>();
  private readonly conflicts = new Map<string, number>();
  private conflictTotal = 0;
  private grants = 0;
  private readonly submittedAt = new Map<string, number>();
  private readonly granted = new Set<string>();
  private readonly timeToGrant: number[] = [];
  private submitted = 0;

  event(at: number, event: PolicyEvent): void {
    this.events++;
    if (event.type === 'need-submitted' && !this.submittedAt.has(event.need.id)) {
      this.submitted++;
      this.submittedAt.set(event.need.id, at);
    }
  }

  output(o: Decision | Action): void {
    if (o.type === 'action') {
      this.actions[o.op]++;
      return;
    }
    this.decisions++;
    this.verdicts.set(o.verdict, (this.verdicts.get(o.verdict) ?? 0) + 1);
    const first = o.reasons[0]?.code ?? 'none';
    if (o.verdict === 'denied') this.denials.set(first, (this.denials.get(first) ?? 0) + 1);
    if (o.verdict === 'ineffective') this.ineffective.set(first, (this.ineffective.get(first) ?? 0) + 1);
    for (const r of o.reasons) {
      if (r.conflictsWith) {
        this.conflictTotal++;
        this.conflicts.set(r.code, (this.conflicts.get(r.code) ?? 0) + 1);
      }
    }
    if (o.verdict === 'granted' || o.verdict === 'granted-with-changes') {
      this.grants++;
      if (!this.granted.has(o.needId)) {
        this.granted.add(o.needId);
        const t0 = this.submittedAt.get(o.needId);
        if (t0 !== undefined) this.timeToGrant.push(o.at - t0);
      }
    }
  }

  build(virtualMs: number, snapshot: EngineSnapshot): ReplaySummary {
    return {
      events: this.events,
      virtualMs,
      decisions: this.decisions,
      actions: { ...this.actions },
      needs: { submitted: this.submitted, everGranted: this.granted.size, activeAtEnd: snapshot.needs.length },
      verdicts: sorted(this.verdicts),
      grants: this.grants,
      denialsByReason: sorted(this.denials),
      ineffectiveByReason: sorted(this.ineffective),
      conflicts: { total: this.conflictTotal, byCode: sorted(this.conflicts) },
      timeToGrantMs: percentiles(this.timeToGrant),
      grantsAtEnd: snapshot.grants.length,
    };
  }
}

/** A short human-readable rendering of a summary. */
export function formatSummary(s: ReplaySummary): string {
  const kv = (r: Record<string, number>) => (Object.keys(r).length ? Object.entries(r).map(([k, v]) => `${k}=${v}`).join(' ') : '-');
  const t = s.timeToGrantMs;
  return [
    `events ${s.events} over ${s.virtualMs} ms virtual time`,
    `decisions ${s.decisions}: ${kv(s.verdicts)}`,
    `actions add=${s.actions.add} renew=${s.actions.renew} delete=${s.actions.delete}`,
    `needs submitted ${s.needs.submitted}, ever granted ${s.needs.everGranted}, active at end ${s.needs.activeAtEnd}, grants at end ${s.grantsAtEnd}`,
    `denials by reason: ${kv(s.denialsByReason)}`,
    `ineffective by reason: ${kv(s.ineffectiveByReason)}`,
    `conflicts ${s.conflicts.total}: ${kv(s.conflicts.byCode)}`,
    `time to grant (ms): n=${t.count} p50=${t.p50 ?? '-'} p90=${t.p90 ?? '-'} p99=${t.p99 ?? '-'} max=${t.max ?? '-'}`,
  ].join('\n');
}
