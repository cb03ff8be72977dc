import { ActualEntry, DesiredEntry } from './firewall-entry';
import { elementId } from './table-layout';

/** How long an element should live, in whole seconds, as nft takes it. */
export interface ElementTiming {
  /** 0 = permanent. */
  readonly timeoutSeconds: number;
  /** Remaining seconds (absent = the whole timeout). */
  readonly expiresSeconds?: number;
}

/** What a reconcile changes. */
export interface ReconcilePlan {
  /** Desired and missing from the kernel. */
  readonly add: readonly { readonly entry: DesiredEntry; readonly timing: ElementTiming }[];
  /** Present with the wrong data, owner or remaining time (beyond the tolerance). */
  readonly correct: readonly { readonly entry: DesiredEntry; readonly actual: ActualEntry; readonly timing: ElementTiming; readonly why: string }[];
  /** In the kernel table without an owner among the desired entries. */
  readonly remove: readonly ActualEntry[];
  /** Desired, but their lease is already over: not added (and removed if present). */
  readonly expired: readonly DesiredEntry[];
  /** Two desired entries for one element: the later-expiring one was kept. */
  readonly conflicts: readonly { readonly kept: DesiredEntry; readonly dropped: DesiredEntry }[];
  readonly unchanged: number;
}

export interface PlanOptions {
  /** Now, in the clock of the desired entries' `expiresAt` (ms). */
  readonly now: number;
  /** Remaining-time difference tolerated before an element is rewritten (default 2 s). */
  readonly toleranceSeconds?: number;
}

/** The timing an entry should have now; undefined when its lease is over. */
export function timingOf(entry: DesiredEntry, now: number): ElementTiming | undefined {
  if (entry.leaseSeconds === 0) return { timeoutSeconds: 0 };
  if (entry.expiresAt === undefined) return { timeoutSeconds: entry.leaseSeconds };
  const remaining = Math.ceil((entry.expiresAt - now) / 1000);
  if (remaining <= 0) return undefined;
  const timeoutSeconds = Math.max(entry.leaseSeconds, remaining);
  return remaining >= timeoutSeconds ? { timeoutSeconds } : { timeoutSeconds, expiresSeconds: remaining };
}

function mismatch(entry: DesiredEntry, actual: ActualEntry, timing: ElementTiming, tolerance: number): string | undefined {
  if (entry.internalClient !== actual.internalClient || entry.internalPort !== actual.internalPort) {
    return `maps to ${actual.internalClient}:${actual.internalPort}, not ${entry.internalClient}:${entry.internalPort}`;
  }
  if ((entry.owner ?? undefined) !== (actual.owner ?? undefined)) return `owner ${actual.owner ?? '(none)'} is not ${entry.owner ?? '(none)'}`;
  if (timing.timeoutSeconds === 0) return actual.timeoutSeconds === 0 ? undefined : `expires in ${actual.expiresInSeconds}s but is permanent`;
  if (actual.timeoutSeconds === 0) return `is permanent but expires in ${timing.expiresSeconds ?? timing.timeoutSeconds}s`;
  const want = timing.expiresSeconds ?? timing.timeoutSeconds;
  const got = actual.expiresInSeconds ?? actual.timeoutSeconds;
  if (Math.abs(want - got) > tolerance) return `expires in ${got}s, should in ${want}s`;
  return undefined;
}

/**
 * Pure diff between what should be in the kernel table and what is: the
 * orphans to remove, the missing to add, the wrong ones to rewrite.
 *
 * @example
 * ```ts
 * const plan = planReconcile(desired, (await adapter.read()).entries, { now: Date.now() });
 * plan.remove.length; // orphans
 * ```
 */
export function planReconcile(desired: readonly DesiredEntry[], actual: readonly ActualEntry[], options: PlanOptions): ReconcilePlan {
  const tolerance = options.toleranceSeconds ?? 2;
  const wanted = new Map<string, { entry: DesiredEntry; timing: ElementTiming }>();
  const expired: DesiredEntry[] = [];
  const conflicts: { kept: DesiredEntry; dropped: DesiredEntry }[] = [];
  for (const entry of desired) {
    const timing = timingOf(entry, options.now);
    if (!timing) {
      expired.push(entry);
      continue;
    }
    const id = elementId(entry);
    const other = wanted.get(id);
    if (other) {
      const longer = (t: ElementTiming) => (t.timeoutSeconds === 0 ? Infinity : (t.expiresSeconds ?? t.timeoutSeconds));
      const keepNew = longer(timing) > longer(other.timing);
      conflicts.push(keepNew ? { kept: entry, dropped: other.entry } : { kept: other.entry, dropped: entry });
      if (!keepNew) continue;
    }
    wanted.set(id, { entry, timing });
  }
  const add: ReconcilePlan['add'][number][] = [];
  const correct: ReconcilePlan['correct'][number][] = [];
  const remove: ActualEntry[] = [];
  let unchanged = 0;
  const seen = new Set<string>();
  for (const a of actual) {
    const id = elementId(a);
    const w = wanted.get(id);
    if (!w || seen.has(id)) {
      remove.push(a);
      continue;
    }
    seen.add(id);
    const why = mismatch(w.entry, a, w.timing, tolerance);
    if (why) correct.push({ entry: w.entry, actual: a, timing: w.timing, why });
    else unchanged++;
  }
  for (const [id, w] of wanted) if (!seen.has(id)) add.push(w);
  return { add, correct, remove, expired, conflicts, unchanged };
}
