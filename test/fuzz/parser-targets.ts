/**
 * The parsers that read attacker input, as fuzz and benchmark targets: how to run each one
 * on bytes, which error it declares, the captured inputs it starts from (test/fixtures),
 * crafted worst cases, and the invariants every accepted output must keep.
 *
 * Shared by the fuzzers (`test/fuzz/*.test.ts`, `npm run fuzz`) and the parser benchmark
 * (`npm run bench -- parsers`). No jest globals here: the benchmark loads this file from dist.
 *
 * @example
 * ```ts
 * for (const t of parserTargets()) {
 *   const out = t.run(t.typical);
 *   t.check(out, t.typical);
 * }
 * ```
 */
import fs from 'node:fs';
import path from 'node:path';
import { parseSoapRequest, parseSoapResponseBody } from '../../adapters/upnp/soap-envelope';
import { parseSsdpMessage, SSDP_MAX_AGE_CAP_SECONDS, SSDP_MAX_HEADERS, SSDP_MAX_MESSAGE_BYTES } from '../../adapters/upnp/ssdp-message';
import { SsdpParseError, UpnpProtocolError } from '../../adapters/upnp/upnp-errors';
import { UpnpFault } from '../../adapters/upnp/upnp-fault';
import { parseDeviceDescription } from '../../adapters/upnp/device-description';
import { decodeDnsMessage, DnsFormatError, DnsRecord, DnsType } from '../../adapters/matter/dns-message';
import { decodeDhcpMessage, DhcpFormatError, encodeDhcpDiscover } from '../../adapters/observe/dhcpv4-message';
import { decodeRouterAdvertisement, encodeRouterAdvertisement, RouterAdvertisementFormatError } from '../../adapters/observe/router-advertisement';
import { Pref64FormatError } from '../../adapters/observe/pref64-option';
import { readReference, REFERENCE_DIR } from '../support/reference-fixtures';
import { decodeNatPmpRequest, decodePcpRequest, PcpParseError } from '../../adapters/pcp';

/** One parser under test. Inputs are bytes; text parsers read them as UTF-8. */
export interface ParserTarget {
  readonly name: string;
  /** Largest input the parser can be handed in production (the transport's or HTTP server's cap). */
  readonly maxBytes: number;
  /** Runs the parser; throws only its declared error for bad input. */
  run(input: Uint8Array): unknown;
  /** The error type(s) the parser declares. */
  isDeclaredError(error: unknown): boolean;
  /** Throws (an Error naming the broken invariant) when an accepted output is inconsistent. */
  check(output: unknown, input: Uint8Array): void;
  /** Captured or encoder-made valid inputs that mutation starts from. */
  readonly seeds: readonly Uint8Array[];
  /** A typical real input (the benchmark's baseline). */
  readonly typical: Uint8Array;
  /** Hand-made worst cases (what the issue measured, and relatives). */
  readonly crafted: ReadonlyArray<{ readonly name: string; readonly input: Uint8Array }>;
  /**
   * A known super-linear parser in a file this suite may not change: the time budget the
   * fuzzers use for it instead of the default, and why. Remove once the parser is fixed.
   */
  readonly knownSlow?: { readonly budget: { readonly fixedMs: number; readonly perKiBMs: number }; readonly why: string };
}

const FIXTURES = REFERENCE_DIR;

const fixture = readReference;

const utf8 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('utf8');
const bytes = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, 'utf8'));

function fail(target: string, what: string): never {
  throw new Error(`${target}: invariant broken: ${what}`);
}

