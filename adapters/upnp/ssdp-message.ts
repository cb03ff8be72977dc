/**
 * SSDP messages (UPnP Device Architecture 1.1, section 1): M-SEARCH requests, search
 * responses and NOTIFY (ssdp:alive / ssdp:byebye / ssdp:update), parsed strictly and
 * formatted byte-exactly. A datagram comes from anyone on the link, so parsing is capped
 * (size, header count, line length), refuses binary and ambiguous input (duplicate key
 * headers, folded lines), and fails only with {@link SsdpParseError}.
 *
 * @example
 * ```ts
 * const msg = parseSsdpMessage(Buffer.from(datagram));
 * if (msg.kind === 'search-response') console.log(msg.location, msg.maxAgeSeconds, msg.bootId);
 * const bytes = formatMSearch({ searchTarget: IGD2_DEVICE_TYPE, family: 'ipv4', mx: 1 });
 * ```
 */
import { SsdpParseError } from './upnp-errors';

/** Largest datagram we look at. Real SSDP messages are ~450 bytes. */
export const SSDP_MAX_MESSAGE_BYTES = 8192;
/** Most header lines we accept in one message. */
export const SSDP_MAX_HEADERS = 48;
const MAX_LINE = 1024;
/** Longest CACHE-CONTROL max-age we honour (a day); longer values are clamped. */
export const SSDP_MAX_AGE_CAP_SECONDS = 86400;

export const SSDP_IPV4_GROUP = '239.255.255.250';
export const SSDP_IPV6_LINK_LOCAL_GROUP = 'ff02::c';
export const SSDP_IPV6_SITE_LOCAL_GROUP = 'ff05::c';
export const SSDP_PORT = 1900;

export type SsdpNts = 'ssdp:alive' | 'ssdp:byebye' | 'ssdp:update';

interface SsdpBase {
  /** Every header, names lowercased, values trimmed (first occurrence). */
  readonly headers: ReadonlyMap<string, string>;
}

export interface SsdpSearchRequest extends SsdpBase {
  readonly kind: 'm-search';
  readonly host: string;
  readonly man: string;
  /** Absent only for unicast M-SEARCH. */
  readonly mx?: number;
  readonly searchTarget: string;
}

export interface SsdpSearchResponse extends SsdpBase {
  readonly kind: 'search-response';
  readonly statusCode: 200;
  readonly searchTarget: string;
  readonly usn: string;
  readonly location: string;
  readonly maxAgeSeconds: number;
  readonly server?: string;
  readonly bootId?: number;
  readonly configId?: number;
  readonly searchPort?: number;
}

export interface SsdpNotify extends SsdpBase {
  readonly kind: 'notify';
  readonly nts: SsdpNts;
  readonly host: string;
  readonly notificationType: string;
  readonly usn: string;
  /** Present for ssdp:alive and ssdp:update. */
  readonly location?: string;
  /** Present for ssdp:alive. */
  readonly maxAgeSeconds?: number;
  readonly server?: string;
  readonly bootId?: number;
  readonly configId?: number;
  /** ssdp:update only: the BOOTID the device will use from now on. */
  readonly nextBootId?: number;
  readonly searchPort?: number;
}

export type SsdpMessage = SsdpSearchRequest | SsdpSearchResponse | SsdpNotify;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Headers that must not appear twice: a second value could smuggle a different target. */
const SINGLE = new Set([
  'location', 'st', 'nt', 'nts', 'usn', 'cache-control', 'host', 'man', 'mx',
  'bootid.upnp.org', 'configid.upnp.org', 'nextbootid.upnp.org', 'searchport.upnp.org',
]);

/**
 * Parses one SSDP datagram. Throws only {@link SsdpParseError}.
 *
 * @example
 * ```ts
 * parseSsdpMessage('HTTP/1.1 200 OK\r\nST: upnp:rootdevice\r\n...').kind; // 'search-response'
 * ```
 */
export function parseSsdpMessage(input: Buffer | Uint8Array | string): SsdpMessage {
  const text = decode(input);
  const lines = splitHeaderLines(text);
  const startLine = lines.shift() as string;
  const headers = parseHeaderLines(lines);

  if (/^HTTP\/1\.[01] \d{3}( .*)?$/.test(startLine)) return parseResponse(startLine, headers);
  const m = /^([A-Z-]+) \* HTTP\/1\.[01]$/.exec(startLine);
  if (!m) throw new SsdpParseError(`Not an SSDP start line: ${printable(startLine)}`);
  if (m[1] === 'M-SEARCH') return parseSearch(headers);
  if (m[1] === 'NOTIFY') return parseNotify(headers);
  throw new SsdpParseError(`Unsupported SSDP method ${m[1]}`);
}

