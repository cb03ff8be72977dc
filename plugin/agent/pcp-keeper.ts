/**
 * Keeps one family's port open through PCP (RFC 6887) — and, for IPv4 on a
 * router that only speaks NAT-PMP (RFC 6886), through NAT-PMP — with the same
 * verdicts as the UPnP path: `open`, `ineffective` (an IPv4 mapping behind
 * another NAT), `denied` with the PCP result code and its meaning (e.g. 2
 * NOT_AUTHORIZED, 5 UNSUPP_OPTION), `unsupported` (no PCP server answered; a
 * NAT-PMP-only router asked for IPv6). The PCP client renews by itself and
 * maps again at once when the router's epoch shows it lost its state; this
 * keeper turns those events into verdicts, and closes with lifetime 0.
 *
 * @example
 * ```ts
 * const keeper = new PcpKeeper({ family: 'ipv6', router: '2001:db8:77::1', protocol: 'udp', port: 40000, leaseSeconds: 3600 });
 * const verdict = await keeper.open('2001:db8:77::10');   // { verdict: 'open', via: 'pcp', nonce: '…', … }
 * await keeper.close();                                    // MAP with lifetime 0
 * ```
 */
import { randomBytes } from 'node:crypto';
import { asyncScheduler, BehaviorSubject, Observable, SchedulerLike, Subscription } from 'rxjs';
import { NatPmpClient } from '../../adapters/pcp/natpmp-client';
import { PcpClient } from '../../adapters/pcp/pcp-client';
import { PcpResultError, PcpTimeoutError, PcpUnsupportedVersionError } from '../../adapters/pcp/pcp-errors';
import { PcpMapping, PcpMappingEvent, PcpMappingState } from '../../adapters/pcp/pcp-mapping';
import { PCP_NONCE_BYTES, PCP_SERVER_PORT } from '../../adapters/pcp/pcp-message';
import { PcpTransport } from '../../adapters/pcp/pcp-transport';
import { openUdpPcpTransport, UdpPcpTransportInit } from '../../adapters/pcp/udp-pcp-transport';
import { classifyExternalIpv4, familyOf, splitZone } from '../../policies/model/address';
import { Reachability } from './reachability';

export interface PcpKeeperInit {
  readonly family: 'ipv4' | 'ipv6';
  /** The PCP server: the default router of the family (a link-local one with its zone). */
  readonly router: string;
  /** Other addresses of the router (its IPv4 address for an IPv6 keeper: miniupnpd announces restarts over IPv4 only). */
  readonly routerAliases?: readonly string[];
  readonly protocol: 'udp' | 'tcp';
  readonly port: number;
  /** IPv4 external port wish. */
  readonly externalPort?: number;
  readonly leaseSeconds: number;
  /** Only this remote host may come in (a FILTER option). */
  readonly remoteHost?: string;
  /** Give up on a first request after this long (default 10 000 ms). */
  readonly giveUpAfterMs?: number;
  /** After a mapping was lost for good (refused renewal, expiry): try to open again after this long (default 30 000 ms). */
  readonly reopenAfterMs?: number;
  readonly scheduler?: SchedulerLike;
  readonly openTransport?: (init: UdpPcpTransportInit) => Promise<PcpTransport>;
  readonly onError?: (error: unknown) => void;
}

type Held =
  | { readonly kind: 'pcp'; readonly mapping: PcpMapping; readonly events: Subscription }
  | { readonly kind: 'natpmp'; readonly externalPort: number; readonly externalAddress: string; renewal: Subscription };

interface Session {
  readonly client: string;
  readonly transport: PcpTransport;
  readonly pcp: PcpClient;
  readonly natpmp?: NatPmpClient;
  held?: Held;
  /** The nonce of the MAP in flight (or last sent). */
  nonce?: Buffer;
}

/** `pcp://192.168.77.1:5351`, `pcp://[2001:db8:77::1]:5351`. */
export function pcpServerUrl(scheme: 'pcp' | 'natpmp', router: string): string {
  const { address } = splitZone(router);
  return `${scheme}://${familyOf(address) === 'ipv6' ? `[${address}]` : address}:${PCP_SERVER_PORT}`;
}

