/**
 * The hub's applier towards a homenet gateway, against a REAL in-process
 * gateway daemon (engine, needs, admin API on 127.0.0.1:0, memory journal and
 * memory firewall on a virtual clock the hub's side shares). No mock of the
 * gateway: every open, renew, close and refusal is the gateway's own answer.
 */
import http from 'node:http';
import net from 'node:net';
import { startAdminServer } from '../../../plugin/gateway/admin/admin-server';
import type { GatewayDaemon } from '../../../plugin/gateway/gateway-daemon';
import { entryKey, type DesiredEntry } from '../../../plugin/gateway/gateway-firewall';
import { FirewallApplier } from '../../../plugin/gateway/firewall-applier';
import { GatewayAdminError, GatewayAdminFirewall, probeHomenetGateway } from '../../../plugin/hub/gateway-admin-firewall';
import type { Action, ActionOp } from '../../../policies/model/action';
import { reason } from '../../../policies/model/reason';
import { EMPTY_STEP } from '../../../policies/output';
import type { PolicyEvent } from '../../../policies/model/event';
import { advance, CONSOLE, CONSOLE_V4, CONSOLE2_V4, PLUG, requester, startTestDaemon, testConfig, testWorld, TOKEN, type TestWorld } from '../gateway/support';

let seq = 0;
/** An engine action as the hub's engine emits it (what the firewall applier hands the firewall). */
function action(op: ActionOp, target: { family: 'ipv4' | 'ipv6'; internalClient: string; internalPort: number; externalPort?: number; protocol?: 'udp' | 'tcp' }, leaseSeconds = 600): Action {
  const protocol = target.protocol ?? 'udp';
  const needId = `hub-need:${target.family}:${protocol}:${target.internalClient}:${target.internalPort}`;
  seq += 1;
  return {
    type: 'action',
    seq,
    at: 0,
    op,
    table: target.family === 'ipv6' ? 'pinhole' : 'port-mapping',
    key: `${op}|router|${target.family}|${protocol}|${target.internalClient}|${target.internalPort}|${target.externalPort ?? '-'}|g1|r${seq}`,
    gatewayId: 'router',
    grantId: `${needId}#${target.family}`,
    needId,
    generation: 1,
    family: target.family,
    protocol,
    internalClient: target.internalClient,
    internalPort: target.internalPort,
    ...(target.externalPort !== undefined ? { externalPort: target.externalPort } : {}),
    remoteHost: '',
    remotePort: 0,
    leaseSeconds,
    reason: reason('lease-policy', 'renewal-due'),
  };
}

const PINHOLE = { family: 'ipv6' as const, internalClient: CONSOLE, internalPort: 3074 };
const MAPPING = { family: 'ipv4' as const, internalClient: CONSOLE_V4, internalPort: 3074, externalPort: 3074 };