/** Like {@link parseSsdpMessage} but returns the error instead of throwing. */
export function tryParseSsdpMessage(input: Buffer | Uint8Array | string): SsdpMessage | SsdpParseError {
  try {
    return parseSsdpMessage(input);
  } catch (e) {
    return e instanceof SsdpParseError ? e : new SsdpParseError(`Unparseable SSDP datagram: ${String(e)}`);
  }
}

function decode(input: Buffer | Uint8Array | string): string {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength;
  if (size === 0) throw new SsdpParseError('Empty SSDP datagram');
  if (size > SSDP_MAX_MESSAGE_BYTES) {
    throw new SsdpParseError(`SSDP datagram of ${size} bytes exceeds the ${SSDP_MAX_MESSAGE_BYTES}-byte cap`);
  }
  const bytes = typeof input === 'string' ? Buffer.from(input, 'utf8') : Buffer.from(input);
  for (const b of bytes) {
    // Text only: printable ASCII/UTF-8 plus TAB, CR, LF. NUL and other controls mean binary.
    if (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) throw new SsdpParseError('Binary data in SSDP datagram');
    if (b === 0x7f) throw new SsdpParseError('Binary data in SSDP datagram');
  }
  const text = bytes.toString('utf8');
  if (text.includes('\uFFFD')) throw new SsdpParseError('SSDP datagram is not valid UTF-8');
  return text;
}

function splitHeaderLines(text: string): string[] {
  // CRLF is the standard; a bare LF is tolerated (some stacks send it), a bare CR is not.
  const normalized = text.replace(/\r\n/g, '\n');
  if (normalized.includes('\r')) throw new SsdpParseError('Bare CR in SSDP datagram');
  const end = normalized.indexOf('\n\n');
  const head = end >= 0 ? normalized.slice(0, end) : normalized.replace(/\n$/, '');
  const rest = end >= 0 ? normalized.slice(end + 2) : '';
  if (rest.trim() !== '') throw new SsdpParseError('SSDP message carries a body');
  const lines = head.split('\n');
  if (lines.length === 0 || lines[0] === '') throw new SsdpParseError('Missing SSDP start line');
  if (lines.length - 1 > SSDP_MAX_HEADERS) {
    throw new SsdpParseError(`More than ${SSDP_MAX_HEADERS} SSDP header lines`);
  }
  for (const line of lines) {
    if (line.length > MAX_LINE) throw new SsdpParseError(`SSDP line longer than ${MAX_LINE} characters`);
  }
  return lines;
}

function parseHeaderLines(lines: string[]): Map<string, string> {
  const headers = new Map<string, string>();
  for (const line of lines) {
    if (line === '') throw new SsdpParseError('Empty line inside SSDP headers');
    if (line[0] === ' ' || line[0] === '\t') throw new SsdpParseError('Folded SSDP header lines are not accepted');
    const colon = line.indexOf(':');
    if (colon <= 0) throw new SsdpParseError(`Malformed SSDP header line: ${printable(line)}`);
    const name = line.slice(0, colon).toLowerCase();
    if (!TOKEN.test(name)) throw new SsdpParseError(`Malformed SSDP header name: ${printable(name)}`);
    const value = line.slice(colon + 1).trim();
    if (headers.has(name)) {
      if (SINGLE.has(name)) throw new SsdpParseError(`Duplicate SSDP header ${name.toUpperCase()}`);
      continue;
    }
    headers.set(name, value);
  }
  return headers;
}

function parseResponse(startLine: string, headers: Map<string, string>): SsdpSearchResponse {
  const statusCode = Number(startLine.slice(9, 12));
  if (statusCode !== 200) throw new SsdpParseError(`SSDP search response with status ${statusCode}`);
  const response: SsdpSearchResponse = {
    kind: 'search-response',
    statusCode: 200,
    headers,
    searchTarget: required(headers, 'st'),
    usn: required(headers, 'usn'),
    location: parseLocation(required(headers, 'location')),
    maxAgeSeconds: parseMaxAge(required(headers, 'cache-control')),
    ...optionalCommon(headers),
  };
  return response;
}

