import { VirtualTimeScheduler } from 'rxjs';
import { watchMatterMdns } from '../../../adapters/matter/matter-mdns-watcher';
import { MdnsTransport } from '../../../adapters/matter/mdns-transport';
import { decodeDnsMessage } from '../../../adapters/matter/dns-message';
import type { DeviceSeen } from '../../../policies/model/event';
import type { ObserverProblem } from '../../../adapters/observe/observer-problem';
import { performance } from 'node:perf_hooks';
import { aaaa, commissionablePlug, ptr, response, srv, txt, v6 } from './dns-bytes';
import { mdnsFloodPacket } from '../../fuzz/parser-targets';

/** A transport double: the test injects packets (hostile ones included) and sees the queries. */
function fakeTransport() {
  let handler: (packet: Uint8Array, from: { address: string; port: number }) => void = () => undefined;
  const sent: Uint8Array[] = [];
  const transport: MdnsTransport = {
    onPacket: (h) => (handler = h),
    onError: () => undefined,
    send: (p) => sent.push(p),
    close: () => undefined,
  };
  return {
    transport,
    sent,
    inject: (p: Uint8Array, address = 'fe80::1') => handler(p, { address, port: 5353 }),
  };
}

function setup() {
  const scheduler = new VirtualTimeScheduler();
  const fake = fakeTransport();
  const events: DeviceSeen[] = [];
  const problems: ObserverProblem[] = [];
  const sub = watchMatterMdns({ transport: fake.transport, scheduler, queryIntervalMs: 0, onProblem: (p) => problems.push(p) }).subscribe((e) => events.push(e));
  return { scheduler, fake, events, problems, sub };
}

