/**
 * An mDNS record cache that a hostile host on the link cannot blow up or use to push other
 * hosts' records out (issue 9):
 * - **Records are bound to their sender.** Each sender's records are kept apart: a goodbye
 *   or a cache-flush from one host never removes another host's copy of a record.
 * - **Per-sender quota** (`maxRecordsPerSender`): past it, the sender's own least recently
 *   refreshed record goes; nobody else's.
 * - **Fair global cap** (`maxRecords`): past it, the *largest* sender loses its least
 *   recently refreshed record. A device with a handful of records is only touched when
 *   every other sender is down to as few (thousands of spoofed sources).
 * - **TTL clamp**: a TTL above {@link MAX_TTL_SECONDS} (RFC 6762 §10's 75 minutes) counts
 *   as that, so a record with a huge TTL cannot outlive the others.
 * - **No full scans**: add, refresh, eviction and expiry are O(log n) (a min-heap of
 *   expiries, insertion-ordered maps per sender, a bucket of senders by size); lookups by
 *   name or by SRV/PTR target go through indexes.
 *
 * Time is the caller's clock in milliseconds, so it is deterministic under test. Names
 * compare case-insensitively.
 *
 * @example
 * ```ts
 * const cache = new MdnsRecordCache();
 * cache.add(record, now, 'fe80::1%eth0');
 * cache.expire(now + 5000);
 * cache.find('plug.local', DnsType.AAAA);
 * ```
 */
import { DnsRecord, DnsType } from './dns-message';

/** A cached record and when it stops being valid (ms, on the caller's clock). */
export interface CachedRecord {
  readonly record: DnsRecord;
  readonly receivedAt: number;
  readonly expiresAt: number;
  /** The address that sent it. */
  readonly sender: string;
}

/** RFC 6762 §10.1: a goodbye (TTL 0) is kept one more second, then removed. */
export const GOODBYE_GRACE_MS = 1000;

/** RFC 6762 §10.2: cache-flush spares records received in the last second. */
const CACHE_FLUSH_WINDOW_MS = 1000;

/** Most records kept at once. */
export const DEFAULT_MAX_RECORDS = 8192;

/** Most records one sender may have in the cache (a Thread border router proxies many devices). */
export const DEFAULT_MAX_RECORDS_PER_SENDER = 512;

/** Longest TTL honoured (RFC 6762 §10: 75 minutes for records other than host names). */
export const MAX_TTL_SECONDS = 4500;

/** The sender of records added without one. */
export const UNKNOWN_SENDER = 'unknown';

function rdataKey(record: DnsRecord): string {
  switch (record.type) {
    case DnsType.A:
    case DnsType.AAAA:
      return (record as { address: string }).address;
    case DnsType.PTR:
      return (record as { target: string }).target.toLowerCase();
    case DnsType.SRV: {
      const srv = record as { target: string; port: number };
      return `${srv.target.toLowerCase()}:${srv.port}`;
    }
    case DnsType.TXT:
      return (record as { entries: readonly string[] }).entries.join('\u0000');
    default:
      return Buffer.from((record as { data: Uint8Array }).data).toString('hex');
  }
}

function targetOf(record: DnsRecord): string | undefined {
  return record.type === DnsType.SRV || record.type === DnsType.PTR ? (record as { target: string }).target.toLowerCase() : undefined;
}

interface Entry extends CachedRecord {
  readonly key: string;
  /** Without the sender: records of several senders with the same rdata are one answer. */
  readonly rrKey: string;
  readonly nameKey: string;
  readonly targetKey: string | undefined;
  readonly generation: number;
}

interface HeapItem {
  readonly at: number;
  readonly key: string;
  readonly generation: number;
}

/** A binary min-heap of expiries; stale items (refreshed or removed records) are skipped lazily. */
class ExpiryHeap {
  items: HeapItem[] = [];

  push(item: HeapItem): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((a[parent]).at <= item.at) break;
      a[i] = a[parent];
      i = parent;
    }
    a[i] = item;
  }

  peek(): HeapItem | undefined {
    return this.items[0];
  }

  pop(): HeapItem | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || !last) return top;
    // Sift `last` down from the root.
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = l < a.length && (a[l]).at < last.at ? l : -1;
      if (r < a.length && (a[r]).at < (smallest < 0 ? last.at : (a[smallest]).at)) smallest = r;
      if (smallest < 0) break;
      a[i] = a[smallest];
      i = smallest;
    }
    a[i] = last;
    return top;
  }
}

function addTo(index: Map<string, Set<string>>, key: string, value: string): void {
  let set = index.get(key);
  if (!set) index.set(key, (set = new Set()));
  set.add(value);
}

