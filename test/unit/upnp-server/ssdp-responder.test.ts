// The SSDP responder: answers and announcements checked with our own parser, our own
// discoverGateway (through bridged fake transports and a real HTTP server), node-ssdp's
// client on loopback, and the real dgram/node-ssdp transports on unicast.
import dgram from 'node:dgram';
import os from 'node:os';
import { Client } from 'node-ssdp';
import { VirtualTimeScheduler } from 'rxjs';
import { DEVICE_IGD_1, DEVICE_IGD_2, InterfaceTable, SsdpDatagram, SsdpDatagramListener, SsdpNotify, SsdpSearchResponse, discoverGateway, formatMSearch, parseSsdpMessage } from '../../../adapters/upnp';
import { Ipv4SsdpResponderTransport, Ipv6SsdpResponderTransport, SsdpResponder, SsdpResponderTransport, buildIgdDocuments, createIgdHttpServer, defineIgdDevice, refuseEverything, ssdpTargets } from '../../../adapters/upnp/server';
import { FakeTransport } from '../upnp/fake-transport';

function info(address: string, prefix: number, family: 'IPv4' | 'IPv6', internal = false): os.NetworkInterfaceInfo {
  const base = { address, netmask: '', mac: '02:00:00:00:00:01', internal, cidr: `${address}/${prefix}` };
  return family === 'IPv4' ? { ...base, family } : { ...base, family, scopeid: 0 };
}

/** The router: LAN br-lan, WAN wan0. */
const ROUTER: InterfaceTable = {
  'br-lan': [info('192.168.77.1', 24, 'IPv4'), info('2001:db8:77::1', 64, 'IPv6'), info('fd00:77::1', 64, 'IPv6'), info('fe80::1', 64, 'IPv6')],
  wan0: [info('198.51.100.1', 24, 'IPv4'), info('2001:db8:100::1', 64, 'IPv6')],
};

/** A scriptable responder transport: records replies and announcements. */
class FakeResponderTransport implements SsdpResponderTransport {
  readonly replies: Array<{ data: Buffer; address: string; port: number; interfaceName?: string }> = [];
  readonly announced: Array<{ group: string; data: Buffer; interfaceName: string }> = [];
  private readonly listeners = new Set<SsdpDatagramListener>();
  onReply?: (data: Buffer, address: string, port: number) => void;
  constructor(readonly family: 'ipv4' | 'ipv6') {}
  async start(): Promise<void> {}
  onDatagram(l: SsdpDatagramListener): () => void { this.listeners.add(l); return () => this.listeners.delete(l); }
  async reply(data: Buffer, address: string, port: number, interfaceName?: string): Promise<void> {
    this.replies.push({ data, address, port, ...(interfaceName ? { interfaceName } : {}) });
    this.onReply?.(data, address, port);
  }
  async announce(make: (group: string) => Buffer, interfaceName: string): Promise<void> {
    const groups = this.family === 'ipv4' ? ['239.255.255.250'] : ['ff02::c', 'ff05::c'];
    for (const group of groups) this.announced.push({ group, data: make(group), interfaceName });
  }
  async close(): Promise<void> {}
  deliver(data: Buffer | string, from: Partial<SsdpDatagram> & { remoteAddress: string }): void {
    const d: SsdpDatagram = { data: Buffer.isBuffer(data) ? data : Buffer.from(data), remotePort: 50000, family: this.family, via: 'search', ...from };
    for (const l of [...this.listeners]) l(d);
  }
}

const igd = defineIgdDevice({ uuid: '2f1c9e3a-5b7d-4c1e-9a2b-000000000001' });
const configId = buildIgdDocuments(igd).configId;
const search = (st: string, family: 'ipv4' | 'ipv6' = 'ipv4'): Buffer => formatMSearch({ searchTarget: st, family, mx: 1 });
const responses = (t: FakeResponderTransport): SsdpSearchResponse[] => t.replies.map((r) => parseSsdpMessage(r.data) as SsdpSearchResponse);

