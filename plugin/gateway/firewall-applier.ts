/**
 * Applies the engine's actions to the router's firewall, one batch at a time
 * and in `seq` order, and tells the engine how each went (`action-succeeded` /
 * `action-failed`). Each entry's kernel timeout ends at the deadline of the
 * need that owns it (never later: a renewal by the engine does not extend a
 * client's lease).
 *
 * While paused (during start-up recovery) actions are only collected; the
 * daemon then reconciles the whole table at once and calls
 * {@link FirewallApplier.resume} with `{ assumeApplied: true }`.
 *
 * @example
 * ```ts
 * const applier = new FirewallApplier({ engine, firewall, deadlineOf: (needId) => needs.deadlineOf(needId), now: Date.now, log });
 * engine.actions$.subscribe((a) => applier.enqueue(a));
 * const mark = applier.position();
 * engine.request(need);
 * await applier.settled(mark.after()); // the firewall now holds (or refused) what the decision granted
 * ```
 */
import { Action } from '../../policies/model/action';
import { PolicyEngine } from '../../policies/engine';
import { GatewayFirewall } from './gateway-firewall';
import { GatewayJournal } from './gateway-journal';
import { Logger } from './structured-log';

export interface FirewallApplierOptions {
  readonly engine: Pick<PolicyEngine, 'submit'>;
  readonly firewall: GatewayFirewall;
  /** The wall-clock deadline (ms) of a need, or undefined when it is not live any more. */
  readonly deadlineOf: (needId: string) => number | undefined;
  /** The pinhole UniqueID handed to the client for a need, if any (reported to the engine). */
  readonly uniqueIdOf?: (needId: string) => number | undefined;
  readonly now: () => number;
  readonly log: Logger;
  /** Called after each applied action (state-change events for the admin API). */
  readonly onApplied?: (action: Action, error?: Error) => void;
  /** Where firewall changes are journaled before and after they are made (write-ahead intents). */
  readonly journal?: Pick<GatewayJournal, 'recordIntents' | 'markApplied' | 'markFailed'>;
  /** Most actions in one transaction (default 256). */
  readonly maxBatch?: number;
}

/** One queued change: an engine action, or a timeout refresh the engine does not hear about. */
interface Job {
  readonly action: Action;
  readonly feedback: boolean;
}

interface Waiter {
  readonly position: number;
  readonly resolve: () => void;
}

/** UPnP errorCode reported to the engine when the firewall refuses an entry (ActionFailed). */
export const FIREWALL_FAILURE_CODE = 501;

export class FirewallApplier {
  private readonly queue: Job[] = [];
  /** The last add/renew applied per grant, to refresh its timeout when the client renews. */
  private readonly applied = new Map<string, Action>();
  private enqueued = 0;
  private processed = 0;
  private running = false;
  private paused = false;
  private waiters: Waiter[] = [];
  private readonly failures = new Map<string, Error>();
  /** Actions collected while paused. */
  private held: Action[] = [];

  private readonly maxBatch: number;

  constructor(private readonly options: FirewallApplierOptions) {
    this.maxBatch = options.maxBatch ?? 256;
  }

  /** How many actions were enqueued so far: pass to {@link settled} to wait for them. */
  position(): number {
    return this.enqueued;
  }

  /** Queues one engine action (call from an `actions$` subscriber). */
  enqueue(action: Action): void {
    if (this.paused) {
      this.held.push(action);
      return;
    }
    this.queue.push({ action, feedback: true });
    this.enqueued++;
    this.kick();
  }

  /**
   * Re-applies the entries of a need's grants so their kernel timeouts end at
   * the need's (new) deadline: a client renewed its lease.
   */
  refresh(needId: string): void {
    for (const family of ['ipv6', 'ipv4']) {
      const action = this.applied.get(`${needId}#${family}`);
      if (!action) continue;
      this.queue.push({ action, feedback: false });
      this.enqueued++;
    }
    this.kick();
  }

  /** Grants whose entries were applied (for tests and the admin API). */
  appliedCount(): number {
    return this.applied.size;
  }

  /** Collect actions without applying them (start-up recovery). */
  pause(): void {
    this.paused = true;
  }

  /**
   * Leaves the paused state. With `assumeApplied` the held actions are
   * reported to the engine as succeeded (the caller reconciled the table to
   * the engine's desired state); otherwise they are applied now.
   */
  resume(options: { assumeApplied: boolean }): void {
    this.paused = false;
    const held = this.held;
    this.held = [];
    if (options.assumeApplied) {
      // The table was reconciled to these: journal them as applied, so the journal's grants match.
      const kernel = held.map((a) => this.kernelAction(a)).filter((a): a is Action => a !== undefined);
      if (kernel.length > 0 && this.options.journal) {
        this.options.journal.recordIntents?.(kernel);
        this.options.journal.markApplied?.(kernel.map((a) => a.key));
      }
      for (const action of held) {
        if (action.op === 'delete') this.applied.delete(action.grantId);
        else this.applied.set(action.grantId, action);
        this.feedback(action);
      }
    } else {
      for (const action of held) this.enqueue(action);
    }
  }

