/**
 * The hub daemon applying through a homenet gateway's admin API: a real hub
 * (`startHubDaemon`, its engine, needs and applier) whose firewall is a
 * {@link GatewayAdminFirewall} towards a real in-process gateway daemon. Both
 * run on one virtual clock. The hub does not know the Matter plug; the gateway
 * does, and refuses it with its own rule: the hub's need fails, fed back.
 */
import { startAdminServer } from '../../../plugin/gateway/admin/admin-server';
import type { GatewayDaemon } from '../../../plugin/gateway/gateway-daemon';
import { GatewayAdminFirewall } from '../../../plugin/hub/gateway-admin-firewall';
import type { HubDaemon } from '../../../plugin/hub/hub-daemon';
import { advance, CONSOLE, PLUG, startTestDaemon, testConfig, testWorld, TOKEN, type TestWorld } from '../gateway/support';
import { hubConfig, startTestHub } from './hub-support';

describe('hub → homenet gateway admin API (real hub, real gateway)', () => {
  let world: TestWorld;
  let gateway: GatewayDaemon;
  let hub: HubDaemon;
  let lines: Record<string, unknown>[];

  beforeEach(async () => {
    world = testWorld();
    gateway = await startTestDaemon(world, testConfig({ admin: { listen: '127.0.0.1:0', token: TOKEN } }), {
      startAdminApi: (services, cfg, log) => startAdminServer({ services, config: cfg.admin, log }),
    });
    const url = `http://127.0.0.1:${gateway.adminAddress!.port}`;
    // The lead wires this applier into the hub; here it takes the slot of the hub's own applier ("hub" applies).
    ({ hub, lines } = await startTestHub(hubConfig({ hub: { router: '127.0.0.1', advertise: false, auditSeconds: 0, applier: 'pcp-third-party' }, devices: { known: [], watchNeighbours: false } }), {
      scheduler: world.scheduler,
      openPcpFirewall: (_config, _facts, _log, now) => new GatewayAdminFirewall({ url, token: TOKEN, hubName: 'hub-e2e', now }),
    }));
  });
  afterEach(async () => {
    await hub.stop();
    await gateway.stop();
  });

  const open = (internalClient: string, internalPort: number) =>
    hub.daemon.needs.open({ source: 'admin', family: 'ipv6', protocol: 'udp', internalClient, internalPort, remoteHost: '', remotePort: 0, leaseSeconds: 600, actor: 'test' });

  it('a need the hub grants is opened on the gateway, renewed there, and closed with it', async () => {
    const opened = await open(CONSOLE, 3074);
    expect(opened.ok).toBe(true);
    const held = gateway.needs.list();
    expect(held.map((n) => [n.request.internalClient, n.request.internalPort, n.description?.startsWith('homenet-hub hub-e2e grant ') ?? false])).toEqual([[CONSOLE, 3074, true]]);
    expect(held[0].deadline).toBe(world.scheduler.now() + 600_000);
    expect((await world.firewall.list()).map((e) => e.internalClient)).toEqual([CONSOLE]);
    // The hub's admin API and reconcile see the same thing.
    expect(await hub.daemon.reconcile()).toEqual({ added: 0, removed: 0, corrected: 0, unchanged: 1 });

    await advance(world.scheduler, 200_000, 10_000);
    const renewed = await open(CONSOLE, 3074);
    expect(renewed.ok && renewed.renewed).toBe(true);
    expect(gateway.needs.list()[0].deadline).toBe(world.scheduler.now() + 600_000);

    if (!renewed.ok) throw new Error('not renewed');
    expect(await hub.daemon.needs.close(renewed.needId)).toBe(true);
    expect(gateway.needs.list()).toEqual([]);
    expect(await world.firewall.list()).toEqual([]);
  });

  it('the gateway refuses the Matter plug the hub did not know: the hub\'s need fails (action-failed) and its log names the gateway\'s reason', async () => {
    const refused = await open(PLUG, 5540);
    expect(refused.ok).toBe(false);
    if (refused.ok || !('decision' in refused)) throw new Error('expected a refusal decision');
    expect(refused.decision.reasons.map((r) => `${r.rule}/${r.code}`)).toContain('router-feedback/router-rejected');
    expect(hub.daemon.engine.snapshot().grants).toEqual([]);
    expect(gateway.needs.list()).toEqual([]);
    const failure = lines.find((l) => l.msg === 'firewall change failed');
    expect(String(failure?.error)).toMatch(/^gateway policy_denied: denied: matter-isolation\/matter-device-isolation \(device plug\)/);
  });
});
