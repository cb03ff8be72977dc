import { SchedulerLike, Subscription } from 'rxjs';
import { GrantRecord } from './state';
import { IndexedHeap } from './util/indexed-heap';

/**
 * Keeps every live grant in a heap ordered by renewal time and one timer on
 * the injected scheduler for the earliest. O(log n) per grant change; the
 * timer is only moved when the earliest renewal moves.
 */
export class LeaseScheduler {
  private readonly heap = new IndexedHeap<GrantRecord, 'renewPos'>(
    (a, b) => a.renewAt < b.renewAt || (a.renewAt === b.renewAt && a.serial < b.serial),
    'renewPos',
  );
  private timer?: Subscription;
  private timerAt = Infinity;
  private disposed = false;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly onDue: () => void,
  ) {}

  /** Adds the grant, or re-positions it after its renewAt changed. */
  track(grant: GrantRecord): void {
    this.heap.push(grant);
  }

  untrack(grant: GrantRecord): void {
    this.heap.remove(grant);
  }

  get size(): number {
    return this.heap.size;
  }

  /** Removes and returns the grants whose renewal is due at `now`, earliest first. */
  takeDue(now: number): GrantRecord[] {
    const due: GrantRecord[] = [];
    for (let top = this.heap.peek(); top !== undefined && top.renewAt <= now; top = this.heap.peek()) {
      this.heap.pop();
      due.push(top);
    }
    return due;
  }

  /** Makes sure the timer fires at the earliest renewal (call after every change batch). */
  arm(): void {
    if (this.disposed) return;
    const next = this.heap.peek()?.renewAt ?? Infinity;
    if (next === this.timerAt) return;
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.timerAt = next;
    if (next === Infinity) return;
    const delay = Math.max(0, next - this.scheduler.now());
    this.timer = this.scheduler.schedule(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      this.onDue();
    }, delay);
  }

  dispose(): void {
    this.disposed = true;
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.timerAt = Infinity;
  }
}
