import { VirtualTimeScheduler } from 'rxjs';
import {
  decodePcpRequest,
  encodePcpResponse,
  PcpClient,
  PcpClientEvent,
  PcpMappingEvent,
  PcpResultError,
  PcpTimeoutError,
  PcpUnsupportedVersionError,
  PcpRequestError,
  PcpRequest,
} from '../../../adapters/pcp';
import { readReference } from '../../support/reference-fixtures';
import { advance, FakePcpTransport, settle } from './fake-pcp-transport';

const pcp = (name: string) => readReference('pcp', name);

function setup(local = '2001:db8:77::10', server = '2001:db8:77::1', nonces: string[] = ['lab-nonce-v6']) {
  const scheduler = new VirtualTimeScheduler();
  const transport = new FakePcpTransport(local, server, scheduler);
  const queue = [...nonces];
  const client = new PcpClient({ transport, scheduler, nonce: () => Buffer.from(queue.shift() ?? 'spare-nonce!'), retransmission: { random: () => 0.5 } });
  const events: PcpClientEvent[] = [];
  client.events$.subscribe((e) => events.push(e));
  return { scheduler, transport, client, events };
}

/** The router's answer to the last request, SUCCESS unless told, as miniupnpd would give it. */
function answer(request: Buffer, fields: { resultCode?: number; lifetime?: number; epoch: number; externalAddress?: string; externalPort?: number }): Buffer {
  const r = decodePcpRequest(request) as Extract<PcpRequest, { opcode: 'map' }>;
  return encodePcpResponse({
    opcode: 'map',
    resultCode: fields.resultCode ?? 0,
    lifetime: fields.lifetime ?? r.lifetime,
    epoch: fields.epoch,
    options: r.options,
    mapping: { ...r.mapping, externalPort: fields.externalPort ?? r.mapping.internalPort, externalAddress: fields.externalAddress ?? r.clientAddress },
  });
}

const last = (t: FakePcpTransport) => t.sent[t.sent.length - 1].data;

describe('PcpClient with the captured miniupnpd answers', () => {
  it('opens the IPv6 pinhole and deletes it with exactly the captured bytes', async () => {
    const { transport, client } = setup();
    const granted = client.map({ protocol: 'udp', internalPort: 40030, lifetimeSeconds: 120 });
    expect(transport.sent.map((s) => s.data)).toEqual([pcp('map-v6-udp.request.bin')]);
    transport.deliver(pcp('map-v6-udp.response.bin'));
    const mapping = await granted;
    expect(mapping.state).toMatchObject({ externalAddress: '2001:db8:77::10', externalPort: 40030, lifetime: 120, epoch: 0, protocol: 17 });
    const deleted = mapping.delete();
    expect(last(transport)).toEqual(pcp('map-v6-delete.request.bin'));
    transport.deliver(pcp('map-v6-delete.response.bin'));
    await expect(deleted).resolves.toBeUndefined();
    expect(client.activeMappings).toHaveLength(0);
  });

  it('opens the IPv4 mapping (client address IPv4-mapped) and deletes it with the captured bytes', async () => {
    const { transport, client } = setup('192.168.77.10', '192.168.77.1', ['lab-nonce-v4']);
    const granted = client.map({ protocol: 'udp', internalPort: 40031, suggestedExternalPort: 40031, lifetimeSeconds: 120 });
    expect(last(transport)).toEqual(pcp('map-v4-udp.request.bin'));
    transport.deliver(pcp('map-v4-udp.response.bin'));
    const mapping = await granted;
    expect(mapping.state).toMatchObject({ externalAddress: '198.51.100.1', externalPort: 40031, epoch: 3 });
    const deleted = mapping.delete();
    expect(last(transport)).toEqual(pcp('map-v4-delete.request.bin'));
    transport.deliver(pcp('map-v4-delete.response.bin'));
    await deleted;
  });

  it('surfaces ADDRESS_MISMATCH and NOT_AUTHORIZED as typed errors', async () => {
    const { transport, client } = setup('2001:db8:77::10', '2001:db8:77::1', ['other-nonce!']);
    const refused = client.map({ protocol: 'udp', internalPort: 40034, lifetimeSeconds: 120 });
    transport.deliver(pcp('map-v6-delete-wrong-nonce.response.bin')); // NOT_AUTHORIZED for nonce other-nonce!, port 40034
    const error = await refused.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PcpResultError);
    expect(error).toMatchObject({ resultCode: 2, resultName: 'NOT_AUTHORIZED' });
    expect((error as Error).message).toMatch(/PCP MAP udp\/40034 for 2001:db8:77::10: NOT_AUTHORIZED \(2\)/);
  });

  it('ignores answers that do not match the request (nonce, port, protocol, sender) and ones that do not parse', async () => {
    const { transport, client, events } = setup();
    const granted = client.map({ protocol: 'udp', internalPort: 40030, lifetimeSeconds: 120 });
    const good = pcp('map-v6-udp.response.bin');
    const wrongNonce = Buffer.from(good);
    wrongNonce[24] ^= 1;
    const wrongPort = Buffer.from(good);
    wrongPort.writeUInt16BE(40031, 40);
    const wrongProtocol = Buffer.from(good);
    wrongProtocol[36] = 6;
    for (const b of [wrongNonce, wrongPort, wrongProtocol]) transport.deliver(b);
    transport.deliver(good, { remoteAddress: '2001:db8:77::66' });
    transport.deliver(good, { remotePort: 5352 });
    transport.deliver(good.subarray(0, 30));
    let done = false;
    void granted.then(() => (done = true));
    await settle();
    expect(done).toBe(false);
    expect(events).toEqual([expect.objectContaining({ type: 'malformed', via: 'unicast' })]);
    transport.deliver(good);
    await expect(granted).resolves.toBeDefined();
  });
});

