import dgram from 'node:dgram';
import os from 'node:os';
import {
  DEVICE_IGD_1, DEVICE_IGD_2, DescriptionFetcher, GatewayNotFoundError, Ipv4SsdpTransport, Ipv6SsdpTransport, UpnpAbortError,
  UpnpNetworkError, discoverGateway, formatSearchResponse, parseDeviceDescription, parseSsdpMessage,
} from '../../../adapters/upnp';
import { FakeTransport } from './fake-transport';
import { labTable } from './fake-interfaces';
import { Loopback, startHttp } from '../../support/loopback-server';
import { readReference } from '../../support/reference-fixtures';

const rootDesc = readReference('rootDesc.xml').toString('utf8');
const igd1Desc = rootDesc
  .replace('InternetGatewayDevice:2', 'InternetGatewayDevice:1').replace('WANDevice:2', 'WANDevice:1')
  .replace('WANConnectionDevice:2', 'WANConnectionDevice:1').replace('WANIPConnection:2', 'WANIPConnection:1');

const answer = (location: string, st = DEVICE_IGD_2, bootId = 1795922603): Buffer =>
  formatSearchResponse({ searchTarget: st, usn: `uuid:7b4e1b56-2d9c-4a3e-9c55-0242c0a84d01::${st}`, location, bootId, configId: 1337, server: 'MiniUPnPd/2.3.1' });

/** Serves the real rootDesc.xml on loopback, plus broken variants. */
async function descriptionServer(): Promise<Loopback> {
  return startHttp('127.0.0.1', (req, res) => {
    if (req.url === '/rootDesc.xml') res.end(rootDesc);
    else if (req.url === '/igd1.xml') res.end(igd1Desc);
    else if (req.url === '/broken.xml') res.end('<root><device>');
    else if (req.url === '/laughs.xml') res.end('<!DOCTYPE x [<!ENTITY a "aaaa">]><root/>');
    else { res.statusCode = 404; res.end(); }
  });
}

