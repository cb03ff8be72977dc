// Every captured PCP request of the real miniupnpd 2.3.1 (test/fixtures/miniupnpd-2.3.1/pcp),
// replayed in the capture's order against the listener the daemon runs (PcpListener) on the
// daemon's own needs path (createPcpNeedsDecider -> GatewayNeeds: journal -> engine ->
// firewall applier -> the PCP answer table), with an in-memory journal and firewall, comparing
// the result code — and, on success, the assigned external address and port — with the
// captured answer. The UDP sockets are tested apart (pcp-front.test.ts).
//
// Adjustments: the sender of each request is the client address it names (the router saw
// that source), except the address-mismatch case, sent from ::10 naming ::11 (as captured).
// The wrong-nonce case deletes port 40034, which the capture had mapped by a request not kept
// as a file: that MAP is rebuilt here from the transcript (same nonce, lifetime 120).
// Lifetimes and epochs are the engine's and this daemon's, not miniupnpd's (its min_lifetime
// of 120 s turns a 30 s request into 120 s; the engine grants the 30 s asked): compared apart.
import { decodePcpRequest, encodePcpRequest } from '../../../adapters/pcp';
import { PcpListener, PcpListenerEvent } from '../../../adapters/pcp/server';
import { GatewayDaemon } from '../../../plugin/gateway/gateway-daemon';
import { createPcpNeedsDecider } from '../../../plugin/gateway/pcp-front';
import { listReference, readReference } from '../../support/reference-fixtures';
import { startTestDaemon, testConfig, testWorld, TestWorld } from '../gateway/support';
import { CONSOLE_A, CONSOLE_B, PLUG } from '../upnp-server/server-support';

/** The capture's order (pcp-transcript.txt). */
const ORDER = [
  'announce-v6',
  'map-v6-udp',
  'map-v6-delete',
  'map-v4-udp',
  'map-v4-delete',
  'map-v6-short-lifetime',
  'map-v6-address-mismatch',
  '(map 40034)',
  'map-v6-delete-wrong-nonce',
  'malformed-61-bytes',
];

const SENDER: Record<string, string> = { 'map-v6-address-mismatch': CONSOLE_A.v6 };

function senderOf(name: string, request: Buffer): string {
  if (SENDER[name]) return SENDER[name];
  return decodePcpRequest(request.subarray(0, 60)).clientAddress;
}

function parseAnswer(bytes: Buffer): { result: number; lifetime: number; externalPort?: number; externalAddress?: string } {
  const result = bytes[3] ?? -1;
  const lifetime = bytes.readUInt32BE(4);
  if (bytes[1] !== 0x81 || bytes.length < 60 || result !== 0) return { result, lifetime };
  const port = bytes.readUInt16BE(42);
  const addr = bytes.subarray(44, 60);
  const v4 = addr.subarray(0, 12).equals(Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]));
  const externalAddress = v4 ? Array.from(addr.subarray(12)).join('.') : addr.toString('hex');
  return { result, lifetime, externalPort: port, externalAddress };
}

