/**
 * Per-source connection budget for a listener on the LAN (the IGD's HTTP
 * server, the admin API, later PCP): who may hold how many sockets, and which
 * socket to close when the listener is full. Pure bookkeeping — no sockets,
 * no timers; the listener closes what {@link ConnectionBudget.admit} tells it
 * to and sets its own deadlines.
 *
 * **Sources are exact addresses** (canonical, zone dropped, an IPv4-mapped
 * IPv6 peer as its IPv4 address). Not /64s: on a flat home LAN every host
 * shares one /64, so a /64 quota would lump the attacker and its victims into
 * one bucket and let one host lock all IPv6 hosts out. The price is that a
 * host holding many addresses (IPv6 privacy addresses) can hold many quotas;
 * that is bounded by the global caps and by the eviction rule below.
 *
 * The rules (N = `maxTotal`, M = `maxPerSource`, U = `maxUnauthenticated`,
 * Mu = `maxUnauthenticatedPerSource`):
 * - a source never holds more than M sockets, nor more than Mu not yet
 *   authenticated ones (over that: refused, `source-cap`);
 * - at most U sockets are unauthenticated at once, at most N in all: the
 *   N - U others are a reserve only token holders can use (a listener with no
 *   authentication, the IGD, sets U = N);
 * - when the listener is full, the newcomer gets the slot of the newest
 *   unauthenticated socket of the heaviest source — if that source holds more
 *   unauthenticated sockets than the newcomer (else: refused, `full`). So a
 *   host holding nothing always gets in while any unauthenticated socket is
 *   open, and an authenticated socket is never closed for someone else;
 * - trusted sources (loopback by default) are counted apart (at most
 *   `maxTrusted`) and never evicted: a LAN host cannot lock the router's own
 *   tools out.
 *
 * @example
 * ```ts
 * const budget = new ConnectionBudget({ maxTotal: 32, maxPerSource: 8, maxUnauthenticated: 16, maxUnauthenticatedPerSource: 4 });
 * const a = budget.admit('192.168.1.20', () => socket.destroy());
 * if (!a.admitted) socket.destroy(); // a.reason: 'source-cap' | 'full' | 'bad-source'
 * else {
 *   a.ticket.authenticate();          // the token was right: never evicted from now on
 *   socket.on('close', () => a.ticket.release());
 * }
 * ```
 */
import { scopeOf, unmappedAddress } from '../../policies/model/address';

/** The caps of one listener; see the module comment for what each bounds. */
export interface ConnectionBudgetLimits {
  /** N: sockets from untrusted sources at once. */
  readonly maxTotal: number;
  /** M: sockets one source may hold (M < N leaves N - M for the others). */
  readonly maxPerSource: number;
  /** U: unauthenticated sockets at once (U = N for a listener without authentication). */
  readonly maxUnauthenticated: number;
  /** Mu: unauthenticated sockets one source may hold. */
  readonly maxUnauthenticatedPerSource: number;
}

/** Options of {@link ConnectionBudget}. */
export interface ConnectionBudgetOptions {
  /** Sources counted apart and never evicted (default: loopback addresses). */
  readonly trusted?: (source: string) => boolean;
  /** Sockets trusted sources may hold together (default `maxTotal`). */
  readonly maxTrusted?: number;
}

/** Why a socket was refused. */
export type RefusalReason = 'source-cap' | 'full' | 'bad-source';

/** The answer of {@link ConnectionBudget.admit}. */
export type Admission =
  | { readonly admitted: true; readonly ticket: ConnectionTicket; readonly evicted: ConnectionTicket | undefined }
  | { readonly admitted: false; readonly reason: RefusalReason; readonly source: string | undefined };

/** Counts, for logs, metrics and tests. */
export interface BudgetStats {
  readonly total: number;
  readonly unauthenticated: number;
  readonly trusted: number;
  readonly sources: number;
}

/** A slot held by one socket; release it when the socket closes (idempotent). */
export interface ConnectionTicket {
  readonly source: string;
  readonly trusted: boolean;
  readonly authenticated: boolean;
  readonly released: boolean;
  /** The socket proved it holds the token: it is never evicted for someone else. */
  authenticate(): void;
  release(): void;
}

