import { VirtualTimeScheduler } from 'rxjs';
import { decodePcpRequest, encodePcpResponse, PcpClient, PcpRequest } from '../../../adapters/pcp';
import { canonicalAddress } from '../../../policies/model/address';
import { FakePcpTransport } from '../pcp/fake-pcp-transport';

interface RouterMapping {
  nonce: string;
  internalAddress: string;
  protocol: number;
  internalPort: number;
  externalPort: number;
  expiresAtMs: number;
}

/**
 * A PCP server in the test process that behaves like miniupnpd 2.3.1 on the
 * points the hub relies on: THIRD_PARTY allowed or UNSUPP_OPTION, lifetimes
 * clamped to [min, max], a mapping owned by its nonce (another nonce is
 * NOT_AUTHORIZED), PREFER_FAILURE honoured (CANNOT_PROVIDE_EXTERNAL) or
 * ignored (another port), an epoch from its boot time, a restart that forgets
 * everything. Answers arrive on the next microtask, as from a socket.
 */
export class FakePcpRouter {
  readonly mappings = new Map<string, RouterMapping>();
  /** External ports (`proto|port`) some other host holds. */
  readonly taken = new Set<string>();
  allowThirdParty = true;
  honourPreferFailure = true;
  minLifetime = 120;
  maxLifetime = 86400;
  /**
   * `rfc`: a mapping belongs to its nonce (another nonce: NOT_AUTHORIZED).
   * `miniupnpd-2.3.1`, as captured in the lab: a MAP for an existing mapping is
   * granted whatever its nonce; an IPv6 pinhole's refresh loses its owner, so
   * no delete of it is authorized any more; IPv4 deletes do not check the nonce.
   */
  flavour: 'rfc' | 'miniupnpd-2.3.1' = 'rfc';
  /** Requests seen, decoded. */
  readonly requests: PcpRequest[] = [];
  private bootMs: number;
  private readonly transports: FakePcpTransport[] = [];

  constructor(
    readonly scheduler: VirtualTimeScheduler,
    readonly externalIpv4 = '198.51.100.1',
  ) {
    this.bootMs = scheduler.now();
  }

  /** A client of this router from `local` to `server`. */
  client(local: string, server: string): { client: PcpClient; transport: FakePcpTransport } {
    const transport = new FakePcpTransport(local, server, this.scheduler);
    const send = transport.send.bind(transport);
    transport.send = (data: Uint8Array) => {
      void send(data);
      const copy = Buffer.from(data);
      queueMicrotask(() => this.handle(transport, copy));
      return Promise.resolve();
    };
    this.transports.push(transport);
    return { client: new PcpClient({ transport, scheduler: this.scheduler, retransmission: { random: () => 0.5 } }), transport };
  }

  get epoch(): number {
    return Math.floor((this.scheduler.now() - this.bootMs) / 1000);
  }

  /** Mappings alive now, as `address proto/port->ext lifetime-left`. */
  alive(): RouterMapping[] {
    const now = this.scheduler.now();
    for (const [k, m] of [...this.mappings]) if (m.expiresAtMs <= now) this.mappings.delete(k);
    return [...this.mappings.values()];
  }

  /** A restart without lease files: everything forgotten, epoch 0, an ANNOUNCE to every client when `announce`. */
  restart(announce: boolean): void {
    this.mappings.clear();
    this.bootMs = this.scheduler.now();
    if (!announce) return;
    for (const t of this.transports) {
      t.deliver(encodePcpResponse({ opcode: 'announce', resultCode: 0, lifetime: 0, epoch: 0, options: [] }), { via: 'announce' });
    }
  }

  private handle(transport: FakePcpTransport, data: Buffer): void {
    const request = decodePcpRequest(data);
    this.requests.push(request);
    const reply = (r: Parameters<typeof encodePcpResponse>[0]) => transport.deliver(encodePcpResponse(r));
    if (request.opcode === 'announce') return reply({ opcode: 'announce', resultCode: 0, lifetime: 0, epoch: this.epoch, options: [] });
    if (request.opcode !== 'map') return;
    const m = request.mapping;
    const fail = (resultCode: number) => reply({ opcode: 'map', resultCode, lifetime: 30, epoch: this.epoch, options: request.options, mapping: m });
    const third = request.options.find((o) => o.type === 'third-party');
    if (third && !this.allowThirdParty) return fail(5);
    const internal = canonicalAddress(third?.type === 'third-party' ? third.address : request.clientAddress)!;
    const key = `${internal}|${m.protocol}|${m.internalPort}`;
    this.alive();
    const existing = this.mappings.get(key);
    const nonce = m.nonce.toString('hex');
    const v4 = internal.includes('.');
    const quirky = this.flavour === 'miniupnpd-2.3.1';
    if (existing && existing.nonce !== nonce && !quirky) return fail(2);
    if (request.lifetime === 0) {
      if (existing && quirky && !v4 && existing.nonce !== nonce) return fail(2);
      this.mappings.delete(key);
      return reply({ opcode: 'map', resultCode: 0, lifetime: 0, epoch: this.epoch, options: request.options, mapping: m });
    }
    let port = existing?.externalPort ?? (m.externalPort || m.internalPort);
    if (!existing && v4 && this.taken.has(`${m.protocol}|${port}`)) {
      if (this.honourPreferFailure && request.options.some((o) => o.type === 'prefer-failure')) return fail(11);
      while (this.taken.has(`${m.protocol}|${port}`)) port++;
    }
    const lifetime = Math.min(this.maxLifetime, Math.max(this.minLifetime, request.lifetime));
    this.mappings.set(key, { nonce: existing && quirky && !v4 ? '' : nonce, internalAddress: internal, protocol: m.protocol, internalPort: m.internalPort, externalPort: port, expiresAtMs: this.scheduler.now() + lifetime * 1000 });
    reply({ opcode: 'map', resultCode: 0, lifetime, epoch: this.epoch, options: request.options, mapping: { ...m, externalPort: port, externalAddress: v4 ? this.externalIpv4 : internal } });
  }
}
