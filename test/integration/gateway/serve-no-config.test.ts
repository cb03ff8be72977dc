/**
 * Issue 8 item 13 acceptance in the lab: `homenet serve --mode gateway` with
 * NO config file, in the lab's router namespace (miniupnpd stopped), finds
 * its WAN and LAN, creates its admin token file and says where, answers an
 * unmodified `upnpc` on the console (a pinhole that carries a real WAN
 * packet), and stops on SIGTERM. The lab's router has no default route, as
 * built: the first start shows the clear refusal; the test then adds the ISP
 * default route a real router has.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeInLab, homenetIn, startTestLab, stopTestLab } from '../support/lab-fixture';
import { ForegroundHomenet } from '../support/foreground';
import { LabHandle } from '../../../plugin/lab/lab';
import { allowHomenetMarks } from '../../../plugin/lab/homenet-router';
import { readLabState, writeLabState } from '../../../plugin/lab/lab-state';
import { stopLabProcess } from '../../../plugin/lab/lab-process';
import { runCommand } from '../../../adapters/system/run-command';
import { probe, temporaryAddress, upnpc } from './gateway-lab-support';

jest.setTimeout(120_000);

describeInLab('homenet serve --mode gateway with no config file (issue 8 item 13)', () => {
  let lab: LabHandle | undefined;
  let daemon: ForegroundHomenet | undefined;
  const stateDir = join(mkdtempSync(join(tmpdir(), 'homenet-noconf-')), 'state');

  beforeAll(async () => {
    lab = await startTestLab('nc');
    // The router's UPnP ports are homenet's now: stop the lab's miniupnpd, as `lab up --router homenet` does.
    const state = await readLabState(lab.plan.runDir);
    for (const p of state?.processes.filter((q) => q.name === 'miniupnpd') ?? []) await stopLabProcess(p);
    if (state) await writeLabState({ ...state, processes: state.processes.filter((p) => p.name !== 'miniupnpd') });
    await allowHomenetMarks(lab.plan);
  });
  afterAll(async () => {
    await daemon?.stop();
    await stopTestLab(lab);
    rmSync(join(stateDir, '..'), { recursive: true, force: true });
  });

  it('without a default route it refuses to guess, naming the candidates and the key to set (exit 2)', async () => {
    const result = await homenetIn(lab!, 'router', ['serve', '--mode', 'gateway', '--check', '--state-dir', stateDir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`config key 'wan.interface' is not set and cannot choose the WAN interface: there is no default route`);
    expect(result.stderr).toMatch(/wan0 \(198\.51\.100\.1\/24, 2001:db8:100::1\/64\)/);
    expect(result.stderr).toContain('lan0 (bridge; 192.168.77.1/24');
    expect(result.stderr).toContain('{"wan": {"interface": "NAME"}}');
  });

  it('--check prints the effective config with defaults and the chosen interfaces, creates nothing, exits 0', async () => {
    await runCommand('ip', ['-n', lab!.plan.hosts.router.namespace, 'route', 'add', 'default', 'via', lab!.plan.wan.peerIpv4, 'dev', 'wan0']);
    const result = await homenetIn(lab!, 'router', ['serve', '--mode', 'gateway', '--check']);
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout) as { ok: boolean; config: Record<string, Record<string, unknown>>; chosen: { interfaces: Record<string, unknown> } };
    expect(printed.chosen.interfaces).toMatchObject({ wan: 'wan0', lan: ['lan0'], detected: true });
    expect(printed.config.wan).toEqual({ interface: 'wan0', ipv4: { source: 'interface' } });
    expect(printed.config.lan).toEqual({ interfaces: ['lan0'] });
    expect(printed.config.stateDir).toBe('/var/lib/homenet');
    expect(printed.config.journal).toEqual({ path: '/var/lib/homenet/gateway.db', retentionSeconds: 604_800, maxBytes: 16 * 1024 * 1024, pruneIntervalSeconds: 300 });
    expect(printed.config.admin).toMatchObject({ tokenFile: '/var/lib/homenet/admin-token', token: expect.stringMatching(/^\(redacted/), listen: { host: '127.0.0.1', port: 8780 } });
    expect(printed.config.upnp).toEqual({ enabled: true, httpPort: 5000, class: 'game-session', answerAfter: 'firewall', maxConnections: 128, maxConnectionsPerSource: 16 });
    const withStateDir = await homenetIn(lab!, 'router', ['serve', '--mode', 'gateway', '--check', '--state-dir', stateDir]);
    expect(withStateDir.code).toBe(0);
    expect(() => statSync(stateDir)).toThrow(/ENOENT/);
  });

  it('starts: announces its interfaces and token file, serves upnpc (a pinhole carries a WAN packet), stops on SIGTERM', async () => {
    daemon = new ForegroundHomenet(lab!, 'router', ['serve', '--mode', 'gateway', '--state-dir', stateDir]);
    const chosen = await daemon.waitFor((e) => e.msg === 'interfaces chosen', 15_000, 'interfaces chosen');
    expect(chosen).toMatchObject({ component: 'serve', wan: 'wan0', lan: ['lan0'] });
    expect(chosen.whyWan).toBe(`wan0: the IPv4 default route (via ${lab!.plan.wan.peerIpv4}) leaves through it`);
    expect(chosen.whyLan).toContain('lan0: bridge with 192.168.77.1/24');
    const token = await daemon.waitFor((e) => e.msg === 'admin token created', 15_000, 'admin token created');
    const tokenPath = join(stateDir, 'admin-token');
    expect(token.path).toBe(tokenPath);
    expect(statSync(tokenPath).mode & 0o777).toBe(0o600);
    expect(statSync(stateDir).mode & 0o777).toBe(0o700);
    const secret = readFileSync(tokenPath, 'utf8').trim();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(daemon.events)).not.toContain(secret);
    await daemon.waitFor((e) => e.msg === 'gateway running', 20_000, 'gateway running');

    // The admin API takes the created token (and only it).
    const api = (bearer: string) =>
      runCommand('ip', ['netns', 'exec', lab!.plan.hosts.router.namespace, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '-m', '5', '-H', `Authorization: Bearer ${bearer}`, 'http://127.0.0.1:8780/api/needs'], { timeoutMs: 10_000 });
    expect((await api(secret)).stdout).toBe('200');
    expect((await api('not-the-token-0123456789')).stdout).toBe('401');

    // Unmodified upnpc on the console finds it and opens a pinhole that carries a real packet from the WAN.
    const status = await upnpc(lab!, 'console', ['-s']);
    expect(status.stdout).toContain(`desc: http://${lab!.plan.lan.routerIpv4}:${lab!.plan.upnpHttpPort}/igd/desc.xml`);
    expect(status.stdout).toContain(`ExternalIPAddress = ${lab!.plan.wan.routerIpv4}`);
    const temporary = await temporaryAddress(lab!, 'console');
    expect((await probe(lab!, 'console', 'ipv6', 42100, temporary)).delivered).toBe(false);
    const add = await upnpc(lab!, 'console', ['-6', '-A', '', '0', temporary, '42100', 'UDP', '300']);
    const id = /Pinhole ID = (\d+)/.exec(add.stdout)?.[1];
    expect(id).toBeDefined();
    expect((await probe(lab!, 'console', 'ipv6', 42100, temporary)).delivered).toBe(true);
    const del = await upnpc(lab!, 'console', ['-6', '-D', id!]);
    expect(del.stdout).toContain('UPNP_DeletePinhole() returned : 0');
    expect((await probe(lab!, 'console', 'ipv6', 42100, temporary)).delivered).toBe(false);

    expect(await daemon.stop()).toBe(0);
    expect(daemon.events.some((e) => e.msg === 'stopped')).toBe(true);
  });

  it('a second start reads the same token file; one that others can read is refused (exit 2)', async () => {
    const tokenPath = join(stateDir, 'admin-token');
    const before = readFileSync(tokenPath, 'utf8');
    daemon = new ForegroundHomenet(lab!, 'router', ['serve', '--mode', 'gateway', '--state-dir', stateDir]);
    const token = await daemon.waitFor((e) => e.msg === 'admin token file' || e.msg === 'admin token created', 15_000, 'admin token file');
    expect(token).toMatchObject({ msg: 'admin token file', path: tokenPath });
    await daemon.waitFor((e) => e.msg === 'gateway running', 20_000, 'gateway running');
    expect(await daemon.stop()).toBe(0);
    expect(readFileSync(tokenPath, 'utf8')).toBe(before);

    await runCommand('chmod', ['644', tokenPath]);
    const refused = await homenetIn(lab!, 'router', ['serve', '--mode', 'gateway', '--state-dir', stateDir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`admin token file ${tokenPath} is readable or writable by group/others (mode 0644); run: chmod 600 ${tokenPath}`);
  });
});
