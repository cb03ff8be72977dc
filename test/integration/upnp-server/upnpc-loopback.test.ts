// The unmodified miniupnpc client (`upnpc`) against our IGD front with the engine-backed
// decider, on loopback (`-u` names the description URL; discovery is covered elsewhere).
// Skipped when upnpc is not installed.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { VirtualTimeScheduler } from 'rxjs';
import { createEngineDecider, createIgdHttpServer, defineIgdDevice, EngineDecider, IgdHttpServer } from '../../../adapters/upnp';
import { createPolicyEngine, PolicyEngine } from '../../../policies';

const UPNPC = ['/usr/bin/upnpc', '/usr/local/bin/upnpc'].find((p) => fs.existsSync(p));

function upnpc(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    execFile(UPNPC as string, args, { timeout: 10_000 }, (_err, stdout, stderr) => resolve(`${stdout}${stderr}`));
  });
}

(UPNPC ? describe : describe.skip)('upnpc against the IGD front', () => {
  let engine: PolicyEngine;
  let decider: EngineDecider;
  let server: IgdHttpServer;
  const igd = defineIgdDevice({ uuid: '2f1c9e3a-5b7d-4c1e-9a2b-000000000001' });
  let v4: string;
  let v6: string;

  beforeAll(async () => {
    const scheduler = new VirtualTimeScheduler();
    engine = createPolicyEngine({ scheduler });
    engine.submit({ type: 'gateway-seen', gatewayId: 'self', bootId: '1' });
    decider = createEngineDecider({ engine, scheduler, externalIpv4: () => '198.51.100.1' });
    server = createIgdHttpServer({ igd, decider, listen: [{ host: '127.0.0.1', port: 0 }, { host: '::1', port: 0 }] });
    await server.start();
    [v4, v6] = server.urls().map((u) => `${u}${igd.descriptionPath}`) as [string, string];
  });
  afterAll(async () => {
    await server.close();
    decider.dispose();
    engine.dispose();
  });

  it('reads the status and external address', async () => {
    const out = await upnpc(['-u', v4, '-s']);
    expect(out).toMatch(/ExternalIPAddress = 198\.51\.100\.1/);
  });

  it('adds, lists and deletes an IPv4 mapping for itself', async () => {
    const add = await upnpc(['-u', v4, '-a', '127.0.0.1', '40000', '40000', 'UDP', '600']);
    expect(add).toMatch(/external 198\.51\.100\.1:40000 UDP is redirected to internal 127\.0\.0\.1:40000/);
    expect(decider.portMappings()).toHaveLength(1);
    expect(engine.snapshot().grants.filter((g) => g.table === 'port-mapping')).toHaveLength(1);
    const list = await upnpc(['-u', v4, '-l']);
    expect(list).toMatch(/UDP\s+40000->127\.0\.0\.1:40000/);
    const del = await upnpc(['-u', v4, '-d', '40000', 'UDP']);
    expect(del).not.toMatch(/failed/i);
    expect(decider.portMappings()).toHaveLength(0);
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
    expect(engine.snapshot().grants.filter((g) => g.table === 'pinhole')).toHaveLength(1);
    expect(await upnpc(['-6', '-u', v6, '-C', '1'])).toMatch(/709/);
    expect(await upnpc(['-6', '-u', v6, '-D', '1'])).not.toMatch(/failed/i);
    expect(decider.pinholes()).toHaveLength(0);
  });
});
