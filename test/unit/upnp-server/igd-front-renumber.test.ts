// The demo's gateway bug: after `homenet lab renumber` the IGD front kept listening only on its
// startup addresses while SSDP pointed at the new one (ECONNREFUSED, grade D). The front now
// follows LAN address changes. Loopback stands in for the LAN: 127.0.0.1 -> 127.0.0.2.
import http from 'node:http';
import { NetworkInterfaceInfo } from 'node:os';
import { refuseEverything } from '../../../adapters/upnp/server/gateway-decider';
import { DEFAULT_IGD_PATHS } from '../../../adapters/upnp/server/igd-device';
import { IgdFront, QuirkMemory, startIgdFront } from '../../../plugin/gateway/igd-front';
import { createLogger } from '../../../plugin/gateway/structured-log';

const v4 = (address: string): NetworkInterfaceInfo => ({ address, netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: `${address}/8` });

/** GET the device description; resolves with the status, rejects with the socket error (ECONNREFUSED). */
function getDescription(host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path: DEFAULT_IGD_PATHS.description, agent: false, timeout: 2000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

describe('the IGD front follows LAN address changes', () => {
  let front: IgdFront | undefined;
  const lines: Record<string, unknown>[] = [];
  afterEach(async () => {
    await front?.stop();
    front = undefined;
  });

  it('listens on the new address and stops on the removed one after a renumber', async () => {
    let table: NodeJS.Dict<NetworkInterfaceInfo[]> = { 'lan-test': [v4('127.0.0.1')], wan0: [v4('127.0.0.9')] };
    front = await startIgdFront({
      decider: refuseEverything(501), lanInterfaces: ['lan-test'], httpPort: 0, uuid: '2f1c9e3a-5b7d-4c1e-9a2b-000000000001',
      log: createLogger({ level: 'info', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }),
      interfaces: () => table, ssdp: false, addressCheckIntervalMs: 0,
    });
    const port = Number(new URL(front.urls()[0]).port);
    expect(front.urls()).toEqual([`http://127.0.0.1:${port}`]);
    expect(await getDescription('127.0.0.1', port)).toBe(200);

    table = { 'lan-test': [v4('127.0.0.2')], wan0: [v4('127.0.0.9')] };
    await front.followAddresses();
    expect(front.urls()).toEqual([`http://127.0.0.2:${port}`]);
    expect(await getDescription('127.0.0.2', port)).toBe(200);
    await expect(getDescription('127.0.0.1', port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await expect(getDescription('127.0.0.9', port)).rejects.toMatchObject({ code: 'ECONNREFUSED' }); // never the WAN
    expect(lines.some((l) => l.msg === 'igd front listening on a new LAN address' && l.host === '127.0.0.2')).toBe(true);
    expect(lines.some((l) => l.msg === 'igd front stopped listening on a removed LAN address' && l.host === '127.0.0.1')).toBe(true);
  });

  it('follows on its own timer', async () => {
    let table: NodeJS.Dict<NetworkInterfaceInfo[]> = { 'lan-test': [v4('127.0.0.1')] };
    front = await startIgdFront({
      decider: refuseEverything(501), lanInterfaces: ['lan-test'], httpPort: 0, uuid: '2f1c9e3a-5b7d-4c1e-9a2b-000000000002',
      log: createLogger({ level: 'warn', write: () => undefined }), interfaces: () => table, ssdp: false, addressCheckIntervalMs: 50,
    });
    const port = Number(new URL(front.urls()[0]).port);
    table = { 'lan-test': [v4('127.0.0.1'), v4('127.0.0.3')] };
    const deadline = Date.now() + 3000;
    while (front.urls().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(front.urls().sort()).toEqual([`http://127.0.0.1:${port}`, `http://127.0.0.3:${port}`]);
    expect(await getDescription('127.0.0.3', port)).toBe(200);
  });

  it('retries an address it could not listen on yet', async () => {
    let table: NodeJS.Dict<NetworkInterfaceInfo[]> = { 'lan-test': [v4('127.0.0.1')] };
    front = await startIgdFront({
      decider: refuseEverything(501), lanInterfaces: ['lan-test'], httpPort: 0, uuid: '2f1c9e3a-5b7d-4c1e-9a2b-000000000003',
      log: createLogger({ level: 'info', write: (l) => lines.push(JSON.parse(l) as Record<string, unknown>) }),
      interfaces: () => table, ssdp: false, addressCheckIntervalMs: 0,
    });
    table = { 'lan-test': [v4('127.0.0.1'), v4('192.0.2.77')] }; // not on this host: EADDRNOTAVAIL
    await front.followAddresses();
    expect(front.urls()).toHaveLength(1);
    expect(lines.some((l) => l.msg === 'igd front could not listen on a new LAN address yet' && l.host === '192.0.2.77')).toBe(true);
  });
});

describe('QuirkMemory', () => {
  it('says first once per client and quirk, and stays bounded', () => {
    const m = new QuirkMemory(2);
    expect(m.first('a', 'q')).toBe(true);
    expect(m.first('a', 'q')).toBe(false);
    expect(m.first('b', 'q')).toBe(true);
    expect(m.first('a', 'r')).toBe(true); // evicts a/q
    expect(m.first('a', 'q')).toBe(true);
  });
});