describe('PcpClient retransmission, renewal and epoch on virtual time', () => {
  it('retries fast once, then on the RFC schedule (3 s doubling), and gives up with a typed timeout', async () => {
    const { scheduler, transport, client } = setup();
    const granted = client.map({ protocol: 'udp', internalPort: 40030, lifetimeSeconds: 120 });
    advance(scheduler, 10_000);
    expect(transport.sent.map((s) => s.atMs)).toEqual([0, 100, 3100, 9100]);
    expect(new Set(transport.sent.map((s) => s.data.toString('hex'))).size).toBe(1);
    const error = await granted.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PcpTimeoutError);
    expect((error as Error).message).toMatch(/after 4 transmissions in 10000 ms/);
  });

  it('stops retransmitting on the answer', async () => {
    const { scheduler, transport, client } = setup();
    const granted = client.map({ protocol: 'udp', internalPort: 40030, lifetimeSeconds: 120 });
    advance(scheduler, 150);
    transport.deliver(pcp('map-v6-udp.response.bin'));
    await granted;
    advance(scheduler, 20_000);
    expect(transport.sent.map((s) => s.atMs)).toEqual([0, 100]);
  });

  it('renews before half the lifetime with the same nonce and the assigned external port as the suggestion', async () => {
    const { scheduler, transport, client } = setup();
    const granted = client.map({ protocol: 'udp', internalPort: 40030, lifetimeSeconds: 600 });
    transport.deliver(answer(last(transport), { epoch: 10, lifetime: 120, externalPort: 50000 }));
    const mapping = await granted;
    const changes: PcpMappingEvent[] = [];
    mapping.changes$.subscribe((e) => changes.push(e));
    advance(scheduler, 53_999);
    expect(transport.sent).toHaveLength(1);
    advance(scheduler, 1);
    expect(transport.sent).toHaveLength(2);
    expect(transport.sent[1].atMs).toBe(54_000); // 45 % of 120 s
    const renewal = decodePcpRequest(last(transport)) as Extract<PcpRequest, { opcode: 'map' }>;
    expect(renewal.mapping.nonce.toString()).toBe('lab-nonce-v6');
    expect(renewal).toMatchObject({ lifetime: 600, mapping: { externalPort: 50000, externalAddress: '2001:db8:77::10' } });
    transport.deliver(answer(last(transport), { epoch: 64, lifetime: 120, externalPort: 50000 }));
    expect(changes).toEqual([{ type: 'renewed', state: expect.objectContaining({ grantedAtMs: 54_000, epoch: 64 }) }]);
    advance(scheduler, 54_000);
    expect(transport.sent).toHaveLength(3);
  });

  it('waits out a lifetime longer than a JavaScript timer holds (32-bit seconds) instead of renewing at once', async () => {
    const { scheduler, transport, client } = setup();
    const granted = client.map({ protocol: 'udp', internalPort: 40030, lifetimeSeconds: 0xffffffff });
    transport.deliver(answer(last(transport), { epoch: 10 }));
    await granted;
    const renewAt = Math.round(0xffffffff * 1000 * 0.45);
    advance(scheduler, 3 * 2_147_483_647);
    expect(transport.sent).toHaveLength(1);
    advance(scheduler, renewAt - 3 * 2_147_483_647);
    expect(transport.sent).toHaveLength(2);
    expect(transport.sent[1].atMs).toBe(renewAt);
  });

  it('retries a short-lived renewal error, gives up on a long-lived one', async () => {
    const { scheduler, transport, client } = setup();
    const granted = client.map({ protocol: 'udp', internalPort: 40030, lifetimeSeconds: 120 });
    transport.deliver(answer(last(transport), { epoch: 10 }));
    const mapping = await granted;
    const changes: PcpMappingEvent[] = [];
    mapping.changes$.subscribe({ next: (e) => changes.push(e), complete: () => changes.push({ type: 'expired' }) });
    advance(scheduler, 54_000);
    transport.deliver(answer(last(transport), { epoch: 64, resultCode: 8, lifetime: 5 })); // NO_RESOURCES for 5 s
    expect(transport.sent).toHaveLength(2);
    advance(scheduler, 5_000);
    expect(transport.sent).toHaveLength(3);
    transport.deliver(answer(last(transport), { epoch: 69, resultCode: 2, lifetime: 0 })); // NOT_AUTHORIZED
    expect(changes[0]).toMatchObject({ type: 'failed', error: { resultName: 'NOT_AUTHORIZED' } });
    expect(mapping.isActive).toBe(false);
    advance(scheduler, 200_000);
    expect(transport.sent).toHaveLength(3);
  });

  it('reports expiry when no renewal gets through', async () => {
    const { scheduler, transport, client } = setup();
    const granted = client.map({ protocol: 'udp', internalPort: 40030, lifetimeSeconds: 120 });
    transport.deliver(answer(last(transport), { epoch: 10 }));
    const mapping = await granted;
    const changes: PcpMappingEvent[] = [];
    mapping.changes$.subscribe((e) => changes.push(e));
    advance(scheduler, 119_000);
    expect(changes).toEqual([]);
    advance(scheduler, 1_000);
    expect(changes).toEqual([{ type: 'expired' }]);
    expect(client.activeMappings).toHaveLength(0);
  });

  it('maps again at once when an unsolicited ANNOUNCE shows the epoch went back', async () => {
    const { scheduler, transport, client, events } = setup();
    const granted = client.map({ protocol: 'udp', internalPort: 40030, lifetimeSeconds: 120 });
    transport.deliver(answer(last(transport), { epoch: 500 }));
    const mapping = await granted;
    const changes: PcpMappingEvent[] = [];
    mapping.changes$.subscribe((e) => changes.push(e));
    advance(scheduler, 20_000);
    const announce = encodePcpResponse({ opcode: 'announce', resultCode: 0, lifetime: 0, epoch: 0, options: [] });
    transport.deliver(announce, { remoteAddress: 'fe80::1', remotePort: 5351, via: 'announce' });
    expect(events.map((e) => e.type)).toEqual(['announcement', 'epoch-lost']);
    expect(events[1]).toMatchObject({ epoch: 0, previousEpoch: 500, atMs: 20_000, via: 'announce' });
    expect(transport.sent).toHaveLength(2);
    expect(transport.sent[1].atMs).toBe(20_000);
    const remap = decodePcpRequest(last(transport)) as Extract<PcpRequest, { opcode: 'map' }>;
    expect(remap.mapping.nonce.toString()).toBe('lab-nonce-v6');
    advance(scheduler, 2);
    transport.deliver(answer(last(transport), { epoch: 0 }));
    expect(changes).toEqual([{ type: 'remapped', state: expect.objectContaining({ epoch: 0 }), elapsedMs: 2 }]);
  });

  it('checks its own server\'s epoch when another address of the router (IPv4) announces, then maps again', async () => {
    const scheduler = new VirtualTimeScheduler();
    const transport = new FakePcpTransport('2001:db8:77::10', '2001:db8:77::1', scheduler);
    const client = new PcpClient({ transport, scheduler, nonce: () => Buffer.from('lab-nonce-v6'), serverAliases: ['192.168.77.1'] });
    const granted = client.map({ protocol: 'udp', internalPort: 40030, lifetimeSeconds: 120 });
    transport.deliver(answer(last(transport), { epoch: 50 }));
    const mapping = await granted;
    const changes: PcpMappingEvent[] = [];
    mapping.changes$.subscribe((e) => changes.push(e));
    advance(scheduler, 5_000);
    const ipv4Announce = encodePcpResponse({ opcode: 'announce', resultCode: 0, lifetime: 0, epoch: 0, options: [] });
    transport.deliver(ipv4Announce, { remoteAddress: '192.168.77.9', via: 'announce' }); // not the router: ignored
    expect(transport.sent).toHaveLength(1);
    transport.deliver(ipv4Announce, { remoteAddress: '192.168.77.1', via: 'announce' });
    transport.deliver(ipv4Announce, { remoteAddress: '192.168.77.1', via: 'announce' }); // one check at a time
    expect(transport.sent).toHaveLength(2);
    expect(decodePcpRequest(last(transport))).toMatchObject({ opcode: 'announce', clientAddress: '2001:db8:77::10', lifetime: 0 });
    expect(mapping.state.epoch).toBe(50); // an IPv4 epoch alone does not move the IPv6 mapping
    transport.deliver(encodePcpResponse({ opcode: 'announce', resultCode: 0, lifetime: 0, epoch: 0, options: [] }));
    expect(transport.sent).toHaveLength(3);
    expect(decodePcpRequest(last(transport)).opcode).toBe('map');
    transport.deliver(answer(last(transport), { epoch: 0 }));
    expect(changes).toEqual([{ type: 'remapped', state: expect.objectContaining({ epoch: 0 }), elapsedMs: 0 }]);
  });

  it('detects an epoch that jumps forward (RFC 6887 8.5) on an ordinary answer, but not normal drift', async () => {
    const { scheduler, transport, client, events } = setup('2001:db8:77::10', '2001:db8:77::1', ['nonce-one-aa', 'nonce-two-bb']);
    const first = client.map({ protocol: 'udp', internalPort: 40030, lifetimeSeconds: 1000 });
    transport.deliver(answer(last(transport), { epoch: 100 }));
    const one = await first;
    advance(scheduler, 100_000);
    const second = client.map({ protocol: 'udp', internalPort: 40031, lifetimeSeconds: 1000 });
    transport.deliver(answer(last(transport), { epoch: 203 })); // 100 s later, 103 s on the server: within tolerance
    await second;
    expect(events).toEqual([]);
    advance(scheduler, 10_000);
    const sentBefore = transport.sent.length;
    void client.announce();
    transport.deliver(encodePcpResponse({ opcode: 'announce', resultCode: 0, lifetime: 0, epoch: 5000, options: [] }));
    expect(events.map((e) => e.type)).toEqual(['epoch-lost']);
    const remaps = transport.sent.slice(sentBefore + 1).map((s) => (decodePcpRequest(s.data) as Extract<PcpRequest, { opcode: 'map' }>).mapping.nonce.toString());
    expect(remaps.sort()).toEqual(['nonce-one-aa', 'nonce-two-bb']);
    expect(one.isActive).toBe(true);
  });

  it('sends THIRD_PARTY for another host and surfaces UNSUPP_OPTION as a typed error', async () => {
    const { transport, client } = setup('2001:db8:77::5', '2001:db8:77::1', ['hub-for-cons']);
    const refused = client.map({ protocol: 'udp', internalPort: 40070, lifetimeSeconds: 120, internalAddress: '2001:db8:77::10' });
    const sent = decodePcpRequest(last(transport));
    expect(sent.clientAddress).toBe('2001:db8:77::5');
    expect(sent.options).toEqual([{ type: 'third-party', address: '2001:db8:77::10' }]);
    transport.deliver(answer(last(transport), { epoch: 1, resultCode: 5, lifetime: 0 }));
    const error = await refused.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PcpResultError);
    expect(error).toMatchObject({ resultCode: 5, resultName: 'UNSUPP_OPTION' });
    expect((error as Error).message).toMatch(/THIRD_PARTY from 2001:db8:77::5/);
  });

  it('turns a version-0 UNSUPP_VERSION answer into PcpUnsupportedVersionError (use NAT-PMP)', async () => {
    const { transport, client } = setup('192.168.77.10', '192.168.77.1');
    const refused = client.map({ protocol: 'tcp', internalPort: 8080, lifetimeSeconds: 120 });
    transport.deliver(Buffer.from('0081000100000010', 'hex'));
    await expect(refused).rejects.toBeInstanceOf(PcpUnsupportedVersionError);
  });

  it('refuses bad arguments before sending anything', async () => {
    const { transport, client } = setup();
    await expect(client.map({ protocol: 'udp', internalPort: 40030, lifetimeSeconds: 0 })).rejects.toThrow(/lifetimeSeconds must be a positive integer/);
    await expect(client.map({ protocol: 'udp', internalPort: 70000, lifetimeSeconds: 60 })).rejects.toBeInstanceOf(PcpRequestError);
    await expect(client.map({ protocol: 'udp', internalPort: 1, lifetimeSeconds: 60, internalAddress: 'console' })).rejects.toThrow(/'console' is not an IP address/);
    expect(transport.sent).toHaveLength(0);
  });

  it('close() stops timers and fails what is in flight', async () => {
    const { scheduler, transport, client } = setup();
    const granted = client.map({ protocol: 'udp', internalPort: 40030, lifetimeSeconds: 120 });
    client.close();
    await expect(granted).rejects.toThrow(/closed/);
    advance(scheduler, 60_000);
    expect(transport.sent).toHaveLength(1);
    expect(transport.listenerCount).toBe(0);
  });
});
