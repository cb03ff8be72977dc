/**
 * The agent over PCP on virtual time with the PCP client's fake transport:
 * verdicts (open, denied with the PCP code and name, unsupported, ineffective),
 * renewal by the client, re-map after the router's epoch shows lost state,
 * close with lifetime 0 and the same nonce, NAT-PMP for IPv4 when that is all
 * the router speaks; and the default-router reader.
 */
import { VirtualTimeScheduler } from 'rxjs';
import { decodeNatPmpRequest, decodePcpRequest, encodeNatPmpResponse, encodePcpResponse, PcpRequest } from '../../../adapters/pcp';
import { PcpKeeper } from '../../../plugin/agent/pcp-keeper';
import { parseDefaultRoutes } from '../../../plugin/agent/default-router';
import { Reachability } from '../../../plugin/agent/reachability';
import { advance, FakePcpTransport, settle } from '../pcp/fake-pcp-transport';

type MapRequest = Extract<PcpRequest, { opcode: 'map' }>;

function setup(family: 'ipv4' | 'ipv6', extra: { giveUpAfterMs?: number } = {}) {
  const scheduler = new VirtualTimeScheduler();
  const local = family === 'ipv6' ? '2001:db8:77::10' : '192.168.77.10';
  const router = family === 'ipv6' ? '2001:db8:77::1' : '192.168.77.1';
  const transports: FakePcpTransport[] = [];
  const keeper = new PcpKeeper({
    family,
    router,
    protocol: 'udp',
    port: 40000,
    leaseSeconds: 120,
    scheduler,
    ...extra,
    openTransport: async (init) => {
      const t = new FakePcpTransport(init.localAddress, init.serverAddress, scheduler);
      transports.push(t);
      return t;
    },
  });
  const changes: Reachability[] = [];
  keeper.reachability$.subscribe((r) => r && changes.push(r));
  const transport = () => transports[transports.length - 1];
  const lastRequest = () => decodePcpRequest(transport().sent[transport().sent.length - 1].data) as MapRequest;
  /** Answers the last MAP as the router would. */
  const answer = (fields: { resultCode?: number; epoch: number; externalAddress?: string }) => {
    const r = lastRequest();
    transport().deliver(
      encodePcpResponse({
        opcode: 'map',
        resultCode: fields.resultCode ?? 0,
        lifetime: r.lifetime,
        epoch: fields.epoch,
        options: r.options,
        mapping: { ...r.mapping, externalPort: r.mapping.internalPort, externalAddress: fields.externalAddress ?? r.clientAddress },
      }),
    );
  };
  return { scheduler, keeper, changes, transport, lastRequest, answer, local };
}

