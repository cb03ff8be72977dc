// Issue 10 items 2 and 4: what real third-party clients send, through the daemon's real IGD front
// (needs path, engine, in-memory firewall). Each case failed before the fix: the gateway answered
// 401/402/730, stored a 7200 s lease for a 0 (maximum) request without the engine saying why, or
// refused nat-port-mapper's unmap while the port stayed open.
import { controlPathOf } from '../../../adapters/upnp/server/igd-device';
import { SERVICE_WAN_IPV6_FIREWALL_CONTROL_1, SERVICE_WAN_IP_CONNECTION_1, SERVICE_WAN_IP_CONNECTION_2 } from '../../../adapters/upnp';
import { Decision } from '../../../policies';
import { DaemonFront, startDaemonFront } from './daemon-front';
import { CONSOLE_A, CONSOLE_B, PLUG, exchange, parseRawResponse, soapRequest, sourceFor } from './server-support';

describe('the gateway accepts what real clients send (issue 10 items 2 and 4)', () => {
  let front: DaemonFront;
  let decisions: Decision[];
  let FW = '';
  let IPC = '';
  const send = async (bytes: string, from: string) => parseRawResponse(await exchange(front.port, bytes, { localAddress: sourceFor(from) }));
  /** AddPinhole as @achingbrain/nat-port-mapper sends it: WANIPConnection:2 URL and SOAPAction, empty RemotePort. */
  const jsPinhole = (client: string, port: number, path = IPC, serviceType = SERVICE_WAN_IP_CONNECTION_2): string => soapRequest(path, serviceType, 'AddPinhole', [
    ['RemoteHost', ''], ['RemotePort', ''], ['InternalClient', client], ['InternalPort', port], ['Protocol', 17], ['LeaseTime', 3600],
  ]);
  const mapping = (client: string, ext: number, protocol: 'TCP' | 'UDP', lease: number): string => soapRequest(IPC, SERVICE_WAN_IP_CONNECTION_2, 'AddPortMapping', [
    ['NewRemoteHost', ''], ['NewExternalPort', ext], ['NewProtocol', protocol], ['NewInternalPort', ext], ['NewInternalClient', client],
    ['NewEnabled', 1], ['NewPortMappingDescription', 'game'], ['NewLeaseDuration', lease],
  ]);
  const specific = (ext: number, protocol: string) => soapRequest(IPC, SERVICE_WAN_IP_CONNECTION_2, 'GetSpecificPortMappingEntry', [
    ['NewRemoteHost', ''], ['NewExternalPort', ext], ['NewProtocol', protocol],
  ]);
  const unmap = (ext: number, protocol = '') => soapRequest(IPC, SERVICE_WAN_IP_CONNECTION_2, 'DeletePortMapping', [
    ['NewRemoteHost', ''], ['NewExternalPort', ext], ['NewProtocol', protocol],
  ]);
  const quirkLines = (quirk: string) => front.world.lines.filter((l) => l.msg === 'client quirk accepted' && l.quirk === quirk);

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

  describe('item 2: AddPinhole at the WANIPConnection:2 URL, empty RemotePort', () => {
    it('opens the pinhole (grant and kernel entry) and logs the quirks once per client', async () => {
      const first = await send(jsPinhole(CONSOLE_A.v6, 41000), CONSOLE_A.v6);
      expect(first.status).toBe(200);
      expect(first.body).toMatch(/<UniqueID>\d+<\/UniqueID>/);
      expect((await send(jsPinhole(CONSOLE_A.v6, 41001), CONSOLE_A.v6)).status).toBe(200);
      const pinholes = front.daemon.engine.snapshot().grants.filter((g) => g.table === 'pinhole');
      expect(pinholes.map((g) => g.internalPort).sort()).toEqual([41000, 41001]);
      expect((await front.world.firewall.list()).map((e) => e.internalPort).sort()).toEqual([41000, 41001]);
      expect(quirkLines('pinhole-action-at-wanipconnection-url')).toHaveLength(1);
      expect(quirkLines('empty-remote-port')).toHaveLength(1);
      expect(quirkLines('empty-remote-port')[0]).toMatchObject({ requester: CONSOLE_A.v6, action: 'AddPinhole' });
    });

    it('also accepts the empty RemotePort at the pinhole service URL (it was 402)', async () => {
      const res = await send(jsPinhole(CONSOLE_A.v6, 41002, FW, SERVICE_WAN_IPV6_FIREWALL_CONTROL_1), CONSOLE_A.v6);
      expect(res.status).toBe(200);
      expect(front.daemon.engine.snapshot().grants.filter((g) => g.table === 'pinhole')).toHaveLength(1);
    });

    it('updates and deletes the pinhole through the same URL (the client\'s refresh and unmap)', async () => {
      const uid = /<UniqueID>(\d+)</.exec((await send(jsPinhole(CONSOLE_A.v6, 41003), CONSOLE_A.v6)).body)?.[1];
      expect(uid).toBeDefined();
      const update = soapRequest(IPC, SERVICE_WAN_IP_CONNECTION_2, 'UpdatePinhole', [['UniqueID', uid as string], ['NewLeaseTime', 3600]]);
      expect((await send(update, CONSOLE_A.v6)).status).toBe(200);
      const del = soapRequest(IPC, SERVICE_WAN_IP_CONNECTION_2, 'DeletePinhole', [['UniqueID', uid as string]]);
      expect((await send(del, CONSOLE_A.v6)).status).toBe(200);
      expect(front.daemon.engine.snapshot().grants).toEqual([]);
      expect(await front.world.firewall.list()).toEqual([]);
    });

    it('still lets the engine decide: the Matter plug is refused with 606 and its rule', async () => {
      const res = await send(jsPinhole(PLUG.v6, 40420), PLUG.v6);
      expect(res.errorCode).toBe(606);
      expect(res.body).toContain('matter-device-isolation');
      expect(decisions.find((d) => d.deviceId === PLUG.id)?.verdict).toBe('denied');
      expect(await front.world.firewall.list()).toEqual([]);
    });

    it('stays strict where it is ambiguous: a WANIPConnection:1 SOAPAction has no pinhole action (401)', async () => {
      const res = await send(jsPinhole(CONSOLE_A.v6, 41004, IPC, SERVICE_WAN_IP_CONNECTION_1), CONSOLE_A.v6);
      expect(res.errorCode).toBe(401);
      expect(front.daemon.engine.snapshot().grants).toEqual([]);
    });
  });

  describe('item 4: mismatches with miniupnpd', () => {
    it('answers GetListOfPortMappings on an empty range with an empty list (it was 730)', async () => {
      const list = soapRequest(IPC, SERVICE_WAN_IP_CONNECTION_2, 'GetListOfPortMappings', [
        ['NewStartPort', 1], ['NewEndPort', 65535], ['NewProtocol', 'UDP'], ['NewManage', 1], ['NewNumberOfPorts', 0],
      ]);
      const res = await send(list, CONSOLE_A.v4);
      expect(res.status).toBe(200);
      expect(res.body).toContain('<NewPortListing>');
      expect(res.body).toContain('PortMappingList');
      expect(res.body).not.toContain('PortMappingEntry');
    });

    it.each([0, 604801, 4294967295])('takes a lease of %d as the IGD:2 maximum; the engine grants its cap with lease-capped', async (lease) => {
      expect((await send(mapping(CONSOLE_A.v4, 3074, 'UDP', lease), CONSOLE_A.v4)).status).toBe(200);
      const d = decisions.find((x) => x.deviceId === CONSOLE_A.id && x.verdict !== 'denied');
      const cap = front.daemon.engine.config.leaseCapSeconds['game-session'];
      expect(d?.reasons).toEqual(expect.arrayContaining([expect.objectContaining({ rule: 'lease-policy', code: 'lease-capped' })]));
      expect(d?.changes).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'leaseSeconds', wanted: 604800, got: cap })]));
      const entry = await send(specific(3074, 'UDP'), CONSOLE_A.v4);
      expect(Number(/<NewLeaseDuration>(\d+)</.exec(entry.body)?.[1])).toBe(cap);
    });

    it('grants a lease under the cap as asked, without lease-capped', async () => {
      expect((await send(mapping(CONSOLE_A.v4, 3074, 'UDP', 600), CONSOLE_A.v4)).status).toBe(200);
      const d = decisions.find((x) => x.deviceId === CONSOLE_A.id);
      expect(d?.reasons.some((r) => r.code === 'lease-capped')).toBe(false);
      expect(Number(/<NewLeaseDuration>(\d+)</.exec((await send(specific(3074, 'UDP'), CONSOLE_A.v4)).body)?.[1])).toBe(600);
    });
  });

  describe("nat-port-mapper's IPv4 unmap (DeletePortMapping with an empty NewProtocol)", () => {
    it("deletes the requester's TCP and UDP mappings of that port: grants and kernel entries gone", async () => {
      expect((await send(mapping(CONSOLE_A.v4, 3074, 'UDP', 3600), CONSOLE_A.v4)).status).toBe(200);
      expect((await send(mapping(CONSOLE_A.v4, 3074, 'TCP', 3600), CONSOLE_A.v4)).status).toBe(200);
      expect(await front.world.firewall.list()).toHaveLength(2);
      const res = await send(unmap(3074), CONSOLE_A.v4);
      expect(res.status).toBe(200);
      expect(front.daemon.engine.snapshot().grants).toEqual([]);
      expect(await front.world.firewall.list()).toEqual([]);
      expect(quirkLines('empty-protocol-delete')).toHaveLength(1);
    });

    it('answers 714 when no mapping holds the port, so the client is not told a port closed', async () => {
      expect((await send(mapping(CONSOLE_A.v4, 3075, 'UDP', 3600), CONSOLE_A.v4)).status).toBe(200);
      const res = await send(unmap(3074), CONSOLE_A.v4);
      expect(res.errorCode).toBe(714);
      expect(await front.world.firewall.list()).toHaveLength(1);
    });

    it("never deletes another client's mapping", async () => {
      expect((await send(mapping(CONSOLE_A.v4, 3074, 'UDP', 3600), CONSOLE_A.v4)).status).toBe(200);
      const res = await send(unmap(3074), CONSOLE_B.v4);
      expect(res.status).toBe(500);
      expect(await front.world.firewall.list()).toHaveLength(1);
    });

    it('keeps refusing a NewProtocol that is neither empty nor TCP/UDP (402)', async () => {
      expect((await send(unmap(3074, 'SCTP'), CONSOLE_A.v4)).errorCode).toBe(402);
    });
  });
});
