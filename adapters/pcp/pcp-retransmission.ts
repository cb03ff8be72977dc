/**
 * When a PCP client sends a request again (RFC 6887 section 8.1.1): the RFC's
 * initial timeout is 3 s, each next one doubles up to 1024 s, each with ±10 %
 * random jitter, and there is no limit on the count. Because a router on the
 * LAN answers in about a millisecond, a lost first datagram is retried
 * quickly (after `firstRetryMs`, default 100 ms) before the RFC's schedule
 * starts.
 *
 * @example
 * ```ts
 * const next = retransmissionDelays({ random: () => 0.5 });
 * next(); // 100, then 3000, 6000, 12000, ... capped at 1024000
 * ```
 */
export interface RetransmissionOptions {
  /** Delay before the first retry, ms (default 100; 0 disables the fast retry). */
  readonly firstRetryMs?: number;
  /** The RFC's IRT, ms (default 3000). */
  readonly initialMs?: number;
  /** The RFC's MRT, ms (default 1_024_000). */
  readonly maxMs?: number;
  /** A number in [0, 1) for the jitter (default Math.random). */
  readonly random?: () => number;
}

export const PCP_IRT_MS = 3000;
export const PCP_MRT_MS = 1_024_000;
export const PCP_FIRST_RETRY_MS = 100;

/** A generator of the delays between transmissions: call it after each send. */
export function retransmissionDelays(options: RetransmissionOptions = {}): () => number {
  const first = options.firstRetryMs ?? PCP_FIRST_RETRY_MS;
  const initial = options.initialMs ?? PCP_IRT_MS;
  const max = options.maxMs ?? PCP_MRT_MS;
  const random = options.random ?? Math.random;
  if (!(first >= 0) || !(initial > 0) || !(max >= initial)) {
    throw new RangeError(`retransmission: need firstRetryMs >= 0, initialMs > 0 and maxMs >= initialMs (got ${first}, ${initial}, ${max})`);
  }
  let fastDone = first === 0;
  let previous = 0;
  return () => {
    if (!fastDone) {
      fastDone = true;
      return first;
    }
    const base = previous === 0 ? initial : Math.min(2 * previous, max);
    previous = base;
    const jitter = (random() * 2 - 1) * 0.1;
    return Math.round(base * (1 + jitter));
  };
}
