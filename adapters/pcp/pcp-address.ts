/**
 * The 16-byte address fields of PCP: IPv6 addresses as they are, IPv4
 * addresses as IPv4-mapped IPv6 (`::ffff:a.b.c.d`, RFC 6887 section 5). Text
 * goes in and out in canonical form (`policies/model/address.ts`), IPv4 as
 * dotted quad.
 *
 * @example
 * ```ts
 * decodePcpAddress(encodePcpAddress('192.168.77.10'), 0); // '192.168.77.10'
 * ```
 */
import { addressFromBytes, addressToBytes, canonicalAddress, familyOf, unmappedAddress } from '../../policies/model/address';
import { PcpRequestError } from './pcp-errors';

/** The all-zero IPv4 address as PCP writes it: `::ffff:0.0.0.0` (a suggested external IPv4 address of "any"). */
export const PCP_ANY_IPV4 = '0.0.0.0';
/** The all-zero IPv6 address (a suggested external IPv6 address of "any"). */
export const PCP_ANY_IPV6 = '::';

/** The 12 bytes before an IPv4 address in its IPv4-mapped IPv6 form (`::ffff:0:0/96`). */
const IPV4_MAPPED_HEAD = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/**
 * 16 bytes for an address literal: IPv6 as it is, IPv4 as IPv4-mapped IPv6.
 * Throws {@link PcpRequestError} for a literal that is not an address.
 */
export function encodePcpAddress(text: string): Buffer {
  const canonical = canonicalAddress(text);
  const bytes = canonical === undefined ? undefined : addressToBytes(canonical);
  if (canonical === undefined || bytes === undefined) throw new PcpRequestError(`'${text}' is not an IP address`);
  return Buffer.from(familyOf(canonical) === 'ipv4' ? [...IPV4_MAPPED_HEAD, ...bytes] : bytes);
}

/** The address in 16 bytes at `offset`: dotted quad for IPv4-mapped, canonical IPv6 otherwise. */
export function decodePcpAddress(data: Uint8Array, offset: number): string {
  const text = addressFromBytes(data.subarray(offset, offset + 16));
  // 16 bytes always make an IPv6 address; the guard only narrows the type.
  if (text === undefined) throw new PcpRequestError(`no 16-byte address at offset ${offset}`);
  return unmappedAddress(text) ?? text;
}

/** `ipv4` for an IPv4 (or IPv4-mapped) literal, `ipv6` otherwise. */
export function pcpAddressFamily(text: string): 'ipv4' | 'ipv6' {
  return familyOf(unmappedAddress(text) ?? text);
}