function removeFrom(index: Map<string, Set<string>>, key: string, value: string): void {
  const set = index.get(key);
  if (!set) return;
  set.delete(value);
  if (set.size === 0) index.delete(key);
}

/** Options of {@link MdnsRecordCache}. */
export interface MdnsRecordCacheOptions {
  readonly maxRecords?: number;
  readonly maxRecordsPerSender?: number;
}

/**
 * The cache; see the module comment for the rules that keep it fair under a flood.
 *
 * @example
 * ```ts
 * const cache = new MdnsRecordCache({ maxRecords: 8192, maxRecordsPerSender: 512 });
 * const removed = cache.add(aaaaRecord, Date.now(), 'fe80::1%eth0'); // records evicted to make room
 * ```
 */
export class MdnsRecordCache {
  readonly maxRecords: number;
  readonly maxRecordsPerSender: number;
  readonly #entries = new Map<string, Entry>();
  /** Per sender, its entries in least-recently-refreshed-first order. */
  readonly #bySender = new Map<string, Map<string, Entry>>();
  /** `name|type` -> entry keys. */
  readonly #byName = new Map<string, Set<string>>();
  /** `type|target` (SRV and PTR) -> entry keys. */
  readonly #byTarget = new Map<string, Set<string>>();
  /** Sender counts -> senders with that many records, and the largest count. */
  readonly #sendersBySize = new Map<number, Set<string>>();
  #largest = 0;
  readonly #heap = new ExpiryHeap();
  #generation = 0;