describe('GatewayAdminFirewall against a real gateway daemon', () => {
  let world: TestWorld;
  let gateway: GatewayDaemon;
  let url: string;
  let fw: GatewayAdminFirewall;
  const now = () => world.scheduler.now();
  const firewallFor = (extra: Partial<ConstructorParameters<typeof GatewayAdminFirewall>[0]> = {}) =>
    new GatewayAdminFirewall({ url, token: TOKEN, hubName: 'hub-test', now, ...extra });
  const gatewayNeeds = () => gateway.needs.list();

  beforeEach(async () => {
    world = testWorld();
    // The gateway knows the Matter plug (PLUG, PLUG_V4): its own rules refuse any port to it.
    const config = testConfig({ admin: { listen: '127.0.0.1:0', token: TOKEN } });
    gateway = await startTestDaemon(world, config, {
      startAdminApi: (services, cfg, log) => startAdminServer({ services, config: cfg.admin, log }),
    });
    url = `http://127.0.0.1:${gateway.adminAddress!.port}`;
    fw = firewallFor();
  });
  afterEach(async () => {
    await fw.close();
    await gateway.stop();
  });

  it('add opens the need on the gateway (its firewall holds the entry); list shows it with the grant and time left', async () => {
    await fw.apply([action('add', PINHOLE, 600), action('add', MAPPING, 900)]);
    const needs = gatewayNeeds();
    expect(needs.map((n) => [n.source, n.request.internalClient, n.request.internalPort, n.description])).toEqual([
      ['admin', CONSOLE, 3074, `homenet-hub hub-test grant hub-need:ipv6:udp:${CONSOLE}:3074#ipv6`],
      ['admin', CONSOLE_V4, 3074, `homenet-hub hub-test grant hub-need:ipv4:udp:${CONSOLE_V4}:3074#ipv4`],
    ]);
    expect(needs[0].deadline).toBe(now() + 600_000);
    expect(needs[1].deadline).toBe(now() + 900_000);
    const kernel = await world.firewall.list();
    expect(kernel.map((e) => [e.kind, e.internalClient, e.externalPort, e.expiresInSeconds]).sort()).toEqual([
      ['pinhole', CONSOLE, undefined, 600],
      ['port-mapping', CONSOLE_V4, 3074, 900],
    ]);
    const listed = await fw.list();
    expect(listed).toHaveLength(2);
    expect(listed.find((e) => e.family === 'ipv6')).toMatchObject({ kind: 'pinhole', internalClient: CONSOLE, internalPort: 3074, owner: `hub-need:ipv6:udp:${CONSOLE}:3074#ipv6`, expiresInSeconds: 600 });
    expect(listed.find((e) => e.family === 'ipv4')).toMatchObject({ kind: 'port-mapping', externalPort: 3074, expiresInSeconds: 900 });
  });

  it('renew extends the lease on the gateway and in its firewall', async () => {
    await fw.apply([action('add', PINHOLE, 600)]);
    await advance(world.scheduler, 300_000, 10_000);
    expect((await fw.list())[0].expiresInSeconds).toBe(300);
    await fw.apply([action('renew', PINHOLE, 600)]);
    expect(gatewayNeeds()).toHaveLength(1);
    expect(gatewayNeeds()[0].deadline).toBe(now() + 600_000);
    expect((await fw.list())[0].expiresInSeconds).toBe(600);
    await gateway.reconcile(); // the gateway's kernel table follows its needs
    expect((await world.firewall.list())[0].expiresInSeconds).toBe(600);
    // Past the renewed deadline the gateway ends the need by itself: nothing is left open.
    await advance(world.scheduler, 601_000, 10_000);
    expect(gatewayNeeds()).toEqual([]);
    expect(await fw.list()).toEqual([]);
  });

  it('delete closes the need; deleting what the gateway no longer has is success', async () => {
    await fw.apply([action('add', PINHOLE), action('add', MAPPING)]);
    await fw.apply([action('delete', PINHOLE)]);
    expect(gatewayNeeds().map((n) => n.request.family)).toEqual(['ipv4']);
    expect((await world.firewall.list()).map((e) => e.kind)).toEqual(['port-mapping']);
    await fw.apply([action('delete', PINHOLE)]); // again: nothing to do
    // The owner closed the mapping behind the hub's back: the hub's delete still succeeds.
    const mappingNeed = gatewayNeeds()[0].id;
    expect(await gateway.needs.close(mappingNeed)).toBe(true);
    await fw.apply([action('delete', MAPPING)]);
    expect(gatewayNeeds()).toEqual([]);
    expect(await world.firewall.list()).toEqual([]);
  });

  it('a hub restarted (nothing remembered) finds its needs by description and closes them', async () => {
    await fw.apply([action('add', PINHOLE)]);
    const again = firewallFor();
    try {
      expect((await again.list()).map((e) => e.internalClient)).toEqual([CONSOLE]);
      await again.apply([action('delete', PINHOLE)]);
      expect(gatewayNeeds()).toEqual([]);
    } finally {
      await again.close();
    }
  });

  it('reconcile closes this hub\'s orphan, opens the missing one, fixes a lease, leaves other parties\' needs alone', async () => {
    const orphan = { family: 'ipv6' as const, internalClient: CONSOLE, internalPort: 4000 };
    const late = { family: 'ipv6' as const, internalClient: CONSOLE, internalPort: 5000 };
    await fw.apply([action('add', orphan, 600), action('add', late, 600), action('add', MAPPING, 600)]);
    // Another hub, the owner (no description) and a UPnP client hold needs of their own on the same gateway.
    const other = firewallFor({ hubName: 'hub-other' });
    await other.apply([action('add', { family: 'ipv6', internalClient: CONSOLE, internalPort: 6000 })]);
    await other.close();
    const owner = await (await fetch(`${url}/api/command`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ message_id: 'o', command: 'open_port', args: { internal_client: CONSOLE, internal_port: 7000, protocol: 'tcp' } }) })).json() as { result?: unknown };
    expect(owner.result).toBeDefined();
    await gateway.decider.addPinhole({ remoteHost: '', remotePort: 0, internalClient: CONSOLE, internalPort: 8000, protocol: 'udp', leaseSeconds: 600 }, requester(CONSOLE));
    expect(gatewayNeeds()).toHaveLength(6);

    const desired = (target: Parameters<typeof action>[1], expiresAt: number): DesiredEntry => {
      const a = action('add', target);
      return { kind: a.table, family: a.family, protocol: a.protocol, internalClient: a.internalClient, internalPort: a.internalPort,
        ...(a.externalPort !== undefined ? { externalPort: a.externalPort } : {}), remoteHost: '', remotePort: 0, owner: a.grantId, leaseSeconds: 600, expiresAt };
    };
    const missing = { family: 'ipv4' as const, internalClient: CONSOLE2_V4, internalPort: 3075, externalPort: 3075 };
    const summary = await fw.reconcile([
      desired(late, now() + 120_000), // the gateway holds it for 600 s: shortened to 120 s
      desired(MAPPING, now() + 600_000), // right as it is
      desired(missing, now() + 300_000),
    ]);
    expect(summary).toEqual({ added: 1, removed: 1, corrected: 1, unchanged: 1 });
    const byPort = new Map(gatewayNeeds().map((n) => [`${n.request.internalClient}:${n.request.internalPort}`, n]));
    expect([...byPort.keys()].sort()).toEqual([`${CONSOLE2_V4}:3075`, `${CONSOLE_V4}:3074`, `${CONSOLE}:5000`, `${CONSOLE}:6000`, `${CONSOLE}:7000`, `${CONSOLE}:8000`].sort());
    expect(byPort.get(`${CONSOLE}:5000`)?.deadline).toBe(now() + 120_000);
    expect(byPort.get(`${CONSOLE2_V4}:3075`)?.deadline).toBe(now() + 300_000);
    expect((await world.firewall.list()).some((e) => e.internalPort === 4000)).toBe(false);
    // A second reconcile finds everything as wanted.
    expect(await fw.reconcile([desired(late, now() + 120_000), desired(MAPPING, now() + 600_000), desired(missing, now() + 300_000)]))
      .toEqual({ added: 0, removed: 0, corrected: 0, unchanged: 3 });
    expect((await fw.list()).map((e) => entryKey(e)).sort()).toHaveLength(3);
  });

  it('a hub clock 30 s ahead of the gateway\'s: deadlines are read on the hub\'s clock, and reconcile does not correct them again and again', async () => {
    const ahead = firewallFor({ now: () => world.scheduler.now() + 30_000 });
    try {
      await ahead.apply([action('add', PINHOLE, 600)]);
      expect(gatewayNeeds()[0].deadline).toBe(now() + 600_000);
      expect((await ahead.list())[0].expiresInSeconds).toBe(600);
      const a = action('add', PINHOLE);
      const wanted: DesiredEntry = { kind: 'pinhole', family: 'ipv6', protocol: 'udp', internalClient: CONSOLE, internalPort: 3074, remoteHost: '', remotePort: 0,
        owner: a.grantId, leaseSeconds: 600, expiresAt: now() + 30_000 + 600_000 };
      expect(await ahead.reconcile([wanted])).toEqual({ added: 0, removed: 0, corrected: 0, unchanged: 1 });
      // A hub restarted with the skew unmeasured corrects once (a renewal), and then agrees.
      const restarted = firewallFor({ now: () => world.scheduler.now() + 30_000 });
      await restarted.reconcile([{ ...wanted, internalPort: 3075 }, wanted]);
      expect(await restarted.reconcile([{ ...wanted, internalPort: 3075 }, wanted])).toEqual({ added: 0, removed: 0, corrected: 0, unchanged: 2 });
      await restarted.close();
    } finally {
      await ahead.close();
    }
  });

  it('the gateway refuses a Matter device: the error names the gateway\'s rule, code and device, and nothing is held', async () => {
    const plug = { family: 'ipv6' as const, internalClient: PLUG, internalPort: 5540, protocol: 'tcp' as const };
    const error = await fw.apply([action('add', plug)]).then(() => undefined, (e: unknown) => e);
    expect(error).toBeInstanceOf(GatewayAdminError);
    const refusal = error as GatewayAdminError;
    expect(refusal.code).toBe('policy_denied');
    expect(refusal.extra.status).toBe(403);
    expect(refusal.extra.reason).toMatchObject({ rule: 'matter-isolation', code: 'matter-device-isolation', conflictsWith: { kind: 'device', id: 'plug' } });
    // The head of the message (what an engine keeps) is the gateway's reason.
    expect(refusal.message.slice(0, 200)).toContain('matter-isolation/matter-device-isolation (device plug)');
    expect(gatewayNeeds()).toEqual([]);
    expect(await world.firewall.list()).toEqual([]);
  });

  it('reconcile does every change it can and then throws one error naming what the gateway refused', async () => {
    const entry = (internalClient: string, internalPort: number): DesiredEntry => ({ kind: 'pinhole', family: 'ipv6', protocol: 'udp', internalClient, internalPort,
      remoteHost: '', remotePort: 0, owner: `g-${internalPort}`, leaseSeconds: 600, expiresAt: now() + 600_000 });
    const error = await fw.reconcile([entry(PLUG, 5540), entry(CONSOLE, 3074)]).then(() => undefined, (e: unknown) => e as GatewayAdminError);
    expect(error?.code).toBe('reconcile_failed');
    expect(error?.message).toContain('1 change(s) failed (1 added, 0 removed, 0 corrected)');
    expect(error?.message).toContain('matter-isolation/matter-device-isolation (device plug)');
    expect(gatewayNeeds().map((n) => n.request.internalClient)).toEqual([CONSOLE]);
  });

  it('through the firewall applier, the hub\'s engine gets action-failed with the gateway\'s reason', async () => {
    const events: PolicyEvent[] = [];
    const applier = new FirewallApplier({
      engine: { submit: (e: PolicyEvent) => { events.push(e); return EMPTY_STEP; } },
      firewall: fw,
      deadlineOf: () => now() + 600_000,
      now,
      log: world.log,
    });
    const plugAdd = action('add', { family: 'ipv6', internalClient: PLUG, internalPort: 5540, protocol: 'tcp' });
    const consoleAdd = action('add', PINHOLE);
    applier.enqueue(consoleAdd);
    applier.enqueue(plugAdd);
    await applier.idle();
    expect(events).toEqual([
      { type: 'action-succeeded', key: consoleAdd.key },
      expect.objectContaining({ type: 'action-failed', key: plugAdd.key, description: expect.stringContaining('matter-isolation/matter-device-isolation (device plug)') }),
    ]);
    expect(gatewayNeeds().map((n) => n.request.internalClient)).toEqual([CONSOLE]);
  });

  it('an external port the gateway gives elsewhere is not the one the hub settled: closed again and refused with the gateway\'s reason', async () => {
    // The owner holds external port 3074 for another console already (an admin need, as strong as the hub's).
    const owner = await (await fetch(`${url}/api/command`, { method: 'POST', headers: { Authorization: `Bearer ${TOKEN}` },
      body: JSON.stringify({ message_id: 'o', command: 'open_port', args: { internal_client: CONSOLE2_V4, internal_port: 3074, protocol: 'udp' } }) })).json() as { result?: unknown };
    expect(owner.result).toMatchObject({ external_port: 3074 });
    expect(gatewayNeeds()).toHaveLength(1);
    const error = await fw.apply([action('add', MAPPING)]).then(() => gatewayNeeds(), (e: unknown) => e as GatewayAdminError);
    expect(error).toBeInstanceOf(GatewayAdminError);
    expect((error as GatewayAdminError).code).toBe('grant_changed');
    expect((error as GatewayAdminError).message).toMatch(/^gateway changed the grant: ipv4 external port \d+ instead of ipv4 external port 3074: ipv4-external-port-exclusive\//);
    expect(gatewayNeeds().map((n) => n.request.internalClient)).toEqual([CONSOLE2_V4]);
  });

  it('a gateway that is stopped gives a clear error, fast, and no crash; probing says why', async () => {
    await fw.apply([action('add', PINHOLE)]);
    await gateway.stop();
    const first = await fw.apply([action('renew', PINHOLE)]).then(() => undefined, (e: unknown) => e as GatewayAdminError);
    expect(first).toBeInstanceOf(GatewayAdminError);
    expect(first?.code).toBe('unreachable');
    expect(first?.message).toContain(`gateway ${url} unreachable`);
    expect(first?.message).toContain('ECONNREFUSED');
    const started = Date.now();
    await expect(fw.list()).rejects.toMatchObject({ code: 'unreachable', message: expect.stringContaining('not retried yet') });
    expect(Date.now() - started).toBeLessThan(100);
    await expect(fw.reconcile([])).rejects.toBeInstanceOf(GatewayAdminError);
    const probe = await probeHomenetGateway(url, TOKEN);
    expect(probe).toMatchObject({ ok: false, url, error: expect.stringContaining('unreachable') });
    // Restarted so afterEach can stop it again.
    gateway = await startTestDaemon(world, testConfig({ admin: { listen: '127.0.0.1:0', token: TOKEN } }), {
      startAdminApi: (services, cfg, log) => startAdminServer({ services, config: cfg.admin, log }),
    });
  });

  it('probeHomenetGateway: a gateway is ok with its deployment and enforcement; a wrong token or URL is not', async () => {
    expect(await probeHomenetGateway(url, TOKEN)).toEqual({ ok: true, url, server: 'homenet-gateway', deployment: 'gateway', enforcement: 'enforced' });
    expect(await probeHomenetGateway(url, 'wrong-token-wrong-token')).toMatchObject({ ok: false, error: expect.stringMatching(/^gateway unauthorized: /) });
    expect(await probeHomenetGateway('ftp://127.0.0.1:1', TOKEN)).toMatchObject({ ok: false, error: expect.stringContaining('is not http: or https:') });
    expect(await probeHomenetGateway(`${url}/api`, TOKEN)).toMatchObject({ ok: false, error: expect.stringContaining('expected no path') });
  });
});

