/**
 * One PCP mapping the client keeps alive: an inbound IPv6 pinhole or an IPv4
 * port mapping on the router, identified by its nonce. After the grant it
 * renews before half the lifetime (with the assigned external address and
 * port as the suggestion), maps again at once when the client sees that the
 * router lost its state (epoch), and deletes with lifetime 0 and the same
 * nonce. Made by {@link PcpClient.map}.
 *
 * @example
 * ```ts
 * const m = await client.map({ protocol: 'udp', internalPort: 40030, lifetimeSeconds: 120 });
 * m.changes$.subscribe((e) => console.log(e.type));  // renewed, remapped, failed, expired
 * console.log(m.state.externalAddress, m.state.externalPort);
 * await m.delete();
 * ```
 */
import { Observable, SchedulerLike, Subject, Subscription } from 'rxjs';
import { PcpRequestError, PcpResultError } from './pcp-errors';
import { PCP_ANY_IPV4, PCP_ANY_IPV6, pcpAddressFamily } from './pcp-address';
import { encodePcpRequest } from './pcp-codec';
import { IP_PROTOCOLS, PcpOption, PcpResponse } from './pcp-message';
import { isShortLivedPcpError } from './pcp-result-codes';
import { PcpTransaction } from './pcp-transaction';
import { scheduleAfter } from './long-delay';
import { canonicalAddress } from '../../policies/model/address';

/** What to map. */
export interface PcpMapRequest {
  readonly protocol: 'udp' | 'tcp' | number;
  readonly internalPort: number;
  /** Requested lifetime in seconds (> 0); the server may shorten or lengthen it. */
  readonly lifetimeSeconds: number;
  /**
   * The host the mapping is for. Absent or equal to the transport's address:
   * this host. Another address: sent with the THIRD_PARTY option (a
   * controller acting for another LAN host; the router must allow it).
   */
  readonly internalAddress?: string;
  readonly suggestedExternalPort?: number;
  readonly suggestedExternalAddress?: string;
  /** Fail (CANNOT_PROVIDE_EXTERNAL) rather than get another external port/address than suggested. */
  readonly preferFailure?: boolean;
  /** Only let these remote peers in (FILTER options). */
  readonly filters?: readonly { readonly remotePeerAddress: string; readonly prefixLength: number; readonly remotePeerPort?: number }[];
  /**
   * Scheduler time (ms) by which the mapping must be gone (a controller's
   * lease deadline): every request asks for at most the time left, and no
   * renewal is sent once a grant reaches it; the mapping then completes
   * `changes$` at that moment. Absent: renewed until deleted.
   */
  readonly untilMs?: number;
}

/** A granted mapping as the router gave it. */
export interface PcpMappingState {
  readonly internalAddress: string;
  readonly protocol: number;
  readonly internalPort: number;
  readonly externalAddress: string;
  readonly externalPort: number;
  /** Seconds granted. */
  readonly lifetime: number;
  /** The server's epoch in the granting answer. */
  readonly epoch: number;
  /** Scheduler time (ms) of the grant. */
  readonly grantedAtMs: number;
}

export type PcpMappingEvent =
  | { readonly type: 'renewed'; readonly state: PcpMappingState }
  /** Mapped again after the router lost its state; `elapsedMs` from detection to the new grant. */
  | { readonly type: 'remapped'; readonly state: PcpMappingState; readonly elapsedMs: number }
  /** The router refused a renewal or re-map for good (long-lived error); the mapping is gone. */
  | { readonly type: 'failed'; readonly error: Error }
  /** No renewal got through before the lifetime ran out. */
  | { readonly type: 'expired' };

/** What a mapping needs from its client. */
export interface PcpMappingHost {
  readonly scheduler: SchedulerLike;
  readonly localAddress: string;
  readonly renewFraction: number;
  readonly giveUpAfterMs: number;
  transact(init: { bytes: Buffer; what: string; giveUpAfterMs: number; matches: (r: PcpResponse) => boolean; onAnswer: (r: PcpResponse) => void; onFail: (e: Error) => void }): PcpTransaction;
  forget(mapping: PcpMapping): void;
}