interface SourceSlots {
  /** Unauthenticated tickets, oldest first. */
  readonly unauthenticated: TicketImpl[];
  authenticated: number;
}

class TicketImpl implements ConnectionTicket {
  authenticated = false;
  released = false;
  constructor(
    readonly source: string,
    readonly trusted: boolean,
    readonly evict: () => void,
    private readonly owner: { promote(t: TicketImpl): void; drop(t: TicketImpl): void },
  ) {}
  authenticate(): void {
    if (this.released || this.authenticated) return;
    this.owner.promote(this);
  }
  release(): void {
    if (this.released) return;
    this.owner.drop(this);
  }
}

function checkLimit(name: string, value: number | undefined, min = 1): void {
  if (!(Number.isInteger(value) && (value as number) >= min)) throw new RangeError(`connection budget: ${name} must be an integer >= ${min}, got ${String(value)}`);
}

/** Loopback sources (the router's own tools): the default trusted set. */
export function isLoopbackSource(source: string): boolean {
  const address = unmappedAddress(source);
  return address !== undefined && scopeOf(address) === 'loopback';
}

/**
 * Who holds how many sockets of one listener; see the module comment.
 *
 * @example
 * ```ts
 * const b = new ConnectionBudget({ maxTotal: 4, maxPerSource: 2, maxUnauthenticated: 4, maxUnauthenticatedPerSource: 2 }, { trusted: () => false });
 * b.admit('10.0.0.2', () => {}).admitted; // true
 * b.admit('10.0.0.2', () => {}).admitted; // true
 * b.admit('10.0.0.2', () => {}).admitted; // false: source-cap
 * ```
 */
export class ConnectionBudget {
  private readonly bySource = new Map<string, SourceSlots>();
  private total = 0;
  private unauthenticated = 0;
  private trustedCount = 0;
  private readonly trusted: (source: string) => boolean;
  private readonly maxTrusted: number;
  private readonly hooks = { promote: (t: TicketImpl): void => this.promote(t), drop: (t: TicketImpl): void => this.drop(t) };

  constructor(
    readonly limits: ConnectionBudgetLimits,
    options: ConnectionBudgetOptions = {},
  ) {
    checkLimit('maxTotal', limits.maxTotal);
    checkLimit('maxPerSource', limits.maxPerSource);
    checkLimit('maxUnauthenticated', limits.maxUnauthenticated);
    checkLimit('maxUnauthenticatedPerSource', limits.maxUnauthenticatedPerSource);
    if (limits.maxPerSource > limits.maxTotal) throw new RangeError(`connection budget: maxPerSource (${limits.maxPerSource}) must not exceed maxTotal (${limits.maxTotal})`);
    if (limits.maxUnauthenticated > limits.maxTotal) throw new RangeError(`connection budget: maxUnauthenticated (${limits.maxUnauthenticated}) must not exceed maxTotal (${limits.maxTotal})`);
    if (limits.maxUnauthenticatedPerSource > limits.maxPerSource) {
      throw new RangeError(`connection budget: maxUnauthenticatedPerSource (${limits.maxUnauthenticatedPerSource}) must not exceed maxPerSource (${limits.maxPerSource})`);
    }
    this.trusted = options.trusted ?? isLoopbackSource;
    this.maxTrusted = options.maxTrusted ?? limits.maxTotal;
    checkLimit('maxTrusted', this.maxTrusted);
  }

