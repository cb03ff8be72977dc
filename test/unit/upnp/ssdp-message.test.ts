import fc from 'fast-check';
import {
  SsdpParseError, formatMSearch, formatNotify, formatSearchResponse, parseSsdpMessage, tryParseSsdpMessage, udnOfUsn,
  DEVICE_IGD_1, DEVICE_IGD_2,
} from '../../../adapters/upnp';
import { listReference, readReference } from '../../support/reference-fixtures';

const ssdpFiles = listReference('ssdp');
const isV6 = (file: string): boolean => /(^|-)v6-/.test(file);

describe('SSDP messages from the real router', () => {
  it('has the captured files this suite expects', () => {
    expect(ssdpFiles.length).toBeGreaterThanOrEqual(40);
  });

  it.each(ssdpFiles.filter((f) => f.includes('.request')))('parses the M-SEARCH %s', (file) => {
    const msg = parseSsdpMessage(readReference('ssdp', file));
    expect(msg.kind).toBe('m-search');
    if (msg.kind !== 'm-search') return;
    expect(msg.man).toBe('"ssdp:discover"');
    expect(msg.mx === 1 || msg.mx === 2).toBe(true);
    expect(msg.host).toBe(isV6(file) ? '[FF02::C]:1900' : '239.255.255.250:1900');
    expect(msg.searchTarget).toMatch(/^(urn:schemas-upnp-org:|ssdp:all)/);
  });

  it.each(ssdpFiles.filter((f) => f.includes('.response')))('parses the search response %s', (file) => {
    const msg = parseSsdpMessage(readReference('ssdp', file));
    expect(msg.kind).toBe('search-response');
    if (msg.kind !== 'search-response') return;
    expect(msg.maxAgeSeconds).toBe(120);
    expect(msg.configId).toBe(1337);
    expect([1795922603, 1795923272]).toContain(msg.bootId);
    expect(msg.location).toBe(isV6(file) ? 'http://[2001:db8:77::1]:5000/rootDesc.xml' : 'http://192.168.77.1:5000/rootDesc.xml');
    expect(udnOfUsn(msg.usn)).toMatch(/^uuid:7b4e1b56-2d9c-4a3e-9c55-0242c0a84d0[123]$/);
    expect(msg.server).toBe('Debian/6.18.44-fc-v857 UPnP/1.1 MiniUPnPd/2.3.1');
    if (!msg.searchTarget.startsWith('uuid:') && msg.searchTarget !== 'upnp:rootdevice') {
      expect(msg.usn.endsWith(`::${msg.searchTarget}`)).toBe(true);
    }
  });

  it.each(['notify-v4-example.txt', 'notify-v6-example.txt'])('parses the NOTIFY %s', (file) => {
    const msg = parseSsdpMessage(readReference('ssdp', file));
    expect(msg.kind).toBe('notify');
    if (msg.kind !== 'notify') return;
    expect(msg.nts).toBe('ssdp:alive');
    expect(msg.maxAgeSeconds).toBe(60);
    expect(msg.bootId).toBe(1795923272);
    expect(msg.configId).toBe(1337);
    expect(msg.notificationType).toBe('urn:schemas-upnp-org:service:Layer3Forwarding:1');
    expect(msg.host).toBe(isV6(file) ? '[FF0E::C]:1900' : '239.255.255.250:1900');
    expect(msg.headers.get('01-nls')).toBe('1795923272');
  });

  it('every file in ssdp/ was classified by one of the tests above', () => {
    const other = ssdpFiles.filter((f) => !f.includes('.request') && !f.includes('.response') && !f.startsWith('notify-'));
    expect(other).toEqual([]);
  });
});

describe('formatting', () => {
  it('formats IPv4 M-SEARCH byte for byte like the captured ones', () => {
    expect(formatMSearch({ searchTarget: DEVICE_IGD_2, mx: 1 }).equals(readReference('ssdp', 'v4-igd2.request.txt'))).toBe(true);
    expect(formatMSearch({ searchTarget: DEVICE_IGD_1, mx: 1 }).equals(readReference('ssdp', 'v4-igd1.request.txt'))).toBe(true);
  });

  it('formats the IPv6 M-SEARCH to [FF02::C] like the captured one', () => {
    const ours = formatMSearch({ searchTarget: DEVICE_IGD_2, mx: 1, family: 'ipv6' });
    expect(ours.equals(readReference('ssdp', 'v6-igd2.request.txt'))).toBe(true);
    expect(formatMSearch({ searchTarget: DEVICE_IGD_2, family: 'ipv6', ipv6Group: 'ff05::c' }).toString()).toContain('HOST: [FF05::C]:1900\r\n');
  });

  it('round-trips responses and NOTIFY alive/byebye/update', () => {
    const a = { searchTarget: DEVICE_IGD_2, usn: `uuid:1::${DEVICE_IGD_2}`, location: 'http://192.168.1.1:5000/d.xml', bootId: 7, configId: 3, maxAgeSeconds: 90 };
    const r = parseSsdpMessage(formatSearchResponse(a));
    expect(r).toMatchObject({ kind: 'search-response', location: a.location, bootId: 7, configId: 3, maxAgeSeconds: 90 });
    expect(parseSsdpMessage(formatNotify('ssdp:alive', a))).toMatchObject({ kind: 'notify', nts: 'ssdp:alive', location: a.location, maxAgeSeconds: 90 });
    const bye = parseSsdpMessage(formatNotify('ssdp:byebye', a));
    expect(bye).toMatchObject({ kind: 'notify', nts: 'ssdp:byebye', usn: a.usn, bootId: 7 });
    expect(bye.kind === 'notify' && bye.location).toBeFalsy();
    expect(parseSsdpMessage(formatNotify('ssdp:update', { ...a, nextBootId: 8 }))).toMatchObject({ nts: 'ssdp:update', bootId: 7, nextBootId: 8 });
  });
});