describe('watchMatterMdns', () => {
  it('asks for the Matter services at start', () => {
    const { fake, sub } = setup();
    expect(fake.sent).toHaveLength(1);
    expect(decodeDnsMessage(fake.sent[0]).questions.map((q) => q.name)).toEqual(['_matter._tcp.local', '_matterc._udp.local', '_meshcop._udp.local']);
    sub.unsubscribe();
  });

  it('turns a commissionable announcement into a matter device with TXT evidence and subtypes', () => {
    const { fake, events, sub } = setup();
    fake.inject(commissionablePlug());
    expect(events).toEqual([
      {
        type: 'device-seen',
        deviceId: 'mdns:abcdef0123450000.local',
        identities: { mdnsHost: 'abcdef0123450000.local' },
        kinds: [{ kind: 'matter', evidence: 'mdns:_matterc._udp E7D2BAC0A7D627ED VP=65521+32769 DT=266 CM=1' }],
        addresses: [{ address: '2001:db8:77::20' }],
      },
    ]);
    sub.unsubscribe();
  });

  it('names the Matter node of an operational instance and marks _meshcop as a Thread border router', () => {
    const { fake, events, sub } = setup();
    const host = 'node1.local';
    fake.inject(
      response(
        [ptr('_matter._tcp.local', '2906C908D115D362-8FC7772401CD0696._matter._tcp.local'), ptr('_meshcop._udp.local', 'BR._meshcop._udp.local')],
        [srv('2906C908D115D362-8FC7772401CD0696._matter._tcp.local', host, 5540), srv('BR._meshcop._udp.local', host, 49154), txt('BR._meshcop._udp.local', ['nn=home']), aaaa(host, v6(0x31))],
      ),
    );
    expect(events).toHaveLength(1);
    expect(events[0].identities).toEqual({ mdnsHost: 'node1.local', matterNodeId: '2906C908D115D362-8FC7772401CD0696' });
    expect(events[0].kinds).toEqual([
      { kind: 'matter', evidence: 'mdns:_matter._tcp 2906C908D115D362-8FC7772401CD0696' },
      { kind: 'thread-border-router', evidence: 'mdns:_meshcop._udp BR' },
    ]);
    sub.unsubscribe();
  });

  it('drops an address one second after its goodbye, and keeps a device that goes silent', () => {
    const { scheduler, fake, events, sub } = setup();
    const host = 'ABCDEF0123450000.local';
    fake.inject(commissionablePlug(host));
    fake.inject(response([aaaa(host, v6(0x99))]));
    expect(events.at(-1)!.addresses).toEqual([{ address: '2001:db8:77::20' }, { address: '2001:db8:77::99' }]);
    fake.inject(response([aaaa(host, v6(0x99), 0)])); // goodbye
    scheduler.maxFrames = 999;
    scheduler.flush(); // runs every timer: the goodbye grace second and, later, the 120 s TTLs
    expect(events.map((e) => e.addresses!.map((a) => a.address))).toEqual([
      ['2001:db8:77::20'],
      ['2001:db8:77::20', '2001:db8:77::99'],
      ['2001:db8:77::20'],
    ]);
    // Everything expired after 120 s: no event removed the device or its last address.
    sub.unsubscribe();
  });

  it('reports hostile packets and keeps working', () => {
    const { fake, events, problems, sub } = setup();
    fake.inject(Uint8Array.from([0, 0, 0x84, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 1, 2, 3, 4]));
    fake.inject(Uint8Array.from([0, 0, 0x84, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0]));
    fake.inject(new Uint8Array(3));
    expect(problems.map((p) => p.message)).toEqual([
      expect.stringContaining('pointer-forward'),
      expect.stringContaining('too-many-records'),
      expect.stringContaining('truncated'),
    ]);
    expect(problems[0].subject).toBe('fe80::1');
    fake.inject(commissionablePlug());
    expect(events).toHaveLength(1);
    sub.unsubscribe();
  });

  it('asks for the SRV of an instance announced without one', () => {
    const { fake, sub } = setup();
    fake.inject(response([ptr('_matterc._udp.local', 'X1._matterc._udp.local')]));
    const followUp = decodeDnsMessage(fake.sent.at(-1)!);
    expect(followUp.questions.map((q) => `${q.name}/${q.type}`)).toEqual(['X1._matterc._udp.local/33', 'X1._matterc._udp.local/16']);
    sub.unsubscribe();
  });

  it('keeps up with a flood from one host and keeps the real device\'s records', () => {
    const { fake, events, sub } = setup();
    const host = 'ABCDEF0123450000.local';
    fake.inject(commissionablePlug(host));
    // The flood: packets of 40 new Matter hosts each, TTL 2^31-1, from one address.
    for (let i = 0; i < 60; i++) fake.inject(mdnsFloodPacket(i), 'fe80::bad');
    const times: number[] = [];
    for (let i = 60; i < 80; i++) {
      const packet = mdnsFloodPacket(i);
      const t0 = performance.now();
      fake.inject(packet, 'fe80::bad');
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    // The old watcher blocked ~3.2 s per packet here; now it is about a millisecond.
    expect(times[10]).toBeLessThan(50);
    // The device's SRV and address survived: a new address from it adds to the old one.
    fake.inject(response([aaaa(host, v6(0x21))]));
    expect(events.at(-1)).toMatchObject({ deviceId: 'mdns:abcdef0123450000.local', addresses: [{ address: '2001:db8:77::20' }, { address: '2001:db8:77::21' }] });
    sub.unsubscribe();
  });

  it('a goodbye or cache-flush spoofed from another address does not withdraw a device\'s address', () => {
    const { fake, events, sub } = setup();
    const host = 'ABCDEF0123450000.local';
    fake.inject(commissionablePlug(host));
    fake.inject(response([aaaa(host, v6(0x20), 0)]), 'fe80::bad');
    expect(events).toHaveLength(1);
    sub.unsubscribe();
  });

  it('forgets what it emitted for a host whose instances expired, so its return is reported again', () => {
    const { scheduler, fake, events, sub } = setup();
    const host = 'ABCDEF0123450000.local';
    fake.inject(commissionablePlug(host));
    fake.inject(commissionablePlug(host)); // same again: nothing new
    expect(events).toHaveLength(1);
    scheduler.maxFrames = Infinity;
    scheduler.flush(); // every record expires (the TXT last, after 4500 s)
    fake.inject(commissionablePlug(host));
    expect(events).toHaveLength(2);
    expect(events[1]).toEqual(events[0]);
    sub.unsubscribe();
  });
});