  /**
   * Asks for a slot for a new socket from `peer` (the socket's remote address).
   * `evict` is called (once) if this socket is later closed to make room for
   * another source; the listener must then close it. When the answer names an
   * `evicted` ticket, its `evict` was already called and its slot released.
   */
  admit(peer: string | undefined, evict: () => void): Admission {
    const source = peer === undefined ? undefined : unmappedAddress(peer);
    if (source === undefined) return { admitted: false, reason: 'bad-source', source: peer };
    if (this.trusted(source)) {
      if (this.trustedCount >= this.maxTrusted) return { admitted: false, reason: 'full', source };
      this.trustedCount++;
      return { admitted: true, ticket: new TicketImpl(source, true, evict, this.hooks), evicted: undefined };
    }
    const slots = this.bySource.get(source);
    const held = slots ? slots.unauthenticated.length + slots.authenticated : 0;
    const heldUnauthenticated = slots ? slots.unauthenticated.length : 0;
    if (held >= this.limits.maxPerSource || heldUnauthenticated >= this.limits.maxUnauthenticatedPerSource) return { admitted: false, reason: 'source-cap', source };
    let evicted: TicketImpl | undefined;
    if (this.total >= this.limits.maxTotal || this.unauthenticated >= this.limits.maxUnauthenticated) {
      evicted = this.victimFor(source, heldUnauthenticated);
      if (evicted === undefined) return { admitted: false, reason: 'full', source };
      this.drop(evicted);
      try {
        evicted.evict();
      } catch {
        /* the listener's close must not break admission */
      }
    }
    const ticket = new TicketImpl(source, false, evict, this.hooks);
    const own = this.bySource.get(source) ?? { unauthenticated: [], authenticated: 0 };
    own.unauthenticated.push(ticket);
    this.bySource.set(source, own);
    this.total++;
    this.unauthenticated++;
    return { admitted: true, ticket, evicted };
  }

  /** Sockets `source` holds now (trusted sources: 0, they are counted apart). */
  heldBy(source: string): number {
    const slots = this.bySource.get(unmappedAddress(source) ?? source);
    return slots ? slots.unauthenticated.length + slots.authenticated : 0;
  }

  stats(): BudgetStats {
    return { total: this.total, unauthenticated: this.unauthenticated, trusted: this.trustedCount, sources: this.bySource.size };
  }

  /** The newest unauthenticated ticket of the source holding the most, if it holds more than the newcomer. */
  private victimFor(newcomer: string, newcomerHolds: number): TicketImpl | undefined {
    let heaviest: SourceSlots | undefined;
    for (const [source, slots] of this.bySource) {
      if (source === newcomer) continue;
      if (slots.unauthenticated.length > (heaviest?.unauthenticated.length ?? 0)) heaviest = slots;
    }
    if (heaviest === undefined || heaviest.unauthenticated.length <= newcomerHolds) return undefined;
    return heaviest.unauthenticated[heaviest.unauthenticated.length - 1];
  }

  private promote(ticket: TicketImpl): void {
    ticket.authenticated = true;
    if (ticket.trusted) return;
    const slots = this.bySource.get(ticket.source);
    if (!slots) return;
    const i = slots.unauthenticated.indexOf(ticket);
    if (i >= 0) slots.unauthenticated.splice(i, 1);
    slots.authenticated++;
    this.unauthenticated--;
  }

  private drop(ticket: TicketImpl): void {
    ticket.released = true;
    if (ticket.trusted) {
      this.trustedCount--;
      return;
    }
    const slots = this.bySource.get(ticket.source);
    if (!slots) return;
    if (ticket.authenticated) slots.authenticated--;
    else {
      const i = slots.unauthenticated.indexOf(ticket);
      if (i >= 0) slots.unauthenticated.splice(i, 1);
      this.unauthenticated--;
    }
    this.total--;
    if (slots.authenticated === 0 && slots.unauthenticated.length === 0) this.bySource.delete(ticket.source);
  }
}

/**
 * Which refusals get an explanation (a 503 answer) and which a bare reset: the
 * first refusal of a source in each `periodMs` is explained, the rest of a
 * flood is reset — cheaper for the listener while one host reconnects in a
 * loop, and still a clear answer for an honest client. Bounded: at most
 * `maxSources` sources are remembered (the oldest forgotten).
 *
 * @example
 * ```ts
 * const explain = new RefusalExplainer(1000, Date.now);
 * explain.shouldExplain('10.0.0.66'); // true, then false for a second
 * ```
 */
export class RefusalExplainer {
  private readonly lastExplained = new Map<string, number>();

  constructor(
    private readonly periodMs: number,
    private readonly now: () => number,
    private readonly maxSources = 1024,
  ) {}

  shouldExplain(source: string | undefined): boolean {
    const key = source ?? '?';
    const t = this.now();
    const last = this.lastExplained.get(key);
    if (last !== undefined && t - last < this.periodMs) return false;
    this.lastExplained.delete(key);
    this.lastExplained.set(key, t);
    if (this.lastExplained.size > this.maxSources) this.lastExplained.delete(this.lastExplained.keys().next().value as string);
    return true;
  }
}
