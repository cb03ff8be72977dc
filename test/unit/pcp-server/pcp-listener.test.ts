// The PCP / NAT-PMP listener with a fake decider: bytes in -> the ask the gateway gets ->
// the answer's bytes, for every check the listener makes itself (address, nonce, options,
// versions, rate limit) and for the engine's refusals through the answer table.
import { decodeNatPmpResponse, decodePcpResponse, encodeNatPmpRequest, encodePcpRequest, PcpOption, PcpResponse } from '../../../adapters/pcp';
import { PcpDecider, PcpListener, PcpListenerEvent, PcpMapAsk, PcpMapResult } from '../../../adapters/pcp/server';
import { Decision } from '../../../policies';

const CONSOLE = '2001:db8:77::10';
const CONSOLE_V4 = '192.168.77.10';
const HUB = '2001:db8:77::5';
const PLUG = '2001:db8:77::42';
const NONCE = Buffer.from('lab-nonce-v6');

interface Fake extends PcpDecider {
  readonly asks: PcpMapAsk[];
  readonly unmaps: PcpMapAsk[];
  next?: PcpMapResult;
}

function fakeDecider(): Fake {
  const fake: Fake = {
    asks: [],
    unmaps: [],
    async map(ask) {
      fake.asks.push(ask);
      return fake.next ?? { ok: true, lifetime: Math.min(ask.lifetime, 3600), externalPort: ask.family === 'ipv4' ? 41000 : ask.internalPort };
    },
    async unmap(ask) {
      fake.unmaps.push(ask);
      return true;
    },
    externalIpv4: () => '198.51.100.1',
    epochSeconds: () => 77,
  };
  return fake;
}

function setup(options: { controllers?: string[]; burst?: number } = {}) {
  const decider = fakeDecider();
  const events: PcpListenerEvent[] = [];
  let now = 0;
  const listener = new PcpListener({
    decider,
    controllers: options.controllers ?? [],
    now: () => now,
    rateLimit: { burst: options.burst ?? 100, perSecond: 1 },
    onEvent: (e) => events.push(e),
  });
  return { decider, events, listener, advance: (ms: number) => (now += ms) };
}

function mapRequest(o: { client?: string; lifetime?: number; port?: number; protocol?: number; nonce?: Buffer; ext?: string; extPort?: number; options?: PcpOption[] } = {}): Buffer {
  return encodePcpRequest({
    opcode: 'map',
    lifetime: o.lifetime ?? 120,
    clientAddress: o.client ?? CONSOLE,
    options: o.options ?? [],
    mapping: { nonce: o.nonce ?? NONCE, protocol: o.protocol ?? 17, internalPort: o.port ?? 40030, externalPort: o.extPort ?? 0, externalAddress: o.ext ?? '::' },
  });
}

async function ask(listener: PcpListener, bytes: Buffer, from = CONSOLE): Promise<PcpResponse> {
  const answer = await listener.handle(bytes, from);
  if (!answer) throw new Error('no answer');
  return decodePcpResponse(answer);
}

const denied = (code: 'matter-device-isolation' | 'client-limit-reached'): Decision => ({
  type: 'decision', seq: 3, at: 0, cause: 'need-submitted', needId: 'n', deviceId: 'plug', verdict: 'denied', changes: [], grants: [],
  reasons: [{ rule: code === 'client-limit-reached' ? 'client-limit' : 'matter-isolation', code, detail: 'plug is matter' }],
});