  constructor(options: MdnsRecordCacheOptions | number = {}) {
    const o = typeof options === 'number' ? { maxRecords: options } : options;
    this.maxRecords = o.maxRecords ?? DEFAULT_MAX_RECORDS;
    this.maxRecordsPerSender = Math.min(o.maxRecordsPerSender ?? DEFAULT_MAX_RECORDS_PER_SENDER, this.maxRecords);
    if (!(this.maxRecords >= 1 && this.maxRecordsPerSender >= 1)) {
      throw new RangeError(`MdnsRecordCache: maxRecords ${this.maxRecords} and maxRecordsPerSender ${this.maxRecordsPerSender} must be at least 1`);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  /** How many records a sender has in the cache. */
  countOf(sender: string): number {
    return this.#bySender.get(sender)?.size ?? 0;
  }

  /**
   * Adds or refreshes a record from `sender`; a TTL of 0 schedules its removal in one second.
   * Returns the records evicted to make room (other records are untouched).
   */
  add(record: DnsRecord, now: number, sender: string = UNKNOWN_SENDER): CachedRecord[] {
    const name = record.name.toLowerCase();
    const nameKey = `${name}|${record.type}`;
    if (record.cacheFlush && record.ttl > 0) {
      // Only the sender's own records of this name and type are flushed.
      const keys = this.#byName.get(nameKey);
      if (keys) {
        for (const key of [...keys]) {
          const cached = this.#entries.get(key) as Entry;
          if (cached.sender === sender && now - cached.receivedAt > CACHE_FLUSH_WINDOW_MS && cached.expiresAt > now + GOODBYE_GRACE_MS) {
            this.#put({ ...cached, expiresAt: now + GOODBYE_GRACE_MS }, false);
          }
        }
      }
    }
    const rrKey = `${nameKey}|${rdataKey(record)}`;
    const key = `${sender}\u0001${rrKey}`;
    if (record.ttl === 0 && !this.#entries.has(key)) return []; // goodbye for something this sender never said
    const ttl = Math.min(record.ttl, MAX_TTL_SECONDS);
    const stored = ttl === record.ttl ? record : ({ ...record, ttl } as DnsRecord);
    const target = targetOf(record);
    this.#put({
      record: stored,
      receivedAt: now,
      expiresAt: ttl === 0 ? now + GOODBYE_GRACE_MS : now + ttl * 1000,
      sender,
      key,
      rrKey,
      nameKey,
      targetKey: target === undefined ? undefined : `${record.type}|${target}`,
      generation: 0,
    }, true);
    const evicted: CachedRecord[] = [];
    const own = this.#bySender.get(sender);
    while (own && own.size > this.maxRecordsPerSender) evicted.push(this.#evictOldestOf(sender));
    while (this.#entries.size > this.maxRecords) {
      const largest = this.#sendersBySize.get(this.#largest)?.values().next().value as string;
      evicted.push(this.#evictOldestOf(largest));
    }
    return evicted;
  }

  /** Removes records whose time is over; returns them. */
  expire(now: number): CachedRecord[] {
    const gone: CachedRecord[] = [];
    for (let top = this.#heap.peek(); top && top.at <= now; top = this.#heap.peek()) {
      this.#heap.pop();
      const entry = this.#entries.get(top.key);
      if (entry && entry.generation === top.generation) {
        this.#remove(entry);
        gone.push(entry);
      }
    }
    return gone;
  }

  /** Live records of a name and type (goodbyes in their grace second excluded), one per rdata. */
  find(name: string, type: number): DnsRecord[] {
    return this.#live(this.#byName.get(`${name.toLowerCase()}|${type}`));
  }

  /** Live SRV or PTR records whose target is `target`, one per owner name and rdata. */
  findByTarget(type: number, target: string): DnsRecord[] {
    return this.#live(this.#byTarget.get(`${type}|${target.toLowerCase()}`));
  }

  /** Every live record of a type (a scan: for diagnostics and tests, not per packet). */
  all(type: number): DnsRecord[] {
    const out: DnsRecord[] = [];
    const seen = new Set<string>();
    for (const e of this.#entries.values()) {
      if (e.record.type === type && e.record.ttl > 0 && !seen.has(e.rrKey)) {
        seen.add(e.rrKey);
        out.push(e.record);
      }
    }
    return out;
  }

  /** The earliest expiry, to schedule the next sweep. */
  nextExpiry(): number | undefined {
    for (let top = this.#heap.peek(); top; top = this.#heap.peek()) {
      const entry = this.#entries.get(top.key);
      if (entry && entry.generation === top.generation) return top.at;
      this.#heap.pop();
    }
    return undefined;
  }

  #live(keys: Set<string> | undefined): DnsRecord[] {
    if (!keys) return [];
    const byRr = new Map<string, Entry>();
    for (const key of keys) {
      const e = this.#entries.get(key) as Entry;
      if (e.record.ttl === 0) continue;
      const seen = byRr.get(e.rrKey);
      if (!seen || seen.receivedAt < e.receivedAt) byRr.set(e.rrKey, e);
    }
    return [...byRr.values()].map((e) => e.record);
  }

  /** Stores `entry` (new or replacing the same key); `refresh` moves it to its sender's newest end. */
  #put(entry: Entry, refresh: boolean): void {
    const generation = ++this.#generation;
    const stored: Entry = { ...entry, generation };
    const old = this.#entries.get(entry.key);
    let own = this.#bySender.get(entry.sender);
    if (!own) this.#bySender.set(entry.sender, (own = new Map<string, Entry>()));
    if (old) {
      if (old.targetKey !== undefined) removeFrom(this.#byTarget, old.targetKey, old.key);
      if (refresh) own.delete(entry.key);
    } else {
      this.#resize(entry.sender, own.size, own.size + 1);
    }
    this.#entries.set(entry.key, stored);
    own.set(entry.key, stored);
    addTo(this.#byName, stored.nameKey, stored.key);
    if (stored.targetKey !== undefined) addTo(this.#byTarget, stored.targetKey, stored.key);
    this.#heap.push({ at: stored.expiresAt, key: stored.key, generation });
    // Refreshes leave stale heap items behind: rebuild when they outnumber the live ones.
    if (this.#heap.items.length > 2 * this.#entries.size + 1024) this.#rebuildHeap();
  }

  #remove(entry: Entry): void {
    this.#entries.delete(entry.key);
    const own = this.#bySender.get(entry.sender);
    if (own) {
      own.delete(entry.key);
      this.#resize(entry.sender, own.size + 1, own.size);
      if (own.size === 0) this.#bySender.delete(entry.sender);
    }
    removeFrom(this.#byName, entry.nameKey, entry.key);
    if (entry.targetKey !== undefined) removeFrom(this.#byTarget, entry.targetKey, entry.key);
  }

  #evictOldestOf(sender: string): CachedRecord {
    const own = this.#bySender.get(sender) as Map<string, Entry>;
    const oldest = own.values().next().value as Entry;
    this.#remove(oldest);
    return oldest;
  }

  /** Moves a sender between size buckets (sizes change by one at a time). */
  #resize(sender: string, from: number, to: number): void {
    if (from > 0) {
      const set = this.#sendersBySize.get(from);
      set?.delete(sender);
      if (set && set.size === 0) this.#sendersBySize.delete(from);
    }
    if (to > 0) {
      let set = this.#sendersBySize.get(to);
      if (!set) this.#sendersBySize.set(to, (set = new Set()));
      set.add(sender);
    }
    if (to > this.#largest) this.#largest = to;
    while (this.#largest > 0 && !this.#sendersBySize.has(this.#largest)) this.#largest--;
  }

  #rebuildHeap(): void {
    this.#heap.items = [];
    for (const e of this.#entries.values()) this.#heap.push({ at: e.expiresAt, key: e.key, generation: e.generation });
  }
}
