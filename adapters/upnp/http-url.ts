/**
 * Parsing of the `http://` URLs a router hands out (LOCATION, controlURL), including
 * bracketed IPv6 literals with zone ids (`http://[fe80::1%25lan0]:5000/x`), which the
 * WHATWG `URL` class refuses. Only `http:` is accepted.
 *
 * @example
 * ```ts
 * parseHttpUrl('http://[fe80::1%25lan0]:5000/rootDesc.xml');
 * // { host: 'fe80::1', zone: 'lan0', port: 5000, path: '/rootDesc.xml', href: 'http://[fe80::1]:5000/rootDesc.xml', ... }
 * ```
 */
import { isIpv4Literal, isIpv6Literal, splitZone, toRfc5952 } from '../../policies/model/address';
import { UpnpProtocolError } from './upnp-errors';

export interface ParsedHttpUrl {
  /** Host without brackets or zone; IP literals in canonical (RFC 5952) form. */
  host: string;
  hostKind: 'ipv4' | 'ipv6' | 'name';
  zone?: string;
  port: number;
  /** Path and query, always starting with `/`. */
  path: string;
  /** The URL without its zone id, normalized by WHATWG URL (usable as a base for resolution). */
  href: string;
}

const SHAPE = /^http:\/\/(\[([^\]]+)\]|([^\s:/?#[\]@]+))(?::(\d{1,5}))?([/?][^\s#]*)?(#.*)?$/i;

/** Parses an absolute http URL; throws {@link UpnpProtocolError} for anything else. */
export function parseHttpUrl(text: string): ParsedHttpUrl {
  const m = SHAPE.exec(text.trim());
  if (!m) throw new UpnpProtocolError(`Not an absolute http:// URL: ${JSON.stringify(text.slice(0, 200))}`);
  const bracketed = m[2];
  const bare = m[3];
  const port = m[4] !== undefined ? Number(m[4]) : 80;
  if (!(port >= 1 && port <= 65535)) throw new UpnpProtocolError(`Bad port in URL ${text}`);
  let host: string;
  let hostKind: ParsedHttpUrl['hostKind'];
  let zone: string | undefined;
  if (bracketed !== undefined) {
    const z = splitZone(decodeURIComponentSafe(bracketed));
    if (!isIpv6Literal(z.address)) throw new UpnpProtocolError(`Bad IPv6 literal in URL ${text}`);
    host = toRfc5952(z.address);
    hostKind = 'ipv6';
    zone = z.zone;
  } else {
    host = bare.toLowerCase();
    hostKind = isIpv4Literal(host) ? 'ipv4' : 'name';
    if (hostKind === 'ipv4') host = toRfc5952(host);
  }
  const rawPath = m[5] ?? '/';
  const path = rawPath.startsWith('/') ? rawPath : `/${rawPath}`;
  const hostPart = hostKind === 'ipv6' ? `[${host}]` : host;
  let href: string;
  try {
    href = new URL(`http://${hostPart}:${port}${path}`).href;
  } catch (cause) {
    throw new UpnpProtocolError(`Unparseable URL ${text}`, { cause });
  }
  const parsed: ParsedHttpUrl = { host, hostKind, port, path: new URL(href).pathname + new URL(href).search, href };
  if (zone) parsed.zone = zone;
  return parsed;
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/**
 * Resolves a controlURL / SCPDURL against a base (URLBase or the description URL):
 * absolute, `/`-rooted and relative forms, per RFC 3986. Returns a zone-free href.
 */
export function resolveUpnpUrl(reference: string, base: string): string {
  const ref = reference.trim();
  const baseParsed = parseHttpUrl(base);
  if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) return parseHttpUrl(ref).href;
  try {
    const out = new URL(ref, baseParsed.href);
    if (out.protocol !== 'http:') throw new UpnpProtocolError(`Not http: ${out.href}`);
    return out.href;
  } catch (cause) {
    if (cause instanceof UpnpProtocolError) throw cause;
    throw new UpnpProtocolError(`Cannot resolve ${JSON.stringify(ref)} against ${base}`, { cause });
  }
}