/** The SOAPAction header and body of every captured request. */
function soapCaptures(): Array<{ action: string; body: string }> {
  const dir = path.join(FIXTURES, 'soap');
  const out: Array<{ action: string; body: string }> = [];
  for (const file of fs.readdirSync(dir).sort()) {
    if (!file.endsWith('.request.http')) continue;
    const text = fs.readFileSync(path.join(dir, file), 'utf8');
    const split = text.indexOf('\r\n\r\n') >= 0 ? text.indexOf('\r\n\r\n') : text.indexOf('\n\n');
    const head = text.slice(0, split);
    const body = text.slice(split).replace(/^\r?\n\r?\n/, '');
    const m = /^SOAPAction:\s*(.*?)\s*$/im.exec(head);
    if (m && body.length > 0) out.push({ action: m[1], body });
  }
  if (out.length === 0) throw new Error(`no SOAP request captures in ${dir}`);
  return out;
}

/** Captured response bodies with the action they answer. */
function soapResponseCaptures(): Array<{ action: string; serviceType: string; status: number; body: string }> {
  const dir = path.join(FIXTURES, 'soap');
  const out: Array<{ action: string; serviceType: string; status: number; body: string }> = [];
  for (const file of fs.readdirSync(dir).sort()) {
    if (!file.endsWith('.request.http')) continue;
    const request = fs.readFileSync(path.join(dir, file), 'utf8');
    const m = /^SOAPAction:\s*"([^"#]+)#([^"]+)"/im.exec(request);
    const responseFile = path.join(dir, file.replace('.request.http', '.response.http'));
    if (!m || !fs.existsSync(responseFile)) continue;
    const response = fs.readFileSync(responseFile, 'utf8');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(response)?.[1] ?? '0');
    const split = response.indexOf('\r\n\r\n');
    const body = split >= 0 ? response.slice(split + 4) : '';
    if (body.trim() !== '') out.push({ serviceType: m[1], action: m[2], status, body });
  }
  return out;
}

/** A SOAP target's input: `SOAPAction value \n body`. */
export function soapInput(action: string, body: string): Uint8Array {
  return bytes(`${action}\n${body}`);
}

function splitSoapInput(input: Uint8Array): { action: string; body: string } {
  const text = utf8(input);
  const nl = text.indexOf('\n');
  return nl < 0 ? { action: text, body: '' } : { action: text.slice(0, nl), body: text.slice(nl + 1) };
}

const ADD_PINHOLE_ACTION = '"urn:schemas-upnp-org:service:WANIPv6FirewallControl:1#AddPinhole"';

/** The issue's 16 KiB body of distinct empty tags inside a real action element. */
export function distinctEmptyTagsBody(totalBytes = 16 * 1024): string {
  const head = '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:AddPinhole xmlns:u="urn:schemas-upnp-org:service:WANIPv6FirewallControl:1">';
  const tail = '</u:AddPinhole></s:Body></s:Envelope>';
  let inner = '';
  for (let i = 0; head.length + inner.length + tail.length < totalBytes - 8; i++) inner += `<a${i.toString(36)}/>`;
  return head + inner + tail;
}

/**
 * An 8 KiB SOAPAction header the old pattern `^\s*"?([^"#]+)#([^"]+)"?\s*$` takes quadratic
 * time on: spaces that both `[^"]+` and `\s*` can take, then a character after the quote.
 */
export function longSoapActionHeader(totalBytes = 8 * 1024): string {
  const head = '"urn:schemas-upnp-org:service:WANIPv6FirewallControl:1#AddPinhole';
  return `${head}${' '.repeat(totalBytes - head.length - 2)}"x`;
}

/** An AddPinhole body with `count` distinct arguments of `valueBytes` each (2 tags per argument). */
export function manyArgumentsBody(count: number, valueBytes: number): string {
  const args = Array.from({ length: count }, (_, i) => `<Arg${i}>${'v'.repeat(valueBytes)}</Arg${i}>`).join('');
  return `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:AddPinhole xmlns:u="urn:schemas-upnp-org:service:WANIPv6FirewallControl:1">${args}</u:AddPinhole></s:Body></s:Envelope>`;
}