describe('PCP compatibility with the captured miniupnpd 2.3.1 (against the daemon\'s needs path)', () => {
  let world: TestWorld;
  let daemon: GatewayDaemon;
  let listener: PcpListener;
  const events: PcpListenerEvent[] = [];

  beforeAll(async () => {
    world = testWorld();
    const known = [
      { id: CONSOLE_A.id, kind: 'game-console', addresses: [CONSOLE_A.v6, CONSOLE_A.v4] },
      { id: CONSOLE_B.id, kind: 'game-console', addresses: [CONSOLE_B.v6, CONSOLE_B.v4] },
      { id: PLUG.id, kind: 'matter', addresses: [PLUG.v6, PLUG.v4] },
    ];
    daemon = await startTestDaemon(world, testConfig({ devices: { known, watchNeighbours: false } }));
    const now = () => world.scheduler.now();
    listener = new PcpListener({
      decider: createPcpNeedsDecider({ needs: daemon.needs, externalIpv4: () => daemon.externalIpv4(), now, epochStartedAt: now() }),
      controllers: [],
      now,
      onEvent: (e) => events.push(e),
    });
  });
  afterAll(async () => {
    await daemon.stop();
  });

  it('covers every captured case', () => {
    const files = listReference('pcp').filter((f) => f.endsWith('.request.bin')).map((f) => f.replace('.request.bin', ''));
    expect(files.length).toBeGreaterThanOrEqual(9);
    expect([...files].sort()).toEqual(ORDER.filter((n) => !n.startsWith('(')).sort());
  });

  it.each(ORDER)('%s', async (name) => {
    if (name === '(map 40034)') {
      const map = encodePcpRequest({ opcode: 'map', lifetime: 120, clientAddress: CONSOLE_A.v6, options: [], mapping: { nonce: Buffer.from('lab-nonce-v6'), protocol: 17, internalPort: 40034, externalPort: 0, externalAddress: '::' } });
      expect(parseAnswer((await listener.handle(map, CONSOLE_A.v6))!).result).toBe(0);
      return;
    }
    const request = readReference('pcp', `${name}.request.bin`);
    const expected = parseAnswer(readReference('pcp', `${name}.response.bin`));
    const answer = await listener.handle(request, senderOf(name, request));
    expect(answer).toBeDefined();
    const ours = parseAnswer(answer!);
    expect(ours.result).toBe(expected.result);
    if (expected.result === 0 && expected.externalAddress !== undefined && expected.lifetime > 0) {
      expect({ port: ours.externalPort, address: ours.externalAddress }).toEqual({ port: expected.externalPort, address: expected.externalAddress });
    }
    // A delete answers lifetime 0. (Error lifetimes differ on purpose: miniupnpd sends 0, we send RFC 6887 7.4's 30 s / 30 min.)
    if (expected.result === 0 && expected.lifetime === 0) expect(ours.lifetime).toBe(0);
  });

  it('the state after the replay: only the short-lifetime pinhole (40033) and the wrong-nonce survivor (40034) are held, journal = engine = firewall', async () => {
    const held = daemon.needs.list().map((n) => `${n.request.family}:${n.request.internalPort}`).sort();
    expect(held).toEqual(['ipv6:40033', 'ipv6:40034']);
    expect(world.journal.liveNeeds(world.scheduler.now()).map((n) => n.id).sort()).toEqual(daemon.needs.list().map((n) => n.id).sort());
    expect(daemon.engine.snapshot().grants.map((g) => g.needId).sort()).toEqual(daemon.needs.list().map((n) => n.id).sort());
    expect(events.filter((e) => e.kind === 'rejected').map((e) => (e as { result: number }).result).sort((a, b) => a - b)).toEqual([2, 3, 12]);
  });

  it('the Matter plug asking by PCP gets the same refusal as by UPnP: NOT_AUTHORIZED, the reason in the log and the decisions', async () => {
    const map = encodePcpRequest({ opcode: 'map', lifetime: 120, clientAddress: PLUG.v6, options: [], mapping: { nonce: Buffer.from('plug-nonce-0'), protocol: 17, internalPort: 5540, externalPort: 0, externalAddress: '::' } });
    const answer = (await listener.handle(map, PLUG.v6))!;
    expect(answer[3]).toBe(2);
    const upnp = await daemon.decider.addPinhole({ remoteHost: '', remotePort: 0, internalClient: PLUG.v6, internalPort: 5540, protocol: 'udp', leaseSeconds: 120 }, { address: PLUG.v6, family: 'ipv6', port: 50000 });
    expect(upnp.ok).toBe(false);
    const last = daemon.history.recent(5).filter((d) => d.deviceId === PLUG.id);
    expect(last.length).toBeGreaterThanOrEqual(2);
    for (const d of last.slice(0, 2)) expect(d).toMatchObject({ verdict: 'denied', reasons: [expect.objectContaining({ code: 'matter-device-isolation' })] });
    expect(events).toContainEqual(expect.objectContaining({ kind: 'refused', sender: PLUG.v6, answer: expect.objectContaining({ pcp: 2, reason: expect.objectContaining({ rule: 'matter-isolation', code: 'matter-device-isolation' }) }) }));
    const pcpNeed = daemon.history.recent(5).find((d) => d.deviceId === PLUG.id);
    expect(pcpNeed?.needId).toMatch(/5540/);
  });
});
