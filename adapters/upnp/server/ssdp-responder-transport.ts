/**
 * The port between the SSDP responder and sockets (the server-side twin of `ssdp-transport.ts`).
 * The responder only sees this interface: the IPv4 implementation uses node-ssdp's sockets
 * (`ssdp-ipv4-responder-transport.ts`), the IPv6 one is ours on `udp6`
 * (`ssdp-ipv6-responder-transport.ts`), tests plug in fakes or loopback sockets.
 *
 * @example
 * ```ts
 * const t: SsdpResponderTransport = new Ipv6SsdpResponderTransport({ interfaces: ['br-lan'] });
 * t.onDatagram((d) => console.log(d.remoteAddress, d.interfaceName));
 * await t.start();
 * await t.announce((group) => notifyBytes(group), 'br-lan');
 * ```
 */
import type { SsdpDatagramListener } from '../ssdp-transport';

export interface SsdpResponderTransport {
  readonly family: 'ipv4' | 'ipv6';
  /** Opens the port-1900 listener and joins the groups. Rejects (typed) when it cannot. */
  start(): Promise<void>;
  /** Datagrams sent to the SSDP port (multicast or unicast); `interfaceName` when known. */
  onDatagram(listener: SsdpDatagramListener): () => void;
  /** Sends a unicast search response (out of `interfaceName` when given). */
  reply(data: Buffer, address: string, port: number, interfaceName?: string): Promise<void>;
  /** Multicasts one NOTIFY on `interfaceName` to each group of the family; `make(group)` gives its bytes. */
  announce(make: (group: string) => Buffer, interfaceName: string): Promise<void>;
  /** Closes every socket; idempotent. */
  close(): Promise<void>;
}