describe('PCP MAP', () => {
  it('an IPv6 MAP becomes one ask for the sender; the answer carries the granted lifetime, the epoch and the nonce', async () => {
    const { listener, decider } = setup();
    const res = await ask(listener, mapRequest({ lifetime: 120 }));
    expect(decider.asks).toEqual([{ family: 'ipv6', protocol: 'udp', internalClient: CONSOLE, internalPort: 40030, suggestedExternalPort: 0, lifetime: 120, sender: CONSOLE, thirdParty: false, preferFailure: false, via: 'pcp' }]);
    expect(res).toMatchObject({ opcode: 'map', resultCode: 0, lifetime: 120, epoch: 77 });
    if (res.opcode !== 'map' || !res.mapping) throw new Error('no mapping');
    expect(res.mapping.nonce.equals(NONCE)).toBe(true);
    expect(res.mapping).toMatchObject({ protocol: 17, internalPort: 40030, externalPort: 40030, externalAddress: CONSOLE });
  });

  it('the lifetime answered is the one the decider granted, not the one asked', async () => {
    const { listener } = setup();
    expect(await ask(listener, mapRequest({ lifetime: 100_000 }))).toMatchObject({ resultCode: 0, lifetime: 3600 });
  });

  it('an IPv4 MAP: the external port and the WAN address the gateway assigned', async () => {
    const { listener, decider } = setup();
    const res = await ask(listener, mapRequest({ client: CONSOLE_V4, ext: '0.0.0.0', extPort: 40031, port: 40031, protocol: 6 }), CONSOLE_V4);
    expect(decider.asks[0]).toMatchObject({ family: 'ipv4', protocol: 'tcp', suggestedExternalPort: 40031, internalClient: CONSOLE_V4 });
    expect(res).toMatchObject({ resultCode: 0, mapping: { externalPort: 41000, externalAddress: '198.51.100.1' } });
  });

  it('client address other than the source: ADDRESS_MISMATCH, nothing asked', async () => {
    const { listener, decider } = setup();
    expect((await ask(listener, mapRequest({ client: '2001:db8:77::11' }))).resultCode).toBe(12);
    expect(decider.asks).toHaveLength(0);
  });

  it('an engine refusal answers from the table and reports the reason', async () => {
    const { listener, decider, events } = setup();
    decider.next = { ok: false, decision: denied('matter-device-isolation') };
    const res = await ask(listener, mapRequest({ client: PLUG }), PLUG);
    expect(res).toMatchObject({ resultCode: 2, lifetime: 1800 });
    expect(events).toContainEqual(expect.objectContaining({ kind: 'refused', sender: PLUG, answer: expect.objectContaining({ pcp: 2, reason: expect.objectContaining({ code: 'matter-device-isolation' }) }) }));
    decider.next = { ok: false, decision: denied('client-limit-reached') };
    expect(await ask(listener, mapRequest({ port: 40040 }))).toMatchObject({ resultCode: 10, lifetime: 30 });
  });

  it('a malformed need (the decider says invalid) is MALFORMED_REQUEST', async () => {
    const { listener, decider } = setup();
    decider.next = { ok: false, invalid: 'not an IP address' };
    expect((await ask(listener, mapRequest())).resultCode).toBe(3);
  });

  it('the nonce is bound to the mapping: another nonce may neither renew nor delete it; the right one deletes', async () => {
    const { listener, decider } = setup();
    expect((await ask(listener, mapRequest())).resultCode).toBe(0);
    const other = Buffer.from('other-nonce!');
    expect(await ask(listener, mapRequest({ nonce: other, lifetime: 0 }))).toMatchObject({ resultCode: 2, lifetime: 0 });
    expect((await ask(listener, mapRequest({ nonce: other }))).resultCode).toBe(2);
    expect(decider.unmaps).toHaveLength(0);
    expect(await ask(listener, mapRequest({ lifetime: 0 }))).toMatchObject({ resultCode: 0, lifetime: 0 });
    expect(decider.unmaps).toHaveLength(1);
    expect(decider.unmaps[0]).toMatchObject({ internalClient: CONSOLE, internalPort: 40030, protocol: 'udp', lifetime: 0 });
    // Unbound again: a new nonce may map it now.
    expect((await ask(listener, mapRequest({ nonce: other }))).resultCode).toBe(0);
  });

  it('the nonce binding ends with the granted lifetime: after it, another nonce may map the port', async () => {
    const { listener, advance } = setup();
    expect((await ask(listener, mapRequest({ lifetime: 60 }))).resultCode).toBe(0);
    const other = Buffer.from('other-nonce!');
    advance(59_000);
    expect((await ask(listener, mapRequest({ nonce: other }))).resultCode).toBe(2);
    advance(1_000);
    expect((await ask(listener, mapRequest({ nonce: other }))).resultCode).toBe(0);
  });

  it('deleting a mapping that does not exist is SUCCESS (RFC 6887 15)', async () => {
    const { listener } = setup();
    expect(await ask(listener, mapRequest({ lifetime: 0, port: 40999 }))).toMatchObject({ resultCode: 0, lifetime: 0 });
  });

  it('only UDP and TCP are mapped: UNSUPP_PROTOCOL', async () => {
    const { listener, decider } = setup();
    expect((await ask(listener, mapRequest({ protocol: 132 }))).resultCode).toBe(9);
    expect(decider.asks).toHaveLength(0);
  });
});