describe('PcpKeeper', () => {
  it('opens an IPv6 pinhole with PCP, lets the client renew it, and closes it with lifetime 0 and the same nonce', async () => {
    const { scheduler, keeper, changes, transport, lastRequest, answer, local } = setup('ipv6');
    const opened = keeper.open(local);
    await settle();
    const first = lastRequest();
    expect(first).toMatchObject({ opcode: 'map', lifetime: 120, clientAddress: local, mapping: { protocol: 17, internalPort: 40000 } });
    answer({ epoch: 10 });
    const verdict = await opened;
    expect(verdict).toMatchObject({ family: 'ipv6', verdict: 'open', via: 'pcp', externalAddress: local, externalPort: 40000, leaseSeconds: 120, internalClient: local, server: '2001:db8:77::1' });
    expect(verdict).toMatchObject({ nonce: first.mapping.nonce.toString('hex'), gateway: 'pcp://[2001:db8:77::1]:5351' });

    advance(scheduler, 54_000); // renewal at 45 % of 120 s
    expect(transport().sent).toHaveLength(2);
    answer({ epoch: 64 });
    await settle();
    expect(changes.map((c) => c.reason)).toEqual([expect.stringMatching(/granted/), expect.stringMatching(/renewed/)]);

    const closed = keeper.close();
    await settle();
    const del = lastRequest();
    expect(del.lifetime).toBe(0);
    expect(del.mapping.nonce.equals(first.mapping.nonce)).toBe(true);
    answer({ epoch: 70 });
    await closed;
    expect(transport().closed).toBe(true);
  });

  it('maps again at once when the epoch shows the router lost its state, and says so', async () => {
    const { scheduler, keeper, changes, transport, lastRequest, answer, local } = setup('ipv6');
    const opened = keeper.open(local);
    await settle();
    answer({ epoch: 5000 });
    await opened;
    advance(scheduler, 2000);
    // The router restarted: its ANNOUNCE carries an epoch far below the expected one.
    transport().deliver(encodePcpResponse({ opcode: 'announce', resultCode: 0, lifetime: 0, epoch: 1, options: [] }), { via: 'announce' });
    expect(lastRequest().lifetime).toBe(120);
    answer({ epoch: 1 });
    await settle();
    expect(changes[changes.length - 1]).toMatchObject({ verdict: 'open', via: 'pcp', reason: expect.stringMatching(/granted again \d+ ms after the router's epoch/) });
    keeper.detach();
  });

  it.each([
    [2, 'NOT_AUTHORIZED'],
    [5, 'UNSUPP_OPTION'],
  ])('turns PCP result %i into a denied verdict with the code and its name (%s)', async (code, name) => {
    const { keeper, answer, local } = setup('ipv6');
    const opened = keeper.open(local);
    await settle();
    answer({ epoch: 1, resultCode: code });
    const verdict = await opened;
    expect(verdict).toMatchObject({ family: 'ipv6', verdict: 'denied', via: 'pcp', code, name });
    expect(verdict.reason).toContain(`${name} (${code})`);
    keeper.detach();
  });

  it('says unsupported (grade D) when no PCP server answers in time', async () => {
    const { scheduler, keeper, local } = setup('ipv6', { giveUpAfterMs: 3000 });
    const opened = keeper.open(local);
    await settle();
    advance(scheduler, 3100);
    const verdict = await opened;
    expect(verdict).toMatchObject({ verdict: 'unsupported', grade: 'D', via: 'pcp' });
    expect(verdict.reason).toMatch(/no PCP server answered at 2001:db8:77::1/);
    keeper.detach();
  });

  it('abandon (another protocol won the race) sends one delete with the in-flight nonce instead of waiting', async () => {
    const { scheduler, keeper, transport, lastRequest, local } = setup('ipv6', { giveUpAfterMs: 3000 });
    const opened = keeper.open(local).catch((e: unknown) => e);
    await settle();
    const map = lastRequest();
    const abandoned = keeper.abandon();
    expect(await opened).toBeInstanceOf(Error);
    const del = lastRequest();
    expect(del.lifetime).toBe(0);
    expect(del.mapping.nonce.equals(map.mapping.nonce)).toBe(true);
    advance(scheduler, 400); // no answer: gives up after 300 ms, not 3000
    await abandoned;
    expect(transport().closed).toBe(true);
  });

  it('an IPv4 mapping behind another NAT is ineffective and is deleted again', async () => {
    const { keeper, answer, lastRequest, local } = setup('ipv4');
    const opened = keeper.open(local);
    await settle();
    answer({ epoch: 1, externalAddress: '10.0.0.7' });
    await settle();
    expect(lastRequest().lifetime).toBe(0); // the delete
    answer({ epoch: 1 });
    const verdict = await opened;
    expect(verdict).toMatchObject({ family: 'ipv4', verdict: 'ineffective', externalIpv4: '10.0.0.7', externalIpv4Kind: 'private' });
    keeper.detach();
  });

  it('uses NAT-PMP for IPv4 when the router answers PCP with UNSUPP_VERSION', async () => {
    const { keeper, transport, local } = setup('ipv4');
    const opened = keeper.open(local);
    await settle();
    transport().deliver(Buffer.from([0, 0x81, 0, 1, 0, 0, 0, 9])); // version 0, result 1: NAT-PMP only
    await settle();
    const sent = () => decodeNatPmpRequest(transport().sent[transport().sent.length - 1].data);
    expect(sent()).toEqual({ opcode: 'public-address' });
    transport().deliver(encodeNatPmpResponse({ opcode: 'public-address', resultCode: 0, epoch: 9, externalAddress: '198.51.100.1' }));
    await settle();
    expect(sent()).toEqual({ opcode: 'map-udp', internalPort: 40000, suggestedExternalPort: 40000, lifetime: 120 });
    transport().deliver(encodeNatPmpResponse({ opcode: 'map-udp', resultCode: 0, epoch: 9, internalPort: 40000, externalPort: 40000, lifetime: 120 }));
    const verdict = await opened;
    expect(verdict).toMatchObject({ family: 'ipv4', verdict: 'open', via: 'natpmp', externalAddress: '198.51.100.1', externalPort: 40000, gateway: 'natpmp://192.168.77.1:5351' });
    const closed = keeper.close();
    await settle();
    expect(sent()).toEqual({ opcode: 'map-udp', internalPort: 40000, suggestedExternalPort: 0, lifetime: 0 });
    transport().deliver(encodeNatPmpResponse({ opcode: 'map-udp', resultCode: 0, epoch: 10, internalPort: 40000, externalPort: 0, lifetime: 0 }));
    await closed;
  });
});

describe('parseDefaultRoutes', () => {
  it('gives a link-local IPv6 router its zone and puts the lowest metric first', () => {
    const json = JSON.stringify([
      { dst: 'default', gateway: 'fe80::2', dev: 'wlan0', metric: 600 },
      { dst: 'default', gateway: 'FE80::1', dev: 'eth0', metric: 100 },
    ]);
    expect(parseDefaultRoutes(json)).toEqual([
      { address: 'fe80::1%eth0', interfaceName: 'eth0' },
      { address: 'fe80::2%wlan0', interfaceName: 'wlan0' },
    ]);
  });

  it('reads IPv4 routers, multipath next hops, and skips routes without a gateway', () => {
    const json = JSON.stringify([
      { dst: 'default', dev: 'ppp0' },
      { dst: 'default', gateway: '192.168.77.1', dev: 'eth0' },
      { dst: 'default', nexthops: [{ gateway: '2001:db8:77::1', dev: 'eth0' }] },
      { dst: '10.0.0.0/8', gateway: '10.0.0.1', dev: 'eth1' },
    ]);
    expect(parseDefaultRoutes(json)).toEqual([
      { address: '192.168.77.1', interfaceName: 'eth0' },
      { address: '2001:db8:77::1', interfaceName: 'eth0' },
    ]);
    expect(parseDefaultRoutes('')).toEqual([]);
  });

  it('rejects output that is not the JSON ip writes with a clear error', () => {
    expect(() => parseDefaultRoutes('default via 192.168.1.1 dev eth0')).toThrow(/cannot read the routing table: 'ip -j route' printed no JSON/);
    expect(() => parseDefaultRoutes('{}')).toThrow(/printed no list/);
  });
});
