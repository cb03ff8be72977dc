/**
 * A PCP client (RFC 6887) for one server over one {@link PcpTransport}: MAP
 * requests with a fresh 12-byte nonce per mapping, retransmission with a fast
 * first retry, answers checked against the request (nonce, opcode, protocol,
 * internal port; only from the server), the server's epoch checked on every
 * answer and every unsolicited ANNOUNCE (an epoch that goes back or jumps =
 * the router lost its state: every mapping is requested again at once),
 * renewal before half the lifetime, and THIRD_PARTY for mappings on behalf of
 * another host. Timers and the clock come from the injected rxjs scheduler.
 *
 * After a lost state the client maps again at once rather than after the
 * RFC's suggested random 0-5 s spread (section 14.1.3): a home router has a
 * handful of clients, and a game's port should be back within a second.
 * miniupnpd 2.3.1 announces a restart over IPv4 only; an IPv6 client that
 * names the router's IPv4 address in `serverAliases` (and listens on IPv4,
 * see `UdpPcpTransportInit.announceFamilies`) checks its own server's epoch
 * when it hears that announcement.
 *
 * @example
 * ```ts
 * import { openUdpPcpTransport, PcpClient } from './adapters/pcp';
 * const transport = await openUdpPcpTransport({ localAddress: '2001:db8:77::10', serverAddress: '2001:db8:77::1' });
 * const client = new PcpClient({ transport });
 * const pinhole = await client.map({ protocol: 'udp', internalPort: 40030, lifetimeSeconds: 120 });
 * console.log(pinhole.state.externalAddress, pinhole.state.externalPort, pinhole.state.lifetime);
 * await pinhole.delete(); client.close(); await transport.close();
 * ```
 */
import { randomBytes } from 'node:crypto';
import { asyncScheduler, Observable, SchedulerLike, Subject } from 'rxjs';
import { canonicalAddress, familyOf, isLinkLocalIpv6, sameAddress } from '../../policies/model/address';
import { decodePcpResponse } from './pcp-codec';
import { PcpEpochTracker } from './pcp-epoch';
import { PcpParseError, PcpRequestError, PcpResultError, PcpUnsupportedVersionError } from './pcp-errors';
import { encodePcpRequest } from './pcp-codec';
import { PCP_NONCE_BYTES, PcpResponse } from './pcp-message';
import { PcpMapping, PcpMapRequest, PcpMappingHost } from './pcp-mapping';
import { RetransmissionOptions } from './pcp-retransmission';
import { PcpTransaction } from './pcp-transaction';
import { PcpDatagram, PcpTransport } from './pcp-transport';

export interface PcpClientInit {
  readonly transport: PcpTransport;
  /** Timers and clock (default rxjs `asyncScheduler`); tests pass a `VirtualTimeScheduler`. */
  readonly scheduler?: SchedulerLike;
  /** 12 random bytes per mapping (default `crypto.randomBytes`). */
  readonly nonce?: () => Buffer;
  readonly retransmission?: RetransmissionOptions;
  /** A first request (map, delete, announce) fails with `PcpTimeoutError` after this long (default 10 000 ms). */
  readonly giveUpAfterMs?: number;
  /** Renew at this fraction of the granted lifetime (default 0.45: before half, as RFC 6887 11.2.1 asks at the latest). */
  readonly renewFraction?: number;
  /**
   * Which senders of unsolicited announcements to trust (default: the server
   * address, and for an IPv6 server any link-local address, the source
   * routers use for ff02::1).
   */
  readonly acceptAnnouncementFrom?: (address: string) => boolean;
  /**
   * Other addresses of the same router (e.g. its IPv4 LAN address for an IPv6
   * client). An announcement from one of them does not carry this server's
   * epoch, so the client asks its own server with an ANNOUNCE request at once.
   */
  readonly serverAliases?: readonly string[];
}

/** What the client saw about its server. */
export type PcpClientEvent =
  /** The epoch shows the server lost its state; active mappings are being requested again. */
  | { readonly type: 'epoch-lost'; readonly epoch: number; readonly previousEpoch: number | undefined; readonly atMs: number; readonly via: 'unicast' | 'announce' }
  /** An unsolicited ANNOUNCE (or NAT-PMP address notice) from the server. */
  | { readonly type: 'announcement'; readonly protocol: 'pcp' | 'natpmp'; readonly epoch: number }
  /** A datagram from the server that is not a valid message (the error says why). */
  | { readonly type: 'malformed'; readonly error: PcpParseError; readonly via: 'unicast' | 'announce' };

export class PcpClient {
  private readonly scheduler: SchedulerLike;
  private readonly transport: PcpTransport;
  private readonly epochs = new PcpEpochTracker();
  private readonly transactions = new Set<PcpTransaction>();
  private readonly mappings = new Set<PcpMapping>();
  private readonly eventsSubject = new Subject<PcpClientEvent>();
  private readonly removeListener: () => void;
  private readonly host: PcpMappingHost;
  private readonly nonce: () => Buffer;
  private readonly giveUpAfterMs: number;
  private readonly acceptAnnouncement: (address: string) => boolean;
  private closed = false;