export function soapRequestTarget(): ParserTarget {
  const captures = soapCaptures();
  const typical = captures.find((c) => c.action === ADD_PINHOLE_ACTION) ?? captures[0];
  return {
    name: 'soap-request',
    maxBytes: 16 * 1024 + 8 * 1024,
    run: (input) => {
      const { action, body } = splitSoapInput(input);
      return parseSoapRequest(action, body);
    },
    isDeclaredError: (e) => e instanceof UpnpProtocolError,
    check: (output, input) => {
      const out = output as ReturnType<typeof parseSoapRequest>;
      const { action } = splitSoapInput(input);
      if (!action.includes(`#${out.action}`)) fail('soap-request', `action ${out.action} is not the header's`);
      if (!action.includes(out.serviceType)) fail('soap-request', 'service type is not the header\'s');
      const seen = new Set<string>();
      for (const [name, value] of out.args) {
        if (typeof name !== 'string' || typeof value !== 'string') fail('soap-request', 'argument is not text');
        if (seen.has(name)) fail('soap-request', `argument ${name} twice`);
        seen.add(name);
      }
    },
    seeds: captures.map((c) => soapInput(c.action, c.body)),
    typical: soapInput(typical.action, typical.body),
    crafted: [
      { name: '16 KiB body of distinct empty tags', input: soapInput(ADD_PINHOLE_ACTION, distinctEmptyTagsBody()) },
      { name: '8 KiB SOAPAction header without #', input: soapInput(`"${'u'.repeat(8 * 1024 - 2)}`, typical.body) },
      { name: '8 KiB SOAPAction header of spaces before a stray quote', input: soapInput(longSoapActionHeader(), typical.body) },
      { name: '8 KiB SOAPAction header of #', input: soapInput(`"${'#'.repeat(8 * 1024 - 2)}`, typical.body) },
      { name: 'largest accepted body: 124 distinct arguments of 64 bytes', input: soapInput(ADD_PINHOLE_ACTION, manyArgumentsBody(124, 64)) },
      { name: '16 KiB body, 1 argument name repeated', input: soapInput(ADD_PINHOLE_ACTION, distinctEmptyTagsBody().replace(/<a[0-9a-z]+\/>/g, '<a/>')) },
    ],
  };
}

export function soapResponseTarget(): ParserTarget {
  const captures = soapResponseCaptures();
  const encode = (c: { action: string; serviceType: string; status: number; body: string }) =>
    bytes(`${c.serviceType}#${c.action}#${c.status}\n${c.body}`);
  const decode = (input: Uint8Array) => {
    const text = utf8(input);
    const nl = text.indexOf('\n');
    const [serviceType = '', action = '', status = '200'] = (nl < 0 ? text : text.slice(0, nl)).split('#');
    return { ctx: { serviceType, action, httpStatus: Number(status) || 200 }, body: nl < 0 ? '' : text.slice(nl + 1) };
  };
  const typical = captures.find((c) => c.action === 'AddPinhole' && c.status === 200) ?? captures[0];
  const manyOutputs = `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><u:AddPinholeResponse xmlns:u="urn:schemas-upnp-org:service:WANIPv6FirewallControl:1">${
    Array.from({ length: 1400 }, (_, i) => `<o${i.toString(36)}>1</o${i.toString(36)}>`).join('')}</u:AddPinholeResponse></s:Body></s:Envelope>`;
  return {
    name: 'soap-response',
    maxBytes: 256 * 1024,
    run: (input) => {
      const { ctx, body } = decode(input);
      return parseSoapResponseBody(body, ctx);
    },
    isDeclaredError: (e) => e instanceof UpnpProtocolError || e instanceof UpnpFault,
    check: (output) => {
      for (const [k, v] of Object.entries(output as Record<string, unknown>)) {
        if (typeof v !== 'string') fail('soap-response', `output ${k} is not text`);
        if (k.startsWith('#')) fail('soap-response', `output ${k} is a parser artefact`);
      }
    },
    seeds: captures.map(encode),
    typical: encode(typical),
    crafted: [{ name: '16 KiB of distinct output arguments', input: encode({ ...typical, status: 200, body: manyOutputs }) }],
  };
}

