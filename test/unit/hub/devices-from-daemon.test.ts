import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { devicesCommand } from '../../../plugin/cli/commands/devices';
import type { HubDaemon } from '../../../plugin/hub/hub-daemon';
import { CONSOLE, PLUG, call, hubConfig, startTestHub } from './hub-support';

const TOKEN = 'hub-admin-token-0123456789';

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l), interrupted: () => new Promise<void>(() => undefined) } };
}

describe('homenet devices --daemon: what a running hub knows, with enforced/advised per device', () => {
  let hub: HubDaemon;
  let dir: string;
  let url: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'homenet-devices-daemon-'));
    writeFileSync(join(dir, 'token'), `${TOKEN}\n`, { mode: 0o600 });
    ({ hub } = await startTestHub(hubConfig({ admin: { listen: '127.0.0.1:0', token: TOKEN } })));
    url = `http://127.0.0.1:${hub.daemon.adminAddress?.port}`;
    await call(hub, CONSOLE, 'POST', '/homenet/v1/needs', { protocol: 'udp', internalPort: 3074, family: 'ipv4' });
    await call(hub, PLUG, 'POST', '/homenet/v1/needs', { protocol: 'tcp', internalPort: 8080, family: 'ipv4' });
  });
  afterAll(async () => {
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--json: deployment, devices with enforcement, needs, grants, decisions (the plug refused by the Matter rule)', async () => {
    const t = io();
    expect(await devicesCommand.run(['--daemon', url, '--token-file', join(dir, 'token'), '--json'], t.io)).toBe(0);
    const view = JSON.parse(t.out.join('\n')) as { info: Record<string, unknown>; devices: Record<string, unknown>[]; needs: unknown[]; grants: Record<string, unknown>[]; decisions: Record<string, unknown>[] };
    expect(view.info).toMatchObject({ server: 'homenet-hub', deployment: 'hub', enforcement: 'advised', applier: 'agents' });
    expect(view.devices.find((d) => d.id === 'plug')).toMatchObject({ enforcement: 'advised' });
    expect(view.needs).toHaveLength(1);
    expect(view.grants).toEqual([expect.objectContaining({ internalClient: CONSOLE, internalPort: 3074 })]);
    expect(view.decisions.some((d) => d.deviceId === 'plug' && d.verdict === 'denied')).toBe(true);
  });

  it('the table says what a person needs: who answers, each device enforced or advised, the refusal with its rule', async () => {
    const t = io();
    expect(await devicesCommand.run(['--daemon', url, '--token-file', join(dir, 'token')], t.io)).toBe(0);
    const printed = t.out.join('\n');
    expect(printed).toMatch(/^homenet-hub \(hub\): advised via agents, router 127\.0\.0\.1/);
    expect(printed).toMatch(/router: test router; WAN IPv4 public/);
    expect(printed).toMatch(/plug {2}\[advised\]/);
    expect(printed).toMatch(/plug {2}denied {2}matter-isolation\//);
  });

  it('a wrong token or an unreachable daemon: one clear line, exit 1', async () => {
    writeFileSync(join(dir, 'bad'), 'wrong-token-0123456789\n');
    const t = io();
    expect(await devicesCommand.run(['--daemon', url, '--token-file', join(dir, 'bad')], t.io)).toBe(1);
    expect(t.err.join('\n')).toMatch(/HTTP 401/);
    const u = io();
    expect(await devicesCommand.run(['--daemon', 'http://127.0.0.1:1', '--token-file', join(dir, 'token')], u.io)).toBe(1);
    expect(u.err.join('\n')).toMatch(/ECONNREFUSED/);
  });
});
