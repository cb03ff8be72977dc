// The unmodified miniupnpc client (`upnpc`) against what the gateway daemon runs — its IGD
// front and needs path (journal -> engine -> firewall applier, in memory) — on loopback (`-u`
// names the description URL; discovery is covered elsewhere). upnpc comes with the lab's
// Debian packages (miniupnpc); the test fails, naming it, when it is missing.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { DaemonFront, startDaemonFront } from '../../unit/upnp-server/daemon-front';

const UPNPC = ['/usr/bin/upnpc', '/usr/local/bin/upnpc'].find((p) => fs.existsSync(p));

function upnpc(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(UPNPC as string, args, { timeout: 10_000 }, (_err, stdout, stderr) => resolve(`${stdout}${stderr}`));
  });
}

describe('upnpc against the gateway daemon\'s IGD front', () => {
  let front: DaemonFront;
  let v4: string;
  let v6: string;
  const grants = (table: 'pinhole' | 'port-mapping') => front.daemon.engine.snapshot().grants.filter((g) => g.table === table);

  beforeAll(async () => {
    if (!UPNPC) throw new Error('upnpc (Debian package miniupnpc) is not installed: apt-get install miniupnpc');
    front = await startDaemonFront({ direct: true });
    const urls = front.urls.map((u) => `${u}${front.igd.descriptionPath}`);
    v4 = urls.find((u) => u.startsWith('http://127.')) as string;
    v6 = urls.find((u) => u.startsWith('http://[::1]')) as string;
  });
  afterAll(async () => {
    await front?.stop();
  });

  it('reads the status and external address', async () => {
    const out = await upnpc(['-u', v4, '-s']);
    expect(out).toMatch(/ExternalIPAddress = 198\.51\.100\.1/);
  });

  it('adds, lists and deletes an IPv4 mapping for itself', async () => {
    const add = await upnpc(['-u', v4, '-a', '127.0.0.1', '40000', '40000', 'UDP', '600']);
    expect(add).toMatch(/external 198\.51\.100\.1:40000 UDP is redirected to internal 127\.0\.0\.1:40000/);
    expect(front.daemon.needs.list().filter((n) => n.request.family === 'ipv4')).toHaveLength(1);
    expect(grants('port-mapping')).toHaveLength(1);
    expect((await front.world.firewall.list()).filter((e) => e.kind !== 'pinhole')).toHaveLength(1);
    const list = await upnpc(['-u', v4, '-l']);
    expect(list).toMatch(/UDP\s+40000->127\.0\.0\.1:40000/);
    const del = await upnpc(['-u', v4, '-d', '40000', 'UDP']);
    expect(del).not.toMatch(/failed/i);
    expect(front.daemon.needs.size).toBe(0);
    expect(grants('port-mapping')).toHaveLength(0);
  });

  it('is refused a mapping for another host (718) and a privileged port (606)', async () => {
    expect(await upnpc(['-u', v4, '-a', '192.168.77.99', '40001', '40001', 'UDP', '600'])).toMatch(/718/);
    expect(await upnpc(['-u', v4, '-a', '127.0.0.1', '80', '80', 'TCP', '600'])).toMatch(/606/);
  });

  it('adds, checks and deletes an IPv6 pinhole for itself', async () => {
    const status = await upnpc(['-6', '-u', v6, '-S']);
    expect(status).toMatch(/FirewallEnabled: 1 & Inbound Pinhole Allowed: 1/);
    const add = await upnpc(['-6', '-u', v6, '-A', '', '0', '::1', '40000', '17', '600']);
    const uid = /Pinhole ID = (\d+)/.exec(add)?.[1];
    expect(uid).toBe('1');
    expect(grants('pinhole')).toHaveLength(1);
    expect(await upnpc(['-6', '-u', v6, '-C', '1'])).toMatch(/709/);
    expect(await upnpc(['-6', '-u', v6, '-D', '1'])).not.toMatch(/failed/i);
    expect(front.daemon.needs.size).toBe(0);
    expect(await front.world.firewall.list()).toEqual([]);
  });
});
