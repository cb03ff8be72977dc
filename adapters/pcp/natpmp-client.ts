/**
 * A NAT-PMP client (RFC 6886) over a {@link PcpTransport} (IPv4): the
 * router's public address and UDP/TCP port mappings. Requests go out again
 * after 250 ms, doubling each time, up to 9 transmissions (or the give-up
 * time); answers are taken only from the server and must match the request
 * (opcode, and internal port for mappings). Error results reject with
 * {@link PcpResultError} (protocol `natpmp`).
 *
 * @example
 * ```ts
 * const natpmp = new NatPmpClient({ transport: await openUdpPcpTransport({ localAddress: '192.168.77.10', serverAddress: '192.168.77.1', announcements: false }) });
 * const { address } = await natpmp.publicAddress();              // '198.51.100.1'
 * const m = await natpmp.map({ protocol: 'udp', internalPort: 40040, lifetimeSeconds: 120 });
 * await natpmp.unmap('udp', 40040);
 * ```
 */
import { asyncScheduler, SchedulerLike, Subscription } from 'rxjs';
import { canonicalAddress, familyOf } from '../../policies/model/address';
import { decodeNatPmpResponse, encodeNatPmpRequest, NatPmpRequest, NatPmpResponse } from './natpmp-codec';
import { PcpParseError, PcpRequestError, PcpResultError, PcpTimeoutError } from './pcp-errors';
import { PcpTransport } from './pcp-transport';

export interface NatPmpClientInit {
  readonly transport: PcpTransport;
  readonly scheduler?: SchedulerLike;
  /** First retry after this many ms (RFC 6886: 250), doubling. */
  readonly initialRetryMs?: number;
  /** Transmissions before giving up (RFC 6886: 9). */
  readonly maxTransmissions?: number;
  /** Give up after this long whatever the count (default 10 000 ms). */
  readonly giveUpAfterMs?: number;
}

export interface NatPmpMapping {
  readonly protocol: 'udp' | 'tcp';
  readonly internalPort: number;
  readonly externalPort: number;
  /** Seconds granted. */
  readonly lifetime: number;
  readonly epoch: number;
}

export class NatPmpClient {
  private readonly scheduler: SchedulerLike;

  constructor(private readonly init: NatPmpClientInit) {
    this.scheduler = init.scheduler ?? asyncScheduler;
    if (familyOf(init.transport.localAddress) === 'ipv6') throw new PcpRequestError('NAT-PMP is IPv4 only: give it an IPv4 transport');
  }

  /** The router's external IPv4 address and its epoch. */
  async publicAddress(): Promise<{ address: string; epoch: number }> {
    const r = await this.request({ opcode: 'public-address' }, 'NAT-PMP public address');
    if (r.opcode !== 'public-address' || r.externalAddress === undefined) throw new PcpParseError('length', 0, 'the public-address answer has no address');
    return { address: r.externalAddress, epoch: r.epoch };
  }

  /** Maps an external port to this host's `internalPort`. */
  async map(options: { protocol: 'udp' | 'tcp'; internalPort: number; suggestedExternalPort?: number; lifetimeSeconds: number }): Promise<NatPmpMapping> {
    if (!(options.lifetimeSeconds > 0)) throw new PcpRequestError(`lifetimeSeconds must be > 0, got ${options.lifetimeSeconds} (use unmap)`);
    const r = await this.request(
      { opcode: options.protocol === 'udp' ? 'map-udp' : 'map-tcp', internalPort: options.internalPort, suggestedExternalPort: options.suggestedExternalPort ?? options.internalPort, lifetime: options.lifetimeSeconds },
      `NAT-PMP map ${options.protocol}/${options.internalPort}`,
    );
    if (r.opcode === 'public-address' || r.externalPort === undefined) throw new PcpParseError('length', 0, 'the mapping answer has no mapping');
    return { protocol: options.protocol, internalPort: options.internalPort, externalPort: r.externalPort, lifetime: r.lifetime ?? 0, epoch: r.epoch };
  }

  /** Deletes this host's mapping of `internalPort` (lifetime 0). */
  async unmap(protocol: 'udp' | 'tcp', internalPort: number): Promise<void> {
    await this.request({ opcode: protocol === 'udp' ? 'map-udp' : 'map-tcp', internalPort, suggestedExternalPort: 0, lifetime: 0 }, `NAT-PMP unmap ${protocol}/${internalPort}`);
  }

  private request(request: NatPmpRequest, what: string): Promise<NatPmpResponse> {
    const bytes = encodeNatPmpRequest(request);
    const transport = this.init.transport;
    const initial = this.init.initialRetryMs ?? 250;
    const max = this.init.maxTransmissions ?? 9;
    return new Promise((resolve, reject) => {
      const timers = new Subscription();
      let attempts = 0;
      const started = this.scheduler.now();
      const finish = (fn: () => void) => {
        timers.unsubscribe();
        off();
        fn();
      };
      const off = transport.onDatagram((d) => {
        if (d.via !== 'unicast' || canonicalAddress(d.remoteAddress) !== canonicalAddress(transport.serverAddress) || d.remotePort !== transport.serverPort) return;
        let r: NatPmpResponse;
        try {
          r = decodeNatPmpResponse(d.data);
        } catch {
          return; // not a NAT-PMP answer (e.g. a PCP one for another client on this socket)
        }
        if (r.opcode !== request.opcode) return;
        if (request.opcode !== 'public-address' && r.opcode !== 'public-address' && r.internalPort !== undefined && r.internalPort !== request.internalPort) return;
        if (r.resultCode !== 0) return finish(() => reject(new PcpResultError(r.resultCode, 0, what, 'natpmp')));
        finish(() => resolve(r));
      });
      const send = (delay: number) => {
        attempts += 1;
        transport.send(bytes).catch(() => undefined);
        if (attempts >= max) {
          timers.add(this.scheduler.schedule(() => finish(() => reject(new PcpTimeoutError(what, attempts, this.scheduler.now() - started))), delay));
        } else {
          timers.add(this.scheduler.schedule(() => send(delay * 2), delay));
        }
      };
      timers.add(this.scheduler.schedule(() => finish(() => reject(new PcpTimeoutError(what, attempts, this.scheduler.now() - started))), this.init.giveUpAfterMs ?? 10_000));
      send(initial);
    });
  }
}
