import ipaddr from 'ipaddr.js';

/** The well-known IPv4 addresses of `ipv4only.arpa` (RFC 7050 §2.2). */
export const IPV4ONLY_ARPA_ADDRESSES = ['192.0.0.170', '192.0.0.171'];

const LENGTHS = [96, 64, 56, 48, 40, 32] as const;

/** The IPv4 address embedded in `address` for a NAT64 prefix of `length` bits (RFC 6052 §2.2, bits 64-71 skipped). */
export function embeddedIpv4(address: string, length: (typeof LENGTHS)[number]): string {
  const bytes = ipaddr.IPv6.parse(address).toByteArray();
  const positions: number[] = [];
  for (let i = length / 8; positions.length < 4; i++) if (i !== 8) positions.push(i);
  return positions.map((i) => bytes[i]).join('.');
}

/**
 * The NAT64 prefix revealed by a DNS64 answer for `ipv4only.arpa` (RFC 7050
 * §3): the longest prefix length at which the address embeds one of the
 * well-known IPv4 addresses. `undefined` when it embeds none (no DNS64).
 *
 * @example
 * ```ts
 * nat64PrefixFromAddress('64:ff9b::c000:aa'); // '64:ff9b::/96'
 * ```
 */
export function nat64PrefixFromAddress(address: string): string | undefined {
  if (!ipaddr.IPv6.isValid(address)) return undefined;
  const bytes = ipaddr.IPv6.parse(address).toByteArray();
  for (const length of LENGTHS) {
    if (!IPV4ONLY_ARPA_ADDRESSES.includes(embeddedIpv4(address, length))) continue;
    const prefix = bytes.map((b, i) => (i < length / 8 ? b : 0));
    return `${(ipaddr.fromByteArray(prefix) as ipaddr.IPv6).toRFC5952String()}/${length}`;
  }
  return undefined;
}