function protocolNumber(p: PcpMapRequest['protocol']): number {
  const n = typeof p === 'number' ? p : IP_PROTOCOLS[p];
  if (!Number.isInteger(n) || n < 1 || n > 255) throw new PcpRequestError(`protocol must be udp, tcp or 1..255, got ${String(p)}`);
  return n;
}

export class PcpMapping {
  readonly protocol: number;
  readonly internalAddress: string;
  private current: PcpMappingState | undefined;
  private readonly events = new Subject<PcpMappingEvent>();
  private pending: PcpTransaction | undefined;
  private renewal: Subscription | undefined;
  private active = true;
  private lifetimeSeconds: number;
  private untilMs: number | undefined;

  /** Renewals, re-maps after a router restart, failures. Completes when the mapping is deleted or lost. */
  readonly changes$: Observable<PcpMappingEvent> = this.events.asObservable();

  constructor(
    private readonly host: PcpMappingHost,
    readonly request: PcpMapRequest,
    readonly nonce: Buffer,
  ) {
    this.protocol = protocolNumber(request.protocol);
    const internal = canonicalAddress(request.internalAddress ?? host.localAddress);
    if (internal === undefined) throw new PcpRequestError(`internal address '${request.internalAddress}' is not an IP address`);
    this.internalAddress = internal;
    if (!Number.isInteger(request.lifetimeSeconds) || request.lifetimeSeconds <= 0) {
      throw new PcpRequestError(`lifetimeSeconds must be a positive integer, got ${request.lifetimeSeconds} (delete with mapping.delete())`);
    }
    if (request.untilMs !== undefined && !Number.isFinite(request.untilMs)) throw new PcpRequestError(`untilMs must be a finite time, got ${request.untilMs}`);
    this.lifetimeSeconds = request.lifetimeSeconds;
    this.untilMs = request.untilMs;
    // Validates every field once, before anything is sent.
    this.bytes(request.lifetimeSeconds);
  }

  /** The grant in force; throws before the first grant. */
  get state(): PcpMappingState {
    if (!this.current) throw new Error(`${this.what()} is not granted yet`);
    return this.current;
  }

  /** True while the client keeps this mapping alive. */
  get isActive(): boolean {
    return this.active;
  }

  /** The THIRD_PARTY option is sent when the mapping is for another host. */
  get thirdParty(): boolean {
    return this.internalAddress !== this.host.localAddress;
  }

  private what(): string {
    const proto = this.protocol === 17 ? 'udp' : this.protocol === 6 ? 'tcp' : `protocol ${this.protocol}`;
    return `PCP MAP ${proto}/${this.request.internalPort} for ${this.internalAddress}${this.thirdParty ? ` (THIRD_PARTY from ${this.host.localAddress})` : ''}`;
  }

  /** The request's bytes with this lifetime; `suggest` overrides the external suggestion (renewals). */
  bytes(lifetime: number, suggest?: { port: number; address: string }): Buffer {
    const family = pcpAddressFamily(this.internalAddress);
    const options: PcpOption[] = [];
    if (this.thirdParty) options.push({ type: 'third-party', address: this.internalAddress });
    if (this.request.preferFailure) options.push({ type: 'prefer-failure' });
    for (const f of this.request.filters ?? []) {
      options.push({ type: 'filter', prefixLength: f.prefixLength, remotePeerPort: f.remotePeerPort ?? 0, remotePeerAddress: f.remotePeerAddress });
    }
    return encodePcpRequest({
      opcode: 'map',
      lifetime,
      clientAddress: this.host.localAddress,
      options,
      mapping: {
        nonce: this.nonce,
        protocol: this.protocol,
        internalPort: this.request.internalPort,
        externalPort: suggest?.port ?? this.request.suggestedExternalPort ?? 0,
        externalAddress: suggest?.address ?? this.request.suggestedExternalAddress ?? (family === 'ipv4' ? PCP_ANY_IPV4 : PCP_ANY_IPV6),
      },
    });
  }