export function ssdpTarget(): ParserTarget {
  const dir = path.join(FIXTURES, 'ssdp');
  const seeds = fs.readdirSync(dir).sort().map((f) => Uint8Array.from(fs.readFileSync(path.join(dir, f))));
  const typical = Uint8Array.from(fixture('ssdp', 'v6-igd2.response-0.txt'));
  const filler = (line: string) => {
    let text = 'HTTP/1.1 200 OK\r\n';
    while (text.length + line.length + 2 < SSDP_MAX_MESSAGE_BYTES) text += `${line}\r\n`;
    return bytes(text);
  };
  return {
    name: 'ssdp',
    maxBytes: SSDP_MAX_MESSAGE_BYTES,
    run: (input) => parseSsdpMessage(input),
    isDeclaredError: (e) => e instanceof SsdpParseError,
    check: (output) => {
      const m = output as ReturnType<typeof parseSsdpMessage>;
      if (m.headers.size > SSDP_MAX_HEADERS) fail('ssdp', `${m.headers.size} headers`);
      if (m.kind !== 'm-search') {
        if (m.maxAgeSeconds !== undefined && !(m.maxAgeSeconds >= 0 && m.maxAgeSeconds <= SSDP_MAX_AGE_CAP_SECONDS)) fail('ssdp', `max-age ${m.maxAgeSeconds}`);
        if (m.location !== undefined && !/^http:\/\//i.test(m.location)) fail('ssdp', `location ${m.location}`);
        if (m.usn === '') fail('ssdp', 'empty USN');
      }
    },
    seeds,
    typical,
    crafted: [
      { name: '8 KiB of one long header value', input: bytes(`HTTP/1.1 200 OK\r\nST: ${'x'.repeat(SSDP_MAX_MESSAGE_BYTES - 40)}\r\n\r\n`) },
      { name: '8 KiB CACHE-CONTROL of commas', input: bytes(`HTTP/1.1 200 OK\r\nCACHE-CONTROL: ${','.repeat(1000)}\r\nST: a\r\nUSN: a\r\nLOCATION: http://a/\r\n\r\n`) },
      { name: '8 KiB of repeated headers', input: filler('X: y') },
      { name: '8 KiB of LF only', input: bytes(`HTTP/1.1 200 OK${'\n'.repeat(SSDP_MAX_MESSAGE_BYTES - 20)}`) },
    ],
  };
}

export function deviceDescriptionTarget(): ParserTarget {
  const rootDesc = fixture('rootDesc.xml');
  const url = 'http://[2001:db8:77::1]:5000/rootDesc.xml';
  const text = rootDesc.toString('utf8');
  const deviceStart = text.indexOf('<deviceList>');
  const nested = (depth: number) => `<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0">${'<a>'.repeat(depth)}${'</a>'.repeat(depth)}</root>`;
  const manyDevices = () => {
    const one = '<device><deviceType>urn:x</deviceType><UDN>uuid:1</UDN><serviceList><service><serviceType>urn:schemas-upnp-org:service:WANIPConnection:2</serviceType><serviceId>x</serviceId><controlURL>/c</controlURL><SCPDURL>/s</SCPDURL><eventSubURL>/e</eventSubURL></service></serviceList></device>';
    return `<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><device><deviceType>urn:x</deviceType><UDN>uuid:0</UDN><deviceList>${one.repeat(Math.floor((256 * 1024 - 300) / one.length))}</deviceList></device></root>`;
  };
  return {
    name: 'device-description',
    maxBytes: 256 * 1024,
    run: (input) => parseDeviceDescription(utf8(input), url),
    isDeclaredError: (e) => e instanceof UpnpProtocolError,
    check: (output) => {
      const d = output as ReturnType<typeof parseDeviceDescription>;
      for (const s of d.allServices) {
        for (const u of [s.controlUrl, s.scpdUrl]) if (u !== undefined && !/^http:\/\//.test(u)) fail('device-description', `service URL ${u}`);
      }
      if (!Array.isArray(d.udns) || d.udns.some((u) => typeof u !== 'string')) fail('device-description', 'udns');
    },
    seeds: [Uint8Array.from(rootDesc)],
    typical: Uint8Array.from(rootDesc),
    crafted: [
      { name: 'nested 63 deep', input: bytes(nested(60)) },
      { name: '256 KiB of sibling devices', input: bytes(manyDevices()) },
      { name: '256 KiB of distinct empty tags', input: bytes(`${text.slice(0, deviceStart)}${Array.from({ length: 30000 }, (_, i) => `<t${i.toString(36)}/>`).join('')}${text.slice(deviceStart)}`.slice(0, 256 * 1024 - 1)) },
    ],
  };
}

function encodeName(name: string): number[] {
  const out: number[] = [];
  for (const label of name.split('.').filter(Boolean)) out.push(label.length, ...Buffer.from(label));
  out.push(0);
  return out;
}

function dnsRecord(owner: number[], type: number, ttl: number, data: number[]): number[] {
  return [...owner, type >> 8, type & 0xff, 0x80, 1, (ttl >>> 24) & 0xff, (ttl >> 16) & 0xff, (ttl >> 8) & 0xff, ttl & 0xff, data.length >> 8, data.length & 0xff, ...data];
}

function dnsResponse(records: number[][]): Uint8Array {
  return Uint8Array.from([0, 0, 0x84, 0, 0, 0, records.length >> 8, records.length & 0xff, 0, 0, 0, 0, ...records.flat()]);
}

/** A commissionable Matter announcement the way matter.js sends it (no compression). */
export function matterAnnouncement(host: string, instance: string, addressLast: number, ttl = 120): Uint8Array {
  const service = '_matterc._udp.local';
  const inst = `${instance}.${service}`;
  const txt = ['D=3840', 'VP=65521+32769', 'DT=266', 'CM=1'].flatMap((e) => [e.length, ...Buffer.from(e)]);
  return dnsResponse([
    dnsRecord(encodeName(service), DnsType.PTR, ttl, encodeName(inst)),
    dnsRecord(encodeName(inst), DnsType.SRV, ttl, [0, 0, 0, 0, 0x15, 0xa4, ...encodeName(host)]),
    dnsRecord(encodeName(inst), DnsType.TXT, 4500, txt),
    dnsRecord(encodeName(host), DnsType.AAAA, ttl, [0x20, 0x01, 0x0d, 0xb8, 0, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, addressLast]),
  ]);
}

/** The issue's flood packet: `hosts` new Matter hosts (SRV + AAAA each), a huge TTL. */
export function mdnsFloodPacket(packetIndex: number, hosts = 40, ttl = 0x7fffffff): Uint8Array {
  const records: number[][] = [];
  for (let h = 0; h < hosts; h++) {
    const id = `${packetIndex.toString(16).padStart(8, '0')}${h.toString(16).padStart(8, '0')}`.toUpperCase();
    const host = encodeName(`${id}.local`);
    records.push(dnsRecord(encodeName(`${id}._matterc._udp.local`), DnsType.SRV, ttl, [0, 0, 0, 0, 0x15, 0xa4, ...host]));
    records.push(dnsRecord(host, DnsType.AAAA, ttl, [0x20, 0x01, 0x0d, 0xb8, 0, 0x66, 0, 0, 0, 0, 0, 0, packetIndex & 0xff, (packetIndex >> 8) & 0xff, h >> 8, h & 0xff]));
  }
  return dnsResponse(records);
}

function pointerChainPacket(): Uint8Array {
  // 256 records, each name a 64-jump-deep chain of backwards pointers.
  const out: number[] = [0, 0, 0x84, 0, 0, 0, 1, 0, 0, 0, 0, 0];
  out.push(1, 0x61, 0); // "a" at 12
  let last = 12;
  for (let i = 0; i < 63; i++) {
    const here = out.length;
    out.push(1, 0x62, 0xc0 | (last >> 8), last & 0xff);
    last = here;
  }
  while (out.length < 8900) out.push(0xc0 | (last >> 8), last & 0xff, 0, 1, 0, 1, 0, 0, 0, 120, 0, 0);
  return Uint8Array.from(out.slice(0, 9000));
}

function checkDnsName(name: string): void {
  if (Buffer.byteLength(name) > 255 * 4) fail('mdns', `name of ${name.length} characters`);
}

export function mdnsTarget(): ParserTarget {
  const typical = matterAnnouncement('ABCDEF0123450000.local', 'E7D2BAC0A7D627ED', 0x20);
  return {
    name: 'mdns',
    maxBytes: 9000,
    run: (input) => decodeDnsMessage(input),
    isDeclaredError: (e) => e instanceof DnsFormatError,
    check: (output) => {
      const m = output as ReturnType<typeof decodeDnsMessage>;
      const records: DnsRecord[] = [...m.answers, ...m.authorities, ...m.additionals];
      if (records.length + m.questions.length > 256 + 256) fail('mdns', `${records.length} records`);
      for (const q of m.questions) checkDnsName(q.name);
      for (const r of records) {
        checkDnsName(r.name);
        if (!(r.ttl >= 0 && r.ttl <= 0xffffffff)) fail('mdns', `ttl ${r.ttl}`);
        if ((r.type === DnsType.AAAA || r.type === DnsType.A) && typeof (r as { address?: unknown }).address !== 'string') fail('mdns', 'address');
      }
    },
    seeds: [typical, mdnsFloodPacket(1, 4, 120), dnsResponse([dnsRecord(encodeName('_matter._tcp.local'), DnsType.PTR, 120, [0xc0, 12])])],
    typical,
    crafted: [
      { name: '9000 bytes of 64-deep pointer chains', input: pointerChainPacket() },
      { name: 'flood packet (40 hosts)', input: mdnsFloodPacket(1) },
    ],
  };
}

export function dhcpTarget(): ParserTarget {
  const typical = encodeDhcpDiscover({ mac: '02:00:00:00:00:10', xid: 1, requested: [1, 3, 6, 108] });
  const manyRepeats = new Uint8Array(4096);
  manyRepeats.set(typical.subarray(0, 240));
  for (let at = 240; at + 3 <= 4096; at += 3) manyRepeats.set([60, 1, 0x41], at);
  return {
    name: 'dhcpv4',
    maxBytes: 4096,
    run: (input) => decodeDhcpMessage(input),
    isDeclaredError: (e) => e instanceof DhcpFormatError,
    check: (output) => {
      const m = output as ReturnType<typeof decodeDhcpMessage>;
      if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(m.yourAddress)) fail('dhcpv4', `yourAddress ${m.yourAddress}`);
      if (m.v6OnlyWait !== undefined && !(m.v6OnlyWait >= 0 && m.v6OnlyWait <= 0xffffffff)) fail('dhcpv4', 'v6OnlyWait');
    },
    seeds: [typical],
    typical,
    crafted: [{ name: '4 KiB of one repeated option (RFC 3396 concatenation)', input: manyRepeats }],
  };
}

export function routerAdvertisementTarget(): ParserTarget {
  const typical = encodeRouterAdvertisement({
    routerLifetime: 1800,
    prefixes: [{ prefix: '2001:db8:77::/64', onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400 }],
    rdnss: [{ lifetime: 1800, servers: ['2001:db8:77::1'] }],
    pref64: [{ prefix: '64:ff9b::/96', prefixLength: 96, lifetime: 1800 }],
    mtu: 1500,
    sourceLinkLayerAddress: '02:00:00:00:00:01',
  });
  const manyPrefixes = encodeRouterAdvertisement({
    routerLifetime: 1800,
    prefixes: Array.from({ length: 46 }, (_, i) => ({ prefix: `2001:db8:${i.toString(16)}::/64`, onLink: true, autonomous: true, validLifetime: 86400, preferredLifetime: 14400 })),
  });
  return {
    name: 'router-advertisement',
    maxBytes: 1500,
    run: (input) => decodeRouterAdvertisement(input),
    isDeclaredError: (e) => e instanceof RouterAdvertisementFormatError || e instanceof Pref64FormatError,
    check: (output) => {
      const ra = output as ReturnType<typeof decodeRouterAdvertisement>;
      if (!(ra.routerLifetime >= 0 && ra.routerLifetime <= 0xffff)) fail('router-advertisement', 'routerLifetime');
      for (const p of ra.prefixes) if (!/\/\d{1,3}$/.test(p.prefix)) fail('router-advertisement', `prefix ${p.prefix}`);
    },
    seeds: [typical, manyPrefixes],
    typical,
    crafted: [{ name: '1500 bytes of prefix options', input: manyPrefixes }],
  };
}

/** Every parser on attacker input. */
/** The PCP request decoder: what the gateway's PCP listener reads from any LAN host. */
export function pcpRequestTarget(): ParserTarget {
  const seeds = fs.readdirSync(path.join(FIXTURES, 'pcp')).filter((n) => n.endsWith('.request.bin')).sort().map((n) => Uint8Array.from(fixture('pcp', n)));
  const typical = Uint8Array.from(fixture('pcp', 'map-v6-udp.request.bin'));
  // The largest message PCP allows (1100 bytes), filled with 4-byte options (PREFER_FAILURE, no data).
  const manyOptions = new Uint8Array(1100);
  manyOptions.set(typical);
  for (let at = typical.length; at + 4 <= 1100; at += 4) manyOptions.set([2, 0, 0, 0], at);
  return {
    name: 'pcp-request',
    maxBytes: 1100,
    run: (input) => decodePcpRequest(input),
    isDeclaredError: (e) => e instanceof PcpParseError,
    check: (output) => {
      const m = output as ReturnType<typeof decodePcpRequest>;
      if (!['map', 'peer', 'announce'].includes(m.opcode)) fail('pcp-request', `opcode ${JSON.stringify(m.opcode)}`);
      if (!Array.isArray(m.options)) fail('pcp-request', 'options');
    },
    seeds,
    typical,
    crafted: [{ name: '1100 bytes: a MAP and 263 PREFER_FAILURE options', input: manyOptions }],
  };
}

/** The NAT-PMP request decoder (version 0 on the same port). */
export function natpmpRequestTarget(): ParserTarget {
  const typical = Uint8Array.from([0, 1, 0, 0, 0x0b, 0xb8, 0x0b, 0xb8, 0, 0, 0x0e, 0x10]); // map UDP 3000 -> 3000, 3600 s
  return {
    name: 'natpmp-request',
    maxBytes: 1100,
    run: (input) => decodeNatPmpRequest(input),
    isDeclaredError: (e) => e instanceof PcpParseError,
    check: (output) => {
      const m = output as ReturnType<typeof decodeNatPmpRequest>;
      if (!['public-address', 'map-udp', 'map-tcp'].includes(m.opcode)) fail('natpmp-request', `opcode ${JSON.stringify(m)}`);
    },
    seeds: [typical, Uint8Array.from([0, 0])],
    typical,
    crafted: [{ name: '1100 bytes of a map request and padding', input: Uint8Array.from([...typical, ...new Uint8Array(1088)]) }],
  };
}

export function parserTargets(): ParserTarget[] {
  return [soapRequestTarget(), soapResponseTarget(), ssdpTarget(), deviceDescriptionTarget(), mdnsTarget(), dhcpTarget(), routerAdvertisementTarget(), pcpRequestTarget(), natpmpRequestTarget()];
}