describe('SsdpResponder with fake transports', () => {
  let v4: FakeResponderTransport;
  let v6: FakeResponderTransport;
  let scheduler: VirtualTimeScheduler;
  let responder: SsdpResponder;
  beforeEach(async () => {
    v4 = new FakeResponderTransport('ipv4');
    v6 = new FakeResponderTransport('ipv6');
    scheduler = new VirtualTimeScheduler(undefined, 0);
    responder = new SsdpResponder({
      igd, configId, transports: [v4, v6], interfaces: ['br-lan'], interfaceTable: () => ROUTER, httpPort: 5000, scheduler,
      bootId: 100, maxAgeSeconds: 1800, notifyIntervalMs: 300_000, serverHeader: 'test/1 UPnP/1.1 homenet/0.1',
    });
    await responder.start();
  });
  afterEach(async () => responder.stop());

  it('answers an IGD:1 search of our IGD:2 device with ST IGD:1 and the LAN interface address', () => {
    v4.deliver(search(DEVICE_IGD_1), { remoteAddress: '192.168.77.10', remotePort: 40000 });
    const [r] = responses(v4);
    expect(responses(v4)).toHaveLength(1);
    expect(r).toMatchObject({
      searchTarget: DEVICE_IGD_1, usn: `uuid:2f1c9e3a-5b7d-4c1e-9a2b-000000000001::${DEVICE_IGD_1}`,
      location: 'http://192.168.77.1:5000/igd/desc.xml', maxAgeSeconds: 1800, bootId: 100, configId, server: 'test/1 UPnP/1.1 homenet/0.1',
    });
    expect(v4.replies[0]).toMatchObject({ address: '192.168.77.10', port: 40000, interfaceName: 'br-lan' });
  });

  it('answers ssdp:all with every device and service, upnp:rootdevice and a UUID with one each', () => {
    v4.deliver(search('ssdp:all'), { remoteAddress: '192.168.77.10' });
    expect(responses(v4).map((r) => r.searchTarget)).toEqual(ssdpTargets(igd).map((t) => t.target));
    expect(responses(v4)).toHaveLength(10);
    v4.replies.length = 0;
    v4.deliver(search('upnp:rootdevice'), { remoteAddress: '192.168.77.10' });
    v4.deliver(search('uuid:2f1c9e3a-5b7d-4c1e-9a2b-000000000003'), { remoteAddress: '192.168.77.10' });
    v4.deliver(search('urn:schemas-upnp-org:service:WANIPConnection:1'), { remoteAddress: '192.168.77.10' });
    expect(responses(v4).map((r) => [r.searchTarget, r.usn])).toEqual([
      ['upnp:rootdevice', 'uuid:2f1c9e3a-5b7d-4c1e-9a2b-000000000001::upnp:rootdevice'],
      ['uuid:2f1c9e3a-5b7d-4c1e-9a2b-000000000003', 'uuid:2f1c9e3a-5b7d-4c1e-9a2b-000000000003'],
      ['urn:schemas-upnp-org:service:WANIPConnection:1', 'uuid:2f1c9e3a-5b7d-4c1e-9a2b-000000000003::urn:schemas-upnp-org:service:WANIPConnection:1'],
    ]);
  });

  it('stays silent for versions and types it does not serve, WAN searches and garbage', () => {
    v4.deliver(search('urn:schemas-upnp-org:device:InternetGatewayDevice:3'), { remoteAddress: '192.168.77.10' });
    v4.deliver(search('urn:schemas-upnp-org:service:WANPPPConnection:1'), { remoteAddress: '192.168.77.10' });
    v4.deliver(search(DEVICE_IGD_2), { remoteAddress: '198.51.100.7' });
    v6.deliver(search(DEVICE_IGD_2, 'ipv6'), { remoteAddress: '2001:db8:100::7' });
    v4.deliver(Buffer.from([0, 1, 2, 3, 255]), { remoteAddress: '192.168.77.10' });
    v4.deliver('M-SEARCH * HTTP/1.1\r\nHOST: x\r\nMAN: "ssdp:discover"\r\nST: a\r\nST: b\r\n\r\n', { remoteAddress: '192.168.77.10' });
    expect(v4.replies).toEqual([]);
    expect(v6.replies).toEqual([]);
    expect(responder.counters.ignored).toBeGreaterThanOrEqual(3);
  });

  it('answers over IPv6 with the global address, or the ULA for a ULA sender, bracketed', () => {
    v6.deliver(search(DEVICE_IGD_2, 'ipv6'), { remoteAddress: 'fe80::10%br-lan' });
    v6.deliver(search(DEVICE_IGD_2, 'ipv6'), { remoteAddress: 'fd00:77::10' });
    v6.deliver(search(DEVICE_IGD_2, 'ipv6'), { remoteAddress: '2001:db8:77::10' });
    expect(responses(v6).map((r) => r.location)).toEqual([
      'http://[2001:db8:77::1]:5000/igd/desc.xml', 'http://[fd00:77::1]:5000/igd/desc.xml', 'http://[2001:db8:77::1]:5000/igd/desc.xml',
    ]);
  });

  it('announces ssdp:alive on start to every group, again every interval, and ssdp:byebye on stop', async () => {
    const parsed = (t: FakeResponderTransport) => t.announced.map((a) => ({ group: a.group, msg: parseSsdpMessage(a.data) as SsdpNotify }));
    expect(parsed(v4)).toHaveLength(10);
    expect(parsed(v6)).toHaveLength(20);
    expect(parsed(v4).every((a) => a.msg.nts === 'ssdp:alive' && a.msg.location === 'http://192.168.77.1:5000/igd/desc.xml' && a.msg.bootId === 100)).toBe(true);
    expect(parsed(v6).filter((a) => a.group === 'ff05::c').every((a) => a.msg.host === '[FF05::C]:1900')).toBe(true);
    expect(parsed(v6).filter((a) => a.group === 'ff02::c').every((a) => a.msg.host === '[FF02::C]:1900')).toBe(true);
    scheduler.maxFrames = 300_000;
    scheduler.flush();
    expect(v4.announced).toHaveLength(20);
    await responder.stop();
    const last = parsed(v4).slice(20);
    expect(last).toHaveLength(10);
    expect(last.every((a) => a.msg.nts === 'ssdp:byebye' && a.msg.location === undefined)).toBe(true);
  });

  it('increases BOOTID on every start and re-announces a new CONFIGID', async () => {
    await responder.stop();
    await responder.start();
    expect(responder.bootId).toBe(101);
    v4.announced.length = 0;
    await responder.setConfigId(configId ^ 1);
    const msgs = v4.announced.map((a) => parseSsdpMessage(a.data) as SsdpNotify);
    expect(msgs.slice(0, 10).every((m) => m.nts === 'ssdp:byebye' && m.configId === configId)).toBe(true);
    expect(msgs.slice(10).every((m) => m.nts === 'ssdp:alive' && m.configId === (configId ^ 1))).toBe(true);
  });

  it('caps replies per second', async () => {
    await responder.stop();
    const t = new FakeResponderTransport('ipv4');
    const r = new SsdpResponder({ igd, configId, transports: [t], interfaces: ['br-lan'], interfaceTable: () => ROUTER, httpPort: 5000, scheduler, maxRepliesPerSecond: 15 });
    await r.start();
    for (let i = 0; i < 5; i++) t.deliver(search('ssdp:all'), { remoteAddress: '192.168.77.10' });
    expect(t.replies).toHaveLength(15);
    expect(r.counters.repliesDropped).toBe(35);
    await r.stop();
  });
});