/** A PCP / NAT-PMP failure as a verdict (undefined: not one the keeper understands; it is thrown). */
export function pcpFailureVerdict(family: 'ipv4' | 'ipv6', router: string, error: unknown): Reachability | undefined {
  const gateway = pcpServerUrl('pcp', router);
  if (error instanceof PcpResultError) {
    return { family, verdict: 'denied', via: error.protocol, code: error.resultCode, name: error.resultName, reason: `the router refused: ${error.message}`, gateway };
  }
  if (error instanceof PcpUnsupportedVersionError) {
    return { family, verdict: 'unsupported', grade: 'C', via: 'natpmp', reason: `the router at ${splitZone(router).address} speaks only NAT-PMP, which has no ${family === 'ipv6' ? 'IPv6 pinholes' : 'PCP'}`, gateway };
  }
  if (error instanceof PcpTimeoutError) {
    return { family, verdict: 'unsupported', grade: 'D', via: 'pcp', reason: `no PCP server answered at ${splitZone(router).address} (${error.message}); PCP may be off on the router`, gateway };
  }
  return undefined;
}

export class PcpKeeper {
  private readonly scheduler: SchedulerLike;
  private readonly subject = new BehaviorSubject<Reachability | undefined>(undefined);
  private session: Session | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private reopen: Subscription | undefined;
  private closed = false;

  constructor(private readonly init: PcpKeeperInit) {
    this.scheduler = init.scheduler ?? asyncScheduler;
  }

  get reachability$(): Observable<Reachability | undefined> {
    return this.subject.asObservable();
  }

  get reachability(): Reachability | undefined {
    return this.subject.value;
  }

  get internalClient(): string | undefined {
    return this.session?.client;
  }

  /** Maps the port for `internalClient` (this host's address) and keeps it. */
  open(internalClient: string): Promise<Reachability> {
    return this.serial(() => this.openNow(internalClient));
  }

  /** Asks the router for its epoch now (a lost state then re-maps at once); with nothing held, opens again. */
  renewNow(): Promise<Reachability | undefined> {
    return this.serial(async () => {
      const s = this.session;
      if (this.closed || !s) return this.reachability;
      if (!s.held) return this.openNow(s.client);
      if (s.held.kind === 'pcp') await s.pcp.announce();
      else await this.renewNatPmp(s);
      return this.reachability;
    });
  }

  /**
   * Maps again now with the same nonce (NAT-PMP: maps again): a router that
   * dropped the entry — a homenet gateway, when the UPnP pinhole the `--via
   * auto` race closed was the same need — holds it again.
   */
  reassert(): Promise<Reachability | undefined> {
    return this.serial(async () => {
      const s = this.session;
      if (this.closed || !s?.held) return this.reachability;
      if (s.held.kind === 'pcp') await s.held.mapping.extend(this.init.leaseSeconds);
      else await this.renewNatPmp(s);
      return this.reachability;
    });
  }

  moveTo(internalClient: string, oldAddressStillOwned: boolean): Promise<Reachability> {
    return this.serial(async () => {
      const old = this.session;
      this.session = undefined;
      if (old) await this.end(old, oldAddressStillOwned).catch((e: unknown) => this.init.onError?.(e));
      return this.openNow(internalClient);
    });
  }

  /** Stops keeping the port and deletes it on the router (lifetime 0). */
  close(): Promise<void> {
    return this.serial(async () => {
      if (this.closed) return;
      this.closed = true;
      this.reopen?.unsubscribe();
      const s = this.session;
      this.session = undefined;
      try {
        if (s) await this.end(s, true);
      } finally {
        this.subject.complete();
      }
    });
  }

  /**
   * Gives up a first MAP still in flight (another protocol won an `auto`
   * race): a router that has not answered by then almost surely has no PCP
   * server, so instead of waiting for the give-up time this sends one
   * best-effort delete (lifetime 0, the same nonce) for the unlikely case that
   * it did map, and closes. A mapping already granted is deleted as in close.
   */
  async abandon(): Promise<void> {
    const s = this.session;
    if (!s || s.held || !s.nonce) return this.close();
    this.closed = true;
    this.reopen?.unsubscribe();
    this.session = undefined;
    const nonce = s.nonce;
    const request = { protocol: this.init.protocol, internalPort: this.init.port, ...(this.init.family === 'ipv4' ? { suggestedExternalPort: this.init.externalPort ?? this.init.port } : {}) };
    s.pcp.close(); // the pending map() rejects
    const rescue = new PcpClient({ transport: s.transport, scheduler: this.scheduler, giveUpAfterMs: 300 });
    await rescue.release(request, nonce).catch(() => undefined);
    rescue.close();
    await s.transport.close();
    this.subject.complete();
  }

  /** Stops renewing; the router lets the lease run out. */
  detach(): void {
    this.closed = true;
    this.reopen?.unsubscribe();
    const s = this.session;
    this.session = undefined;
    if (s) void this.end(s, false).catch(() => undefined);
    this.subject.complete();
  }

