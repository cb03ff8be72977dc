// The PCP front as the daemon starts it (plugin/gateway/pcp-front.ts): real UDP sockets on a
// loopback "LAN", datagrams through the daemon's needs path, refusals in the daemon's log,
// and the epoch kept across a restart only while the journal survives.
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { NetworkInterfaceInfo, tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodePcpResponse, encodePcpRequest } from '../../../adapters/pcp';
import { GatewayDaemon } from '../../../plugin/gateway/gateway-daemon';
import { PcpEpochStore, pcpLanAddresses, startPcpFront } from '../../../plugin/gateway/pcp-front';
import { startTestDaemon, testConfig, testWorld, TestWorld } from '../gateway/support';

const LOOPBACK: NodeJS.Dict<NetworkInterfaceInfo[]> = {
  'lan-test': [
    { address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: '127.0.0.1/8' },
    { address: '::1', netmask: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', family: 'IPv6', mac: '00:00:00:00:00:00', internal: false, cidr: '::1/128', scopeid: 0 },
  ],
  wan0: [{ address: '198.51.100.1', netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:01', internal: false, cidr: '198.51.100.1/24' }],
};
const PORT = 20_000 + (process.pid % 20_000);

function exchange(host: string, bytes: Buffer): Promise<{ data: Buffer; port: number }> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no answer from ${host}:${PORT}`));
    }, 2000);
    socket.on('message', (data, rinfo) => {
      clearTimeout(timer);
      socket.close();
      resolve({ data, port: rinfo.port });
    });
    socket.send(bytes, PORT, host);
  });
}

const mapFrom = (client: string, port: number, nonce = 'front-nonce0') =>
  encodePcpRequest({ opcode: 'map', lifetime: 120, clientAddress: client, options: [], mapping: { nonce: Buffer.from(nonce), protocol: 17, internalPort: port, externalPort: 0, externalAddress: client.includes(':') ? '::' : '0.0.0.0' } });

async function start(world: TestWorld, journalPath: string | null): Promise<GatewayDaemon> {
  const config = testConfig({
    journal: { path: journalPath },
    lan: { interfaces: ['lan-test'] },
    // 127.0.0.1 plays the Matter plug; ::1 an ordinary host.
    devices: { known: [{ id: 'plug', kind: 'matter', addresses: ['127.0.0.1'] }], watchNeighbours: false },
    pcp: { port: PORT },
  });
  return startTestDaemon(world, config, { startPcpFront: (o) => startPcpFront({ ...o, interfaces: () => LOOPBACK, refreshMs: 0, announce: false }) });
}

describe('the PCP front of the daemon', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pcp-front-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('listens on the LAN addresses only, answers from port 5351 (here PORT), through the needs path; a refusal is logged with its reason', async () => {
    const world = testWorld();
    const daemon = await start(world, null);
    try {
      expect([...daemon.pcpAddresses].sort()).toEqual(['127.0.0.1', '::1']);
      const ok = await exchange('::1', mapFrom('::1', 40050));
      expect(ok.port).toBe(PORT);
      expect(decodePcpResponse(ok.data)).toMatchObject({ resultCode: 0, lifetime: 120 });
      expect(daemon.needs.list().map((n) => [n.source, n.request.internalClient, n.request.internalPort])).toEqual([['pcp', '::1', 40050]]);
      const refused = await exchange('127.0.0.1', mapFrom('127.0.0.1', 5540));
      expect(decodePcpResponse(refused.data).resultCode).toBe(2);
      const line = world.lines.find((l) => l.msg === 'pcp map refused');
      expect(line).toMatchObject({ sender: '127.0.0.1', result: 2, rule: 'matter-isolation', code: 'matter-device-isolation' });
      expect(daemon.history.recent(3).some((d) => d.deviceId === 'plug' && d.verdict === 'denied' && d.reasons[0]?.code === 'matter-device-isolation')).toBe(true);
      // Deleted with its nonce: the need ends.
      const del = encodePcpRequest({ opcode: 'map', lifetime: 0, clientAddress: '::1', options: [], mapping: { nonce: Buffer.from('front-nonce0'), protocol: 17, internalPort: 40050, externalPort: 0, externalAddress: '::' } });
      expect(decodePcpResponse((await exchange('::1', del)).data)).toMatchObject({ resultCode: 0, lifetime: 0 });
      expect(daemon.needs.size).toBe(0);
    } finally {
      await daemon.stop();
    }
  });

  it('the epoch start survives a restart while the journal does, and begins anew when it was lost', async () => {
    const journal = join(dir, 'gateway.db');
    const startedAt = (world: TestWorld) => world.lines.find((l) => l.msg === 'pcp front listening')?.epochStartedAt;
    const first = testWorld();
    await (await start(first, journal)).stop();
    writeFileSync(journal, ''); // the journal exists now (the test daemon's journal is in memory)
    await new Promise((r) => setTimeout(r, 20));
    const second = testWorld();
    await (await start(second, journal)).stop();
    expect(typeof startedAt(first)).toBe('number');
    expect(startedAt(second)).toBe(startedAt(first));
    rmSync(journal); // state lost
    await new Promise((r) => setTimeout(r, 20));
    const third = testWorld();
    await (await start(third, journal)).stop();
    expect(startedAt(third)).toBeGreaterThan(startedAt(first) as number);
    expect(third.lines.some((l) => l.msg === 'pcp epoch begins')).toBe(true);
  });
});

describe('PcpEpochStore', () => {
  it('keeps the start while the state survives; resets it otherwise; nothing kept without a journal file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pcp-epoch-'));
    try {
      const store = PcpEpochStore.besideJournal(join(dir, 'g.db'));
      expect(store.begin(1000, true)).toEqual({ startedAt: 1000, reset: true });
      expect(store.begin(5000, true)).toEqual({ startedAt: 1000, reset: false });
      expect(store.begin(9000, false)).toEqual({ startedAt: 9000, reset: true });
      expect(store.begin(9500, true)).toEqual({ startedAt: 9000, reset: false });
      // A start in the future (a clock set back) is not trusted.
      expect(store.begin(100, true)).toEqual({ startedAt: 100, reset: true });
      expect(PcpEpochStore.besideJournal(null).begin(7, true)).toEqual({ startedAt: 7, reset: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('pcpLanAddresses: the LAN interfaces only, link-local with its zone', () => {
    const dict: NodeJS.Dict<NetworkInterfaceInfo[]> = {
      ...LOOPBACK,
      lan1: [{ address: 'fe80::1', netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '00:00:00:00:00:02', internal: false, cidr: 'fe80::1/64', scopeid: 3 }],
    };
    expect(pcpLanAddresses(['lan-test', 'lan1'], dict)).toEqual([{ address: '127.0.0.1' }, { address: '::1' }, { address: 'fe80::1', zone: 'lan1' }]);
  });
});
