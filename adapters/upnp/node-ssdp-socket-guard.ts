import type { Socket } from 'node:dgram';

/**
 * node-ssdp joins the multicast group and sets the TTL from inside its own
 * event handlers, where a failure (an interface without multicast, a group
 * that cannot be joined) is thrown and crashes the process. This wraps one of
 * its sockets so that such failures — and socket errors — are reported to
 * `report` instead. With `joinGroup: false` the membership is skipped (search
 * sockets only need unicast answers).
 *
 * @example
 * ```ts
 * for (const s of Object.values(client.sockets)) guardNodeSsdpSocket(s, { joinGroup: true, report: console.warn });
 * ```
 */
export function guardNodeSsdpSocket(socket: Socket, options: { joinGroup: boolean; report: (error: Error) => void }): void {
  const report = (e: unknown) => {
    try {
      options.report(e instanceof Error ? e : new Error(String(e)));
    } catch {
      /* the reporter must not break the transport */
    }
  };
  const join = socket.addMembership.bind(socket);
  socket.addMembership = (group: string, iface?: string): void => {
    if (!options.joinGroup) return;
    try {
      join(group, iface);
    } catch (e) {
      report(e);
    }
  };
  const ttl = socket.setMulticastTTL.bind(socket);
  socket.setMulticastTTL = (n: number): number => {
    try {
      return ttl(n);
    } catch (e) {
      report(e);
      return n;
    }
  };
  socket.on('error', report);
}
