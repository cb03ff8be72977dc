/**
 * Rate-limited logging of refusals, so a hostile LAN host cannot fill the
 * router's disk with log lines by asking for what it will not get: the first
 * refusal of one client for one reason in a window is logged in full; the
 * rest of that window are counted, and when the window ends one line says how
 * many there were (`"control refused (repeated)"`, `count: 57`,
 * `windowSeconds: 60`).
 *
 * Bounded whatever the traffic: at most `maxKeys` (client, reason) pairs are
 * followed per window; once full, refusals of clients not yet followed are
 * counted together under the client `"(others)"` (one full line, then a
 * count). A pair already followed is never evicted by someone else's traffic,
 * and every window ends with the table empty again. At most
 * `2 × (maxKeys + 1)` lines per window and reason, however many refusals.
 *
 * @example
 * ```ts
 * import { RefusalLog } from './refusal-log';
 * import { createLogger } from './structured-log';
 * const refusals = new RefusalLog({ log: createLogger({ level: 'info' }), windowMs: 60_000, now: Date.now });
 * for (let i = 0; i < 1000; i++) refusals.refused('control refused', '192.168.1.66', '606/requester-owns-target', { action: 'AddPinhole' });
 * refusals.flush(); // after the window: one line with count 999
 * ```
 */
import { LogFields, Logger } from './structured-log';

export interface RefusalLogOptions {
  readonly log: Logger;
  /** The window, ms (the `log.refusalWindowSeconds` key). */
  readonly windowMs: number;
  /** Wall clock, ms. */
  readonly now: () => number;
  /** (client, reason) pairs followed at once (default 1024). */
  readonly maxKeys?: number;
}

interface Followed {
  readonly msg: string;
  readonly client: string;
  readonly reason: string;
  readonly windowEnds: number;
  count: number;
}

/** The client under which refusals are counted once {@link RefusalLogOptions.maxKeys} pairs are followed. */
export const OTHER_CLIENTS = '(others)';

export class RefusalLog {
  private readonly followed = new Map<string, Followed>();
  private readonly maxKeys: number;
  private nextFlush = Number.POSITIVE_INFINITY;

  constructor(private readonly options: RefusalLogOptions) {
    if (!(options.windowMs > 0)) throw new RangeError(`refusal log window must be a positive number of ms, got ${options.windowMs}`);
    this.maxKeys = options.maxKeys ?? 1024;
    if (!Number.isInteger(this.maxKeys) || this.maxKeys < 1) throw new RangeError(`refusal log maxKeys must be a positive whole number, got ${options.maxKeys}`);
  }

  /** Pairs followed in the current windows (for tests and metrics). */
  get size(): number {
    return this.followed.size;
  }

  /** Logs (at info) or counts one refusal of `client` for `reason`. */
  refused(msg: string, client: string, reason: string, fields: LogFields = {}): void {
    const now = this.options.now();
    if (now >= this.nextFlush) this.flush();
    let who = client;
    let key = `${msg}\u0000${client}\u0000${reason}`;
    let entry = this.followed.get(key);
    if (!entry && this.followed.size >= this.maxKeys) {
      who = OTHER_CLIENTS;
      key = `${msg}\u0000${OTHER_CLIENTS}\u0000${reason}`;
      entry = this.followed.get(key);
    }
    if (entry) {
      entry.count++;
      return;
    }
    const windowEnds = now + this.options.windowMs;
    this.followed.set(key, { msg, client: who, reason, windowEnds, count: 0 });
    if (windowEnds < this.nextFlush) this.nextFlush = windowEnds;
    this.options.log.info(msg, who === client ? fields : { ...fields, followedClients: this.maxKeys });
  }

  /**
   * Ends the windows that are over: one line per pair that was refused again
   * in its window (`count` more times), and the pair forgotten. Call it on a
   * timer (the daemon's sweep); {@link refused} also calls it when a window
   * is due. `all` ends every window now (on stop). Returns the lines written.
   */
  flush(all = false): number {
    const now = this.options.now();
    let lines = 0;
    let next = Number.POSITIVE_INFINITY;
    for (const [key, e] of this.followed) {
      if (!all && e.windowEnds > now) {
        if (e.windowEnds < next) next = e.windowEnds;
        continue;
      }
      this.followed.delete(key);
      if (e.count === 0) continue;
      this.options.log.info(`${e.msg} (repeated)`, { client: e.client, reason: e.reason, count: e.count, windowSeconds: Math.round(this.options.windowMs / 1000) });
      lines++;
    }
    this.nextFlush = next;
    return lines;
  }
}