describe('SsdpResponder found by our own discoverGateway', () => {
  it('is discovered over bridged fake transports and its description is fetched over HTTP', async () => {
    const server = createIgdHttpServer({ igd, decider: refuseEverything(501), listen: [{ host: '127.0.0.1', port: 0 }] });
    await server.start();
    const table: InterfaceTable = { lan: [info('127.0.0.1', 8, 'IPv4')] };
    const rt = new FakeResponderTransport('ipv4');
    const responder = new SsdpResponder({ igd, configId: server.documents.configId, transports: [rt], interfaces: ['lan'], interfaceTable: () => table, httpPort: server.addresses()[0].port });
    await responder.start();
    try {
      const client = new FakeTransport('ipv4', (_t, st) => rt.deliver(search(st), { remoteAddress: '127.0.0.1', interfaceName: 'lan' }));
      rt.onReply = (data) => client.deliver(data, { remoteAddress: '127.0.0.1', localAddress: '127.0.0.1', interfaceName: 'lan' });
      const gw = await discoverGateway({ family: 'ipv4', transports: [client], interfaceTable: () => table, timeoutMs: 3000 });
      expect(gw).toMatchObject({ igdVersion: 2, bootId: responder.bootId, configId: server.documents.configId, udn: 'uuid:2f1c9e3a-5b7d-4c1e-9a2b-000000000001' });
      expect(gw.services.wanIpv6FirewallControl?.controlUrl).toBe(`${server.urls()[0]}/igd/ctl/IPv6Firewall`);
    } finally {
      await responder.stop();
      await server.close();
    }
  });
});

/** A loopback responder transport on a real udp4 socket (node-ssdp's own sockets skip loopback). */
class LoopbackUdp4Transport implements SsdpResponderTransport {
  readonly family = 'ipv4' as const;
  socket = dgram.createSocket('udp4');
  private readonly listeners = new Set<SsdpDatagramListener>();
  port = 0;
  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.socket.bind(0, '127.0.0.1', resolve));
    this.port = this.socket.address().port;
    this.socket.on('message', (data, rinfo) => {
      for (const l of this.listeners) l({ data, remoteAddress: rinfo.address, remotePort: rinfo.port, family: 'ipv4', via: 'search', interfaceName: 'lo' });
    });
  }
  onDatagram(l: SsdpDatagramListener): () => void { this.listeners.add(l); return () => this.listeners.delete(l); }
  reply(data: Buffer, address: string, port: number): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(data, port, address, (e) => (e ? reject(e) : resolve())));
  }
  async announce(): Promise<void> {}
  async close(): Promise<void> { await new Promise<void>((resolve) => this.socket.close(() => resolve())); }
}