  private async openNow(client: string): Promise<Reachability> {
    this.reopen?.unsubscribe();
    let s = this.session;
    if (!s || s.client !== client) {
      if (s) await this.end(s, false).catch(() => undefined);
      s = this.session = await this.connect(client);
    }
    const verdict = await this.map(s);
    return this.publish(verdict);
  }

  private async connect(client: string): Promise<Session> {
    const open = this.init.openTransport ?? openUdpPcpTransport;
    const aliases = this.init.routerAliases ?? [];
    const transport = await open({
      localAddress: client,
      serverAddress: this.init.router,
      ...(this.init.family === 'ipv6' && aliases.some((a) => familyOf(splitZone(a).address) === 'ipv4') ? { announceFamilies: ['ipv6', 'ipv4'] as const } : {}),
    });
    const giveUp = this.init.giveUpAfterMs !== undefined ? { giveUpAfterMs: this.init.giveUpAfterMs } : {};
    const session: { -readonly [K in keyof Session]: Session[K] } = { client, transport } as Session;
    const nonce = () => (session.nonce = randomBytes(PCP_NONCE_BYTES));
    session.pcp = new PcpClient({ transport, scheduler: this.scheduler, serverAliases: aliases.map((a) => splitZone(a).address), nonce, ...giveUp });
    if (this.init.family === 'ipv4') session.natpmp = new NatPmpClient({ transport, scheduler: this.scheduler, ...giveUp });
    return session;
  }

  private async map(s: Session): Promise<Reachability> {
    const family = this.init.family;
    const request = {
      protocol: this.init.protocol,
      internalPort: this.init.port,
      lifetimeSeconds: Math.max(1, Math.round(this.init.leaseSeconds)),
      ...(family === 'ipv4' ? { suggestedExternalPort: this.init.externalPort ?? this.init.port } : {}),
      ...(this.init.remoteHost ? { filters: [{ remotePeerAddress: this.init.remoteHost, prefixLength: familyOf(this.init.remoteHost) === 'ipv6' ? 128 : 32 }] } : {}),
    };
    try {
      const mapping = await s.pcp.map(request);
      const events = mapping.changes$.subscribe({ next: (e) => this.onMappingEvent(s, e) });
      s.held = { kind: 'pcp', mapping, events };
      return this.checked(s, this.openVerdict(s, 'pcp', mapping.state, mapping.nonce.toString('hex'), 'PCP MAP granted'));
    } catch (error) {
      if (error instanceof PcpUnsupportedVersionError && s.natpmp) return this.mapNatPmp(s);
      const verdict = pcpFailureVerdict(family, this.init.router, error);
      if (!verdict) throw error;
      return verdict;
    }
  }

  private async mapNatPmp(s: Session): Promise<Reachability> {
    const natpmp = s.natpmp!;
    try {
      const { address } = await natpmp.publicAddress();
      const m = await natpmp.map({ protocol: this.init.protocol, internalPort: this.init.port, suggestedExternalPort: this.init.externalPort ?? this.init.port, lifetimeSeconds: this.init.leaseSeconds });
      s.held = { kind: 'natpmp', externalPort: m.externalPort, externalAddress: address, renewal: this.natPmpRenewal(s, m.lifetime) };
      const state = { externalAddress: address, externalPort: m.externalPort, lifetime: m.lifetime };
      return this.checked(s, this.openVerdict(s, 'natpmp', state, undefined, 'NAT-PMP mapping granted (the router does not speak PCP)'));
    } catch (error) {
      const verdict = pcpFailureVerdict('ipv4', this.init.router, error);
      if (!verdict) throw error;
      return verdict;
    }
  }

  private natPmpRenewal(s: Session, lifetime: number): Subscription {
    return this.scheduler.schedule(() => {
      this.serial(() => this.renewNatPmp(s)).catch((e: unknown) => this.init.onError?.(e));
    }, Math.max(1, lifetime) * 500);
  }

  private async renewNatPmp(s: Session): Promise<void> {
    if (this.closed || this.session !== s || s.held?.kind !== 'natpmp') return;
    const held = s.held;
    held.renewal.unsubscribe();
    try {
      const m = await s.natpmp!.map({ protocol: this.init.protocol, internalPort: this.init.port, suggestedExternalPort: held.externalPort, lifetimeSeconds: this.init.leaseSeconds });
      held.renewal = this.natPmpRenewal(s, m.lifetime);
      this.publish(this.openVerdict(s, 'natpmp', { externalAddress: held.externalAddress, externalPort: m.externalPort, lifetime: m.lifetime }, undefined, 'NAT-PMP mapping renewed'));
    } catch (error) {
      held.renewal = this.scheduler.schedule(() => void this.serial(() => this.renewNatPmp(s)).catch(() => undefined), 5000);
      throw error;
    }
  }

