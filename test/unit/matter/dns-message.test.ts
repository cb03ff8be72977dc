import { decodeDnsMessage, DnsFormatError, DnsType, encodeDnsQuery } from '../../../adapters/matter/dns-message';
import { a, aaaa, commissionablePlug, name, ptr, record, response, u16, v6 } from './dns-bytes';

function problemOf(bytes: Uint8Array): string {
  try {
    decodeDnsMessage(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(DnsFormatError);
    return (error as DnsFormatError).problem;
  }
  throw new Error('decoded without error');
}

describe('decodeDnsMessage', () => {
  it('decodes a Matter commissionable announcement', () => {
    const m = decodeDnsMessage(commissionablePlug());
    expect(m.isResponse).toBe(true);
    expect(m.answers.map((r) => r.type)).toEqual([DnsType.PTR, DnsType.PTR]);
    expect(m.answers[0]).toMatchObject({ name: '_matterc._udp.local', target: 'E7D2BAC0A7D627ED._matterc._udp.local', ttl: 120 });
    expect(m.additionals[0]).toMatchObject({ type: DnsType.SRV, port: 5540, target: 'ABCDEF0123450000.local' });
    expect(m.additionals[1]).toMatchObject({ type: DnsType.TXT, entries: ['D=3840', 'VP=65521+32769', 'DT=266', 'CM=1', 'DN=Plug'] });
    expect(m.additionals[2]).toMatchObject({ type: DnsType.AAAA, address: '2001:db8:77::20' });
  });

  it('follows a backward compression pointer', () => {
    // "host.local" at offset 12 (question), then an A record whose owner points to it.
    const q = [...name('host.local'), ...u16(1), ...u16(1)];
    const bytes = Uint8Array.from([0, 0, 0x84, 0, 0, 1, 0, 1, 0, 0, 0, 0, ...q, 0xc0, 12, ...u16(1), ...u16(1), 0, 0, 0, 60, ...u16(4), 192, 168, 77, 20]);
    const m = decodeDnsMessage(bytes);
    expect(m.answers[0]).toMatchObject({ name: 'host.local', address: '192.168.77.20', ttl: 60 });
  });

  it('rejects a compression pointer to itself (a loop) as pointer-forward', () => {
    const bytes = Uint8Array.from([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12, ...u16(1), ...u16(1), 0, 0, 0, 60, ...u16(4), 1, 2, 3, 4]);
    expect(problemOf(bytes)).toBe('pointer-forward');
  });

  it('rejects a loop of two pointers pointing at each other', () => {
    // Offset 12: pointer to 14; offset 14: pointer to 12. The second is backwards, the first forward: refused.
    const bytes = Uint8Array.from([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 14, 0xc0, 12, ...u16(1), ...u16(1), 0, 0, 0, 60, ...u16(4), 1, 2, 3, 4]);
    expect(problemOf(bytes)).toBe('pointer-forward');
  });

  it('stops following a chain of backward pointers at the jump limit', () => {
    // Question "host.local" at 12; answer 1 owner -> 12 (one jump); answer 2 owner -> answer 1's owner (two jumps).
    const q = [...name('host.local'), ...u16(1), ...u16(1)];
    const firstOwner = 12 + q.length;
    const rec = (owner: number) => [0xc0, owner, ...u16(1), ...u16(1), 0, 0, 0, 60, ...u16(4), 1, 2, 3, 4];
    const bytes = Uint8Array.from([0, 0, 0x84, 0, 0, 1, 0, 2, 0, 0, 0, 0, ...q, ...rec(12), ...rec(firstOwner)]);
    expect(decodeDnsMessage(bytes).answers.map((r) => r.name)).toEqual(['host.local', 'host.local']);
    try {
      decodeDnsMessage(bytes, { maxPointerJumps: 1 });
      throw new Error('decoded');
    } catch (error) {
      expect((error as DnsFormatError).problem).toBe('pointer-loop');
    }
  });

  it('rejects labels over 63 bytes and names over 255 bytes', () => {
    const long = [64, ...Array(64).fill(0x61), 0];
    expect(problemOf(Uint8Array.from([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, ...long, ...u16(1), ...u16(1), 0, 0, 0, 1, ...u16(4), 1, 2, 3, 4]))).toBe('bad-label-type');
    const label63 = [63, ...Array(63).fill(0x61)];
    const huge = [...label63, ...label63, ...label63, ...label63, ...label63, 0];
    expect(problemOf(Uint8Array.from([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, ...huge, ...u16(1), ...u16(1), 0, 0, 0, 1, ...u16(4), 1, 2, 3, 4]))).toBe('name-too-long');
  });

  it('rejects bogus records: wrong AAAA length, data past the end, SRV too short', () => {
    expect(problemOf(response([record({ name: 'x.local', type: 28, data: [1, 2, 3] })]))).toBe('bad-rdata');
    expect(problemOf(response([record({ name: 'x.local', type: 1, data: [1, 2, 3, 4, 5] })]))).toBe('bad-rdata');
    expect(problemOf(response([record({ name: 'x.local', type: 33, data: [0, 0, 0] })]))).toBe('bad-rdata');
    const cut = response([a('x.local', [1, 2, 3, 4])]).slice(0, -2);
    expect(problemOf(cut)).toBe('truncated');
  });

  it('rejects header counts the packet cannot hold, and oversized packets', () => {
    expect(problemOf(Uint8Array.from([0, 0, 0x84, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]))).toBe('too-many-records');
    expect(problemOf(Uint8Array.from([0, 0, 0x84, 0, 0, 0, 0, 50, 0, 0, 0, 0]))).toBe('truncated');
    expect(problemOf(new Uint8Array(9001))).toBe('packet-too-large');
    expect(problemOf(new Uint8Array(5))).toBe('truncated');
  });

  it('rejects a TXT string that runs past its record', () => {
    expect(problemOf(response([record({ name: 'x.local', type: 16, data: [10, 0x61] })]))).toBe('bad-rdata');
  });

  it('rejects a PTR whose target runs past the record data', () => {
    const target = name('a.local');
    expect(problemOf(response([record({ name: 'x.local', type: 12, data: target.slice(0, 3) })]))).toBe('truncated');
  });

  it('never throws anything but DnsFormatError on random bytes', () => {
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const base = commissionablePlug();
    for (let i = 0; i < 3000; i++) {
      const bytes = Uint8Array.from(base);
      for (let k = 0; k < 1 + Math.floor(rand() * 8); k++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      try {
        decodeDnsMessage(bytes.slice(0, Math.max(0, bytes.length - Math.floor(rand() * 20))));
      } catch (error) {
        expect(error).toBeInstanceOf(DnsFormatError);
      }
    }
  });

  it('encodes a query that decodes back', () => {
    const bytes = encodeDnsQuery([{ name: '_matter._tcp.local', type: DnsType.PTR }, { name: 'x.local', type: DnsType.AAAA, unicastResponse: true }]);
    const m = decodeDnsMessage(bytes);
    expect(m.isResponse).toBe(false);
    expect(m.questions).toEqual([
      { name: '_matter._tcp.local', type: 12, class: 1, unicastResponse: false },
      { name: 'x.local', type: 28, class: 1, unicastResponse: true },
    ]);
  });

  it('keeps ptr/aaaa helpers honest', () => {
    const m = decodeDnsMessage(response([ptr('_matter._tcp.local', 'A-B._matter._tcp.local'), aaaa('h.local', v6(1))]));
    expect(m.answers).toHaveLength(2);
  });
});
