/**
 * The port between the PCP / NAT-PMP clients and sockets. The clients only
 * see this interface: `udp-pcp-transport.ts` is the real one (a UDP socket
 * bound to the requesting address, plus the announcement listener on port
 * 5350), and unit tests plug in a fake that replays captured answers.
 *
 * @example
 * ```ts
 * const t: PcpTransport = await openUdpPcpTransport({ localAddress: '2001:db8:77::10', serverAddress: '2001:db8:77::1' });
 * const off = t.onDatagram((d) => console.log(d.via, d.remoteAddress, d.data.length));
 * await t.send(bytes); off(); await t.close();
 * ```
 */

/** One datagram received from the server side. */
export interface PcpDatagram {
  readonly data: Buffer;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** `unicast`: an answer on the request socket; `announce`: on the port-5350 announcement listener. */
  readonly via: 'unicast' | 'announce';
}

export type PcpDatagramListener = (datagram: PcpDatagram) => void;

export interface PcpTransport {
  /** The address requests are sent from (the PCP header's client address). */
  readonly localAddress: string;
  /** The PCP server (the router); answers from elsewhere are ignored. */
  readonly serverAddress: string;
  readonly serverPort: number;
  /** Sends one datagram to the server. */
  send(data: Uint8Array): Promise<void>;
  /** Adds a listener; returns its remover. */
  onDatagram(listener: PcpDatagramListener): () => void;
  /** Closes the sockets; idempotent. */
  close(): Promise<void>;
}
