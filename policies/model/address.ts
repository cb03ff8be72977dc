/**
 * IP addresses, once for the whole tree: the engine, the agent, the gateway,
 * the observers and the protocol adapters all parse, write, classify and
 * compare addresses here (ipaddr.js is the parser underneath; nothing else
 * imports it).
 *
 * - **One canonical form** ({@link canonicalAddress}): RFC 5952 for IPv6
 *   (lowercase, longest run of zero groups compressed); an IPv4-mapped IPv6
 *   address in the mixed notation RFC 5952 §5 recommends, `::ffff:192.0.2.1`
 *   (it stays an IPv6 address of scope `other`; {@link unmappedAddress} turns
 *   a dual-stack socket's peer into the IPv4 address it stands for); IPv4 as
 *   a dotted quad of four decimal parts. Zone ids are dropped
 *   ({@link toRfc5952} keeps them, for URLs and sockets).
 * - **One scope vocabulary** ({@link AddressScope}).
 * - **One WAN IPv4 classification** ({@link classifyExternalIpv4}), used by
 *   the agent's gateway report and the gateway daemon alike.
 *
 * @example
 * ```ts
 * canonicalAddress('2001:DB8:0:0::1');   // '2001:db8::1'
 * canonicalAddress('::ffff:c000:201');   // '::ffff:192.0.2.1'
 * scopeOf('fd00::1');                    // 'ula'
 * classifyExternalIpv4('169.254.1.1');   // 'none'
 * ```
 */
import ipaddr from 'ipaddr.js';
import { formatIp, parseAddress as parse, parseIp } from './address-parse';
import type { WanIpv4Kind } from './network';

/** Address family of an address, a need or a grant. */
export type Family = 'ipv4' | 'ipv6';

/**
 * Where an address is valid — the one vocabulary of the engine, the agent's
 * InternalClient choice and the observers.
 *
 * Both families: `link-local` (fe80::/10, 169.254/16), `loopback` (::1,
 * 127/8), `multicast` (ff00::/8, 224/4), `unspecified` (::, 0/8).
 * IPv6: `gua` (global unicast, 2000::/3 — documentation 2001:db8::/32
 * included, the lab uses it), `ula` (fc00::/7).
 * IPv4: `private` (RFC 1918), `cgnat` (100.64/10, RFC 6598), `public`
 * (everything else that can be a unicast host; documentation and benchmarking
 * ranges included, the lab's WAN uses 198.51.100/24).
 * `other`: anything else, never a pinhole or mapping target — IPv4-mapped
 * IPv6, NAT64 (64:ff9b::/96), discard, site-local and the rest of IPv6
 * outside 2000::/3; IPv4 240/4 and the broadcast address.
 */
export type AddressScope =
  | 'link-local'
  | 'ula'
  | 'gua'
  | 'private'
  | 'cgnat'
  | 'public'
  | 'loopback'
  | 'multicast'
  | 'unspecified'
  | 'other';

/** One address of a device, as the observers (ND, DHCP, mDNS, Matter) report it. */
export interface DeviceAddress {
  /** Canonical text form (see {@link canonicalAddress}). */
  readonly address: string;
  readonly family: Family;
  readonly scope: AddressScope;
  /** SLAAC stable / DHCP address (true) or an RFC 8981 temporary address (false). */
  readonly stable: boolean;
  /** A deprecated address must not be used for new or existing grants. */
  readonly deprecated: boolean;
  /** Seconds, as advertised; informational. */
  readonly preferredLifetime?: number;
  readonly validLifetime?: number;
}

/** How an event describes an address; family and scope are derived when absent. */
export interface AddressInput {
  address: string;
  scope?: AddressScope;
  temporary?: boolean;
  deprecated?: boolean;
  preferredLifetime?: number;
  validLifetime?: number;
}

/**
 * Canonical form of an IP address literal, or `undefined` when it is not one.
 * Zone ids (`%eth0`) are dropped. Results are memoised (bounded) because the
 * same addresses come back in every event about a device.
 *
 * @example
 * canonicalAddress('2001:DB8:0:0::1') // '2001:db8::1'
 */
export function canonicalAddress(text: string): string | undefined {
  return parse(text)?.address;
}

/**
 * Family of a canonical address (an IPv4-mapped one is `ipv6`).
 *
 * @example
 * familyOf('2001:db8::1') // 'ipv6'
 */
export function familyOf(address: string): Family {
  return address.includes(':') ? 'ipv6' : 'ipv4';
}

/**
 * Scope of an address literal (canonical or not; a zone id is ignored).
 * Throws a `TypeError` for a non-address: callers validate first.
 *
 * @example
 * scopeOf('2001:db8::1') // 'gua'
 */
export function scopeOf(address: string): AddressScope {
  const parsed = parse(address);
  if (parsed === undefined) throw new TypeError(`not an IP address: ${JSON.stringify(address)}`);
  return parsed.scope;
}

