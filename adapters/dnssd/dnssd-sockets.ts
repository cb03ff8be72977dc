/**
 * The UDP sockets DNS-SD uses: one IPv4 and one IPv6 socket, each joined to the
 * mDNS group on every given interface. Port 5353 is shared with the host's
 * other responders (avahi, matter.js), so the sockets bind with SO_REUSEADDR;
 * a browser binds an ephemeral port instead (a one-shot query, RFC 6762 §5.1,
 * whose answers come back by unicast to that port and to no other process).
 *
 * @example
 * ```ts
 * const sockets = await openDnssdSockets({ port: 5353, interfaces: [{ name: 'eth0', ipv4: '192.168.1.5' }], join: true });
 * sockets.onMessage((bytes, from) => console.log(from, bytes.length));
 * sockets.multicast(packet);
 * sockets.close();
 * ```
 */
import { createSocket, RemoteInfo, Socket } from 'node:dgram';
import { bindUdpShared } from '../system/udp-bind';

export const MDNS_PORT = 5353;
export const MDNS_IPV4_GROUP = '224.0.0.251';
export const MDNS_IPV6_GROUP = 'ff02::fb';

/** One interface to speak mDNS on: its name, and its IPv4 address when IPv4 is used there. */
export interface DnssdInterface {
  readonly name: string;
  readonly ipv4?: string;
  /** Use IPv6 on it (default true). */
  readonly ipv6?: boolean;
}

export interface DnssdSocketsInit {
  /** Local port: 5353 for a responder, 0 (ephemeral) for a one-shot browser. */
  readonly port: number;
  /** Where multicast is sent (default 5353). */
  readonly groupPort?: number;
  readonly interfaces: readonly DnssdInterface[];
  /** Join the groups (a responder must; a one-shot browser need not). */
  readonly join: boolean;
}

export interface DnssdSender {
  readonly address: string;
  readonly port: number;
  readonly family: 'ipv4' | 'ipv6';
}

export interface DnssdSockets {
  onMessage(handler: (packet: Uint8Array, from: DnssdSender) => void): void;
  /** Sends to the group on every interface (both families). */
  multicast(packet: Uint8Array): void;
  /** Sends to one address and port. */
  unicast(packet: Uint8Array, to: DnssdSender): void;
  /** How many interfaces each family is active on. */
  readonly active: { readonly ipv4: number; readonly ipv6: number };
  close(): void;
}

/** Opens the sockets; an interface the kernel refuses (no multicast, gone) is skipped, and no usable interface at all is an error. */
export async function openDnssdSockets(init: DnssdSocketsInit): Promise<DnssdSockets> {
  const groupPort = init.groupPort ?? MDNS_PORT;
  const v4Interfaces = init.interfaces.filter((i) => i.ipv4 !== undefined);
  const v6Interfaces = init.interfaces.filter((i) => i.ipv6 !== false);
  let v4: Socket | undefined;
  let v6: Socket | undefined;
  const joined4: DnssdInterface[] = [];
  const joined6: DnssdInterface[] = [];
  const problems: string[] = [];
  let handler: (packet: Uint8Array, from: DnssdSender) => void = () => undefined;
  const wire = (socket: Socket, family: 'ipv4' | 'ipv6') => {
    socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => handler(new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength), { address: rinfo.address, port: rinfo.port, family }));
    socket.on('error', () => undefined); // a send to a vanished interface must not crash the daemon
  };
  try {
    if (v4Interfaces.length > 0) {
      const s = createSocket({ type: 'udp4', reuseAddr: true });
      v4 = s;
      await bindUdpShared(s, init.port, '0.0.0.0');
      s.setMulticastTTL(255);
      s.setMulticastLoopback(true);
      for (const i of v4Interfaces) {
        try {
          if (init.join) s.addMembership(MDNS_IPV4_GROUP, i.ipv4);
          joined4.push(i);
        } catch (error) {
          problems.push(`${i.name} (IPv4): ${(error as Error).message}`);
        }
      }
      wire(s, 'ipv4');
    }
    if (v6Interfaces.length > 0) {
      const s = createSocket({ type: 'udp6', reuseAddr: true, ipv6Only: true });
      v6 = s;
      await bindUdpShared(s, init.port, '::');
      s.setMulticastTTL(255);
      s.setMulticastLoopback(true);
      for (const i of v6Interfaces) {
        try {
          if (init.join) s.addMembership(MDNS_IPV6_GROUP, `::%${i.name}`);
          joined6.push(i);
        } catch (error) {
          problems.push(`${i.name} (IPv6): ${(error as Error).message}`);
        }
      }
      wire(s, 'ipv6');
    }
  } catch (error) {
    v4?.close();
    v6?.close();
    throw new Error(`cannot open mDNS sockets on port ${init.port}: ${(error as Error).message}`);
  }
  if (joined4.length + joined6.length === 0) {
    v4?.close();
    v6?.close();
    throw new Error(`cannot speak mDNS on any interface: ${problems.join('; ') || 'no interface given'}`);
  }
  return {
    onMessage(h) {
      handler = h;
    },
    multicast(packet) {
      for (const i of joined4) {
        try {
          v4!.setMulticastInterface(i.ipv4!);
          v4!.send(packet, groupPort, MDNS_IPV4_GROUP);
        } catch {
          /* interface gone: skipped */
        }
      }
      for (const i of joined6) {
        try {
          v6!.send(packet, groupPort, `${MDNS_IPV6_GROUP}%${i.name}`);
        } catch {
          /* interface gone: skipped */
        }
      }
    },
    unicast(packet, to) {
      const socket = to.family === 'ipv4' ? v4 : v6;
      socket?.send(packet, to.port, to.address);
    },
    active: { ipv4: joined4.length, ipv6: joined6.length },
    close() {
      for (const s of [v4, v6]) {
        try {
          s?.close();
        } catch {
          /* already closed */
        }
      }
    },
  };
}