const hasExternalIpv4 = Object.values(os.networkInterfaces()).some((l) => (l ?? []).some((i) => i.family === 'IPv4' && !i.internal));
const externalIpv4 = Object.entries(os.networkInterfaces())
  .flatMap(([name, l]) => (l ?? []).filter((i) => i.family === 'IPv4' && !i.internal).map((i) => ({ name, address: i.address })))[0];

describe('SsdpResponder on real sockets', () => {
  (hasExternalIpv4 ? it : it.skip)('answers node-ssdp\'s client on loopback', async () => {
    const t = new LoopbackUdp4Transport();
    const table: InterfaceTable = { lo: [info('127.0.0.1', 8, 'IPv4', true)] };
    const responder = new SsdpResponder({ igd, configId, transports: [t], interfaces: ['lo'], interfaceTable: () => table, httpPort: 5000, bootId: 9 });
    await responder.start();
    const client = new Client({ ssdpIp: '127.0.0.1', ssdpPort: t.port, customLogger: () => undefined, interfaces: externalIpv4 ? [externalIpv4.name] : [] });
    // node-ssdp joins `ssdpIp` as a group on every socket; 127.0.0.1 is not one (EINVAL, thrown
    // from its event handler): skip the membership, as our own client transport does.
    client._createSockets();
    for (const socket of Object.values(client.sockets ?? {})) socket.addMembership = () => undefined;
    try {
      const headers = await new Promise<Record<string, string>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no answer from the responder')), 3000);
        client.on('response', (h: Record<string, string>) => { clearTimeout(timer); resolve(h); });
        void client.search(DEVICE_IGD_2);
      });
      expect(headers).toMatchObject({ ST: DEVICE_IGD_2, LOCATION: 'http://127.0.0.1:5000/igd/desc.xml', 'BOOTID.UPNP.ORG': '9', 'CONFIGID.UPNP.ORG': String(configId) });
    } finally {
      client.stop();
      await responder.stop();
    }
  });

  it('answers a unicast IPv6 search through the dgram transport on ::1', async () => {
    const errors: Error[] = [];
    const port = 41000 + (process.pid % 1000);
    const t = new Ipv6SsdpResponderTransport({ interfaces: ['lo'], ssdpPort: port, onError: (e) => errors.push(e) });
    const responder = new SsdpResponder({ igd, configId, transports: [t], interfaces: ['lo'], httpPort: 5000, onError: (e) => errors.push(e) });
    await responder.start();
    const socket = dgram.createSocket('udp6');
    try {
      const answer = await new Promise<SsdpSearchResponse>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no IPv6 answer')), 3000);
        socket.on('message', (m) => { clearTimeout(timer); resolve(parseSsdpMessage(m) as SsdpSearchResponse); });
        socket.bind(0, '::1', () => socket.send(search(DEVICE_IGD_2, 'ipv6'), port, '::1'));
      });
      expect(answer.location).toBe('http://[::1]:5000/igd/desc.xml');
    } finally {
      socket.close();
      await responder.stop();
    }
  });

  (externalIpv4 ? it : it.skip)('answers a unicast IPv4 search through the node-ssdp transport', async () => {
    const { name, address } = externalIpv4;
    const port = 42000 + (process.pid % 1000);
    const errors: Error[] = [];
    const t = new Ipv4SsdpResponderTransport({ interfaces: [name], ssdpPort: port, onError: (e) => errors.push(e) });
    const responder = new SsdpResponder({ igd, configId, transports: [t], interfaces: [name], httpPort: 5000 });
    await responder.start();
    const socket = dgram.createSocket('udp4');
    try {
      const answer = await new Promise<SsdpSearchResponse>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no IPv4 answer')), 3000);
        socket.on('message', (m) => { clearTimeout(timer); resolve(parseSsdpMessage(m) as SsdpSearchResponse); });
        socket.bind(0, address, () => socket.send(search('upnp:rootdevice'), port, address));
      });
      expect(answer.location).toBe(`http://${address}:5000/igd/desc.xml`);
      expect(answer.searchTarget).toBe('upnp:rootdevice');
    } finally {
      socket.close();
      await responder.stop();
    }
  });
});
