/**
 * The DNS-SD advertiser and browser with real UDP sockets over IPv4 on the
 * loopback interface (IPv4 multicast works on `lo`; IPv6 is covered by the
 * namespace test in test/integration/dnssd/). Each test uses its own port
 * instead of 5353, so it cannot disturb a real responder on this host.
 */
import { createSocket, Socket } from 'node:dgram';
import fc from 'fast-check';
import { DnssdAdvertiser, DnssdAdvertiserInit, toDnsLabel } from '../../../adapters/dnssd/dnssd-advertiser';
import { browseService } from '../../../adapters/dnssd/dnssd-browser';
import { encodeDnsResponse } from '../../../adapters/dnssd/dns-record-encoder';
import { DnsType, decodeDnsMessage, encodeDnsQuery } from '../../../adapters/matter/dns-message';
import type { HostAddress } from '../../../adapters/observe/host-address';

const TYPE = '_homenet._tcp.local';

function loopback(prefixLength = 8): HostAddress {
  return { interface: 'lo', family: 'ipv4', address: '127.0.0.1', prefixLength, scope: 'loopback', temporary: false, deprecated: false, tentative: false, preferredLifetime: Infinity, validLifetime: Infinity };
}

let nextPort = 20000 + (process.pid % 20000);
const port = () => nextPort++;
const running: DnssdAdvertiser[] = [];
const sockets: Socket[] = [];

afterEach(async () => {
  for (const a of running.splice(0)) await a.stop();
  for (const s of sockets.splice(0)) s.close();
});

async function advertise(over: Partial<DnssdAdvertiserInit> & { mdnsPort: number }): Promise<DnssdAdvertiser> {
  const ad = await DnssdAdvertiser.start({
    serviceType: TYPE,
    instance: 'homenet hub on test',
    host: 'testhub',
    port: 5390,
    txt: ['path=/homenet/v1', 'deployment=hub'],
    interfaces: ['lo'],
    addresses: () => [loopback()],
    announce: false,
    ...over,
  });
  running.push(ad);
  return ad;
}

