/**
 * Small IP address helpers built on ipaddr.js: strict parsing, RFC 5952 text form,
 * zone ids, and the IPv4 external-address classification used by the gateway report.
 *
 * @example
 * ```ts
 * toRfc5952('2001:DB8:77:0:0:0:0:10'); // '2001:db8:77::10'
 * classifyExternalIpv4('100.64.3.4');   // 'cgnat'
 * ```
 */
import ipaddr from 'ipaddr.js';

/** An address split from its zone id: `fe80::1%lan0` -> `{ address: 'fe80::1', zone: 'lan0' }`. */
export interface ZonedAddress {
  address: string;
  zone?: string;
}

/** Splits `addr%zone` (or the URL-encoded `addr%25zone`). */
export function splitZone(text: string): ZonedAddress {
  const i = text.indexOf('%');
  if (i < 0) return { address: text };
  let zone = text.slice(i + 1);
  if (zone.startsWith('25')) zone = zone.slice(2);
  return zone ? { address: text.slice(0, i), zone } : { address: text.slice(0, i) };
}

/** True for a dotted-quad IPv4 literal with exactly four decimal parts (no `1.2.3`, no octal). */
export function isIpv4Literal(text: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(text) && ipaddr.IPv4.isValidFourPartDecimal(text);
}

/** True for an IPv6 literal, with or without a zone id. */
export function isIpv6Literal(text: string): boolean {
  const { address } = splitZone(text);
  return address.includes(':') && ipaddr.IPv6.isValid(address);
}

/**
 * RFC 5952 text of an IPv6 address (lowercase, longest zero run compressed, IPv4-mapped
 * as `::ffff:a.b.c.d`); IPv4 literals come back in canonical dotted-quad form. The zone
 * id, if any, is kept. Throws a `TypeError` for non-addresses: callers validate first.
 */
export function toRfc5952(text: string): string {
  const { address, zone } = splitZone(text.trim());
  if (isIpv4Literal(address)) return ipaddr.IPv4.parse(address).toString();
  const v6 = ipaddr.IPv6.parse(address);
  let out: string;
  if (v6.isIPv4MappedAddress()) out = `::ffff:${v6.toIPv4Address().toString()}`;
  else out = v6.toRFC5952String();
  return zone ? `${out}%${zone}` : out;
}

/** Same address (zone ignored), whatever the text form. */
export function sameAddress(a: string, b: string): boolean {
  try {
    const pa = ipaddr.process(splitZone(a).address);
    const pb = ipaddr.process(splitZone(b).address);
    return pa.kind() === pb.kind() && pa.toString() === pb.toString();
  } catch {
    return false;
  }
}

/** True for fe80::/10. */
export function isLinkLocalIpv6(text: string): boolean {
  try {
    const { address } = splitZone(text);
    return ipaddr.IPv6.isValid(address) && ipaddr.IPv6.parse(address).range() === 'linkLocal';
  } catch {
    return false;
  }
}

/** True for a global unicast IPv6 address outside fc00::/7 (ULA) — the IPv6 search gate. */
export function isNonUlaGlobalIpv6(text: string): boolean {
  try {
    const { address } = splitZone(text);
    if (!ipaddr.IPv6.isValid(address)) return false;
    const a = ipaddr.IPv6.parse(address);
    if (a.isIPv4MappedAddress()) return false;
    // 2000::/3 is global unicast; ipaddr.js calls 2001:db8::/32 'reserved', which the lab uses.
    return a.match(ipaddr.IPv6.parse('2000::'), 3);
  } catch {
    return false;
  }
}

/** True when `address` is inside `network/prefixLength` (both same family). */
export function inPrefix(address: string, network: string, prefixLength: number): boolean {
  try {
    const a = ipaddr.parse(splitZone(address).address);
    const n = ipaddr.parse(splitZone(network).address);
    if (a.kind() !== n.kind()) return false;
    return a.kind() === 'ipv6'
      ? (a as ipaddr.IPv6).match(n, prefixLength)
      : (a as ipaddr.IPv4).match(n, prefixLength);
  } catch {
    return false;
  }
}

/**
 * What an IGD's external IPv4 address says about the path to the Internet.
 * - `public`: a routable address (port mapping can work). RFC 5737 documentation ranges
 *   (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24) count as public on purpose: the lab's
 *   WAN uses 198.51.100.0/24 and miniupnpd itself treats it as public once STUN confirms it.
 * - `private`: RFC 1918 — another NAT above this router (double NAT), mapping is ineffective.
 * - `cgnat`: 100.64.0.0/10 (RFC 6598) — the ISP's carrier-grade NAT, mapping is ineffective.
 * - `none`: no usable address (empty, 0.0.0.0, not IPv4, loopback, link-local, multicast, reserved 240/4).
 */
export type ExternalIpv4Kind = 'public' | 'private' | 'cgnat' | 'none';

const CLASSIFICATION: Array<[string, number, ExternalIpv4Kind]> = [
  ['10.0.0.0', 8, 'private'],
  ['172.16.0.0', 12, 'private'],
  ['192.168.0.0', 16, 'private'],
  ['100.64.0.0', 10, 'cgnat'],
  ['0.0.0.0', 8, 'none'],
  ['127.0.0.0', 8, 'none'],
  ['169.254.0.0', 16, 'none'],
  ['224.0.0.0', 4, 'none'],
  ['240.0.0.0', 4, 'none'],
];

/** Classifies an external IPv4 address as reported by GetExternalIPAddress. */
export function classifyExternalIpv4(text: string | undefined): ExternalIpv4Kind {
  const t = (text ?? '').trim();
  if (!isIpv4Literal(t)) return 'none';
  for (const [net, len, kind] of CLASSIFICATION) {
    if (inPrefix(t, net, len)) return kind;
  }
  return 'public';
}
