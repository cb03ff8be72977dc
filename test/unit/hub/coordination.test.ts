import { VirtualTimeScheduler } from 'rxjs';
import { CONSOLE, CONSOLE2, PLUG, call, hubConfig, routerFacts, startTestHub } from './hub-support';
import type { HubDaemon } from '../../../plugin/hub/hub-daemon';

describe('hub coordination: agents ask the hub before the router', () => {
  let hub: HubDaemon | undefined;
  afterEach(async () => {
    await hub?.stop();
    hub = undefined;
  });

  it('settles two consoles asking for the same IPv4 port: the second gets another port and the reason names the first need', async () => {
    ({ hub } = await startTestHub(hubConfig()));
    const first = await call(hub, CONSOLE, 'POST', '/homenet/v1/needs', { protocol: 'udp', internalPort: 3074, family: 'ipv4', leaseSeconds: 600 });
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ verdict: 'granted', applier: 'agent', family: 'ipv4', internalClient: CONSOLE, internalPort: 3074, externalPort: 3074, applied: false });
    const second = await call(hub, CONSOLE2, 'POST', '/homenet/v1/needs', { protocol: 'udp', internalPort: 3074, family: 'ipv4', leaseSeconds: 600 });
    expect(second.status).toBe(200);
    expect(second.body.verdict).toBe('granted-with-changes');
    expect(second.body.internalClient).toBe(CONSOLE2);
    expect(second.body.externalPort).not.toBe(3074);
    const reasons = second.body.reasons as { conflictsWith?: string }[];
    expect(reasons.map((r) => r.conflictsWith ?? '').join(' ')).toContain(String(first.body.needId));
  });

  it("refuses a Matter device's ask with the rule naming the device, and it holds nothing", async () => {
    ({ hub } = await startTestHub(hubConfig()));
    const asked = await call(hub, PLUG, 'POST', '/homenet/v1/needs', { protocol: 'tcp', internalPort: 8080, family: 'ipv4' });
    expect(asked.status).toBe(403);
    expect(asked.body.verdict).toBe('denied');
    expect(JSON.stringify(asked.body.reasons)).toContain('plug');
    expect(hub.daemon.engine.snapshot().grants).toHaveLength(0);
  });

  it('an agent reports its outcome; a failure ends the need; only the requester may report or end', async () => {
    ({ hub } = await startTestHub(hubConfig()));
    const granted = await call(hub, CONSOLE, 'POST', '/homenet/v1/needs', { protocol: 'udp', internalPort: 3074, family: 'ipv4' });
    const needId = encodeURIComponent(String(granted.body.needId));
    expect((await call(hub, CONSOLE2, 'POST', `/homenet/v1/needs/${needId}/outcome`, { ok: true, via: 'upnp', externalPort: 3074 })).status).toBe(404);
    expect((await call(hub, CONSOLE2, 'DELETE', `/homenet/v1/needs/${needId}`)).status).toBe(404);
    const ok = await call(hub, CONSOLE, 'POST', `/homenet/v1/needs/${needId}/outcome`, { ok: true, via: 'upnp', externalPort: 3074, leaseSeconds: 3600 });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ applied: true, externalPort: 3074 });
    // Renewing keeps "applied" (the router still holds it).
    const renewed = await call(hub, CONSOLE, 'POST', '/homenet/v1/needs', { protocol: 'udp', internalPort: 3074, family: 'ipv4' });
    expect(renewed.body).toMatchObject({ needId: granted.body.needId, applied: true });
    const failed = await call(hub, CONSOLE, 'POST', `/homenet/v1/needs/${needId}/outcome`, { ok: false, via: 'upnp', error: '718 ConflictInMappingEntry' });
    expect(failed.body).toEqual({ ended: true });
    expect(hub.daemon.needs.get(String(granted.body.needId))).toBeUndefined();
    expect(hub.daemon.engine.snapshot().grants).toHaveLength(0);
  });

  it('DELETE ends the need and frees the port for the next console', async () => {
    ({ hub } = await startTestHub(hubConfig()));
    const first = await call(hub, CONSOLE, 'POST', '/homenet/v1/needs', { protocol: 'udp', internalPort: 3074, family: 'ipv4' });
    expect((await call(hub, CONSOLE, 'DELETE', `/homenet/v1/needs/${encodeURIComponent(String(first.body.needId))}`)).body).toEqual({ ended: true });
    const second = await call(hub, CONSOLE2, 'POST', '/homenet/v1/needs', { protocol: 'udp', internalPort: 3074, family: 'ipv4' });
    expect(second.body).toMatchObject({ verdict: 'granted', externalPort: 3074 });
  });

  it('answers malformed requests with a clear JSON error and keeps serving', async () => {
    ({ hub } = await startTestHub(hubConfig()));
    const cases: [string, string, unknown, number, RegExp][] = [
      ['POST', '/homenet/v1/needs', '{oops', 400, /not JSON/],
      ['POST', '/homenet/v1/needs', { protocol: 'sctp', internalPort: 1, family: 'ipv4' }, 400, /protocol/],
      ['POST', '/homenet/v1/needs', { protocol: 'udp', internalPort: 70000, family: 'ipv4' }, 400, /internalPort/],
      ['POST', '/homenet/v1/needs', { protocol: 'udp', internalPort: 1, family: 'ipv4', internalClient: '10.0.0.9' }, 400, /unknown field/],
      ['POST', '/homenet/v1/needs', 'x'.repeat(5000), 413, /larger than/],
      ['GET', '/homenet/v1/needs', undefined, 405, /POST/],
      ['GET', '/nope', undefined, 404, /coordination API/],
    ];
    for (const [method, path, body, status, message] of cases) {
      const answer = await call(hub, CONSOLE, method, path, body);
      expect([method, path, answer.status]).toEqual([method, path, status]);
      expect(String(answer.body.error)).toMatch(message);
    }
    expect((await call(hub, CONSOLE, 'GET', '/homenet/v1/hub')).body).toMatchObject({ deployment: 'hub', applier: 'agent', enforcement: 'advised' });
  });

  it('the admin view says which deployment answers and that a commodity router only lets the hub advise', async () => {
    ({ hub } = await startTestHub(hubConfig()));
    expect(hub.daemon.deploymentInfo()).toMatchObject({ deployment: 'hub', enforcement: 'advised', applier: 'agents', router: '127.0.0.1' });
    const exclusive = await startTestHub(hubConfig({ hub: { router: '127.0.0.1', advertise: false, auditSeconds: 0, exclusiveRouter: true } }), { probeRouter: async () => routerFacts() });
    try {
      expect(exclusive.hub.daemon.deploymentInfo().enforcement).toBe('enforced');
    } finally {
      await exclusive.hub.stop();
    }
  });
});