describe('PCP options', () => {
  const thirdParty: PcpOption = { type: 'third-party', address: PLUG };

  it('THIRD_PARTY with no controller configured: UNSUPP_OPTION (the option is off, as miniupnpd by default)', async () => {
    const { listener, decider } = setup();
    expect((await ask(listener, mapRequest({ options: [thirdParty] }))).resultCode).toBe(5);
    expect(decider.asks).toHaveLength(0);
  });

  it('THIRD_PARTY from a host that is not a controller: NOT_AUTHORIZED (RFC 6887 13.1)', async () => {
    const { listener, decider } = setup({ controllers: [HUB] });
    expect((await ask(listener, mapRequest({ options: [thirdParty] }))).resultCode).toBe(2);
    expect(decider.asks).toHaveLength(0);
  });

  it('THIRD_PARTY from a controller: the ask is for the target host, the answer echoes the option', async () => {
    const { listener, decider } = setup({ controllers: [HUB] });
    const res = await ask(listener, mapRequest({ client: HUB, options: [thirdParty] }), HUB);
    expect(decider.asks[0]).toMatchObject({ internalClient: PLUG, sender: HUB, thirdParty: true, family: 'ipv6' });
    expect(res.resultCode).toBe(0);
    expect(res.options).toEqual([thirdParty]);
  });

  it('THIRD_PARTY naming another family: MALFORMED_OPTION', async () => {
    const { listener } = setup({ controllers: [HUB] });
    expect((await ask(listener, mapRequest({ client: HUB, options: [{ type: 'third-party', address: CONSOLE_V4 }] }), HUB)).resultCode).toBe(6);
  });

  it('PREFER_FAILURE reaches the ask; FILTER and unknown mandatory options are UNSUPP_OPTION; unknown optional ones are ignored', async () => {
    const { listener, decider } = setup();
    expect((await ask(listener, mapRequest({ options: [{ type: 'prefer-failure' }] }))).resultCode).toBe(0);
    expect(decider.asks[0]?.preferFailure).toBe(true);
    expect((await ask(listener, mapRequest({ port: 1, options: [{ type: 'filter', prefixLength: 128, remotePeerPort: 0, remotePeerAddress: '2001:db8:100::2' }] }))).resultCode).toBe(5);
    expect((await ask(listener, mapRequest({ port: 2, options: [{ type: 'unknown', code: 99, data: Buffer.alloc(4) }] }))).resultCode).toBe(5);
    expect((await ask(listener, mapRequest({ port: 3, options: [{ type: 'unknown', code: 200, data: Buffer.alloc(4) }] }))).resultCode).toBe(0);
    expect(decider.asks.map((a) => a.internalPort)).toEqual([40030, 3]);
  });
});

describe('PCP framing', () => {
  it('ANNOUNCE: SUCCESS with the epoch', async () => {
    const { listener } = setup();
    const res = await ask(listener, encodePcpRequest({ opcode: 'announce', lifetime: 0, clientAddress: CONSOLE, options: [] }));
    expect(res).toMatchObject({ opcode: 'announce', resultCode: 0, lifetime: 0, epoch: 77 });
  });

  it('malformed (a 13-byte nonce, 61 bytes): MALFORMED_REQUEST; unknown opcode: UNSUPP_OPCODE; PEER: UNSUPP_OPCODE', async () => {
    const { listener, decider } = setup();
    const long = Buffer.concat([mapRequest().subarray(0, 36), Buffer.from([0]), mapRequest().subarray(36)]);
    expect(long.length).toBe(61);
    const malformed = await listener.handle(long, CONSOLE);
    expect(malformed?.[3]).toBe(3);
    expect(malformed?.[1]).toBe(0x81);
    const unknown = Buffer.from(mapRequest());
    unknown[1] = 9;
    expect((await listener.handle(unknown, CONSOLE))?.[3]).toBe(4);
    const peer = encodePcpRequest({ opcode: 'peer', lifetime: 120, clientAddress: CONSOLE, options: [], mapping: { nonce: NONCE, protocol: 17, internalPort: 1, externalPort: 0, externalAddress: '::', remotePeerPort: 2, remotePeerAddress: '2001:db8:100::2' } });
    expect((await ask(listener, peer)).resultCode).toBe(4);
    expect(decider.asks).toHaveLength(0);
  });

  it('version 1 or 3: UNSUPP_VERSION; a response (R bit) or a 1-byte datagram: dropped', async () => {
    const { listener } = setup();
    for (const v of [1, 3]) {
      const b = Buffer.from(mapRequest());
      b[0] = v;
      const answer = await listener.handle(b, CONSOLE);
      expect(answer?.[3]).toBe(1);
      expect(answer?.[0]).toBe(2);
    }
    const r = Buffer.from(mapRequest());
    r[1] |= 0x80;
    expect(await listener.handle(r, CONSOLE)).toBeUndefined();
    expect(await listener.handle(Buffer.from([2]), CONSOLE)).toBeUndefined();
    expect(listener.counters.dropped).toBe(2);
  });
});

