import { performance } from 'node:perf_hooks';
import { decodeDnsMessage, DnsRecord, DnsType } from '../../../adapters/matter/dns-message';
import { MAX_TTL_SECONDS, MdnsRecordCache } from '../../../adapters/matter/mdns-record-cache';
import { aaaa, record, response, srv, v6 } from './dns-bytes';

function rec(bytes: number[]): DnsRecord {
  return decodeDnsMessage(response([bytes])).answers[0];
}

const addressOf = (r: DnsRecord) => (r as DnsRecord & { address: string }).address;

/** AAAA records of `count` distinct bogus hosts. */
function bogus(count: number, ttl = 120, prefix = 'bogus'): DnsRecord[] {
  return Array.from({ length: count }, (_, i) => rec(aaaa(`${prefix}${i}.local`, v6(i & 0xff), ttl)));
}

describe('MdnsRecordCache', () => {
  it('keeps a sender within its quota by dropping its own least recently refreshed records, not anyone else\'s', () => {
    const cache = new MdnsRecordCache({ maxRecords: 1000, maxRecordsPerSender: 50 });
    cache.add(rec(aaaa('plug.local', v6(0x20))), 0, 'fe80::1');
    let evictedOthers = 0;
    for (const r of bogus(500)) for (const e of cache.add(r, 1, 'fe80::bad')) if (e.sender !== 'fe80::bad') evictedOthers++;
    expect(evictedOthers).toBe(0);
    expect(cache.countOf('fe80::bad')).toBe(50);
    expect(cache.find('bogus499.local', DnsType.AAAA)).toHaveLength(1); // newest kept
    expect(cache.find('bogus0.local', DnsType.AAAA)).toHaveLength(0); // oldest gone
    expect(cache.find('plug.local', DnsType.AAAA).map(addressOf)).toEqual(['2001:db8:77::20']);
  });

  it('past the global cap, the largest sender loses records: a small device keeps its own', () => {
    const cache = new MdnsRecordCache({ maxRecords: 100, maxRecordsPerSender: 100 });
    cache.add(rec(aaaa('plug.local', v6(0x20))), 0, 'fe80::1');
    cache.add(rec(srv('X._matterc._udp.local', 'plug.local', 5540)), 0, 'fe80::1');
    // Ten attacker addresses, 60 records each: 600 records into a cache of 100.
    for (let s = 0; s < 10; s++) for (const r of bogus(60, 120, `b${s}-`)) cache.add(r, 1, `fe80::bad:${s}`);
    expect(cache.size).toBe(100);
    expect(cache.countOf('fe80::1')).toBe(2);
    expect(cache.find('plug.local', DnsType.AAAA)).toHaveLength(1);
    expect(cache.findByTarget(DnsType.SRV, 'PLUG.local')).toHaveLength(1);
  });

  it('clamps a huge TTL so it cannot outlive everything else', () => {
    const cache = new MdnsRecordCache();
    cache.add(rec(aaaa('big.local', v6(1), 0x7fffffff)), 0, 'fe80::bad');
    expect(cache.find('big.local', DnsType.AAAA)[0].ttl).toBe(MAX_TTL_SECONDS);
    expect(cache.nextExpiry()).toBe(MAX_TTL_SECONDS * 1000);
    expect(cache.expire(MAX_TTL_SECONDS * 1000 - 1)).toHaveLength(0);
    expect(cache.expire(MAX_TTL_SECONDS * 1000)).toHaveLength(1);
    expect(cache.size).toBe(0);
  });

  it('binds records to their sender: another host\'s goodbye or cache-flush does not remove them', () => {
    const cache = new MdnsRecordCache();
    cache.add(rec(aaaa('plug.local', v6(0x20))), 0, 'fe80::1');
    cache.add(rec(aaaa('plug.local', v6(0x20), 0)), 5000, 'fe80::bad'); // spoofed goodbye
    cache.add(rec(record({ name: 'plug.local', type: DnsType.AAAA, ttl: 120, cacheFlush: true, data: v6(0x66) })), 5000, 'fe80::bad');
    cache.expire(10_000);
    expect(cache.find('plug.local', DnsType.AAAA).map(addressOf).sort()).toEqual(['2001:db8:77::20', '2001:db8:77::66']);
    // The sender's own goodbye works, one second later.
    cache.add(rec(aaaa('plug.local', v6(0x20), 0)), 11_000, 'fe80::1');
    expect(cache.find('plug.local', DnsType.AAAA).map(addressOf)).toEqual(['2001:db8:77::66']);
    expect(cache.expire(12_000).map((c) => addressOf(c.record))).toEqual(['2001:db8:77::20']);
  });

  it('applies a cache-flush to the sender\'s own older records of that name and type', () => {
    const cache = new MdnsRecordCache();
    cache.add(rec(aaaa('plug.local', v6(0x20))), 0, 'fe80::1');
    cache.add(rec(record({ name: 'plug.local', type: DnsType.AAAA, ttl: 120, cacheFlush: true, data: v6(0x21) })), 5000, 'fe80::1');
    expect(cache.expire(6000).map((c) => addressOf(c.record))).toEqual(['2001:db8:77::20']);
    expect(cache.find('plug.local', DnsType.AAAA).map(addressOf)).toEqual(['2001:db8:77::21']);
  });

  it('answers one record per rdata when several senders announce it', () => {
    const cache = new MdnsRecordCache();
    cache.add(rec(aaaa('plug.local', v6(0x20))), 0, '192.168.77.20');
    cache.add(rec(aaaa('plug.local', v6(0x20))), 10, 'fe80::1');
    expect(cache.find('plug.local', DnsType.AAAA)).toHaveLength(1);
    expect(cache.size).toBe(2);
  });

  it('follows refreshes: the next expiry is the refreshed one, stale expiries are skipped', () => {
    const cache = new MdnsRecordCache();
    cache.add(rec(aaaa('a.local', v6(1), 10)), 0, 's');
    cache.add(rec(aaaa('b.local', v6(2), 20)), 0, 's');
    cache.add(rec(aaaa('a.local', v6(1), 30)), 5000, 's');
    expect(cache.nextExpiry()).toBe(20_000);
    expect(cache.expire(20_000).map((c) => c.record.name)).toEqual(['b.local']);
    expect(cache.nextExpiry()).toBe(35_000);
    expect(cache.expire(40_000).map((c) => c.record.name)).toEqual(['a.local']);
    expect(cache.nextExpiry()).toBeUndefined();
  });

  it('expires many records in expiry order, whatever order they came in', () => {
    const cache = new MdnsRecordCache();
    const ttls = [50, 7, 300, 1, 120, 9, 4500, 60];
    ttls.forEach((ttl, i) => cache.add(rec(aaaa(`h${i}.local`, v6(i), ttl)), 0, `s${i % 3}`));
    const order: number[] = [];
    for (let t = 0; cache.size > 0; t += 1000) for (const c of cache.expire(t)) order.push(c.record.ttl);
    expect(order).toEqual([...ttls].sort((a, b) => a - b));
  });

  it('takes a flood of adds past the cap in linear time (no sort per add)', () => {
    const cache = new MdnsRecordCache({ maxRecords: 4096, maxRecordsPerSender: 4096 });
    const records = bogus(40_000);
    const t0 = performance.now();
    records.forEach((r, i) => cache.add(r, i, `fe80::${i % 64}`));
    const ms = performance.now() - t0;
    expect(cache.size).toBe(4096);
    // The old cache sorted all 4096 records on every add past the cap: ~minutes for this.
    expect(ms).toBeLessThan(3000);
  });

  it('refuses nonsense limits', () => {
    expect(() => new MdnsRecordCache({ maxRecords: 0 })).toThrow(RangeError);
  });
});