  /** What the client saw about its server (epoch changes, announcements, malformed answers). */
  readonly events$: Observable<PcpClientEvent> = this.eventsSubject.asObservable();

  constructor(private readonly init: PcpClientInit) {
    this.transport = init.transport;
    this.scheduler = init.scheduler ?? asyncScheduler;
    this.nonce = init.nonce ?? (() => randomBytes(PCP_NONCE_BYTES));
    this.giveUpAfterMs = init.giveUpAfterMs ?? 10_000;
    const renewFraction = init.renewFraction ?? 0.45;
    if (!(renewFraction > 0 && renewFraction < 1)) throw new PcpRequestError(`renewFraction must be in (0, 1), got ${renewFraction}`);
    if (!(this.giveUpAfterMs > 0)) throw new PcpRequestError(`giveUpAfterMs must be > 0, got ${this.giveUpAfterMs}`);
    const server = this.transport.serverAddress;
    const aliases = (init.serverAliases ?? []).map((a) => canonicalAddress(a) ?? a);
    this.acceptAnnouncement =
      init.acceptAnnouncementFrom ??
      ((address) => sameAddress(address, server) || aliases.includes(canonicalAddress(address) ?? address) || (familyOf(server) === 'ipv6' && isLinkLocalIpv6(address)));
    this.host = {
      scheduler: this.scheduler,
      localAddress: canonicalAddress(this.transport.localAddress) ?? this.transport.localAddress,
      renewFraction,
      giveUpAfterMs: this.giveUpAfterMs,
      transact: (t) => this.transact(t),
      forget: (m) => this.mappings.delete(m),
    };
    this.removeListener = this.transport.onDatagram((d) => this.onDatagram(d));
  }

  /** The last server epoch seen. */
  get epoch(): number | undefined {
    return this.epochs.lastEpoch;
  }

  /** Mappings the client keeps alive now. */
  get activeMappings(): readonly PcpMapping[] {
    return [...this.mappings];
  }

  /**
   * Maps an inbound port (an IPv6 pinhole or an IPv4 port mapping, by the
   * internal address's family) and keeps it alive. Resolves once granted;
   * rejects with `PcpResultError` (e.g. UNSUPP_OPTION for a THIRD_PARTY the
   * router does not allow), `PcpTimeoutError`, `PcpUnsupportedVersionError`
   * or `PcpRequestError` (bad arguments, before anything is sent).
   * `options.nonce` names the mapping's nonce (a controller that derives it
   * from its own lease id, so it can renew or delete the mapping after a
   * restart); default a fresh one from the nonce source.
   */
  async map(request: PcpMapRequest, options: { readonly nonce?: Buffer } = {}): Promise<PcpMapping> {
    if (this.closed) throw new Error('the PCP client is closed');
    const nonce = options.nonce ?? this.nonce();
    if (nonce.length !== PCP_NONCE_BYTES) throw new PcpRequestError(`the nonce source gave ${nonce.length} bytes, not ${PCP_NONCE_BYTES}`);
    const mapping = new PcpMapping(this.host, request, nonce);
    this.mappings.add(mapping);
    await mapping.start();
    return mapping;
  }