  /** True for the answer to this mapping's requests (RFC 6887 11.4: nonce, protocol, internal port). */
  matches(r: PcpResponse): boolean {
    return r.opcode === 'map' && r.mapping !== undefined && r.mapping.nonce.equals(this.nonce) && r.mapping.protocol === this.protocol && r.mapping.internalPort === this.request.internalPort;
  }

  private send(lifetime: number, suggest: { port: number; address: string } | undefined, giveUpAfterMs: number, onAnswer: (r: PcpResponse) => void, onFail: (e: Error) => void): void {
    this.pending?.cancel();
    this.pending = this.host.transact({ bytes: this.bytes(lifetime, suggest), what: this.what(), giveUpAfterMs, matches: (r) => this.matches(r), onAnswer, onFail });
  }

  private granted(r: PcpResponse): PcpMappingState {
    const m = r.opcode === 'map' ? r.mapping! : undefined;
    this.current = {
      internalAddress: this.internalAddress,
      protocol: this.protocol,
      internalPort: this.request.internalPort,
      externalAddress: m!.externalAddress,
      externalPort: m!.externalPort,
      lifetime: r.lifetime,
      epoch: r.epoch,
      grantedAtMs: this.host.scheduler.now(),
    };
    this.scheduleRenewal();
    return this.current;
  }

  /** The lifetime to ask for now: the requested one, cut to the time left before `untilMs`. */
  private askLifetime(): number {
    if (this.untilMs === undefined) return this.lifetimeSeconds;
    return Math.min(this.lifetimeSeconds, Math.ceil((this.untilMs - this.host.scheduler.now()) / 1000));
  }

  /** The deadline (scheduler ms) the mapping is kept to, if any. */
  get deadlineMs(): number | undefined {
    return this.untilMs;
  }

  /** Sends the first request; resolves on SUCCESS, rejects with a typed error. */
  start(): Promise<PcpMappingState> {
    const lifetime = this.askLifetime();
    if (lifetime <= 0) {
      this.end();
      return Promise.reject(new PcpRequestError(`${this.what()}: its deadline has already passed`));
    }
    return new Promise((resolve, reject) => {
      this.send(
        lifetime,
        undefined,
        this.host.giveUpAfterMs,
        (r) => {
          if (r.resultCode === 0) return resolve(this.granted(r));
          this.end();
          reject(new PcpResultError(r.resultCode, r.lifetime, this.what()));
        },
        (e) => {
          this.end();
          reject(e);
        },
      );
    });
  }

  private scheduleRenewal(): void {
    this.renewal?.unsubscribe();
    const s = this.current;
    if (!s || s.lifetime === 0 || !this.active) return;
    if (this.untilMs !== undefined && s.grantedAtMs + s.lifetime * 1000 >= this.untilMs) {
      // The grant covers the deadline: nothing more to renew; the mapping ends there.
      this.renewal = scheduleAfter(this.host.scheduler, this.untilMs - this.host.scheduler.now(), () => this.end());
      return;
    }
    const at = s.lifetime * 1000 * this.host.renewFraction;
    this.renewal = scheduleAfter(this.host.scheduler, at, () => this.renew('renewed'));
  }

  private remaining(): number {
    const s = this.current!;
    return s.grantedAtMs + s.lifetime * 1000 - this.host.scheduler.now();
  }

