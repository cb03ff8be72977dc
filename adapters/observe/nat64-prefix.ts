import { addressFromBytes, addressToBytes, isIpv6Literal } from '../../policies/model/address';

/** The well-known IPv4 addresses of `ipv4only.arpa` (RFC 7050 §2.2). */
export const IPV4ONLY_ARPA_ADDRESSES = ['192.0.0.170', '192.0.0.171'];

const LENGTHS = [96, 64, 56, 48, 40, 32] as const;

/** The IPv4 address embedded in `address` for a NAT64 prefix of `length` bits (RFC 6052 §2.2, bits 64-71 skipped). */
export function embeddedIpv4(address: string, length: (typeof LENGTHS)[number]): string {
  const bytes = isIpv6Literal(address) ? addressToBytes(address) : undefined;
  if (bytes === undefined) throw new TypeError(`not an IPv6 address: ${JSON.stringify(address)}`);
  const positions: number[] = [];
  for (let i = length / 8; positions.length < 4; i++) if (i !== 8) positions.push(i);
  return addressFromBytes(positions.map((i) => bytes[i])) as string;
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
  const bytes = isIpv6Literal(address) ? addressToBytes(address) : undefined;
  if (bytes === undefined) return undefined;
  for (const length of LENGTHS) {
    if (!IPV4ONLY_ARPA_ADDRESSES.includes(embeddedIpv4(address, length))) continue;
    const prefix = bytes.map((b, i) => (i < length / 8 ? b : 0));
    return `${addressFromBytes(prefix)}/${length}`;
  }
  return undefined;
}
