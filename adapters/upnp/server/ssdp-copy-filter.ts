/**
 * Tells the copies of one multicast datagram apart from real retries.
 *
 * Every IPv4 responder socket is bound to *:1900 and joined to the group on its interface, so
 * one M-SEARCH sent to 239.255.255.250 is delivered once to **each** socket. Those copies must
 * be answered once. A client that repeats the same search (same source port, same bytes) a few
 * milliseconds later is a new request and must be answered again, as miniupnpd does: a time
 * window alone cannot tell the two apart (it swallowed real retries). A socket never receives
 * the same datagram twice, so: a datagram is a copy if another socket already saw these bytes
 * from this source within the window and this socket has not; seen again by a socket that
 * already saw it, it is a new datagram.
 *
 * @example
 * ```ts
 * const f = new SsdpCopyFilter();
 * f.isCopy('10.0.0.2:5000:M-SEARCH…', 'eth0', 0); // false (first delivery: answer)
 * f.isCopy('10.0.0.2:5000:M-SEARCH…', 'eth1', 1); // true  (the same datagram on another socket)
 * f.isCopy('10.0.0.2:5000:M-SEARCH…', 'eth0', 30); // false (a real retry: answer again)
 * ```
 */
export class SsdpCopyFilter {
  /** key -> when the current datagram was first seen, and which sockets have seen it. */
  private readonly recent = new Map<string, { at: number; sockets: Set<string> }>();

  /**
   * @param windowMs how long after the first delivery another socket's delivery still counts as a copy
   * @param maxEntries bound on remembered datagrams (old ones are pruned first)
   */
  constructor(private readonly windowMs = 100, private readonly maxEntries = 256) {
    if (!(windowMs > 0)) throw new RangeError(`windowMs must be positive, got ${windowMs}`);
    if (!(maxEntries > 0)) throw new RangeError(`maxEntries must be positive, got ${maxEntries}`);
  }

  /** True when this delivery is a copy of a datagram already handed on; records it either way. */
  isCopy(key: string, socket: string, now: number): boolean {
    const seen = this.recent.get(key);
    if (seen && now - seen.at < this.windowMs && !seen.sockets.has(socket)) {
      seen.sockets.add(socket);
      return true;
    }
    this.recent.delete(key); // re-insert so iteration order stays oldest-first
    this.recent.set(key, { at: now, sockets: new Set([socket]) });
    this.prune(now);
    return false;
  }

  private prune(now: number): void {
    if (this.recent.size <= this.maxEntries) return;
    for (const [k, v] of this.recent) if (now - v.at >= this.windowMs) this.recent.delete(k);
    for (const k of this.recent.keys()) {
      if (this.recent.size <= this.maxEntries) break;
      this.recent.delete(k);
    }
  }
}