describe('hostile datagrams', () => {
  const good = readReference('ssdp', 'v4-igd2.response-0.txt').toString('utf8');
  const bad = (input: string | Buffer): SsdpParseError => {
    const r = tryParseSsdpMessage(input);
    expect(r).toBeInstanceOf(SsdpParseError);
    return r as SsdpParseError;
  };

  it('refuses an oversized datagram', () => {
    expect(bad(good.replace('EXT:', `X-PAD: ${'a'.repeat(1000)}\r\n`.repeat(9) + 'EXT:')).message).toMatch(/cap|longer/);
    expect(bad(Buffer.alloc(9000, 0x41)).message).toMatch(/8192-byte cap/);
  });

  it('refuses binary data and invalid UTF-8', () => {
    expect(bad(Buffer.from([0x48, 0x54, 0x00, 0x01, 0xff])).message).toMatch(/Binary/);
    expect(bad(Buffer.concat([Buffer.from('NOTIFY * HTTP/1.1\r\nHOST: x'), Buffer.from([0xc3, 0x28]), Buffer.from('\r\n\r\n')])).message).toMatch(/UTF-8/);
  });

  it('refuses missing or duplicated key headers', () => {
    expect(bad(good.replace(/LOCATION:[^\r]*\r\n/, '')).message).toBe('Missing SSDP header LOCATION');
    expect(bad(good.replace(/ST:[^\r]*\r\n/, '')).message).toBe('Missing SSDP header ST');
    expect(bad(good.replace(/CACHE-CONTROL:[^\r]*\r\n/, '')).message).toBe('Missing SSDP header CACHE-CONTROL');
    expect(bad(good.replace('EXT:', 'LOCATION: http://10.0.0.66/evil.xml\r\nEXT:')).message).toBe('Duplicate SSDP header LOCATION');
  });

  it('refuses bad values', () => {
    expect(bad(good.replace('max-age=120', 'no-cache')).message).toMatch(/max-age/);
    expect(bad(good.replace('http://192.168.77.1:5000/rootDesc.xml', 'file:///etc/passwd')).message).toMatch(/LOCATION/);
    expect(bad(good.replace('BOOTID.UPNP.ORG: 1795922603', 'BOOTID.UPNP.ORG: -1')).message).toMatch(/BOOTID/);
    expect(bad(good.replace('HTTP/1.1 200 OK', 'HTTP/1.1 404 Not Found')).message).toMatch(/status 404/);
    expect(bad('NOTIFY * HTTP/1.1\r\nHOST: a\r\nNT: x\r\nUSN: y\r\nNTS: ssdp:propchange\r\n\r\n').message).toMatch(/NTS/);
    expect(bad('M-SEARCH * HTTP/1.1\r\nHOST: a\r\nMAN: ssdp:discover\r\nST: x\r\n\r\n').message).toMatch(/MAN/);
  });

  it('refuses structural tricks', () => {
    expect(bad(good.replace('EXT:', ' folded\r\nEXT:')).message).toMatch(/Folded/);
    expect(bad(`${good}BODY`).message).toMatch(/body/);
    expect(bad(good.replace('\r\n', '\r')).message).toMatch(/Bare CR/);
    expect(bad('HTTP/1.1 200 OK\r\n' + 'X-A: 1\r\n'.repeat(60) + '\r\n').message).toMatch(/More than 48/);
    expect(bad('').message).toMatch(/Empty/);
    expect(bad('GET / HTTP/1.1\r\n\r\n').message).toMatch(/start line|Unsupported/);
  });

  it('accepts case-insensitive header names and LF-only lines', () => {
    const lower = good.replace('LOCATION:', 'location:').replace('CACHE-CONTROL: max-age=120', 'Cache-Control: public, max-age = 30').replace(/\r\n/g, '\n');
    expect(parseSsdpMessage(lower)).toMatchObject({ location: 'http://192.168.77.1:5000/rootDesc.xml', maxAgeSeconds: 30 });
  });

  it('never throws anything but SsdpParseError, whatever the bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      const r = tryParseSsdpMessage(Buffer.from(bytes));
      return r instanceof SsdpParseError || typeof r.kind === 'string';
    }), { numRuns: 400 });
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom('LOCATION', 'ST', 'USN', 'CACHE-CONTROL', 'BOOTID.UPNP.ORG', 'X'), fc.string()), { maxLength: 12 }), (pairs) => {
      const text = `HTTP/1.1 200 OK\r\n${pairs.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`;
      const r = tryParseSsdpMessage(text);
      return r instanceof SsdpParseError || r.kind === 'search-response';
    }), { numRuns: 300 });
  });
});