  /** Resolves once every action enqueued before `position` was applied (or failed). */
  settled(position: number): Promise<void> {
    if (this.processed >= position) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ position, resolve }));
  }

  /** The last failure for one of a need's grants since {@link clearFailure}, if any. */
  failureOf(needId: string): Error | undefined {
    return this.failures.get(needId);
  }

  clearFailure(needId: string): void {
    this.failures.delete(needId);
  }

  /** Resolves when the queue is empty. */
  idle(): Promise<void> {
    return this.settled(this.enqueued);
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    void this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        // Everything queued so far goes in one transaction (one `nft -f`).
        const batch = this.queue.splice(0, this.maxBatch);
        const deleted = new Set<string>();
        const prepared = batch.map((job) => {
          if (job.action.op === 'delete') deleted.add(job.action.grantId);
          // A refresh of a grant deleted meanwhile must not bring it back.
          const stale = !job.feedback && (deleted.has(job.action.grantId) || !this.applied.has(job.action.grantId));
          return { job, action: stale ? undefined : this.kernelAction(job.action) };
        });
        const work = prepared.filter((p): p is { job: Job; action: Action } => p.action !== undefined);
        let errors: (Error | undefined)[] = work.map(() => undefined);
        const intents = work.filter((w) => w.job.feedback).map((w) => w.action);
        if (intents.length > 0) this.options.journal?.recordIntents?.(intents);
        if (work.length > 0) {
          try {
            await this.options.firewall.apply(work.map((w) => w.action));
          } catch (e) {
            // Find which change the kernel refused: apply them one by one.
            errors = [];
            for (const w of work) {
              try {
                await this.options.firewall.apply([w.action]);
                errors.push(undefined);
              } catch (one) {
                errors.push(one instanceof Error ? one : new Error(String(one)));
              }
            }
            void e;
          }
        }
        const errorOf = new Map(work.map((w, i) => [w.job, errors[i]]));
        if (intents.length > 0 && this.options.journal) {
          const applied = work.filter((w, i) => w.job.feedback && !errors[i]).map((w) => w.action.key);
          if (applied.length > 0) this.options.journal.markApplied?.(applied);
          work.forEach((w, i) => {
            if (w.job.feedback && errors[i]) this.options.journal?.markFailed?.(w.action.key, errors[i].message.slice(0, 500));
          });
        }
        for (const job of batch) {
          const { action, feedback } = job;
          const error = errorOf.get(job);
          this.processed++;
          if (action.op === 'delete') this.applied.delete(action.grantId);
          else if (!error) this.applied.set(action.grantId, action);
          if (!feedback) {
            if (error) this.options.log.warn('firewall refresh failed', { key: action.key, error: error.message });
          } else if (error) {
            this.failures.set(action.needId, error);
            this.options.log.warn('firewall change failed', { op: action.op, key: action.key, grantId: action.grantId, error: error.message });
            this.options.engine.submit({ type: 'action-failed', key: action.key, code: FIREWALL_FAILURE_CODE, source: 'upnp', description: error.message.slice(0, 200) });
          } else {
            this.feedback(action);
          }
          this.options.onApplied?.(action, error);
        }
        this.wake();
      }
    } finally {
      this.running = false;
      this.wake();
    }
  }

  private feedback(action: Action): void {
    const uniqueId = action.table === 'pinhole' && action.op !== 'delete' ? this.options.uniqueIdOf?.(action.needId) : undefined;
    this.options.engine.submit(uniqueId !== undefined ? { type: 'action-succeeded', key: action.key, uniqueId } : { type: 'action-succeeded', key: action.key });
  }

  /**
   * The action as the kernel should get it: add/renew with a timeout ending at
   * the need's deadline; undefined when there is nothing to do (the need ended
   * before its add got its turn: its delete follows from the engine).
   */
  private kernelAction(action: Action): Action | undefined {
    if (action.op === 'delete') return action;
    const deadline = this.options.deadlineOf(action.needId);
    const now = this.options.now();
    if (deadline === undefined || deadline <= now) return undefined;
    return { ...action, leaseSeconds: Math.max(1, Math.ceil((deadline - now) / 1000)) };
  }

  private wake(): void {
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((w) => this.processed >= w.position);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => this.processed < w.position);
    for (const w of ready) w.resolve();
  }
}
