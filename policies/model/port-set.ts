/**
 * A MAP-E (RFC 7597) port set: the ports whose PSID bits equal `psid`.
 * A port is `A | PSID | M` with `offset` = a bits of A, `psidLength` = k bits
 * of PSID and m = 16 - a - k bits of M; A = 0 is excluded when a > 0 (it would
 * cover the system ports).
 */
export interface PortSet {
  readonly offset: number;
  readonly psidLength: number;
  readonly psid: number;
}

/** True when `port` may be used under the port set (no set: every port 1..65535). */
export function portInSet(port: number, set: PortSet | undefined): boolean {
  if (!Number.isInteger(port) || port < 1 || port > 65535) return false;
  if (!set) return true;
  const m = 16 - set.offset - set.psidLength;
  if (set.offset > 0 && port >> (16 - set.offset) === 0) return false;
  return ((port >> m) & ((1 << set.psidLength) - 1)) === set.psid;
}

/** The smallest port >= `from` inside the set (and >= `floor`), or `undefined` past 65535. */
export function nextPortInSet(from: number, set: PortSet | undefined, floor = 1): number | undefined {
  let port = Math.max(from, floor, 1);
  if (!set) return port <= 65535 ? port : undefined;
  const m = 16 - set.offset - set.psidLength;
  const blockSpan = 1 << (m + set.psidLength); // ports per value of A
  while (port <= 65535) {
    if (portInSet(port, set)) return port;
    const a = Math.floor(port / blockSpan);
    const blockStart = a * blockSpan + (set.psid << m);
    if (a === 0 && set.offset > 0) {
      port = blockSpan + (set.psid << m);
    } else if (port < blockStart) {
      port = blockStart;
    } else {
      port = (a + 1) * blockSpan + (set.psid << m);
    }
  }
  return undefined;
}
