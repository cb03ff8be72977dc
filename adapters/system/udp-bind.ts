/**
 * Binds a UDP socket without claiming the port for itself (`exclusive: false`),
 * so sockets of this process (and, with `reuseAddr`, of other processes, e.g.
 * avahi on mDNS 5353) can share it; resolves once bound, rejects with the
 * bind's error.
 *
 * @example
 * ```ts
 * const socket = createSocket({ type: 'udp6', reuseAddr: true, ipv6Only: true });
 * await bindUdpShared(socket, 5353, '::');
 * ```
 */
import type { Socket } from 'node:dgram';

export function bindUdpShared(socket: Socket, port: number, address: string): Promise<void> {
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.bind({ port, address, exclusive: false }, () => {
      socket.off('error', reject);
      resolve();
    });
  });
}