describe('hub: the router WAN address followed', () => {
  it('a new WAN IPv4 read from the router becomes the grants\' external address and the engine\'s network fact', async () => {
    const scheduler = new VirtualTimeScheduler();
    let wan = '198.51.100.1';
    const { hub } = await startTestHub(hubConfig(), { scheduler, readExternalIpv4: async () => wan });
    try {
      const before = await call(hub, CONSOLE, 'POST', '/homenet/v1/needs', { protocol: 'udp', internalPort: 3074, family: 'ipv4' });
      expect(before.body.externalAddress).toBe('198.51.100.1');
      wan = '203.0.113.9'; // the router got a new WAN address
      const advance = async () => {
        scheduler.maxFrames = scheduler.now() + 31_000;
        scheduler.flush();
        for (let i = 0; i < 5; i++) await Promise.resolve();
      };
      await advance();
      expect(hub.daemon.externalIpv4()).toBe('203.0.113.9');
      const after = await call(hub, CONSOLE2, 'POST', '/homenet/v1/needs', { protocol: 'udp', internalPort: 3075, family: 'ipv4' });
      expect(after.body.externalAddress).toBe('203.0.113.9');
      wan = '100.64.0.7'; // then the ISP moved it behind CGNAT: an IPv4 mapping on it cannot be reached
      await advance();
      expect(hub.daemon.deploymentInfo().routerReport?.wanIpv4).toBe('cgnat');
      const cgnat = await call(hub, CONSOLE2, 'POST', '/homenet/v1/needs', { protocol: 'udp', internalPort: 3076, family: 'ipv4' });
      expect(cgnat).toMatchObject({ status: 403, body: { verdict: 'ineffective' } });
    } finally {
      await hub.stop();
    }
  });
});