describe('NAT-PMP (version 0), through the same path', () => {
  it('public address, then a UDP mapping: one ask for the sender; the assigned port and lifetime answered', async () => {
    const { listener, decider } = setup();
    const pub = decodeNatPmpResponse((await listener.handle(encodeNatPmpRequest({ opcode: 'public-address' }), CONSOLE_V4))!);
    expect(pub).toEqual({ opcode: 'public-address', resultCode: 0, epoch: 77, externalAddress: '198.51.100.1' });
    const res = decodeNatPmpResponse((await listener.handle(encodeNatPmpRequest({ opcode: 'map-udp', internalPort: 40040, suggestedExternalPort: 40040, lifetime: 7200 }), CONSOLE_V4))!);
    expect(res).toEqual({ opcode: 'map-udp', resultCode: 0, epoch: 77, internalPort: 40040, externalPort: 41000, lifetime: 3600 });
    expect(decider.asks).toEqual([{ family: 'ipv4', protocol: 'udp', internalClient: CONSOLE_V4, internalPort: 40040, suggestedExternalPort: 40040, lifetime: 7200, sender: CONSOLE_V4, thirdParty: false, preferFailure: false, via: 'natpmp' }]);
  });

  it('a refusal is the table\'s NAT-PMP code; lifetime 0 deletes; port 0 + lifetime 0 deletes all of the client\'s', async () => {
    const { listener, decider } = setup();
    decider.next = { ok: false, decision: denied('matter-device-isolation') };
    const refused = decodeNatPmpResponse((await listener.handle(encodeNatPmpRequest({ opcode: 'map-tcp', internalPort: 8080, suggestedExternalPort: 0, lifetime: 60 }), '192.168.77.42'))!);
    expect(refused.resultCode).toBe(2);
    delete decider.next;
    for (const port of [5000, 5001]) await listener.handle(encodeNatPmpRequest({ opcode: 'map-udp', internalPort: port, suggestedExternalPort: 0, lifetime: 60 }), CONSOLE_V4);
    const one = decodeNatPmpResponse((await listener.handle(encodeNatPmpRequest({ opcode: 'map-udp', internalPort: 5000, suggestedExternalPort: 0, lifetime: 0 }), CONSOLE_V4))!);
    expect(one).toMatchObject({ resultCode: 0, lifetime: 0 });
    const all = Buffer.alloc(12);
    all[1] = 1;
    expect((await listener.handle(all, CONSOLE_V4))?.readUInt16BE(2)).toBe(0);
    expect(decider.unmaps.map((a) => a.internalPort)).toEqual([5000, 5001]);
  });

  it('from an IPv6 source: NOT_AUTHORIZED (NAT-PMP is IPv4 only); unknown opcode: UNSUPP_OPCODE; wrong size: dropped', async () => {
    const { listener, decider } = setup();
    const v6 = await listener.handle(encodeNatPmpRequest({ opcode: 'map-udp', internalPort: 1, suggestedExternalPort: 0, lifetime: 60 }), CONSOLE);
    expect(v6?.readUInt16BE(2)).toBe(2);
    expect((await listener.handle(Buffer.from([0, 9]), CONSOLE_V4))?.readUInt16BE(2)).toBe(5);
    expect(await listener.handle(Buffer.from([0, 1, 0, 0]), CONSOLE_V4)).toBeUndefined();
    expect(decider.asks).toHaveLength(0);
  });
});

describe('per-source rate limit', () => {
  it('a source over its burst is dropped while another source is still answered; tokens come back with time', async () => {
    const { listener, advance, events } = setup({ burst: 3 });
    const announce = encodePcpRequest({ opcode: 'announce', lifetime: 0, clientAddress: CONSOLE, options: [] });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await listener.handle(announce, CONSOLE));
    expect(answers.map((a) => a !== undefined)).toEqual([true, true, true, false, false]);
    const other = encodePcpRequest({ opcode: 'announce', lifetime: 0, clientAddress: '2001:db8:77::11', options: [] });
    expect(await listener.handle(other, '2001:db8:77::11')).toBeDefined();
    expect(listener.counters.rateLimited).toBe(2);
    expect(events.filter((e) => e.kind === 'rate-limited')).toHaveLength(2);
    advance(1000);
    expect(await listener.handle(announce, CONSOLE)).toBeDefined();
  });
});
