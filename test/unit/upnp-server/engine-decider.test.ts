// The engine-backed decider through the real HTTP server: policy decisions become the faults
// a client sees, with the decision (and its reasons) in the engine's output and the log.
import { VirtualTimeScheduler } from 'rxjs';
import {
  SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, SERVICE_WAN_IP_CONNECTION_2, createEngineDecider, createIgdHttpServer, defineIgdDevice,
  EngineDecider, IgdHttpServer, refusalFor, Requester,
} from '../../../adapters/upnp';
import { createPolicyEngine, Decision } from '../../../policies';
import { CONSOLE_A, CONSOLE_B, LabEngine, PLUG, exchange, labEngine, mapLoopbackPeer, parseRawResponse, soapRequest, sourceFor } from './server-support';

const igd = defineIgdDevice({ uuid: '2f1c9e3a-5b7d-4c1e-9a2b-000000000001' });
const FW = igd.services.find((s) => s.definition.kind === 'wanIpv6FirewallControl')!.controlPath;
const IPC = igd.services.find((s) => s.definition.kind === 'wanIpConnection')!.controlPath;

const pinhole = (client: string, port: number, lease = 600): string => soapRequest(FW, SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, 'AddPinhole', [
  ['RemoteHost', ''], ['RemotePort', 0], ['InternalClient', client], ['InternalPort', port], ['Protocol', 17], ['LeaseTime', lease],
]);
const mapping = (action: 'AddPortMapping' | 'AddAnyPortMapping', client: string, ext: number, internal = ext): string =>
  soapRequest(IPC, SERVICE_WAN_IP_CONNECTION_2, action, [
    ['NewRemoteHost', ''], ['NewExternalPort', ext], ['NewProtocol', 'UDP'], ['NewInternalPort', internal], ['NewInternalClient', client],
    ['NewEnabled', 1], ['NewPortMappingDescription', 'game'], ['NewLeaseDuration', 3600],
  ]);

describe('engine-backed decider behind the HTTP server', () => {
  let lab: LabEngine;
  let decider: EngineDecider;
  let server: IgdHttpServer;
  let decisions: Decision[];
  let warnings: Array<{ message: string; fields: Record<string, unknown> }>;
  let port: number;
  const send = async (bytes: string, from: string) => parseRawResponse(await exchange(port, bytes, { localAddress: sourceFor(from) }));

  beforeEach(async () => {
    lab = labEngine(true);
    decisions = [];
    warnings = [];
    lab.engine.decisions$.subscribe((d) => decisions.push(d));
    decider = createEngineDecider({
      engine: lab.engine, scheduler: lab.scheduler, deviceIdOf: lab.deviceIdOf, externalIpv4: () => '198.51.100.1',
      logger: { info: () => undefined, warn: (message, fields) => warnings.push({ message, fields }) },
    });
    server = createIgdHttpServer({ igd, decider, listen: [{ host: '127.0.0.1', port: 0 }], peerAddress: mapLoopbackPeer });
    await server.start();
    port = server.addresses()[0].port;
  });
  afterEach(async () => {
    await server.close();
    decider.dispose();
    lab.engine.dispose();
  });

  it('refuses a Matter device its own pinhole with 606, and the decision names the device', async () => {
    const res = await send(pinhole(PLUG.v6, 5540 + 40000), PLUG.v6);
    expect(res.status).toBe(500);
    expect(res.errorCode).toBe(606);
    const d = decisions.find((x) => x.deviceId === PLUG.id && x.verdict === 'denied');
    expect(d?.reasons[0]).toMatchObject({ rule: 'matter-isolation', code: 'matter-device-isolation', conflictsWith: { kind: 'device', id: PLUG.id } });
    expect(warnings[0]).toMatchObject({ message: 'request refused', fields: { code: 606, deviceId: PLUG.id } });
    expect(decider.pinholes()).toEqual([]);
    expect(lab.engine.snapshot().grants).toEqual([]);
  });

  it('gives the first console UDP 3074, the second 718 on AddPortMapping and another port on AddAnyPortMapping', async () => {
    expect((await send(mapping('AddPortMapping', CONSOLE_A.v4, 3074), CONSOLE_A.v4)).status).toBe(200);
    const second = await send(mapping('AddPortMapping', CONSOLE_B.v4, 3074), CONSOLE_B.v4);
    expect(second.errorCode).toBe(718);
    const any = await send(mapping('AddAnyPortMapping', CONSOLE_B.v4, 3074), CONSOLE_B.v4);
    expect(any.status).toBe(200);
    const reserved = Number(/<NewReservedPort>(\d+)<\/NewReservedPort>/.exec(any.body)?.[1]);
    expect(reserved).not.toBe(3074);
    expect(reserved).toBeGreaterThanOrEqual(1024);
    const grants = lab.engine.snapshot().grants.filter((g) => g.table === 'port-mapping');
    expect(grants.map((g) => [g.internalClient, g.externalPort]).sort()).toEqual([[CONSOLE_A.v4, 3074], [CONSOLE_B.v4, reserved]].sort());
    expect(decider.portMappings().map((m) => [m.internalClient, m.externalPort]).sort()).toEqual([[CONSOLE_A.v4, 3074], [CONSOLE_B.v4, reserved]].sort());
  });

  it('keeps the same UniqueID for the same 5-tuple and a different one for another port', async () => {
    const uid = async (p: number): Promise<string | undefined> => /<UniqueID>(\d+)</.exec((await send(pinhole(CONSOLE_A.v6, p), CONSOLE_A.v6)).body)?.[1];
    const a = await uid(41000);
    expect(await uid(41000)).toBe(a);
    expect(await uid(41001)).not.toBe(a);
    expect(lab.engine.snapshot().grants.filter((g) => g.table === 'pinhole')).toHaveLength(2);
  });

  it('drops a pinhole whose device is later revealed as Matter', async () => {
    expect((await send(pinhole(CONSOLE_A.v6, 41000), CONSOLE_A.v6)).status).toBe(200);
    lab.engine.submit({ type: 'device-seen', deviceId: CONSOLE_A.id, kinds: [{ kind: 'matter', evidence: 'mdns:_matter._tcp' }] });
    expect(decider.pinholes()).toEqual([]);
    expect(warnings.some((w) => w.message.startsWith('grant withdrawn'))).toBe(true);
  });
});

