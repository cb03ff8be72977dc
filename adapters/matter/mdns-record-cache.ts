import { DnsRecord, DnsType } from './dns-message';

/** A cached record and when it stops being valid (ms, on the caller's clock). */
export interface CachedRecord {
  readonly record: DnsRecord;
  readonly receivedAt: number;
  readonly expiresAt: number;
}

/** RFC 6762 §10.1: a goodbye (TTL 0) is kept one more second, then removed. */
export const GOODBYE_GRACE_MS = 1000;

/** RFC 6762 §10.2: cache-flush spares records received in the last second. */
const CACHE_FLUSH_WINDOW_MS = 1000;

/** Most records kept at once; a flood of bogus names must not grow memory without bound. */
export const DEFAULT_MAX_RECORDS = 4096;

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

/**
 * An mDNS record cache with TTLs, goodbyes and cache-flush, on an injected
 * clock (milliseconds), so it is deterministic under test. Names compare
 * case-insensitively. Bounded: past `maxRecords` the records closest to
 * expiry are dropped first.
 *
 * @example
 * ```ts
 * const cache = new MdnsRecordCache();
 * cache.add(record, now);
 * cache.expire(now + 5000);
 * cache.find('plug.local', DnsType.AAAA);
 * ```
 */
export class MdnsRecordCache {
  readonly #records = new Map<string, CachedRecord>();

  constructor(readonly maxRecords = DEFAULT_MAX_RECORDS) {}

  get size(): number {
    return this.#records.size;
  }

  /** Adds or refreshes a record; a TTL of 0 schedules its removal in one second. */
  add(record: DnsRecord, now: number): void {
    const name = record.name.toLowerCase();
    if (record.cacheFlush && record.ttl > 0) {
      for (const [key, cached] of this.#records) {
        if (cached.record.type === record.type && cached.record.name.toLowerCase() === name && now - cached.receivedAt > CACHE_FLUSH_WINDOW_MS) {
          this.#records.set(key, { ...cached, expiresAt: Math.min(cached.expiresAt, now + GOODBYE_GRACE_MS) });
        }
      }
    }
    const key = `${name}|${record.type}|${rdataKey(record)}`;
    const expiresAt = record.ttl === 0 ? now + GOODBYE_GRACE_MS : now + record.ttl * 1000;
    if (record.ttl === 0 && !this.#records.has(key)) return; // goodbye for something never seen
    this.#records.set(key, { record, receivedAt: now, expiresAt });
    if (this.#records.size > this.maxRecords) this.#evict();
  }

  /** Removes records whose time is over; returns them. */
  expire(now: number): CachedRecord[] {
    const gone: CachedRecord[] = [];
    for (const [key, cached] of this.#records) {
      if (cached.expiresAt <= now) {
        this.#records.delete(key);
        gone.push(cached);
      }
    }
    return gone;
  }

  /** Live records of a name and type (goodbyes in their grace second excluded). */
  find(name: string, type: number): DnsRecord[] {
    const lower = name.toLowerCase();
    const out: DnsRecord[] = [];
    for (const cached of this.#records.values()) {
      if (cached.record.type === type && cached.record.ttl > 0 && cached.record.name.toLowerCase() === lower) out.push(cached.record);
    }
    return out;
  }

  /** Every live record of a type. */
  all(type: number): DnsRecord[] {
    const out: DnsRecord[] = [];
    for (const cached of this.#records.values()) if (cached.record.type === type && cached.record.ttl > 0) out.push(cached.record);
    return out;
  }

  /** The earliest expiry, to schedule the next sweep. */
  nextExpiry(): number | undefined {
    let next: number | undefined;
    for (const cached of this.#records.values()) if (next === undefined || cached.expiresAt < next) next = cached.expiresAt;
    return next;
  }

  #evict(): void {
    const sorted = [...this.#records.entries()].sort((a, b) => a[1].expiresAt - b[1].expiresAt);
    for (const [key] of sorted.slice(0, this.#records.size - this.maxRecords)) this.#records.delete(key);
  }
}
