/**
 * The most recent decisions, bounded: what the admin API lists. Older ones
 * live in the journal only.
 *
 * @example
 * ```ts
 * const history = new DecisionHistory(2);
 * engine.decisions$.subscribe((d) => history.push(d));
 * history.recent(10); // at most the last 2, oldest first
 * ```
 */
import { Decision } from '../../policies/model/decision';

export class DecisionHistory {
  private readonly ring: (Decision | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
    this.ring = new Array<Decision | undefined>(capacity);
  }

  push(decision: Decision): void {
    this.ring[this.next] = decision;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** Up to `limit` most recent decisions, oldest first; optionally only those of one need or device. */
  recent(limit = this.capacity, filter?: { needId?: string; deviceId?: string }): Decision[] {
    const out: Decision[] = [];
    for (let i = 1; i <= this.count && out.length < limit; i++) {
      const d = this.ring[(this.next - i + this.capacity) % this.capacity] as Decision;
      if (filter?.needId !== undefined && d.needId !== filter.needId) continue;
      if (filter?.deviceId !== undefined && d.deviceId !== filter.deviceId) continue;
      out.push(d);
    }
    return out.reverse();
  }

  get size(): number {
    return this.count;
  }
}
