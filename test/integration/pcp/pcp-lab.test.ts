/**
 * Issue 10 (PCP / NAT-PMP), proven in the lab with real packets on Debian's
 * real miniupnpd 2.3.1: our PCP client (run in the LAN hosts' namespaces by
 * `plugin/lab/pcp-agent.ts`) opens an IPv6 pinhole and an IPv4 mapping, each
 * delivered and then dropped after the delete; the router restarted without
 * its lease file is noticed through the epoch and the mappings are back
 * within 1 s; THIRD_PARTY from the hub is refused (UNSUPP_OPTION) until the
 * lab runs with `--pcp-third-party`, then delivered; NAT-PMP public address
 * and a UDP map, cross-checked with Debian's `natpmpc`.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { labDown, labRebootRouter, labUp, LabHandle } from '../../../plugin/lab/lab';
import { labProbe } from '../../../plugin/lab/lab-probe';
import { LabPcpClient, startLabPcpClient } from '../../../plugin/lab/pcp-lab-client';
import { runCommand } from '../../../adapters/system/run-command';
import { describeInLab, HOMENET } from '../support/lab-fixture';

jest.setTimeout(90_000);

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describeInLab('PCP and NAT-PMP against the real miniupnpd in the lab', () => {
  let lab: LabHandle;
  const prefix = `pcp${(process.pid % 46656).toString(36)}`.slice(0, 8);
  let v6: LabPcpClient;
  let v4: LabPcpClient;
  let hub6: LabPcpClient;
  let hub4: LabPcpClient;

  beforeAll(async () => {
    await runCommand('which', ['natpmpc']).catch(() => runCommand('apt-get', ['install', '-y', 'natpmpc'], { timeoutMs: 120_000 }));
    lab = await labUp({ prefix });
    [v6, v4, hub6, hub4] = await Promise.all([
      startLabPcpClient(lab.plan, 'console', 'ipv6'),
      startLabPcpClient(lab.plan, 'console', 'ipv4'),
      startLabPcpClient(lab.plan, 'hub', 'ipv6'),
      startLabPcpClient(lab.plan, 'hub', 'ipv4'),
    ]);
  });

  afterAll(async () => {
    await Promise.all([v6, v4, hub6, hub4].filter((c) => c !== undefined).map((c) => c.stop()));
    if (lab) await labDown({ prefix });
  });

  const probe = (family: 'ipv4' | 'ipv6', port: number, externalPort?: number) =>
    labProbe(lab.plan, { to: 'console', family, port, timeoutMs: 1200, ...(externalPort !== undefined ? { externalPort } : {}) });

  it('opens an IPv6 pinhole: dropped before, delivered while mapped, dropped after the delete (lifetime 0)', async () => {
    expect((await probe('ipv6', 40030)).delivered).toBe(false);
    const mapped = await v6.command({ op: 'map', protocol: 'udp', internalPort: 40030, lifetime: 120 });
    expect(mapped).toMatchObject({ ok: true, state: { externalAddress: '2001:db8:77::10', externalPort: 40030, lifetime: 120, protocol: 17 } });
    expect(await probe('ipv6', 40030)).toMatchObject({ delivered: true, from: '2001:db8:100::2' });
    expect(await v6.command({ op: 'delete', protocol: 'udp', internalPort: 40030 })).toMatchObject({ ok: true });
    expect((await probe('ipv6', 40030)).delivered).toBe(false);
  });

  it('opens an IPv4 mapping: dropped before, delivered while mapped, dropped after the delete', async () => {
    expect((await probe('ipv4', 40031)).delivered).toBe(false);
    const mapped = await v4.command({ op: 'map', protocol: 'udp', internalPort: 40031, lifetime: 120, suggestedExternalPort: 40031 });
    expect(mapped).toMatchObject({ ok: true, state: { internalAddress: '192.168.77.10', externalAddress: '198.51.100.1', externalPort: 40031 } });
    const externalPort = (mapped.state as { externalPort: number }).externalPort;
    expect(await probe('ipv4', 40031, externalPort)).toMatchObject({ delivered: true, from: '198.51.100.2' });
    expect(await v4.command({ op: 'delete', protocol: 'udp', internalPort: 40031 })).toMatchObject({ ok: true });
    expect((await probe('ipv4', 40031, externalPort)).delivered).toBe(false);
  });

  it('refuses THIRD_PARTY from the hub for the console with a typed UNSUPP_OPTION (miniupnpd default)', async () => {
    for (const [client, address, port] of [[hub6, '2001:db8:77::10', 40060], [hub4, '192.168.77.10', 40061]] as const) {
      const r = await client.command({ op: 'map', protocol: 'udp', internalPort: port, lifetime: 120, internalAddress: address });
      expect(r).toMatchObject({ ok: false, error: { name: 'PcpResultError', resultCode: 5, resultName: 'UNSUPP_OPTION' } });
      expect(r.error!.message).toMatch(/THIRD_PARTY from/);
    }
    expect((await probe('ipv6', 40060)).delivered).toBe(false);
  });

  it('NAT-PMP: public address and a UDP map on miniupnpd, proven with a packet, then removed', async () => {
    expect(await v4.command({ op: 'natpmp-address' })).toMatchObject({ ok: true, address: '198.51.100.1' });
    const mapped = await v4.command({ op: 'natpmp-map', protocol: 'udp', internalPort: 40041, lifetime: 120 });
    expect(mapped).toMatchObject({ ok: true, mapping: { internalPort: 40041, externalPort: 40041, lifetime: 120 } });
    expect(await probe('ipv4', 40041)).toMatchObject({ delivered: true, from: '198.51.100.2' });
    expect(await v4.command({ op: 'natpmp-unmap', protocol: 'udp', internalPort: 40041 })).toMatchObject({ ok: true });
    expect((await probe('ipv4', 40041)).delivered).toBe(false);
  });

  it('natpmpc (Debian) against miniupnpd maps a port our probe reaches', async () => {
    const ns = lab.plan.hosts.console.namespace;
    const add = await runCommand('ip', ['netns', 'exec', ns, 'natpmpc', '-g', '192.168.77.1', '-a', '40043', '40043', 'udp', '120'], { allowFailure: true, timeoutMs: 20_000 });
    expect(add.stdout).toMatch(/Public IP address : 198\.51\.100\.1/);
    expect(add.stdout).toMatch(/Mapped public port 40043 protocol UDP to local port 40043 (liftime|lifetime) 120/);
    expect(await probe('ipv4', 40043)).toMatchObject({ delivered: true });
    await runCommand('ip', ['netns', 'exec', ns, 'natpmpc', '-g', '192.168.77.1', '-a', '40043', '40043', 'udp', '0'], { allowFailure: true, timeoutMs: 20_000 });
    expect((await probe('ipv4', 40043)).delivered).toBe(false);
  });

  it('natpmpc against our codec: we decode what natpmpc sends, natpmpc reads what we encode', async () => {
    // A NAT-PMP responder built on our codec, on the console's loopback (natpmpc -g 127.0.0.1).
    const codec = join(__dirname, '../../../dist/adapters/pcp/index.js');
    const responder = `
      const { decodeNatPmpRequest, encodeNatPmpResponse } = require(${JSON.stringify(codec)});
      const s = require('dgram').createSocket('udp4');
      s.on('message', (m, r) => {
        const req = decodeNatPmpRequest(m);
        console.log(JSON.stringify({ hex: m.toString('hex'), req }));
        const answer = req.opcode === 'public-address'
          ? { opcode: 'public-address', resultCode: 0, epoch: 77, externalAddress: '203.0.113.9' }
          : { opcode: req.opcode, resultCode: 0, epoch: 78, internalPort: req.internalPort, externalPort: req.suggestedExternalPort + 1, lifetime: req.lifetime * 2 };
        s.send(encodeNatPmpResponse(answer), r.port, r.address);
      });
      s.bind(5351, '127.0.0.1', () => console.log('ready'));
      setTimeout(() => process.exit(0), 15000);`;
    const ns = lab.plan.hosts.console.namespace;
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', responder], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    try {
      for (let i = 0; i < 100 && !out.includes('ready'); i += 1) await sleep(50);
      expect(out).toContain('ready');
      const add = await runCommand('ip', ['netns', 'exec', ns, 'natpmpc', '-g', '127.0.0.1', '-a', '40100', '40044', 'tcp', '300'], { allowFailure: true, timeoutMs: 20_000 });
      expect(add.stdout).toMatch(/Public IP address : 203\.0\.113\.9/);
      expect(add.stdout).toMatch(/epoch = 77/);
      expect(add.stdout).toMatch(/Mapped public port 40101 protocol TCP to local port 40044 (liftime|lifetime) 600/);
      const seen = out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { hex: string; req: unknown });
      expect(seen.map((s) => s.req)).toEqual([
        { opcode: 'public-address' },
        { opcode: 'map-tcp', internalPort: 40044, suggestedExternalPort: 40100, lifetime: 300 },
      ]);
      expect(seen[1].hex).toBe('000200009c6c9ca40000012c');
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('notices a router restart without its lease file through the epoch and maps again within 1 s', async () => {
    const six = await v6.command({ op: 'map', protocol: 'udp', internalPort: 40050, lifetime: 600 });
    const four = await v4.command({ op: 'map', protocol: 'udp', internalPort: 40051, lifetime: 600, suggestedExternalPort: 40051 });
    expect([six.ok, four.ok]).toEqual([true, true]);
    // A control nobody keeps alive (NAT-PMP, no renewal): it must be gone after the restart.
    expect(await v4.command({ op: 'natpmp-map', protocol: 'udp', internalPort: 40052, lifetime: 600 })).toMatchObject({ ok: true });
    expect(await probe('ipv4', 40052)).toMatchObject({ delivered: true });
    // Let the router's epoch move past the RFC's one-second tolerance, as it would on any router up for a while.
    for (let i = 0; i < 40; i += 1) {
      const a = await v6.command({ op: 'announce' });
      if ((a.epoch as number) >= 2) break;
      await sleep(250);
    }
    await v4.command({ op: 'announce' });
    const eventsBefore = { v6: v6.events.length, v4: v4.events.length };
    const rebootAt = Date.now();
    await labRebootRouter({ prefix, keepLeases: false });
    const rebootDoneAt = Date.now();
    const [r6, r4] = await Promise.all([
      v6.waitForEvent((e) => e.event === 'remapped' && e.internalPort === 40050 && v6.events.indexOf(e) >= eventsBefore.v6, 5000),
      v4.waitForEvent((e) => e.event === 'remapped' && e.internalPort === 40051 && v4.events.indexOf(e) >= eventsBefore.v4, 5000),
    ]);
    const lost6 = v6.events.slice(eventsBefore.v6).find((e) => e.event === 'epoch-lost')!;
    const back6 = r6.wallMs - rebootAt;
    const back4 = r4.wallMs - rebootAt;
    // The numbers the issue asks for (also in the lead's report).
    console.log(`router restart (kill, flush, start; the lab call took ${rebootDoneAt - rebootAt} ms): IPv6 pinhole back ${back6} ms after the restart began (epoch-lost seen at +${lost6.wallMs - rebootAt} ms, re-MAP took ${r6.elapsedMs as number} ms); IPv4 mapping back ${back4} ms after`);
    expect(back6).toBeLessThan(1000);
    expect(back4).toBeLessThan(1000);
    expect(r6.state).toMatchObject({ externalPort: 40050, epoch: expect.any(Number) });
    expect((await probe('ipv4', 40052)).delivered).toBe(false); // the router did forget
    expect(await probe('ipv6', 40050)).toMatchObject({ delivered: true });
    expect(await probe('ipv4', 40051, (r4.state as { externalPort: number }).externalPort)).toMatchObject({ delivered: true });
  });

  it('with `homenet lab up --pcp-third-party`, THIRD_PARTY from the hub opens the console\'s pinhole and mapping', async () => {
    const up = await runCommand(process.execPath, [HOMENET, 'lab', 'up', '--prefix', prefix, '--pcp-third-party'], { allowFailure: true, timeoutMs: 60_000 });
    expect(up.code).toBe(0);
    expect(up.stderr).toMatch(/restarting miniupnpd with pcp_allow_thirdparty=yes/);
    const six = await hub6.command({ op: 'map', protocol: 'udp', internalPort: 40070, lifetime: 120, internalAddress: '2001:db8:77::10' });
    expect(six).toMatchObject({ ok: true, state: { internalAddress: '2001:db8:77::10', externalAddress: '2001:db8:77::10', externalPort: 40070 } });
    expect(await probe('ipv6', 40070)).toMatchObject({ delivered: true, from: '2001:db8:100::2' });
    const four = await hub4.command({ op: 'map', protocol: 'udp', internalPort: 40071, lifetime: 120, internalAddress: '192.168.77.10', suggestedExternalPort: 40071 });
    expect(four).toMatchObject({ ok: true, state: { internalAddress: '192.168.77.10', externalAddress: '198.51.100.1' } });
    expect(await probe('ipv4', 40071, (four.state as { externalPort: number }).externalPort)).toMatchObject({ delivered: true, from: '198.51.100.2' });
    // The setting survives a reboot-router.
    await labRebootRouter({ prefix, keepLeases: false });
    const again = await hub6.command({ op: 'map', protocol: 'udp', internalPort: 40072, lifetime: 120, internalAddress: '2001:db8:77::10' });
    expect(again).toMatchObject({ ok: true });
  });
});