describe('GatewayAdminFirewall bounds (hostile or broken endpoints, not gateways)', () => {
  const servers: (net.Server | http.Server)[] = [];
  const sockets: net.Socket[] = [];
  const listen = async (server: net.Server | http.Server): Promise<string> => {
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  };
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
  });

  it('an endpoint that accepts and never answers times out at the deadline', async () => {
    const url = await listen(net.createServer((s) => sockets.push(s)));
    const fw = new GatewayAdminFirewall({ url, token: TOKEN, hubName: 'hub', now: Date.now, timeoutMs: 300 });
    const started = Date.now();
    const error = await fw.apply([action('add', PINHOLE)]).then(() => undefined, (e: unknown) => e as GatewayAdminError);
    const took = Date.now() - started;
    expect(error?.code).toBe('timeout');
    expect(error?.message).toBe(`gateway ${url} did not answer POST /api/command within 300 ms`);
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2000);
    await fw.close();
  });

  it('an answer over the limit is dropped, declared or streamed', async () => {
    const big = Buffer.alloc(2 * 1024 * 1024, 0x20);
    const url = await listen(http.createServer((req, res) => {
      if (req.url === '/api/needs') {
        res.writeHead(200, { 'content-type': 'application/json' }); // chunked: no length declared
        res.write('[');
        res.end(big);
      } else {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': big.length });
        res.end(big);
      }
    }));
    const fw = new GatewayAdminFirewall({ url, token: TOKEN, hubName: 'hub', now: Date.now, retryAfterMs: 0 });
    await expect(fw.list()).rejects.toMatchObject({ code: 'answer_too_large', message: expect.stringContaining('over 1048576 bytes') });
    await expect(fw.apply([action('add', PINHOLE)])).rejects.toMatchObject({ code: 'answer_too_large' });
    await fw.close();
  });

  it('bad options are clear errors', () => {
    expect(() => new GatewayAdminFirewall({ url: 'not a url', token: TOKEN, now: Date.now })).toThrow('gateway admin URL: not a URL');
    expect(() => new GatewayAdminFirewall({ url: 'http://127.0.0.1:1', token: '', now: Date.now })).toThrow('gateway admin token');
    expect(() => new GatewayAdminFirewall({ url: 'http://127.0.0.1:1', token: TOKEN, hubName: 'a b', now: Date.now })).toThrow('hubName');
    expect(() => new GatewayAdminFirewall({ url: 'http://127.0.0.1:1', token: TOKEN, now: Date.now, maxLeaseSeconds: 90000 })).toThrow('maxLeaseSeconds');
  });
});