/** A raw querier: sends from an ephemeral port (or from the group port) and collects what comes back. */
async function rawSocket(bindPort = 0, join = false): Promise<{ socket: Socket; got: Buffer[] }> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true });
  sockets.push(socket);
  const got: Buffer[] = [];
  socket.on('message', (m) => got.push(m));
  await new Promise<void>((resolve) => socket.bind(bindPort, '0.0.0.0', resolve));
  socket.setMulticastInterface('127.0.0.1');
  if (join) socket.addMembership('224.0.0.251', '127.0.0.1');
  return { socket, got };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('DNS-SD over IPv4 loopback', () => {
  test('the browser finds the advertised hub: PTR, SRV port, address and TXT', async () => {
    const mdnsPort = port();
    await advertise({ mdnsPort });
    const started = Date.now();
    const found = await browseService({ serviceType: TYPE, interfaces: [{ name: 'lo', ipv4: '127.0.0.1', ipv6: false }], mdnsPort, timeoutMs: 1500 });
    expect(found).toBeDefined();
    expect(found!.instance).toBe(`homenet hub on test.${TYPE}`);
    expect(found!.port).toBe(5390);
    expect(found!.addresses).toEqual(['127.0.0.1']);
    expect(found!.txt).toEqual({ path: '/homenet/v1', deployment: 'hub' });
    expect(Date.now() - started).toBeLessThan(1000); // returns at the first complete answer, not at the timeout
  });

  test('with no responder the browse ends empty at its time bound', async () => {
    const started = Date.now();
    const found = await browseService({ serviceType: TYPE, interfaces: [{ name: 'lo', ipv4: '127.0.0.1', ipv6: false }], mdnsPort: port(), timeoutMs: 400 });
    const took = Date.now() - started;
    expect(found).toBeUndefined();
    expect(took).toBeGreaterThanOrEqual(380);
    expect(took).toBeLessThan(1500);
  });

  test('a one-shot query gets a unicast answer echoing its id and question, TTLs at most 10 s', async () => {
    const mdnsPort = port();
    await advertise({ mdnsPort });
    const q = await rawSocket();
    const query = encodeDnsQuery([{ name: TYPE, type: DnsType.PTR }]);
    query[0] = 0x12;
    query[1] = 0x34;
    q.socket.send(query, mdnsPort, '224.0.0.251');
    await sleep(200);
    expect(q.got).toHaveLength(1);
    const answer = decodeDnsMessage(q.got[0]);
    expect(answer.id).toBe(0x1234);
    expect(answer.isResponse).toBe(true);
    expect(answer.questions.map((x) => x.name)).toEqual([TYPE]);
    const all = [...answer.answers, ...answer.additionals];
    expect(all.map((r) => r.type).sort()).toEqual([DnsType.A, DnsType.PTR, DnsType.TXT, DnsType.SRV].sort());
    expect(Math.max(...all.map((r) => r.ttl))).toBeLessThanOrEqual(10);
  });

  test('unicast answers are rate limited per source: one answer per query at most, and no more than the limit', async () => {
    const mdnsPort = port();
    const ad = await advertise({ mdnsPort, perSourcePerSecond: 3 });
    const q = await rawSocket();
    const query = encodeDnsQuery([{ name: TYPE, type: DnsType.PTR, unicastResponse: true }]);
    for (let i = 0; i < 10; i++) q.socket.send(query, mdnsPort, '224.0.0.251');
    await sleep(300);
    expect(q.got).toHaveLength(3);
    expect(ad.stats.limited).toBe(7);
    expect(ad.stats.answered).toBe(3);
  });

  test('a source off every advertised subnet gets no unicast answer', async () => {
    const mdnsPort = port();
    const ad = await advertise({ mdnsPort, addresses: () => [loopback(32)] });
    const q = createSocket({ type: 'udp4' });
    sockets.push(q);
    const got: Buffer[] = [];
    q.on('message', (m) => got.push(m));
    await new Promise<void>((resolve) => q.bind(0, '127.0.0.2', resolve));
    q.send(encodeDnsQuery([{ name: TYPE, type: DnsType.PTR, unicastResponse: true }]), mdnsPort, '127.0.0.1');
    await sleep(200);
    expect(got).toHaveLength(0);
    expect(ad.stats.offLink).toBe(1);
  });

  test('queries for other services, responses and malformed packets get nothing', async () => {
    const mdnsPort = port();
    const ad = await advertise({ mdnsPort });
    const q = await rawSocket();
    q.socket.send(encodeDnsQuery([{ name: '_matter._tcp.local', type: DnsType.PTR }]), mdnsPort, '224.0.0.251');
    q.socket.send(encodeDnsResponse({ answers: [{ type: DnsType.PTR, name: TYPE, ttl: 100, target: `x.${TYPE}` }] }), mdnsPort, '224.0.0.251');
    q.socket.send(Buffer.from([0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0x0c]), mdnsPort, '224.0.0.251');
    await sleep(200);
    expect(q.got).toHaveLength(0);
    expect(ad.stats.malformed).toBe(1);
    expect(ad.stats.answered).toBe(0);
  });

  test('announces at start and says goodbye (TTL 0) at stop, on the group', async () => {
    const mdnsPort = port();
    const listener = await rawSocket(mdnsPort, true);
    const ad = await advertise({ mdnsPort, announce: true });
    await sleep(150);
    const announcement = listener.got.map((b) => decodeDnsMessage(b)).find((m) => m.isResponse);
    expect(announcement).toBeDefined();
    expect(announcement!.answers[0]).toMatchObject({ type: DnsType.PTR, name: TYPE, target: `homenet hub on test.${TYPE}`, ttl: 4500 });
    listener.got.length = 0;
    running.splice(running.indexOf(ad), 1);
    await ad.stop();
    await sleep(100);
    const goodbye = listener.got.map((b) => decodeDnsMessage(b)).find((m) => m.isResponse);
    expect(goodbye).toBeDefined();
    const records = [...goodbye!.answers, ...goodbye!.additionals];
    expect(records.length).toBeGreaterThanOrEqual(4);
    expect(records.every((r) => r.ttl === 0)).toBe(true);
  });

  test('the browser ignores a goodbye and an incomplete instance (no address for its SRV target)', async () => {
    const mdnsPort = port();
    const responder = await rawSocket(mdnsPort, true);
    responder.socket.on('message', (m, rinfo) => {
      const msg = decodeDnsMessage(m);
      if (msg.isResponse) return;
      const name = `half.${TYPE}`;
      responder.socket.send(
        encodeDnsResponse({
          id: msg.id,
          answers: [{ type: DnsType.PTR, name: TYPE, ttl: 10, target: name }],
          additionals: [{ type: DnsType.SRV, name, ttl: 10, port: 5390, target: 'nowhere.local' }, { type: DnsType.A, name: 'gone.local', ttl: 0, address: '127.0.0.1' }],
        }),
        rinfo.port,
        rinfo.address,
      );
    });
    const found = await browseService({ serviceType: TYPE, interfaces: [{ name: 'lo', ipv4: '127.0.0.1', ipv6: false }], mdnsPort, timeoutMs: 400 });
    expect(found).toBeUndefined();
  });

  test('a flood of queries reads the host addresses once per cache period, not once per query', async () => {
    const mdnsPort = port();
    let reads = 0;
    let clock = 0;
    await advertise({ mdnsPort, perSourcePerSecond: 100, now: () => clock, addresses: () => { reads += 1; return [loopback()]; } });
    expect(reads).toBe(1); // at start
    const q = await rawSocket();
    const query = encodeDnsQuery([{ name: TYPE, type: DnsType.PTR, unicastResponse: true }]);
    for (let i = 0; i < 20; i++) q.socket.send(query, mdnsPort, '224.0.0.251');
    await sleep(200);
    expect(q.got).toHaveLength(20);
    expect(reads).toBe(1);
    clock = 6000; // past the 5 s cache: the next query reads again (a renumbered host shows)
    q.socket.send(query, mdnsPort, '224.0.0.251');
    await sleep(150);
    expect(reads).toBe(2);
  });

  test('hostile packets (random bytes, truncated queries) get nothing, and the responder keeps answering', async () => {
    const mdnsPort = port();
    const ad = await advertise({ mdnsPort, perSourcePerSecond: 1000 });
    const q = await rawSocket();
    const valid = encodeDnsQuery([{ name: TYPE, type: DnsType.PTR, unicastResponse: true }]);
    const junk = [
      ...fc.sample(fc.uint8Array({ minLength: 0, maxLength: 600 }), { numRuns: 200, seed: 11 }),
      ...Array.from({ length: valid.length - 1 }, (_, i) => valid.slice(0, i)),
    ];
    for (const packet of junk) q.socket.send(packet, mdnsPort, '224.0.0.251');
    await sleep(300);
    expect(q.got).toHaveLength(0);
    expect(ad.stats.answered).toBe(0);
    q.socket.send(valid, mdnsPort, '224.0.0.251');
    await sleep(150);
    expect(q.got).toHaveLength(1);
  });

  test('toDnsLabel makes a host name one label', () => {
    expect(toDnsLabel('hub.home.arpa')).toBe('hub-home-arpa');
    expect(Buffer.byteLength(toDnsLabel('x'.repeat(100)))).toBe(63);
    expect(toDnsLabel('')).toBe('homenet');
  });

  test('bad advertiser settings are clear errors', async () => {
    await expect(advertise({ mdnsPort: port(), instance: 'a.b' })).rejects.toThrow(/one DNS label/);
    await expect(advertise({ mdnsPort: port(), serviceType: 'homenet.local' })).rejects.toThrow(/_name._tcp.local/);
    await expect(advertise({ mdnsPort: port(), port: 0 })).rejects.toThrow(/1-65535/);
  });
});