/**
 * True for the scopes peers on the Internet can reach: `gua` (IPv6) and `public` (IPv4).
 *
 * @example
 * isGlobalScope(scopeOf('198.51.100.7')) // true
 */
export function isGlobalScope(scope: AddressScope): boolean {
  return scope === 'gua' || scope === 'public';
}

/**
 * True for the literal "any" addresses a client must never send as InternalClient.
 *
 * @example
 * isWildcardAddress('0.0.0.0') // true
 */
export function isWildcardAddress(text: string | undefined): boolean {
  return text === undefined || text === '' || text === '*' || text === '::' || text === '0.0.0.0';
}

/**
 * Turns an {@link AddressInput} into a {@link DeviceAddress}; `undefined` if the literal is invalid.
 *
 * @example
 * toDeviceAddress({ address: '2001:DB8::7', temporary: true }) // { address: '2001:db8::7', family: 'ipv6', scope: 'gua', stable: false, deprecated: false }
 */
export function toDeviceAddress(input: AddressInput): DeviceAddress | undefined {
  const parsed = parse(input.address);
  if (parsed === undefined) return undefined;
  return {
    address: parsed.address,
    family: parsed.family,
    scope: input.scope ?? parsed.scope,
    stable: input.temporary !== true,
    deprecated: input.deprecated === true,
    ...(input.preferredLifetime !== undefined ? { preferredLifetime: input.preferredLifetime } : {}),
    ...(input.validLifetime !== undefined ? { validLifetime: input.validLifetime } : {}),
  };
}

// ---- Literals, zones and text forms (protocols, URLs, sockets) ----

/** An address split from its zone id: `fe80::1%lan0` -> `{ address: 'fe80::1', zone: 'lan0' }`. */
export interface ZonedAddress {
  address: string;
  zone?: string;
}

/**
 * Splits `addr%zone` (or the URL-encoded `addr%25zone`).
 *
 * @example
 * splitZone('fe80::1%25eth0') // { address: 'fe80::1', zone: 'eth0' }
 */
export function splitZone(text: string): ZonedAddress {
  const i = text.indexOf('%');
  if (i < 0) return { address: text };
  let zone = text.slice(i + 1);
  if (zone.startsWith('25')) zone = zone.slice(2);
  return zone ? { address: text.slice(0, i), zone } : { address: text.slice(0, i) };
}

/**
 * True for a dotted-quad IPv4 literal with exactly four decimal parts (no `1.2.3`, no octal, no zone).
 *
 * @example
 * isIpv4Literal('192.0.2.1') // true; isIpv4Literal('127.1') // false
 */
export function isIpv4Literal(text: string): boolean {
  return !text.includes('%') && parse(text)?.family === 'ipv4';
}

/**
 * True for an IPv6 literal, with or without a zone id.
 *
 * @example
 * isIpv6Literal('fe80::1%eth0') // true
 */
export function isIpv6Literal(text: string): boolean {
  return parse(text)?.family === 'ipv6';
}

/**
 * Canonical text (see {@link canonicalAddress}) of an address literal,
 * surrounding white space ignored, its zone id kept. Throws a `TypeError`
 * for non-addresses: callers validate first.
 *
 * @example
 * toRfc5952('2001:DB8:77:0:0:0:0:10') // '2001:db8:77::10'
 * toRfc5952('::FFFF:192.0.2.1')       // '::ffff:192.0.2.1'
 */
export function toRfc5952(text: string): string {
  const { address, zone } = splitZone(text.trim());
  const parsed = parse(address);
  if (parsed === undefined) throw new TypeError(`not an IP address: ${JSON.stringify(text)}`);
  return zone && parsed.family === 'ipv6' ? `${parsed.address}%${zone}` : parsed.address;
}

/**
 * True for an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, RFC 4291 §2.5.5.2), in any spelling.
 *
 * @example
 * isIpv4Mapped('::ffff:c000:201') // true
 */
export function isIpv4Mapped(text: string): boolean {
  const parsed = parse(text);
  return parsed !== undefined && parsed.family === 'ipv6' && parsed.address.startsWith('::ffff:') && parsed.address.includes('.');
}

/**
 * A socket peer's address as the host it is: canonical, zone dropped, and an
 * IPv4-mapped IPv6 address (a dual-stack socket's IPv4 peer) as that IPv4
 * address. `undefined` for a non-address.
 *
 * @example
 * unmappedAddress('::ffff:192.0.2.1') // '192.0.2.1'
 */
export function unmappedAddress(text: string): string | undefined {
  const parsed = parse(text);
  if (parsed === undefined) return undefined;
  return isIpv4Mapped(parsed.address) ? parsed.address.slice(7) : parsed.address;
}

/**
 * Same host address (zone ignored, IPv4-mapped equal to its IPv4 address),
 * whatever the text form; false when either is no address.
 *
 * @example
 * sameAddress('2001:DB8::1', '2001:db8:0::1') // true
 */
