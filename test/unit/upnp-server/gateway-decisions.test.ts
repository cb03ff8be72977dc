// The daemon's decisions through its real IGD front (HTTP on loopback, needs path, engine,
// in-memory firewall): policy decisions become the faults a client sees, with the reason
// code and the engine's detail in the errorDescription, and the decision in the engine's output.
import { controlPathOf } from '../../../adapters/upnp/server/igd-device';
import { SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, SERVICE_WAN_IP_CONNECTION_2 } from '../../../adapters/upnp';
import { Decision } from '../../../policies';
import { DaemonFront, startDaemonFront } from './daemon-front';
import { CONSOLE_A, CONSOLE_B, PLUG, exchange, parseRawResponse, soapRequest, sourceFor } from './server-support';

describe('the gateway daemon behind its IGD front', () => {
  let front: DaemonFront;
  let decisions: Decision[];
  let FW = '';
  let IPC = '';
  const send = async (bytes: string, from: string) => parseRawResponse(await exchange(front.port, bytes, { localAddress: sourceFor(from) }));
  const description = (body: string) => /<errorDescription>([^<]*)<\/errorDescription>/.exec(body)?.[1];
  const pinhole = (client: string, port: number, lease = 600): string => soapRequest(FW, SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, 'AddPinhole', [
    ['RemoteHost', ''], ['RemotePort', 0], ['InternalClient', client], ['InternalPort', port], ['Protocol', 17], ['LeaseTime', lease],
  ]);
  const mapping = (action: 'AddPortMapping' | 'AddAnyPortMapping', client: string, ext: number, internal = ext): string =>
    soapRequest(IPC, SERVICE_WAN_IP_CONNECTION_2, action, [
      ['NewRemoteHost', ''], ['NewExternalPort', ext], ['NewProtocol', 'UDP'], ['NewInternalPort', internal], ['NewInternalClient', client],
      ['NewEnabled', 1], ['NewPortMappingDescription', 'game'], ['NewLeaseDuration', 3600],
    ]);

  beforeEach(async () => {
    front = await startDaemonFront({ withPlug: true });
    FW = controlPathOf(front.igd, 'wanIpv6FirewallControl');
    IPC = controlPathOf(front.igd, 'wanIpConnection');
    decisions = [];
    front.daemon.engine.decisions$.subscribe((d) => decisions.push(d));
  });
  afterEach(async () => {
    await front.stop();
  });

  it("refuses a Matter device's own high-port pinhole with 606 whose errorDescription names the rule and the device", async () => {
    const res = await send(pinhole(PLUG.v6, 40420), PLUG.v6);
    expect(res.status).toBe(500);
    expect(res.errorCode).toBe(606);
    expect(description(res.body)).toMatch(/^Action not authorized: matter-device-isolation — matter-plug is matter \(config:devices.known\); this gateway keeps Matter and IoT devices unreachable from the Internet$/);
    const d = decisions.find((x) => x.deviceId === PLUG.id && x.verdict === 'denied');
    expect(d?.reasons[0]).toMatchObject({ rule: 'matter-isolation', code: 'matter-device-isolation', conflictsWith: { kind: 'device', id: PLUG.id } });
    expect(front.world.lines.some((l) => l.msg === 'control refused' && l.code === 606 && String(l.detail).includes('matter-device-isolation'))).toBe(true);
    expect(front.daemon.engine.snapshot().grants).toEqual([]);
    expect(await front.world.firewall.list()).toEqual([]);
    expect(front.daemon.needs.size).toBe(0);
  });

  it('gives the first console UDP 3074, the second 718 (naming the holder) on AddPortMapping and another port on AddAnyPortMapping', async () => {
    expect((await send(mapping('AddPortMapping', CONSOLE_A.v4, 3074), CONSOLE_A.v4)).status).toBe(200);
    const second = await send(mapping('AddPortMapping', CONSOLE_B.v4, 3074), CONSOLE_B.v4);
    expect(second.errorCode).toBe(718);
    expect(description(second.body)).toContain(`ConflictInMappingEntry: external-port-unavailable — external port 3074 is not available (held by upnp4:udp:3074:*:${CONSOLE_A.v4})`);
    const any = await send(mapping('AddAnyPortMapping', CONSOLE_B.v4, 3074), CONSOLE_B.v4);
    expect(any.status).toBe(200);
    const reserved = Number(/<NewReservedPort>(\d+)<\/NewReservedPort>/.exec(any.body)?.[1]);
    expect(reserved).not.toBe(3074);
    expect(reserved).toBeGreaterThanOrEqual(1024);
    const grants = front.daemon.engine.snapshot().grants.filter((g) => g.table === 'port-mapping');
    expect(grants.map((g) => [g.internalClient, g.externalPort]).sort()).toEqual([[CONSOLE_A.v4, 3074], [CONSOLE_B.v4, reserved]].sort());
    const kernel = (await front.world.firewall.list()).map((e) => [e.internalClient, e.externalPort]).sort();
    expect(kernel).toEqual([[CONSOLE_A.v4, 3074], [CONSOLE_B.v4, reserved]].sort());
  });

  it('keeps the same UniqueID for the same 5-tuple and a different one for another port', async () => {
    const uid = async (p: number): Promise<string | undefined> => /<UniqueID>(\d+)</.exec((await send(pinhole(CONSOLE_A.v6, p), CONSOLE_A.v6)).body)?.[1];
    const a = await uid(41000);
    expect(a).toBe('1');
    expect(await uid(41000)).toBe(a);
    expect(await uid(41001)).toBe('2');
    expect(front.daemon.engine.snapshot().grants.filter((g) => g.table === 'pinhole')).toHaveLength(2);
  });

  it('drops a pinhole whose device is later revealed as Matter: the grant, the kernel entry and the need', async () => {
    expect((await send(pinhole(CONSOLE_A.v6, 41000), CONSOLE_A.v6)).status).toBe(200);
    expect(front.daemon.needs.size).toBe(1);
    front.daemon.engine.submit({ type: 'device-seen', deviceId: CONSOLE_A.id, kinds: [{ kind: 'matter', evidence: 'mdns:_matter._tcp' }] });
    await new Promise((resolve) => setImmediate(resolve));
    expect(front.daemon.engine.snapshot().grants).toEqual([]);
    expect(await front.world.firewall.list()).toEqual([]);
    expect(front.daemon.needs.size).toBe(0);
    // UpdatePinhole on it now: the UniqueID is gone (402, as miniupnpd for an unknown UniqueID).
    const update = await send(soapRequest(FW, SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, 'UpdatePinhole', [['UniqueID', 1], ['NewLeaseTime', 600]]), CONSOLE_A.v6);
    expect(update.errorCode).toBe(402);
  });
});
