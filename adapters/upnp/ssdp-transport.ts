/**
 * The port between SSDP discovery logic and sockets. Discovery and watching only see this
 * interface, never node-ssdp or `dgram`: the IPv4 implementation wraps node-ssdp
 * (`ssdp-ipv4-transport.ts`), the IPv6 one is ours on `udp6` (`ssdp-ipv6-transport.ts`), and
 * tests plug in fakes.
 *
 * @example
 * ```ts
 * const t: SsdpTransport = new Ipv4SsdpTransport();
 * const off = t.onDatagram((d) => console.log(d.remoteAddress, d.interfaceName, d.data.toString()));
 * await t.start();
 * await t.search('urn:schemas-upnp-org:device:InternetGatewayDevice:2', 1);
 * off(); await t.close();
 * ```
 */

/** One received datagram, raw: parsing is the caller's job (see `ssdp-message.ts`). */
export interface SsdpDatagram {
  data: Buffer;
  /** Sender address; IPv6 link-local senders carry `%zone`. */
  remoteAddress: string;
  remotePort: number;
  family: 'ipv4' | 'ipv6';
  /** Interface the datagram arrived on, when the transport knows it. */
  interfaceName?: string;
  /** Local address of the receiving socket, when bound to one. */
  localAddress?: string;
  /** 'search' for a socket that sent M-SEARCH (unicast replies), 'notify' for the port-1900 listener. */
  via: 'search' | 'notify';
}

export type SsdpDatagramListener = (datagram: SsdpDatagram) => void;

export interface SsdpTransport {
  readonly family: 'ipv4' | 'ipv6';
  /** Opens the sockets. Rejects (typed) when no interface can be used. */
  start(): Promise<void>;
  /** Sends one M-SEARCH for `searchTarget` on every interface of the transport. */
  search(searchTarget: string, mx: number): Promise<void>;
  /** Adds a listener; returns its remover. */
  onDatagram(listener: SsdpDatagramListener): () => void;
  /** Closes every socket; idempotent. */
  close(): Promise<void>;
}

/** Small listener registry shared by the transports. */
export class DatagramListeners {
  private readonly listeners = new Set<SsdpDatagramListener>();

  add(listener: SsdpDatagramListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(d: SsdpDatagram): void {
    for (const l of [...this.listeners]) {
      try {
        l(d);
      } catch {
        // A listener's bug must not kill the socket loop.
      }
    }
  }

  clear(): void {
    this.listeners.clear();
  }
}