  /**
   * Deletes a mapping this client no longer holds (another process made it,
   * e.g. `homenet open --once`) by the nonce it was made with: lifetime 0, the
   * same nonce, protocol and internal port. Resolves on SUCCESS.
   */
  release(request: Omit<PcpMapRequest, 'lifetimeSeconds'>, nonce: Buffer): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the PCP client is closed'));
    if (nonce.length !== PCP_NONCE_BYTES) return Promise.reject(new PcpRequestError(`a nonce has ${PCP_NONCE_BYTES} bytes, not ${nonce.length}`));
    return new PcpMapping(this.host, { ...request, lifetimeSeconds: 1 }, nonce).delete();
  }

  /**
   * Sends an ANNOUNCE request and resolves with the answer (any result code):
   * checks that the server speaks PCP and reads its epoch.
   */
  announce(): Promise<PcpResponse> {
    if (this.closed) return Promise.reject(new Error('the PCP client is closed'));
    const bytes = encodePcpRequest({ opcode: 'announce', lifetime: 0, clientAddress: this.host.localAddress, options: [] });
    return new Promise((resolve, reject) => {
      this.transact({ bytes, what: 'PCP ANNOUNCE', giveUpAfterMs: this.giveUpAfterMs, matches: (r) => r.opcode === 'announce', onAnswer: resolve, onFail: reject });
    });
  }

  /** Stops every timer and the listener; mappings are left to expire on the router (delete them first to remove them). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    // Fail what is in flight first, so a pending map() or delete() rejects instead of hanging.
    for (const t of [...this.transactions]) t.fail(new Error('the PCP client is closed'));
    for (const m of [...this.mappings]) m.stop();
    this.removeListener();
    this.eventsSubject.complete();
  }

  private transact(t: Parameters<PcpMappingHost['transact']>[0]): PcpTransaction {
    const tx: PcpTransaction = new PcpTransaction({
      ...t,
      scheduler: this.scheduler,
      send: (bytes) => this.transport.send(bytes),
      ...(this.init.retransmission ? { retransmission: this.init.retransmission } : {}),
      onAnswer: (r) => {
        this.transactions.delete(tx);
        t.onAnswer(r);
      },
      onFail: (e) => {
        this.transactions.delete(tx);
        t.onFail(e);
      },
    });
    this.transactions.add(tx);
    tx.start();
    return tx;
  }

  private onDatagram(d: PcpDatagram): void {
    if (this.closed) return;
    if (d.via === 'unicast') {
      if (!sameAddress(d.remoteAddress, this.transport.serverAddress) || d.remotePort !== this.transport.serverPort) return;
    } else if (!this.acceptAnnouncement(d.remoteAddress)) {
      return;
    }
    if (d.data.length >= 4 && d.data[0] === 0) return this.onVersionZero(d);
    // An announcement from another address of the router (another family):
    // its epoch is not this server's, so ask this server for its own now.
    if (d.via === 'announce' && !sameAddress(d.remoteAddress, this.transport.serverAddress) && familyOf(d.remoteAddress) !== familyOf(this.transport.serverAddress)) {
      this.eventsSubject.next({ type: 'announcement', protocol: 'pcp', epoch: d.data.length >= 12 ? d.data.readUInt32BE(8) : 0 });
      this.verifyEpoch();
      return;
    }
    let response: PcpResponse;
    try {
      response = decodePcpResponse(d.data);
    } catch (error) {
      if (error instanceof PcpParseError) this.eventsSubject.next({ type: 'malformed', error, via: d.via });
      return;
    }
    if (d.via === 'unicast') this.deliver(response);
    else if (response.opcode === 'announce') this.eventsSubject.next({ type: 'announcement', protocol: 'pcp', epoch: response.epoch });
    this.checkEpoch(response.epoch, d.via);
  }

  private verifying = false;

  /** Sends one ANNOUNCE request (not two at once); its answer's epoch goes through the usual check. */
  private verifyEpoch(): void {
    if (this.verifying) return;
    this.verifying = true;
    this.announce().then(
      () => (this.verifying = false),
      () => (this.verifying = false),
    );
  }

  private deliver(response: PcpResponse): void {
    let tx = [...this.transactions].find((t) => t.matches(response));
    // A bare-header error answer carries no nonce: it can only be for the one request of its opcode in flight.
    if (!tx && response.opcode === 'map' && response.mapping === undefined && response.resultCode !== 0) {
      const candidates = [...this.transactions].filter((t) => !t.finished);
      if (candidates.length === 1) tx = candidates[0];
    }
    tx?.answer(response);
  }

  private checkEpoch(epoch: number, via: 'unicast' | 'announce'): void {
    const previous = this.epochs.lastEpoch;
    const now = this.scheduler.now();
    if (!this.epochs.observe(epoch, now)) return;
    this.eventsSubject.next({ type: 'epoch-lost', epoch, previousEpoch: previous, atMs: now, via });
    // Mappings granted by this very answer are fresh; every other one is requested again now.
    for (const m of [...this.mappings]) {
      if (m.isActive && m.state !== undefined && this.grantedBefore(m, now)) m.routerLostState();
    }
  }

  private grantedBefore(m: PcpMapping, now: number): boolean {
    try {
      return m.state.grantedAtMs < now || m.state.epoch !== this.epochs.lastEpoch;
    } catch {
      return false; // not granted yet: its first request is still in flight
    }
  }

  /** A version-0 datagram: a NAT-PMP announcement, or a NAT-PMP-only server refusing PCP. */
  private onVersionZero(d: PcpDatagram): void {
    const opcode = d.data[1];
    if (d.via === 'announce') {
      if (opcode === 128 && d.data.length >= 8) {
        this.eventsSubject.next({ type: 'announcement', protocol: 'natpmp', epoch: d.data.readUInt32BE(4) });
        // NAT-PMP's epoch is its own clock: ask the PCP server for its epoch now.
        this.verifyEpoch();
      }
      return;
    }
    // An answer to one of our PCP requests in version 0: the server does not speak
    // PCP (result 1, RFC 6887 section 9), or it could not parse the request
    // (miniupnpd echoes such a request with version 0 and its PCP result).
    // Anything else in version 0 is a NAT-PMP answer for a NAT-PMP client
    // sharing the socket, and not ours.
    const result = d.data.readUInt16BE(2);
    let error: Error;
    if (result === 1) error = new PcpUnsupportedVersionError(0);
    else if (result !== 0 && d.data.length >= 24) error = new PcpResultError(d.data[3] ?? result, 0, 'the server answered a PCP request in version 0');
    else return;
    for (const t of [...this.transactions]) t.fail(error);
  }
}