describe('discoverGateway with scripted transports', () => {
  let http: Loopback;
  beforeEach(async () => { http = await descriptionServer(); });
  afterEach(async () => http.close());

  it('resolves on the first valid answer, long before the timeout', async () => {
    const t = new FakeTransport('ipv4', (tr, st) => {
      if (st === DEVICE_IGD_2) setTimeout(() => tr.deliver(answer(http.url('/rootDesc.xml')), { remoteAddress: '127.0.0.1', localAddress: '127.0.0.1', interfaceName: 'lo' }), 20);
    });
    const started = Date.now();
    const gw = await discoverGateway({ family: 'ipv4', timeoutMs: 5000, transports: [t] });
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(1000);
    expect(gw).toMatchObject({
      family: 'ipv4', igdVersion: 2, remoteAddress: '127.0.0.1', location: http.url('/rootDesc.xml'), interfaceName: 'lo',
      udn: 'uuid:7b4e1b56-2d9c-4a3e-9c55-0242c0a84d01', bootId: 1795922603, configId: 1337, maxAgeSeconds: 120, localAddress: '127.0.0.1',
    });
    expect(gw.services.wanIpConnection?.controlUrl).toBe(http.url('/ctl/IPConn'));
    expect(t.searches.map((s) => s.searchTarget)).toEqual([DEVICE_IGD_2, DEVICE_IGD_1]);
    expect(t.searches[0]?.mx).toBe(1);
    expect(t.closed).toBe(true);
  });

  it('skips an invalid gateway (bad description) and takes the next valid one', async () => {
    const skipped: string[] = [];
    const t = new FakeTransport('ipv4', (tr, st) => {
      if (st !== DEVICE_IGD_2) return;
      tr.deliver(answer(http.url('/broken.xml')), { remoteAddress: '127.0.0.1' });
      tr.deliver(answer(http.url('/laughs.xml')), { remoteAddress: '127.0.0.1' });
      tr.deliver('garbage\u0000', { remoteAddress: '127.0.0.1' });
      tr.deliver(answer('http://127.0.0.9:5000/rootDesc.xml'), { remoteAddress: '127.0.0.1' });
      setTimeout(() => tr.deliver(answer(http.url('/rootDesc.xml')), { remoteAddress: '127.0.0.1' }), 80);
    });
    const gw = await discoverGateway({ family: 'ipv4', timeoutMs: 3000, transports: [t], onSkip: (s) => skipped.push(s.reason) });
    expect(gw.location).toBe(http.url('/rootDesc.xml'));
    expect(skipped.some((r) => /not well-formed/.test(r))).toBe(true);
    expect(skipped.some((r) => /DOCTYPE/.test(r))).toBe(true);
    expect(skipped.some((r) => /unparseable SSDP/.test(r))).toBe(true);
    expect(skipped.some((r) => /127\.0\.0\.9.*not the address that answered/.test(r))).toBe(true);
  });

  it('takes an IGD:1 over IPv4 but ignores one found over IPv6', async () => {
    const v4 = new FakeTransport('ipv4', (tr, st) => {
      if (st === DEVICE_IGD_1) tr.deliver(answer(http.url('/igd1.xml'), DEVICE_IGD_1), { remoteAddress: '127.0.0.1' });
    });
    const gw = await discoverGateway({ family: 'ipv4', timeoutMs: 2000, transports: [v4] });
    expect(gw.igdVersion).toBe(1);

    const fetchIgd1: DescriptionFetcher = async (loc) => parseDeviceDescription(igd1Desc, loc.url);
    const v6 = new FakeTransport('ipv6', (tr) => tr.deliver(answer('http://[2001:db8:77::1]:5000/rootDesc.xml'), { remoteAddress: 'fe80::1%lan0', interfaceName: 'lan0' }));
    const err = await discoverGateway({ family: 'ipv6', timeoutMs: 300, searchScheduleMs: [0], transports: [v6], interfaceTable: labTable, fetchDescription: fetchIgd1 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayNotFoundError);
    expect((err as GatewayNotFoundError).skipped.map((s) => s.reason)).toEqual(['an IGD:1 found over IPv6 is ignored (no pinhole service)']);
    expect(v6.searches.map((s) => s.searchTarget)).toEqual([DEVICE_IGD_2]);
  });

  it('accepts miniupnpd\'s IPv6 answer: from fe80::1 on lan0, LOCATION on its on-link global address', async () => {
    const fetched: string[] = [];
    const fetchReal: DescriptionFetcher = async (loc) => {
      fetched.push(loc.url);
      return parseDeviceDescription(rootDesc, loc.url);
    };
    const v6 = new FakeTransport('ipv6', (tr) => {
      tr.deliver(answer('http://[2001:db8:66::1]:5000/rootDesc.xml'), { remoteAddress: 'fe80::66%lan0', interfaceName: 'lan0' });
      tr.deliver(readReference('ssdp', 'v6-igd2.response-0.txt'), { remoteAddress: 'fe80::1%lan0', interfaceName: 'lan0' });
    });
    const gw = await discoverGateway({ family: 'ipv6', timeoutMs: 2000, transports: [v6], interfaceTable: labTable, fetchDescription: fetchReal });
    expect(gw).toMatchObject({ family: 'ipv6', interfaceName: 'lan0', remoteAddress: 'fe80::1%lan0', location: 'http://[2001:db8:77::1]:5000/rootDesc.xml' });
    expect(gw.services.wanIpv6FirewallControl?.controlUrl).toBe('http://[2001:db8:77::1]:5000/ctl/IP6FCtl');
    expect(fetched).toEqual(['http://[2001:db8:77::1]:5000/rootDesc.xml']); // the off-link LOCATION was never fetched
  });

  it('re-sends the M-SEARCH within the timeout and rejects with a clear timeout error', async () => {
    const t = new FakeTransport('ipv4');
    const started = Date.now();
    const err = await discoverGateway({ family: 'ipv4', timeoutMs: 400, searchScheduleMs: [0, 100, 250], transports: [t] }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeGreaterThanOrEqual(380);
    expect(err).toBeInstanceOf(GatewayNotFoundError);
    expect((err as Error).message).toBe('No valid Internet Gateway Device answered within 400 ms (no SSDP answer at all)');
    expect(t.searches).toHaveLength(6);
    expect(t.closed).toBe(true);
  });

  it('stops on abort, and says why when no transport can start', async () => {
    const ac = new AbortController();
    const p = discoverGateway({ family: 'ipv4', timeoutMs: 5000, transports: [new FakeTransport('ipv4')], signal: ac.signal });
    setTimeout(() => ac.abort(), 30);
    await expect(p).rejects.toBeInstanceOf(UpnpAbortError);
    const err = await discoverGateway({ family: 'both', timeoutMs: 500, transports: [new FakeTransport('ipv6', undefined, new Error('no global IPv6'))] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UpnpNetworkError);
    expect((err as Error).message).toMatch(/ipv6: no global IPv6/);
  });
});

describe('discoverGateway over real loopback sockets', () => {
  let http: Loopback;
  let router: dgram.Socket;
  const heard: string[] = [];
  beforeEach(async () => {
    heard.length = 0;
    http = await descriptionServer();
  });
  afterEach(async () => {
    await http.close();
    await new Promise<void>((r) => router.close(() => r()));
  });

  async function fakeRouter(type: 'udp4' | 'udp6', host: string, location: () => string): Promise<number> {
    router = dgram.createSocket(type);
    router.on('message', (msg, rinfo) => {
      const m = parseSsdpMessage(msg);
      heard.push(msg.toString());
      if (m.kind === 'm-search' && m.searchTarget === DEVICE_IGD_2) router.send(answer(location()), rinfo.port, rinfo.address);
    });
    await new Promise<void>((r) => router.bind(0, host, () => r()));
    return router.address().port;
  }

  // node-ssdp ignores internal interfaces (lo), so this uses one of the host's own non-internal
  // IPv4 addresses; the "group" is the fake router's unicast address on it: nothing leaves the host.
  const own = Object.entries(os.networkInterfaces()).flatMap(([name, infos]) =>
    (infos ?? []).filter((i) => i.family === 'IPv4' && !i.internal).map((i) => ({ name, address: i.address })))[0];
  (own ? it : it.skip)('IPv4 through node-ssdp: M-SEARCH out, unicast answer in, description fetched, gateway found', async () => {
    const me = own;
    await http.close();
    http = await startHttp(me.address, (_req, res) => res.end(rootDesc));
    const port = await fakeRouter('udp4', me.address, () => http.url('/rootDesc.xml'));
    const transport = new Ipv4SsdpTransport({ interfaces: [me.name], ssdpAddress: me.address, ssdpPort: port });
    const gw = await discoverGateway({ family: 'ipv4', timeoutMs: 3000, transports: [transport] });
    expect(gw).toMatchObject({ remoteAddress: me.address, interfaceName: me.name, localAddress: me.address, igdVersion: 2 });
    expect(gw.services.wanIpv6FirewallControl?.controlUrl).toBe(http.url('/ctl/IP6FCtl'));
    expect(heard[0]).toBe(`M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\nST: ${DEVICE_IGD_2}\r\n\r\n`);
  });

  it('IPv6 on our udp6 transport (unicast stand-in for the group on lo)', async () => {
    const http6 = await startHttp('::1', (_req, res) => res.end(rootDesc));
    const port = await fakeRouter('udp6', '::1', () => (heard.length === 1 ? `http://127.0.0.1:${http.port}/rootDesc.xml` : http6.url('/rootDesc.xml')));
    const table = (): ReturnType<typeof labTable> => ({
      lo: [{ address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', mac: '00:00:00:00:00:00', internal: true, cidr: '::1/128', scopeid: 0 },
        { address: '2001:db8:1::5', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '00:00:00:00:00:00', internal: true, cidr: '2001:db8:1::5/64', scopeid: 0 }],
    });
    const transport = new Ipv6SsdpTransport({ interfaces: ['lo'], interfaceTable: table, destinations: ['::1'], ssdpPort: port });
    const skipped: string[] = [];
    try {
      const gw = await discoverGateway({ family: 'ipv6', timeoutMs: 2000, searchScheduleMs: [0, 100], transports: [transport], interfaceTable: table, onSkip: (s) => skipped.push(s.reason) });
      // The first answer came from ::1 with an IPv4 LOCATION: rogue, refused; the re-sent search got the good one.
      expect(skipped[0]).toMatch(/LOCATION http:\/\/127\.0\.0\.1:\d+\/rootDesc\.xml refused/);
      expect(gw).toMatchObject({ family: 'ipv6', remoteAddress: '::1', interfaceName: 'lo', location: http6.url('/rootDesc.xml'), igdVersion: 2 });
      expect(heard[0]).toContain('HOST: [FF02::C]:1900\r\n');
      expect(heard[0]).toContain(`ST: ${DEVICE_IGD_2}\r\n`);
    } finally {
      await http6.close();
    }
  });
});