function parseSearch(headers: Map<string, string>): SsdpSearchRequest {
  const man = required(headers, 'man');
  if (man !== '"ssdp:discover"') throw new SsdpParseError(`M-SEARCH MAN must be "ssdp:discover", got ${printable(man)}`);
  const mxText = headers.get('mx');
  const request: SsdpSearchRequest = {
    kind: 'm-search',
    headers,
    host: required(headers, 'host'),
    man,
    searchTarget: required(headers, 'st'),
    ...(mxText !== undefined ? { mx: parseInteger(mxText, 'MX', 0, 120) } : {}),
  };
  return request;
}

function parseNotify(headers: Map<string, string>): SsdpNotify {
  const ntsText = required(headers, 'nts');
  if (ntsText !== 'ssdp:alive' && ntsText !== 'ssdp:byebye' && ntsText !== 'ssdp:update') {
    throw new SsdpParseError(`Unknown NTS ${printable(ntsText)}`);
  }
  const nts: SsdpNts = ntsText;
  const base = {
    kind: 'notify' as const,
    headers,
    nts,
    host: required(headers, 'host'),
    notificationType: required(headers, 'nt'),
    usn: required(headers, 'usn'),
    ...optionalCommon(headers),
  };
  const locationText = headers.get('location');
  const cacheControl = headers.get('cache-control');
  const nextBootText = headers.get('nextbootid.upnp.org');
  const notify: SsdpNotify = {
    ...base,
    ...(nts !== 'ssdp:byebye' || locationText !== undefined
      ? { location: parseLocation(nts === 'ssdp:byebye' ? (locationText as string) : required(headers, 'location')) }
      : {}),
    ...(nts === 'ssdp:alive'
      ? { maxAgeSeconds: parseMaxAge(required(headers, 'cache-control')) }
      : cacheControl !== undefined ? { maxAgeSeconds: parseMaxAge(cacheControl) } : {}),
    ...(nextBootText !== undefined ? { nextBootId: parseInteger(nextBootText, 'NEXTBOOTID.UPNP.ORG', 0, 2 ** 31 - 1) } : {}),
  };
  return notify;
}

function optionalCommon(headers: Map<string, string>): {
  server?: string; bootId?: number; configId?: number; searchPort?: number;
} {
  const out: { server?: string; bootId?: number; configId?: number; searchPort?: number } = {};
  const server = headers.get('server');
  if (server !== undefined) out.server = server;
  const boot = headers.get('bootid.upnp.org');
  if (boot !== undefined) out.bootId = parseInteger(boot, 'BOOTID.UPNP.ORG', 0, 2 ** 31 - 1);
  const config = headers.get('configid.upnp.org');
  if (config !== undefined) out.configId = parseInteger(config, 'CONFIGID.UPNP.ORG', 0, 2 ** 24 - 1);
  const port = headers.get('searchport.upnp.org');
  if (port !== undefined) out.searchPort = parseInteger(port, 'SEARCHPORT.UPNP.ORG', 1, 65535);
  return out;
}

function required(headers: Map<string, string>, name: string): string {
  const v = headers.get(name);
  if (v === undefined || v === '') throw new SsdpParseError(`Missing SSDP header ${name.toUpperCase()}`);
  return v;
}

function parseInteger(text: string, what: string, min: number, max: number): number {
  if (!/^\d{1,10}$/.test(text)) throw new SsdpParseError(`${what} is not a decimal integer: ${printable(text)}`);
  const n = Number(text);
  if (n < min || n > max) throw new SsdpParseError(`${what} ${n} outside ${min}..${max}`);
  return n;
}

/** `max-age = 120`, possibly among other comma-separated directives; clamped to a day. */
function parseMaxAge(cacheControl: string): number {
  for (const directive of cacheControl.split(',')) {
    const m = /^\s*max-age\s*=\s*"?(\d{1,10})"?\s*$/i.exec(directive);
    if (m) return Math.min(Number(m[1]), SSDP_MAX_AGE_CAP_SECONDS);
  }
  throw new SsdpParseError(`CACHE-CONTROL without max-age: ${printable(cacheControl)}`);
}