describe('engine-backed decider leases (virtual time)', () => {
  it('ends the need when the client lease runs out without renewal, not before', () => {
    const scheduler = new VirtualTimeScheduler(undefined, 10_000_000);
    const engine = createPolicyEngine({ scheduler });
    engine.submit({ type: 'gateway-seen', gatewayId: 'self', bootId: '1' });
    const decider = createEngineDecider({ engine, scheduler });
    const who: Requester = { address: CONSOLE_A.v6, family: 'ipv6', port: 40000 };
    const r = decider.addPinhole({ remoteHost: '', remotePort: 0, internalClient: CONSOLE_A.v6, internalPort: 41000, protocol: 'udp', leaseSeconds: 600 }, who);
    expect(r).toEqual({ ok: true, value: { uniqueId: 1 } });
    const ended: string[] = [];
    engine.decisions$.subscribe((d) => { if (d.verdict === 'withdrawn') ended.push(d.needId); });
    scheduler.maxFrames = 599_000;
    scheduler.flush();
    expect(decider.pinholes()).toHaveLength(1);
    scheduler.maxFrames = 601_000;
    scheduler.flush();
    expect(decider.pinholes()).toHaveLength(0);
    expect(ended).toHaveLength(1);
    expect(engine.snapshot().grants).toEqual([]);
    decider.dispose();
    engine.dispose();
  });
});

describe('refusalFor', () => {
  const base: Omit<Decision, 'verdict' | 'reasons'> = { type: 'decision', seq: 1, at: 0, cause: 'need-submitted', needId: 'n', deviceId: 'd', changes: [], grants: [] };
  it.each([
    ['denied', { rule: 'port-hygiene', code: 'protocol-not-allowed' }, 'pinhole', 705],
    ['denied', { rule: 'port-hygiene', code: 'protocol-not-allowed' }, 'add-mapping', 402],
    ['denied', { rule: 'requester-owns-target', code: 'target-not-owned' }, 'pinhole', 606],
    ['queued', { rule: 'capacity', code: 'capacity-full' }, 'pinhole', 701],
    ['queued', { rule: 'capacity', code: 'capacity-full' }, 'add-mapping', 728],
    ['denied', { rule: 'router-feedback', code: 'inbound-pinhole-not-allowed' }, 'pinhole', 703],
    ['ineffective', { rule: 'ipv6-mostly', code: 'cgnat' }, 'add-mapping', 501],
    ['queued', { rule: 'router-feedback', code: 'no-gateway' }, 'pinhole', 501],
  ] as const)('%s %o on %s -> %i', (verdict, r, op, code) => {
    expect(refusalFor({ ...base, verdict, reasons: [r] }, op).code).toBe(code);
  });
});
