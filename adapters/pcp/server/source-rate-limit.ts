/**
 * A per-source token bucket for a UDP listener: each source address may send
 * `burst` requests at once and `perSecond` more every second, so one LAN host
 * cannot starve the others. The table of sources is bounded (`maxSources`):
 * when full, the source seen least recently is forgotten (it starts again
 * with a full bucket, which is the friendly direction to err in).
 *
 * @example
 * ```ts
 * const limit = new SourceRateLimit({ burst: 2, perSecond: 1, now: () => 0 });
 * limit.take('192.168.77.10'); // true
 * limit.take('192.168.77.10'); // true
 * limit.take('192.168.77.10'); // false: wait a second
 * limit.take('192.168.77.11'); // true: another host has its own bucket
 * ```
 */
export interface SourceRateLimitOptions {
  /** Requests a source may send at once (the bucket size). */
  readonly burst: number;
  /** Requests added to each bucket per second. */
  readonly perSecond: number;
  /** Milliseconds, any monotonic origin. */
  readonly now: () => number;
  /** Sources remembered at most (default 4096). */
  readonly maxSources?: number;
}

export class SourceRateLimit {
  /** Insertion order = least recently seen first. */
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly maxSources: number;
  /** Requests refused since start. */
  refused = 0;

  constructor(private readonly options: SourceRateLimitOptions) {
    if (!(options.burst >= 1) || !(options.perSecond > 0)) throw new Error(`a rate limit needs burst >= 1 and perSecond > 0, got ${options.burst} and ${options.perSecond}`);
    this.maxSources = options.maxSources ?? 4096;
  }

  /** Takes one token for `source`; false when its bucket is empty. */
  take(source: string): boolean {
    const now = this.options.now();
    const bucket = this.buckets.get(source);
    let tokens = this.options.burst;
    if (bucket) {
      this.buckets.delete(source);
      tokens = Math.min(this.options.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.options.perSecond);
    } else if (this.buckets.size >= this.maxSources) {
      const oldest = this.buckets.keys().next().value;
      if (oldest !== undefined) this.buckets.delete(oldest);
    }
    const ok = tokens >= 1;
    this.buckets.set(source, { tokens: ok ? tokens - 1 : tokens, at: now });
    if (!ok) this.refused++;
    return ok;
  }

  /** Sources currently remembered. */
  get size(): number {
    return this.buckets.size;
  }
}
