/**
 * The client's check of the server's epoch (RFC 6887 section 8.5): every
 * answer carries the seconds since the server last lost its state. The client
 * remembers the last epoch it saw and its own clock at that moment; a new
 * answer means the server lost its mappings when its epoch went back by more
 * than a second, or when server time and client time moved apart by more
 * than 2 s plus 1/16 of the larger step (a jump forward, or a restart
 * in-between that the epoch alone hides). The caller then maps again at once.
 *
 * @example
 * ```ts
 * const epochs = new PcpEpochTracker();
 * epochs.observe(100, 0);        // false: first answer
 * epochs.observe(3, 10_000);     // true: the epoch went back, the router lost its state
 * ```
 */
export class PcpEpochTracker {
  private last: { serverSeconds: number; clientMs: number } | undefined;

  /** The last epoch seen, if any. */
  get lastEpoch(): number | undefined {
    return this.last?.serverSeconds;
  }

  /**
   * Records an epoch seen at client time `clientMs` (milliseconds, any
   * monotonic origin); true when it shows the server lost its state.
   */
  observe(serverSeconds: number, clientMs: number): boolean {
    const previous = this.last;
    this.last = { serverSeconds, clientMs };
    if (previous === undefined) return false;
    if (serverSeconds < previous.serverSeconds - 1) return true;
    const clientDelta = (clientMs - previous.clientMs) / 1000;
    const serverDelta = serverSeconds - previous.serverSeconds;
    return clientDelta + 2 < serverDelta - serverDelta / 16 || serverDelta + 2 < clientDelta - clientDelta / 16;
  }

  /** Forgets the last epoch (a new server). */
  reset(): void {
    this.last = undefined;
  }
}
