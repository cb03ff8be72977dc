/**
 * The most recent decisions, bounded and fair between devices: what the
 * admin API lists. Older ones live in the journal only.
 *
 * When full, the decision that goes is the oldest of the device holding the
 * most (ties: the device that reached that count first), never simply the
 * oldest overall. So one host refused a million times pushes out its own
 * history, not a quiet device's: with D devices holding decisions, each keeps
 * at least its newest ⌊capacity / D⌋, and a device holding less than another
 * loses nothing to it. Pushing and evicting are O(1).
 *
 * @example
 * ```ts
 * const history = new DecisionHistory(2);
 * engine.decisions$.subscribe((d) => history.push(d));
 * history.recent(10); // at most the last 2, oldest first
 * history.heldBy('plug-1'); // how many of them are plug-1's
 * ```
 */
import { Decision } from '../../policies/model/decision';

interface Entry {
  readonly decision: Decision;
  prev: Entry | undefined;
  next: Entry | undefined;
}

/** One device's decisions in the history, oldest first (`head` is the oldest still held). */
interface Holding {
  readonly entries: Entry[];
  head: number;
}

export class DecisionHistory {
  /** All held decisions in arrival order (a doubly linked list: any one can leave in O(1)). */
  private oldest: Entry | undefined;
  private newest: Entry | undefined;
  private count = 0;
  private readonly holdings = new Map<string, Holding>();
  /** Devices by how many decisions they hold; each set in the order its devices reached that count. */
  private readonly byCount = new Map<number, Set<string>>();
  private largest = 0;

  constructor(readonly capacity: number) {
    if (!(Number.isInteger(capacity) && capacity > 0)) throw new RangeError(`capacity must be a positive integer, got ${capacity}`);
  }

  push(decision: Decision): void {
    const entry: Entry = { decision, prev: this.newest, next: undefined };
    if (this.newest) this.newest.next = entry;
    else this.oldest = entry;
    this.newest = entry;
    this.count++;
    const device = decision.deviceId;
    let holding = this.holdings.get(device);
    if (!holding) {
      holding = { entries: [], head: 0 };
      this.holdings.set(device, holding);
    }
    holding.entries.push(entry);
    this.moved(device, holding.entries.length - holding.head - 1, holding.entries.length - holding.head);
    if (this.count > this.capacity) this.evict();
  }

  /** Up to `limit` most recent decisions, oldest first; optionally only those of one need or device. */
  recent(limit = this.capacity, filter?: { needId?: string; deviceId?: string }): Decision[] {
    const out: Decision[] = [];
    if (filter?.deviceId !== undefined) {
      const holding = this.holdings.get(filter.deviceId);
      if (!holding) return out;
      for (let i = holding.entries.length - 1; i >= holding.head && out.length < limit; i--) {
        const d = holding.entries[i].decision;
        if (filter.needId !== undefined && d.needId !== filter.needId) continue;
        out.push(d);
      }
      return out.reverse();
    }
    for (let e = this.newest; e && out.length < limit; e = e.prev) {
      if (filter?.needId !== undefined && e.decision.needId !== filter.needId) continue;
      out.push(e.decision);
    }
    return out.reverse();
  }

  /** How many decisions device `deviceId` holds in the history now. */
  heldBy(deviceId: string): number {
    const holding = this.holdings.get(deviceId);
    return holding ? holding.entries.length - holding.head : 0;
  }

  get size(): number {
    return this.count;
  }

  /** Drops the oldest decision of the device holding the most. */
  private evict(): void {
    const devices = this.byCount.get(this.largest);
    const device = devices?.values().next().value;
    if (device === undefined) throw new Error('decision history: no holder to evict from (bookkeeping broken)');
    const holding = this.holdings.get(device) as Holding;
    const entry = holding.entries[holding.head];
    holding.head++;
    const left = holding.entries.length - holding.head;
    if (left === 0) this.holdings.delete(device);
    else if (holding.head > 32 && holding.head * 2 > holding.entries.length) {
      holding.entries.splice(0, holding.head);
      holding.head = 0;
    }
    this.moved(device, left + 1, left);
    if (entry.prev) entry.prev.next = entry.next;
    else this.oldest = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.newest = entry.prev;
    this.count--;
  }

  /** Moves `device` from the set of holders of `from` decisions to that of `to`. */
  private moved(device: string, from: number, to: number): void {
    if (from > 0) {
      const set = this.byCount.get(from) as Set<string>;
      set.delete(device);
      if (set.size === 0) {
        this.byCount.delete(from);
        if (this.largest === from && to < from) this.largest = to;
      }
    }
    if (to > 0) {
      let set = this.byCount.get(to);
      if (!set) {
        set = new Set();
        this.byCount.set(to, set);
      }
      set.add(device);
      if (to > this.largest) this.largest = to;
    }
  }
}