  /** An IPv4 mapping whose external address is not public opens nothing: delete it and say so. */
  private async checked(s: Session, verdict: Reachability): Promise<Reachability> {
    if (verdict.verdict !== 'open' || verdict.family !== 'ipv4') return verdict;
    const kind = classifyExternalIpv4(verdict.externalAddress);
    if (kind === 'public') return verdict;
    await this.release(s).catch((e: unknown) => this.init.onError?.(e));
    const why =
      kind === 'cgnat'
        ? `its external address ${verdict.externalAddress} is in 100.64.0.0/10: the ISP's carrier-grade NAT sits above this router`
        : kind === 'private'
          ? `its external address ${verdict.externalAddress} is private: another NAT (double NAT) sits above this router`
          : 'it has no external IPv4 address';
    return {
      family: 'ipv4',
      verdict: 'ineffective',
      ...(verdict.via ? { via: verdict.via } : {}),
      reason: `a port mapping on this router cannot make this host reachable over IPv4: ${why}; use IPv6, hole punching or a relay`,
      ...(verdict.externalAddress ? { externalIpv4: verdict.externalAddress } : {}),
      externalIpv4Kind: kind,
      gateway: verdict.gateway,
    };
  }

  private openVerdict(s: Session, via: 'pcp' | 'natpmp', state: Pick<PcpMappingState, 'externalAddress' | 'externalPort' | 'lifetime'>, nonce: string | undefined, what: string): Reachability {
    return {
      family: this.init.family,
      verdict: 'open',
      via,
      reason: `${what} by ${splitZone(this.init.router).address}`,
      protocol: this.init.protocol,
      externalAddress: state.externalAddress,
      externalPort: state.externalPort,
      internalClient: s.client,
      internalPort: this.init.port,
      leaseSeconds: state.lifetime,
      gateway: pcpServerUrl(via, this.init.router),
      server: this.init.router,
      ...(nonce ? { nonce } : {}),
    };
  }

  private onMappingEvent(s: Session, e: PcpMappingEvent): void {
    if (this.closed || this.session !== s || s.held?.kind !== 'pcp') return;
    const nonce = s.held.mapping.nonce.toString('hex');
    switch (e.type) {
      case 'renewed':
        this.publish(this.openVerdict(s, 'pcp', e.state, nonce, 'PCP MAP renewed'));
        return;
      case 'remapped':
        this.publish(this.openVerdict(s, 'pcp', e.state, nonce, `PCP MAP granted again ${Math.round(e.elapsedMs)} ms after the router's epoch showed it had lost its state,`));
        return;
      case 'failed':
      case 'expired': {
        s.held.events.unsubscribe();
        s.held = undefined;
        const verdict =
          e.type === 'failed'
            ? (pcpFailureVerdict(this.init.family, this.init.router, e.error) ?? { family: this.init.family, verdict: 'unsupported', grade: 'D', via: 'pcp', reason: e.error.message })
            : ({ family: this.init.family, verdict: 'unsupported', grade: 'D', via: 'pcp', reason: `no PCP renewal got through before the lease ran out at ${splitZone(this.init.router).address}` } as const);
        this.publish(verdict);
        this.reopen?.unsubscribe();
        this.reopen = this.scheduler.schedule(() => void this.renewNow().catch((err: unknown) => this.init.onError?.(err)), this.init.reopenAfterMs ?? 30_000);
        return;
      }
    }
  }

  private publish(verdict: Reachability): Reachability {
    if (!this.closed) this.subject.next(verdict);
    return verdict;
  }

  /** Deletes what is held on the router (lifetime 0). */
  private async release(s: Session): Promise<void> {
    const held = s.held;
    s.held = undefined;
    if (!held) return;
    if (held.kind === 'pcp') {
      held.events.unsubscribe();
      await held.mapping.delete();
    } else {
      held.renewal.unsubscribe();
      await s.natpmp!.unmap(this.init.protocol, this.init.port);
    }
  }

  /** Ends a session: deletes its mapping when asked (and possible), then closes its sockets. */
  private async end(s: Session, remove: boolean): Promise<void> {
    try {
      if (remove) await this.release(s);
      else if (s.held?.kind === 'pcp') s.held.events.unsubscribe();
      else if (s.held?.kind === 'natpmp') s.held.renewal.unsubscribe();
    } finally {
      s.pcp.close();
      await s.transport.close();
    }
  }

  private serial<T>(work: () => Promise<T>): Promise<T> {
    const next = this.queue.then(work, work);
    this.queue = next.catch(() => undefined);
    return next;
  }
}