  private renew(kind: 'renewed' | 'remapped', lostAtMs?: number): void {
    if (!this.active || !this.current) return;
    const s = this.current;
    const lifetime = this.askLifetime();
    if (lifetime <= 0) return this.end();
    const giveUp = kind === 'remapped' ? Math.max(this.host.giveUpAfterMs, this.remaining()) : Math.max(1, this.remaining());
    this.send(
      lifetime,
      { port: s.externalPort, address: s.externalAddress },
      giveUp,
      (r) => {
        if (r.resultCode === 0) {
          const state = this.granted(r);
          this.events.next(kind === 'remapped' ? { type: 'remapped', state, elapsedMs: this.host.scheduler.now() - (lostAtMs ?? 0) } : { type: 'renewed', state });
          return;
        }
        const error = new PcpResultError(r.resultCode, r.lifetime, this.what());
        if (isShortLivedPcpError(r.resultCode) && this.remaining() > 1000) {
          const retryIn = Math.min(Math.max(r.lifetime * 1000, 1000), this.remaining() - 1000);
          this.renewal = scheduleAfter(this.host.scheduler, retryIn, () => this.renew(kind, lostAtMs));
          return;
        }
        this.events.next({ type: 'failed', error });
        this.end();
      },
      () => {
        this.events.next({ type: 'expired' });
        this.end();
      },
    );
  }

  /**
   * Asks the router now for a new lifetime and deadline (a controller's lease
   * was renewed), with the same nonce and the assigned external port as the
   * suggestion. Resolves with the new grant; on an error the mapping keeps
   * its current grant and renewal schedule, and the promise rejects.
   *
   * @example
   * ```ts
   * await mapping.extend(3600, scheduler.now() + 3_600_000);
   * ```
   */
  extend(lifetimeSeconds: number, untilMs?: number): Promise<PcpMappingState> {
    if (!Number.isInteger(lifetimeSeconds) || lifetimeSeconds <= 0) return Promise.reject(new PcpRequestError(`lifetimeSeconds must be a positive integer, got ${lifetimeSeconds}`));
    if (!this.active || !this.current) return Promise.reject(new Error(`${this.what()} is not active`));
    const previous = { lifetimeSeconds: this.lifetimeSeconds, untilMs: this.untilMs };
    const restore = (): void => {
      this.lifetimeSeconds = previous.lifetimeSeconds;
      this.untilMs = previous.untilMs;
    };
    this.lifetimeSeconds = lifetimeSeconds;
    this.untilMs = untilMs;
    const lifetime = this.askLifetime();
    if (lifetime <= 0) {
      restore();
      return Promise.reject(new PcpRequestError(`${this.what()}: the new deadline has already passed`));
    }
    const s = this.current;
    this.renewal?.unsubscribe();
    return new Promise((resolve, reject) => {
      this.send(
        lifetime,
        { port: s.externalPort, address: s.externalAddress },
        this.host.giveUpAfterMs,
        (r) => {
          if (r.resultCode === 0) return resolve(this.granted(r));
          restore();
          this.scheduleRenewal();
          reject(new PcpResultError(r.resultCode, r.lifetime, this.what()));
        },
        (e) => {
          restore();
          this.scheduleRenewal();
          reject(e);
        },
      );
    });
  }

  /** The router lost its state: map again now (called by the client). */
  routerLostState(): void {
    if (!this.active || !this.current) return;
    this.renewal?.unsubscribe();
    this.renew('remapped', this.host.scheduler.now());
  }

  /**
   * Deletes the mapping: lifetime 0, the same nonce and the first request's
   * suggestion. Resolves on SUCCESS; rejects with {@link PcpResultError} or a
   * timeout. Renewals stop either way.
   */
  delete(): Promise<void> {
    this.active = false;
    this.renewal?.unsubscribe();
    return new Promise((resolve, reject) => {
      this.send(
        0,
        undefined,
        this.host.giveUpAfterMs,
        (r) => {
          this.end();
          if (r.resultCode === 0) resolve();
          else reject(new PcpResultError(r.resultCode, r.lifetime, `deleting ${this.what()}`));
        },
        (e) => {
          this.end();
          reject(e);
        },
      );
    });
  }

  /** Stops renewing without deleting (the router lets the lease run out). */
  stop(): void {
    this.end();
  }

  private end(): void {
    this.active = false;
    this.renewal?.unsubscribe();
    if (this.pending && !this.pending.finished) this.pending.cancel();
    this.host.forget(this);
    this.events.complete();
  }
}
