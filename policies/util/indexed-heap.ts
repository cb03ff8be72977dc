/**
 * A binary heap whose items remember their own position (in the numeric field
 * named by `slot`), so removal and re-keying are O(log n) without a lookup
 * map. `before(a, b)` is true when `a` must come out first. An item may sit in
 * several heaps as long as each uses its own slot; -1 means "not in the heap".
 */
export class IndexedHeap<T extends Record<S, number>, S extends string> {
  private readonly items: T[] = [];

  constructor(
    private readonly before: (a: T, b: T) => boolean,
    private readonly slot: S,
  ) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  has(item: T): boolean {
    const i = item[this.slot];
    return i >= 0 && i < this.items.length && this.items[i] === item;
  }

  push(item: T): void {
    if (this.has(item)) {
      this.update(item);
      return;
    }
    this.items.push(item);
    this.setPos(item, this.items.length - 1);
    this.up(this.items.length - 1);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top !== undefined) this.remove(top);
    return top;
  }

  remove(item: T): boolean {
    if (!this.has(item)) return false;
    const i = item[this.slot];
    const last = this.items.pop() as T;
    this.setPos(item, -1);
    if (i < this.items.length) {
      this.items[i] = last;
      this.setPos(last, i);
      this.down(i);
      this.up(i);
    }
    return true;
  }

  /** Restores order after the item's key changed. */
  update(item: T): void {
    if (!this.has(item)) return;
    const i = item[this.slot];
    this.down(i);
    this.up(i);
  }

  /** The items in heap (not sorted) order; do not mutate. */
  values(): readonly T[] {
    return this.items;
  }

  private setPos(item: T, i: number): void {
    (item as Record<S, number>)[this.slot] = i;
  }

  private up(i: number): void {
    const items = this.items;
    const item = items[i];
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(item, items[parent])) break;
      items[i] = items[parent];
      this.setPos(items[i], i);
      i = parent;
    }
    items[i] = item;
    this.setPos(item, i);
  }

  private down(i: number): void {
    const items = this.items;
    const n = items.length;
    const item = items[i];
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const child = r < n && this.before(items[r], items[l]) ? r : l;
      if (!this.before(items[child], item)) break;
      items[i] = items[child];
      this.setPos(items[i], i);
      i = child;
    }
    items[i] = item;
    this.setPos(item, i);
  }
}
