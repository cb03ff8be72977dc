import { createSocket, Socket } from 'node:dgram';
import { MDNS_IPV4_GROUP, MDNS_IPV6_GROUP } from '../dnssd/dnssd-sockets';
import { bindUdpShared } from '../system/udp-bind';

/** Where a packet came from. */
export interface MdnsSender {
  readonly address: string;
  readonly port: number;
}

/** The watcher's view of the network: packets in, queries out. */
export interface MdnsTransport {
  /** Registers the one packet handler. */
  onPacket(handler: (packet: Uint8Array, from: MdnsSender) => void): void;
  /** Registers the one error handler (socket errors after start). */
  onError(handler: (error: Error) => void): void;
  /** Multicasts a query on every family the transport has. */
  send(packet: Uint8Array): void;
  close(): void;
}

export interface MdnsTransportOptions {
  /** The interface to listen on, e.g. `eth0`. */
  readonly interfaceName: string;
  /** Also listen on 224.0.0.251 (default true). Needs an IPv4 address on the interface. */
  readonly ipv4?: boolean;
  /** IPv4 address of the interface, for IPv4 multicast membership. */
  readonly ipv4Address?: string;
  /** Default 5353. */
  readonly port?: number;
}

/**
 * Opens real mDNS sockets (UDP 5353, shared with any other responder on the
 * host through SO_REUSEADDR) joined to ff02::fb, and 224.0.0.251 when IPv4 is
 * on, on one interface.
 *
 * @example
 * ```ts
 * const transport = await openMdnsTransport({ interfaceName: 'eth0', ipv4: false });
 * transport.onPacket((bytes, from) => console.log(from.address, bytes.length));
 * ```
 */
export async function openMdnsTransport(options: MdnsTransportOptions): Promise<MdnsTransport> {
  const port = options.port ?? 5353;
  const iface = options.interfaceName;
  const sockets: { socket: Socket; target: string }[] = [];
  let packetHandler: (packet: Uint8Array, from: MdnsSender) => void = () => undefined;
  let errorHandler: (error: Error) => void = () => undefined;
  try {
    const v6 = createSocket({ type: 'udp6', reuseAddr: true, ipv6Only: true });
    sockets.push({ socket: v6, target: `${MDNS_IPV6_GROUP}%${iface}` });
    await bindUdpShared(v6, port, '::');
    v6.addMembership(MDNS_IPV6_GROUP, `::%${iface}`);
    v6.setMulticastInterface(`::%${iface}`);
    v6.setMulticastTTL(255);
    if (options.ipv4 !== false && options.ipv4Address) {
      const v4 = createSocket({ type: 'udp4', reuseAddr: true });
      sockets.push({ socket: v4, target: MDNS_IPV4_GROUP });
      await bindUdpShared(v4, port, '0.0.0.0');
      v4.addMembership(MDNS_IPV4_GROUP, options.ipv4Address);
      v4.setMulticastInterface(options.ipv4Address);
      v4.setMulticastTTL(255);
    }
  } catch (error) {
    for (const { socket } of sockets) socket.close();
    throw new Error(`cannot open mDNS on ${iface}: ${(error as Error).message}`);
  }
  for (const { socket } of sockets) {
    socket.on('message', (msg, rinfo) => packetHandler(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), { address: rinfo.address, port: rinfo.port }));
    socket.on('error', (error) => errorHandler(error));
  }
  return {
    onPacket(handler) {
      packetHandler = handler;
    },
    onError(handler) {
      errorHandler = handler;
    },
    send(packet) {
      for (const { socket, target } of sockets) socket.send(packet, port, target, (error) => error && errorHandler(error));
    },
    close() {
      for (const { socket } of sockets) {
        try {
          socket.close();
        } catch {
          /* already closed */
        }
      }
    },
  };
}
