import fc from 'fast-check';
import { encodeDnsResponse } from '../../../adapters/dnssd/dns-record-encoder';
import { DnsType, decodeDnsMessage } from '../../../adapters/matter/dns-message';
import { canonicalAddress } from '../../../policies/model/address';

describe('encodeDnsResponse', () => {
  test('PTR, SRV, TXT, A and AAAA read back exactly through the hardened decoder', () => {
    const bytes = encodeDnsResponse({
      id: 7,
      questions: [{ name: '_homenet._tcp.local', type: DnsType.PTR }],
      answers: [{ type: DnsType.PTR, name: '_homenet._tcp.local', ttl: 4500, target: 'hub one._homenet._tcp.local' }],
      additionals: [
        { type: DnsType.SRV, name: 'hub one._homenet._tcp.local', ttl: 120, port: 5390, target: 'hub.local', cacheFlush: true },
        { type: DnsType.TXT, name: 'hub one._homenet._tcp.local', ttl: 4500, entries: ['path=/homenet/v1', 'deployment=hub'] },
        { type: DnsType.A, name: 'hub.local', ttl: 120, address: '192.168.77.5' },
        { type: DnsType.AAAA, name: 'hub.local', ttl: 120, address: '2001:db8:77::5' },
      ],
    });
    const m = decodeDnsMessage(bytes);
    expect(m).toMatchObject({ id: 7, isResponse: true, authoritative: true });
    expect(m.questions).toEqual([{ name: '_homenet._tcp.local', type: DnsType.PTR, class: 1, unicastResponse: false }]);
    expect(m.answers[0]).toMatchObject({ type: DnsType.PTR, target: 'hub one._homenet._tcp.local', ttl: 4500, cacheFlush: false });
    expect(m.additionals[0]).toMatchObject({ type: DnsType.SRV, port: 5390, target: 'hub.local', cacheFlush: true });
    expect(m.additionals[1]).toMatchObject({ type: DnsType.TXT, entries: ['path=/homenet/v1', 'deployment=hub'] });
    expect(m.additionals[2]).toMatchObject({ type: DnsType.A, address: '192.168.77.5' });
    expect(m.additionals[3]).toMatchObject({ type: DnsType.AAAA, address: '2001:db8:77::5' });
  });

  test('records that cannot be encoded are RangeErrors naming the problem', () => {
    expect(() => encodeDnsResponse({ answers: [{ type: DnsType.A, name: 'h.local', ttl: 1, address: '2001:db8::1' }] })).toThrow(/not an ipv4 address/);
    expect(() => encodeDnsResponse({ answers: [{ type: DnsType.SRV, name: 'h.local', ttl: 1, port: 70000, target: 'x.local' }] })).toThrow(/SRV port/);
    expect(() => encodeDnsResponse({ answers: [{ type: DnsType.TXT, name: 'h.local', ttl: 1, entries: ['x'.repeat(300)] }] })).toThrow(/longer than 255/);
    expect(() => encodeDnsResponse({ answers: [{ type: DnsType.PTR, name: 'h.local', ttl: -1, target: 'x.local' }] })).toThrow(/TTL/);
  });
});

describe('encodeDnsResponse round trip (property)', () => {
  const label = fc.stringMatching(/^[a-z0-9_][a-z0-9 _-]{0,20}$/);
  const name = fc.array(label, { minLength: 1, maxLength: 4 }).map((l) => `${l.join('.')}.local`);

  test('any PTR / SRV / TXT / A / AAAA set decodes to what was encoded', () => {
    fc.assert(
      fc.property(
        name,
        name,
        fc.integer({ min: 1, max: 65535 }),
        fc.array(fc.stringMatching(/^[a-z]{1,8}=[a-z0-9/]{0,20}$/), { maxLength: 5 }),
        fc.ipV4(),
        fc.ipV6(),
        fc.integer({ min: 0, max: 0x7fffffff }),
        (instance, host, port, txt, v4, v6, ttl) => {
          const m = decodeDnsMessage(
            encodeDnsResponse({
              answers: [{ type: DnsType.PTR, name: '_homenet._tcp.local', ttl, target: instance }],
              additionals: [
                { type: DnsType.SRV, name: instance, ttl, port, target: host },
                { type: DnsType.TXT, name: instance, ttl, entries: txt },
                { type: DnsType.A, name: host, ttl, address: v4 },
                { type: DnsType.AAAA, name: host, ttl, address: v6 },
              ],
            }),
          );
          const [srv, text, a, aaaa] = m.additionals;
          expect(m.answers[0]).toMatchObject({ target: instance, ttl });
          expect(srv).toMatchObject({ port, target: host });
          expect(text).toMatchObject({ entries: txt });
          expect(a).toMatchObject({ address: canonicalAddress(v4) });
          expect(aaaa).toMatchObject({ address: canonicalAddress(v6) });
        },
      ),
      { numRuns: 300 },
    );
  });
});