export function sameAddress(a: string, b: string): boolean {
  const x = unmappedAddress(a);
  return x !== undefined && x === unmappedAddress(b);
}

/**
 * True for fe80::/10 (a zone id is allowed).
 *
 * @example
 * isLinkLocalIpv6('FE80::1%eth0') // true
 */
export function isLinkLocalIpv6(text: string): boolean {
  const parsed = parse(text);
  return parsed !== undefined && parsed.family === 'ipv6' && parsed.scope === 'link-local';
}

/**
 * True for a global unicast IPv6 address (2000::/3, scope `gua`; so never ULA) — the IPv6 search gate.
 *
 * @example
 * isNonUlaGlobalIpv6('2001:db8::1') // true; isNonUlaGlobalIpv6('fd00::1') // false
 */
export function isNonUlaGlobalIpv6(text: string): boolean {
  return parse(text)?.scope === 'gua';
}

// ---- Bytes and prefixes ----

/**
 * The bytes of an address literal (4 for IPv4, 16 for IPv6; an IPv4-mapped
 * address is 16), or `undefined` for a non-address.
 *
 * @example
 * addressToBytes('192.0.2.1') // [192, 0, 2, 1]
 */
export function addressToBytes(text: string): number[] | undefined {
  const ip = parseIp(splitZone(text).address);
  return ip?.toByteArray();
}

/**
 * The canonical text of 4 (IPv4) or 16 (IPv6) address bytes, or `undefined`
 * for any other length or a byte outside 0..255.
 *
 * @example
 * addressFromBytes([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x20]) // '2001:db8::20'
 */
export function addressFromBytes(bytes: ArrayLike<number>): string | undefined {
  if (bytes.length !== 4 && bytes.length !== 16) return undefined;
  const list = Array.from(bytes);
  if (list.some((b) => !Number.isInteger(b) || b < 0 || b > 255)) return undefined;
  return formatIp(ipaddr.fromByteArray(list));
}

/**
 * The network address of `address/length` in canonical form (host bits
 * cleared), or `undefined` for a non-address or a length outside the family.
 *
 * @example
 * prefixOf('2001:db8:0:1:2:3:4:5', 64) // '2001:db8:0:1::'
 */
export function prefixOf(address: string, length: number): string | undefined {
  const bytes = addressToBytes(address);
  if (bytes === undefined || !Number.isInteger(length) || length < 0 || length > bytes.length * 8) return undefined;
  for (let bit = length; bit < bytes.length * 8; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7)) & 0xff;
  return addressFromBytes(bytes);
}

/**
 * True when `address` is inside `network/prefixLength` (both the same family;
 * zone ids ignored). False for non-addresses.
 *
 * @example
 * inPrefix('192.168.1.7', '192.168.1.1', 24) // true
 */
export function inPrefix(address: string, network: string, prefixLength: number): boolean {
  const a = parseIp(splitZone(address).address);
  const n = parseIp(splitZone(network).address);
  if (a === undefined || n === undefined || a.kind() !== n.kind()) return false;
  if (!Number.isInteger(prefixLength) || prefixLength < 0 || prefixLength > (a.kind() === 'ipv6' ? 128 : 32)) return false;
  return a.kind() === 'ipv6' ? (a as ipaddr.IPv6).match(n, prefixLength) : (a as ipaddr.IPv4).match(n, prefixLength);
}

// ---- The WAN ----

/**
 * What an external (WAN) IPv4 address says about the path to the Internet —
 * the engine's {@link WanIpv4Kind}, from the address's {@link AddressScope}:
 * - `public`: scope `public` (port mapping can work). RFC 5737 documentation
 *   ranges count as public on purpose: the lab's WAN uses 198.51.100.0/24 and
 *   miniupnpd itself treats it as public once STUN confirms it.
 * - `private`: RFC 1918 — another NAT above this router (double NAT).
 * - `cgnat`: 100.64.0.0/10 (RFC 6598) — the ISP's carrier-grade NAT.
 * - `none`: no usable address — absent, not an IPv4 literal, and every other
 *   scope: 0/8, loopback, **link-local 169.254/16** (a router that got no
 *   DHCP lease from its ISP), multicast, 240/4, broadcast.
 */
export type ExternalIpv4Kind = WanIpv4Kind;

/**
 * Classifies an external IPv4 address (GetExternalIPAddress on the agent's
 * side, the WAN interface's address on the gateway's).
 *
 * @example
 * classifyExternalIpv4('100.64.3.4')  // 'cgnat'
 * classifyExternalIpv4('169.254.0.9') // 'none'
 */
export function classifyExternalIpv4(text: string | undefined): ExternalIpv4Kind {
  const t = (text ?? '').trim();
  if (!isIpv4Literal(t)) return 'none';
  const scope = scopeOf(t);
  return scope === 'public' || scope === 'private' || scope === 'cgnat' ? scope : 'none';
}