function parseLocation(text: string): string {
  if (!/^http:\/\/[^\s/?#]+(\/[^\s]*)?$/i.test(text)) {
    throw new SsdpParseError(`LOCATION is not an absolute http URL: ${printable(text)}`);
  }
  return text;
}

function printable(text: string): string {
  const short = text.length > 80 ? `${text.slice(0, 80)}...` : text;
  return JSON.stringify(short);
}

/** The device UDN part of a USN (`uuid:x::urn:...` -> `uuid:x`). */
export function udnOfUsn(usn: string): string {
  const i = usn.indexOf('::');
  return i >= 0 ? usn.slice(0, i) : usn;
}

/** Options of {@link formatMSearch}. */
export interface MSearchOptions {
  searchTarget: string;
  /** Seconds a device may wait before answering (1..5 for multicast). Default 1. */
  mx?: number;
  /** Which group the HOST header names. Default 'ipv4'. */
  family?: 'ipv4' | 'ipv6';
  /** IPv6 only: `ff02::c` (default) or `ff05::c`. */
  ipv6Group?: string;
  /** Optional USER-AGENT header. */
  userAgent?: string;
}

/**
 * The bytes of a multicast M-SEARCH, header order as miniupnpc sends it.
 *
 * @example
 * ```ts
 * formatMSearch({ searchTarget: 'urn:schemas-upnp-org:device:InternetGatewayDevice:2', family: 'ipv6' });
 * // 'M-SEARCH * HTTP/1.1\r\nHOST: [FF02::C]:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ...\r\n\r\n'
 * ```
 */
export function formatMSearch(options: MSearchOptions): Buffer {
  const host = options.family === 'ipv6'
    ? `[${(options.ipv6Group ?? SSDP_IPV6_LINK_LOCAL_GROUP).toUpperCase()}]:${SSDP_PORT}`
    : `${SSDP_IPV4_GROUP}:${SSDP_PORT}`;
  const mx = options.mx ?? 1;
  const lines = [
    'M-SEARCH * HTTP/1.1',
    `HOST: ${host}`,
    'MAN: "ssdp:discover"',
    `MX: ${mx}`,
    `ST: ${options.searchTarget}`,
  ];
  if (options.userAgent) lines.push(`USER-AGENT: ${options.userAgent}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
}

/** Fields of a search response or NOTIFY to format (for fake routers in tests and tools). */
export interface SsdpAnnouncement {
  searchTarget: string;
  usn: string;
  location?: string;
  maxAgeSeconds?: number;
  server?: string;
  bootId?: number;
  configId?: number;
  nextBootId?: number;
}

/**
 * The bytes of a unicast search response, header order as miniupnpd sends it.
 *
 * @example
 * ```ts
 * formatSearchResponse({ searchTarget: 'upnp:rootdevice', usn: 'uuid:1::upnp:rootdevice', location: 'http://192.168.1.1:5000/rootDesc.xml' });
 * ```
 */
export function formatSearchResponse(a: SsdpAnnouncement): Buffer {
  const lines = [
    'HTTP/1.1 200 OK',
    `CACHE-CONTROL: max-age=${a.maxAgeSeconds ?? 120}`,
    `ST: ${a.searchTarget}`,
    `USN: ${a.usn}`,
    'EXT:',
  ];
  if (a.server) lines.push(`SERVER: ${a.server}`);
  if (a.location) lines.push(`LOCATION: ${a.location}`);
  if (a.bootId !== undefined) lines.push(`BOOTID.UPNP.ORG: ${a.bootId}`);
  if (a.configId !== undefined) lines.push(`CONFIGID.UPNP.ORG: ${a.configId}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
}

/**
 * The bytes of a NOTIFY (alive, byebye or update).
 *
 * @example
 * ```ts
 * formatNotify('ssdp:byebye', { searchTarget: 'upnp:rootdevice', usn: 'uuid:1::upnp:rootdevice', bootId: 7 });
 * ```
 */
export function formatNotify(nts: SsdpNts, a: SsdpAnnouncement, family: 'ipv4' | 'ipv6' = 'ipv4'): Buffer {
  const lines = [
    'NOTIFY * HTTP/1.1',
    `HOST: ${family === 'ipv6' ? '[FF02::C]' : SSDP_IPV4_GROUP}:${SSDP_PORT}`,
  ];
  if (nts === 'ssdp:alive') lines.push(`CACHE-CONTROL: max-age=${a.maxAgeSeconds ?? 120}`);
  if (nts !== 'ssdp:byebye' && a.location) lines.push(`LOCATION: ${a.location}`);
  if (a.server && nts === 'ssdp:alive') lines.push(`SERVER: ${a.server}`);
  lines.push(`NT: ${a.searchTarget}`, `USN: ${a.usn}`, `NTS: ${nts}`);
  if (a.bootId !== undefined) lines.push(`BOOTID.UPNP.ORG: ${a.bootId}`);
  if (a.configId !== undefined) lines.push(`CONFIGID.UPNP.ORG: ${a.configId}`);
  if (nts === 'ssdp:update' && a.nextBootId !== undefined) lines.push(`NEXTBOOTID.UPNP.ORG: ${a.nextBootId}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'utf8');
}
