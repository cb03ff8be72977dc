import fc from 'fast-check';
import {
  addressFromBytes, addressToBytes, canonicalAddress, classifyExternalIpv4, familyOf, inPrefix, isGlobalScope, isIpv4Literal,
  isIpv4Mapped, isIpv6Literal, isLinkLocalIpv6, isNonUlaGlobalIpv6, prefixOf, sameAddress, scopeOf, splitZone, toDeviceAddress,
  toRfc5952, unmappedAddress,
} from '../../../../policies/model/address';
import { normalizeEntry } from '../../../../adapters/nftables/firewall-entry';
import { bytesToIpv4, bytesToIpv6 } from '../../../../adapters/matter/matter-bytes';
import { parseIpAddrJson } from '../../../../adapters/observe/host-address';
import { parseIpNeighJson } from '../../../../adapters/observe/neighbour-table';
import { requesterOf } from '../../../../adapters/upnp/server/soap-control';
import { decodeDnsMessage } from '../../../../adapters/matter/dns-message';
import { aaaa, response } from '../../matter/dns-bytes';

describe('canonical form', () => {
  it.each([
    ['2001:DB8:0:0::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // longest run, first on a tie
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group is not compressed
    ['FE80::0:1%lan0', 'fe80::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'], // IPv4-mapped: mixed notation (RFC 5952 §5)
    ['::FFFF:c000:201', '::ffff:192.0.2.1'],
    ['0:0:0:0:0:ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['::ffff:0:c000:201', '::ffff:0:c000:201'], // RFC 6145 translated, not mapped: hex
    ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
    ['192.0.2.1', '192.0.2.1'],
    ['0.0.0.0', '0.0.0.0'],
  ])('%s is written %s', (text, canonical) => {
    expect(canonicalAddress(text)).toBe(canonical);
  });

  it.each(['127.1', '2130706433', '0x7f.0.0.1', '010.0.0.1', '1.2.3.4.5', '256.1.1.1', '::g', '1:2:3:4:5:6:7:8:9', 'garbage', '192.0.2.1/24'])(
    'rejects %j',
    (text) => {
      expect(canonicalAddress(text)).toBeUndefined();
      expect(() => toRfc5952(text)).toThrow(TypeError);
    },
  );

  it('takes no white space and an empty zone id as none', () => {
    expect(canonicalAddress(' 192.0.2.1')).toBeUndefined();
    expect(canonicalAddress('')).toBeUndefined();
    expect(canonicalAddress('fe80::1%')).toBe('fe80::1');
  });

  it('every former helper writes an address the same way', () => {
    // The example: canonicalAddress gave ::ffff:c000:201, toRfc5952 ::ffff:192.0.2.1.
    for (const text of ['::ffff:192.0.2.1', '::FFFF:C000:0201', '2001:0DB8:0000:0000:0000:0000:0000:0010']) {
      const expected = canonicalAddress(text)!;
      expect(toRfc5952(text)).toBe(expected);
      expect(normalizeEntry({ kind: 'pinhole', family: 'ipv6', protocol: 'udp', internalClient: text, internalPort: 1, remoteHost: '', remotePort: 0 }).internalClient).toBe(expected);
      expect(bytesToIpv6(Uint8Array.from(addressToBytes(text)!))).toBe(expected);
      expect(parseIpAddrJson(JSON.stringify([{ ifname: 'eth0', addr_info: [{ family: 'inet6', local: text, prefixlen: 64 }] }]))[0].address).toBe(expected);
      expect(parseIpNeighJson(JSON.stringify([{ dst: text, dev: 'eth0', lladdr: '02:00:00:00:00:01', state: ['REACHABLE'] }]))[0].address).toBe(expected);
      const mdns = decodeDnsMessage(response([aaaa('h.local', addressToBytes(text)!)]));
      expect(mdns.answers[0]).toMatchObject({ address: expected });
    }
    expect(bytesToIpv4(Uint8Array.from([192, 0, 2, 1]))).toBe('192.0.2.1');
    // A dual-stack socket's IPv4 peer is that IPv4 host, in every text form.
    expect(requesterOf('::ffff:192.0.2.1', 5)).toEqual({ address: '192.0.2.1', family: 'ipv4', port: 5 });
    expect(requesterOf('::ffff:c000:201', 5)).toEqual({ address: '192.0.2.1', family: 'ipv4', port: 5 });
    expect(requesterOf('2001:DB8::1%eth0', 5)).toEqual({ address: '2001:db8::1', family: 'ipv6', port: 5 });
  });

  it('toRfc5952 keeps a zone id, trims, and throws for non-addresses', () => {
    expect(toRfc5952(' FE80::0:1%lan0 ')).toBe('fe80::1%lan0');
    expect(toRfc5952('fe80::1%25lan0')).toBe('fe80::1%lan0');
    expect(toRfc5952('192.0.2.1')).toBe('192.0.2.1');
    expect(() => toRfc5952('garbage')).toThrow(/not an IP address/);
  });
});

describe('literals, zones, mapped addresses', () => {
  it('recognises literals', () => {
    expect(isIpv4Literal('192.0.2.1')).toBe(true);
    expect(isIpv4Literal('192.0.2')).toBe(false);
    expect(isIpv4Literal('192.0.2.1%eth0')).toBe(false);
    expect(isIpv4Literal('::ffff:192.0.2.1')).toBe(false);
    expect(isIpv6Literal('fe80::1%eth0')).toBe(true);
    expect(isIpv6Literal('192.0.2.1')).toBe(false);
    expect(splitZone('fe80::1%25eth0')).toEqual({ address: 'fe80::1', zone: 'eth0' });
    expect(splitZone('fe80::1')).toEqual({ address: 'fe80::1' });
  });

  it('unmaps IPv4-mapped addresses for host identity only', () => {
    expect(isIpv4Mapped('::ffff:c000:201')).toBe(true);
    expect(isIpv4Mapped('::ffff:0:c000:201')).toBe(false);
    expect(isIpv4Mapped('192.0.2.1')).toBe(false);
    expect(unmappedAddress('::ffff:192.0.2.1')).toBe('192.0.2.1');
    expect(unmappedAddress('2001:DB8::1')).toBe('2001:db8::1');
    expect(unmappedAddress('x')).toBeUndefined();
    expect(sameAddress('::ffff:192.0.2.1', '192.0.2.1')).toBe(true);
    expect(sameAddress('2001:DB8::1%eth0', '2001:db8:0::1')).toBe(true);
    expect(sameAddress('2001:db8::1', '2001:db8::2')).toBe(false);
    expect(sameAddress('x', 'x')).toBe(false);
  });
});

describe('one scope vocabulary', () => {
  it.each([
    ['2001:db8::1', 'gua'], ['2a00:1450::1', 'gua'], ['2002:c000:201::1', 'gua'], ['3fff::1', 'gua'],
    ['fd00::1', 'ula'], ['fc00::1', 'ula'], ['fe80::1%eth0', 'link-local'], ['febf::1', 'link-local'],
    ['::1', 'loopback'], ['::', 'unspecified'], ['ff02::1', 'multicast'],
    ['::ffff:192.0.2.1', 'other'], ['64:ff9b::1', 'other'], ['100::1', 'other'], ['fec0::1', 'other'],
    ['10.0.0.1', 'private'], ['172.16.0.1', 'private'], ['192.168.1.1', 'private'], ['100.64.0.1', 'cgnat'],
    ['169.254.0.1', 'link-local'], ['127.0.0.1', 'loopback'], ['0.0.0.0', 'unspecified'], ['0.1.2.3', 'unspecified'],
    ['224.0.0.251', 'multicast'], ['255.255.255.255', 'other'], ['240.0.0.1', 'other'],
    ['8.8.8.8', 'public'], ['198.51.100.1', 'public'], ['192.0.2.1', 'public'], ['203.0.113.9', 'public'], ['198.18.0.1', 'public'],
  ] as const)('%s is %s', (address, scope) => {
    expect(scopeOf(address)).toBe(scope);
    expect(toDeviceAddress({ address })?.scope).toBe(scope);
    expect(isNonUlaGlobalIpv6(address)).toBe(scope === 'gua');
    expect(isLinkLocalIpv6(address)).toBe(scope === 'link-local' && familyOf(address) === 'ipv6');
    expect(isGlobalScope(scope)).toBe(scope === 'gua' || scope === 'public');
  });

  it('throws for a non-address', () => {
    expect(() => scopeOf('nope')).toThrow(TypeError);
  });

  it('the observers report the same scope as the engine', () => {
    const json = JSON.stringify([
      { ifname: 'eth0', addr_info: ['2001:db8::10', 'fd00::10', 'fe80::10', '192.168.1.10', '198.51.100.7', '::1', '127.0.0.1'].map((local) => ({ family: local.includes(':') ? 'inet6' : 'inet', local, prefixlen: 64 })) },
    ]);
    const host = parseIpAddrJson(json);
    expect(host).toHaveLength(7);
    for (const a of host) expect(a.scope).toBe(scopeOf(a.address));
    expect(host.map((a) => a.scope)).toEqual(['gua', 'ula', 'link-local', 'private', 'public', 'loopback', 'loopback']);
  });
});

describe('one WAN IPv4 classification', () => {
  it.each([
    ['198.51.100.1', 'public'], ['192.0.2.9', 'public'], ['203.0.113.200', 'public'], ['8.8.8.8', 'public'], ['192.0.0.9', 'public'],
    ['10.1.2.3', 'private'], ['172.16.0.1', 'private'], ['172.31.255.255', 'private'], ['172.32.0.1', 'public'], ['192.168.0.1', 'private'],
    ['100.64.0.1', 'cgnat'], ['100.127.255.254', 'cgnat'], ['100.128.0.1', 'public'],
    ['169.254.1.1', 'none'], ['127.0.0.1', 'none'], ['0.0.0.0', 'none'], ['0.1.2.3', 'none'], ['224.0.0.1', 'none'], ['240.0.0.1', 'none'],
    ['255.255.255.255', 'none'], ['', 'none'], [undefined, 'none'], ['1.2.3', 'none'], ['2001:db8::1', 'none'], ['::ffff:8.8.8.8', 'none'], ['garbage', 'none'],
    [' 8.8.8.8 ', 'public'],
  ] as const)('%j is %s', (text, kind) => {
    expect(classifyExternalIpv4(text)).toBe(kind);
  });
});

describe('bytes and prefixes', () => {
  it('converts bytes', () => {
    expect(addressToBytes('192.0.2.1')).toEqual([192, 0, 2, 1]);
    expect(addressToBytes('::ffff:192.0.2.1')).toEqual([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1]);
    expect(addressToBytes('nope')).toBeUndefined();
    expect(addressFromBytes([1, 2, 3])).toBeUndefined();
    expect(addressFromBytes([1, 2, 3, 256])).toBeUndefined();
    expect(addressFromBytes(new Uint8Array(16))).toBe('::');
  });

  it('computes prefixes', () => {
    expect(prefixOf('2001:db8:0:1:2:3:4:5', 64)).toBe('2001:db8:0:1::');
    expect(prefixOf('2001:db8:0:1:2:3:4:5', 0)).toBe('::');
    expect(prefixOf('2001:db8:0:1:2:3:4:5', 128)).toBe('2001:db8:0:1:2:3:4:5');
    expect(prefixOf('192.168.7.200', 24)).toBe('192.168.7.0');
    expect(prefixOf('192.168.7.200', 33)).toBeUndefined();
    expect(prefixOf('x', 8)).toBeUndefined();
    expect(inPrefix('192.168.1.7', '192.168.1.1', 24)).toBe(true);
    expect(inPrefix('192.168.2.7', '192.168.1.1', 24)).toBe(false);
    expect(inPrefix('2001:db8::7%eth0', '2001:db8::', 64)).toBe(true);
    expect(inPrefix('::ffff:192.168.1.7', '192.168.1.1', 24)).toBe(false);
    expect(inPrefix('192.168.1.7', '192.168.1.1', 40)).toBe(false);
    expect(inPrefix('x', '192.168.1.1', 24)).toBe(false);
  });
});

describe('properties', () => {
  const v4Bytes = fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 });
  // Bias towards zero runs and mapped addresses, where text forms differ most.
  const v6Bytes = fc.oneof(
    fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 16, maxLength: 16 }),
    fc.array(fc.constantFrom(0, 0, 0, 1, 0xff), { minLength: 16, maxLength: 16 }),
    v4Bytes.map((b) => [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...b]),
  );
  const bytes = fc.oneof(v4Bytes, v6Bytes);

  /** Other spellings of the same address: uppercase, every group written out, a zone id. */
  function spellings(b: number[]): string[] {
    if (b.length === 4) return [b.join('.')];
    const groups = Array.from({ length: 8 }, (_, i) => ((b[2 * i] << 8) | b[2 * i + 1]).toString(16));
    return [groups.join(':'), groups.map((g) => g.padStart(4, '0').toUpperCase()).join(':'), `${groups.join(':')}%eth0`];
  }

  it('format∘parse round-trips: bytes -> canonical text -> the same bytes', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        const text = addressFromBytes(b)!;
        expect(addressToBytes(text)).toEqual(b);
        expect(familyOf(text)).toBe(b.length === 4 ? 'ipv4' : 'ipv6');
      }),
      { numRuns: 2000 },
    );
  });

  it('the canonical form is idempotent and the same for every spelling', () => {
    fc.assert(
      fc.property(bytes, (b) => {
        const canonical = addressFromBytes(b)!;
        expect(canonicalAddress(canonical)).toBe(canonical);
        expect(toRfc5952(canonical)).toBe(canonical);
        for (const s of spellings(b)) {
          expect(canonicalAddress(s)).toBe(canonical);
          expect(canonicalAddress(canonicalAddress(s)!)).toBe(canonical);
          expect(sameAddress(s, canonical)).toBe(true);
        }
        // RFC 5952: lowercase, at most one '::', no leading zeros in a group.
        expect(canonical).toBe(canonical.toLowerCase());
        expect(canonical.split('::').length).toBeLessThanOrEqual(2);
        expect(/(^|:)0[0-9a-f]/.test(canonical.replace(/::ffff:\d.*$/, ''))).toBe(false);
      }),
      { numRuns: 2000 },
    );
  });

  it('an IPv4-mapped address is the same host as its IPv4 address, and unmaps to it', () => {
    fc.assert(
      fc.property(v4Bytes, (b) => {
        const v4 = b.join('.');
        expect(canonicalAddress(`::ffff:${v4}`)).toBe(`::ffff:${v4}`);
        expect(unmappedAddress(`::ffff:${v4}`)).toBe(v4);
        expect(sameAddress(`::FFFF:${v4}`, v4)).toBe(true);
        expect(scopeOf(`::ffff:${v4}`)).toBe('other');
      }),
    );
  });

  it('prefixOf gives an address inside its own prefix, and clears the host bits', () => {
    fc.assert(
      fc.property(v6Bytes, fc.integer({ min: 0, max: 128 }), (b, length) => {
        const address = addressFromBytes(b)!;
        const network = prefixOf(address, length)!;
        expect(inPrefix(address, network, length)).toBe(true);
        expect(prefixOf(network, length)).toBe(network);
      }),
    );
  });
});
