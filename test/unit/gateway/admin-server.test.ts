import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { openSlowSockets, percentile } from '../../support/slow-sockets';
import { GatewayDaemon } from '../../../plugin/gateway/gateway-daemon';
import { hostOfHeader, startAdminServer } from '../../../plugin/gateway/admin/admin-server';
import { CONSOLE, PLUG, requester, startTestDaemon, testConfig, testWorld, TOKEN } from './support';

/** A WebSocket client that collects every message. */
class Client {
  readonly messages: Record<string, unknown>[] = [];
  readonly ws: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<number>;
  constructor(url: string, headers: Record<string, string> = {}) {
    this.ws = new WebSocket(url, { headers });
    this.ws.on('message', (d) => this.messages.push(JSON.parse((Buffer.isBuffer(d) ? d : Array.isArray(d) ? Buffer.concat(d) : Buffer.from(d)).toString('utf8')) as Record<string, unknown>));
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.ws.once('close', (code) => resolve(code)));
  }
  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }
  async waitFor(predicate: (m: Record<string, unknown>) => boolean, timeoutMs = 3000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const hit = this.messages.find(predicate);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`no matching message; got ${JSON.stringify(this.messages).slice(0, 2000)}`);
  }
  async call(id: string, command: string, args?: Record<string, unknown>): Promise<Record<string, unknown>> {
    this.send({ message_id: id, command, ...(args ? { args } : {}) });
    return this.waitFor((m) => m.message_id === id);
  }
}

describe('admin API (HTTP + WebSocket on loopback)', () => {
  let daemon: GatewayDaemon;
  let base: string;
  let world: ReturnType<typeof testWorld>;
  const clients: Client[] = [];
  const client = (headers?: Record<string, string>) => {
    const c = new Client(`${base.replace('http', 'ws')}/ws`, headers);
    clients.push(c);
    return c;
  };
  const auth = { Authorization: `Bearer ${TOKEN}` };

  beforeEach(async () => {
    world = testWorld();
    const config = testConfig({ admin: { listen: '127.0.0.1:0', token: TOKEN, messagesPerSecond: 20, burst: 20, maxMessageBytes: 2048 } });
    // Real sockets want real time for their timers; the daemon's leases run on the virtual clock.
    daemon = await startTestDaemon(world, config, {
      startAdminApi: (services, cfg, log) => startAdminServer({ services, config: cfg.admin, log, authTimeoutMs: 300 }),
    });
    base = `http://127.0.0.1:${daemon.adminAddress!.port}`;
  });
  afterEach(async () => {
    for (const c of clients.splice(0)) c.ws.terminate();
    await daemon.stop();
  });

  it('GET lists need the bearer token, and answer JSON', async () => {
    expect((await fetch(`${base}/api/health`)).status).toBe(200);
    const denied = await fetch(`${base}/api/grants`);
    expect(denied.status).toBe(401);
    expect(await denied.json()).toMatchObject({ error_code: 'unauthorized' });
    expect((await fetch(`${base}/api/grants`, { headers: { Authorization: 'Bearer wrong-token-wrong-token' } })).status).toBe(401);
    await daemon.decider.addPinhole({ remoteHost: '', remotePort: 0, internalClient: CONSOLE, internalPort: 3074, protocol: 'udp', leaseSeconds: 600 }, requester(CONSOLE));
    const grants = (await (await fetch(`${base}/api/grants`, { headers: auth })).json()) as { internalClient: string }[];
    expect(grants.map((g) => g.internalClient)).toEqual([CONSOLE]);
    const needs = (await (await fetch(`${base}/api/needs`, { headers: auth })).json()) as { source: string; verdict: string; uniqueId: number }[];
    expect(needs).toEqual([expect.objectContaining({ source: 'upnp', verdict: 'granted', uniqueId: 1 })]);
    const devices = (await (await fetch(`${base}/api/devices`, { headers: auth })).json()) as { id: string }[];
    expect(devices.map((d) => d.id)).toContain('plug');
    expect((await fetch(`${base}/api/decisions?limit=0`, { headers: auth })).status).toBe(400);
    expect((await (await fetch(`${base}/api/decisions?limit=5`, { headers: auth })).json()) as unknown[]).not.toHaveLength(0);
  });

  it('POST /api/command: the admin opens a port for another host, closes it; a Matter device is refused and named', async () => {
    const post = (body: unknown) => fetch(`${base}/api/command`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
    const opened = await post({ message_id: 'a1', command: 'open_port', args: { internal_client: CONSOLE, internal_port: 3074, protocol: 'udp', lease_seconds: 600 } });
    expect(opened.status).toBe(200);
    const body = (await opened.json()) as { message_id: string; result: { need_id: string; verdict: string } };
    expect(body).toMatchObject({ message_id: 'a1', result: { verdict: 'granted' } });
    expect(daemon.needs.get(body.result.need_id)?.request.class).toBe('admin');

    const refused = await post({ message_id: 'a2', command: 'open_port', args: { internal_client: PLUG, internal_port: 5540, protocol: 'tcp' } });
    expect(refused.status).toBe(403);
    const denial = (await refused.json()) as { error_code: string; details: string; decision: { reasons: { conflictsWith?: { id: string } }[] } };
    expect(denial.error_code).toBe('policy_denied');
    expect(denial.details).toContain('matter-isolation/matter-device-isolation (device plug)');
    expect(denial.decision.reasons[0].conflictsWith?.id).toBe('plug');

    const closed = await post({ message_id: 'a3', command: 'close_port', args: { need_id: body.result.need_id } });
    expect(await closed.json()).toEqual({ message_id: 'a3', result: { need_id: body.result.need_id, closed: true } });
    expect(daemon.engine.snapshot().grants).toEqual([]);
    expect((await post({ message_id: 'a4', command: 'close_port', args: { need_id: 'nope' } })).status).toBe(404);

    // A firewall that refuses: the failure is fed back to the engine, and the admin table answers firewall_failed from its decision.
    world.firewall.failWith = new Error('nft: Operation not permitted');
    const failed = await post({ message_id: 'a5', command: 'open_port', args: { internal_client: CONSOLE, internal_port: 3080, protocol: 'udp' } });
    expect(failed.status).toBe(502);
    expect(await failed.json()).toMatchObject({ error_code: 'firewall_failed', details: expect.stringMatching(/^denied: router-feedback\/router-rejected/) });
    world.firewall.failWith = undefined;
  });

  it('bad requests get clear error codes', async () => {
    const post = async (body: string) => (await fetch(`${base}/api/command`, { method: 'POST', headers: auth, body })).json() as Promise<Record<string, unknown>>;
    expect(await post('{not json')).toMatchObject({ error_code: 'invalid_json', message_id: null });
    expect(await post('[1,2]')).toMatchObject({ error_code: 'invalid_message' });
    expect(await post('{"message_id":"x","command":"fly"}')).toMatchObject({ error_code: 'unknown_command', message_id: 'x' });
    expect(await post('{"message_id":"x","command":"open_port","args":{"internal_client":"nowhere","internal_port":1,"protocol":"udp"}}')).toMatchObject({
      error_code: 'invalid_args',
      details: expect.stringContaining('args.internal_client'),
    });
    expect(await post('{"message_id":"x","command":"open_port","args":{"internal_client":"2001:db8::1","internal_port":70000,"protocol":"udp"}}')).toMatchObject({
      error_code: 'invalid_args',
      details: expect.stringContaining('args.internal_port'),
    });
    expect(await post('{"message_id":"x","command":"get_grants","args":{"colour":"red"}}')).toMatchObject({ error_code: 'invalid_args' });
    expect(await post('{"message_id":"x","command":"start_listening"}')).toMatchObject({ error_code: 'websocket_only' });
    const big = await fetch(`${base}/api/command`, { method: 'POST', headers: auth, body: JSON.stringify({ message_id: 'x', command: 'get_grants', args: { pad: 'x'.repeat(4096) } }) });
    expect(big.status).toBe(413);
    expect((await fetch(`${base}/nowhere`, { headers: auth })).status).toBe(404);
  });

  it('WebSocket: header auth, server info first, commands, and a live stream of decisions and state changes', async () => {
    const c = client(auth);
    await c.opened;
    const info = await c.waitFor((m) => m.server === 'homenet-gateway');
    expect(info).toMatchObject({ schema_version: 1 });
    const listening = await c.call('1', 'start_listening');
    expect(listening).toMatchObject({ message_id: '1', result: { grants: [] } });
    await daemon.decider.addPinhole({ remoteHost: '', remotePort: 0, internalClient: PLUG, internalPort: 5540, protocol: 'udp', leaseSeconds: 600 }, requester(PLUG));
    const decision = await c.waitFor((m) => m.event === 'decision' && (m.data as { verdict: string }).verdict === 'denied');
    expect((decision.data as { reasons: { conflictsWith: { id: string } }[] }).reasons[0].conflictsWith.id).toBe('plug');
    const opened = await c.call('2', 'open_port', { internal_client: CONSOLE, internal_port: 3074, protocol: 'udp' });
    expect(opened).toMatchObject({ result: { verdict: 'granted' } });
    await c.waitFor((m) => m.event === 'need_opened');
    await c.waitFor((m) => m.event === 'firewall_applied' && (m.data as { op: string }).op === 'add');
    c.send('{broken');
    await c.waitFor((m) => m.error_code === 'invalid_json');
    expect(await c.call('3', 'stop_listening')).toMatchObject({ result: { listening: false } });
  });

  it('WebSocket: auth by first message; a wrong or missing one closes the socket', async () => {
    const good = client();
    await good.opened;
    expect(await good.call('a', 'auth', { token: TOKEN })).toMatchObject({ message_id: 'a', result: { server: 'homenet-gateway' } });
    expect(await good.call('b', 'get_needs')).toMatchObject({ message_id: 'b', result: [] });

    const bad = client();
    await bad.opened;
    bad.send({ message_id: 'a', command: 'get_needs' });
    expect(await bad.closed).toBe(4401);
    expect(bad.messages[0]).toMatchObject({ error_code: 'unauthorized' });

    const silent = client();
    await silent.opened;
    expect(await silent.closed).toBe(4401);

    await expect(client({ Authorization: 'Bearer not-the-token-at-all' }).opened).rejects.toThrow('HTTP 401');
  });

  it('WebSocket: rate limit per connection and message size cap', async () => {
    const c = client(auth);
    await c.opened;
    for (let i = 0; i < 30; i++) c.send({ message_id: `m${i}`, command: 'server_info' });
    await c.waitFor((m) => m.error_code === 'rate_limited');
    const big = client(auth);
    await big.opened;
    big.send({ message_id: 'x', command: 'get_needs', args: { pad: 'x'.repeat(4096) } });
    expect(await big.closed).toBe(1009);
  });
});

/** One HTTP request with chosen headers (Host included) from a chosen source address; a fresh connection each time. */
function rawRequest(port: number, path: string, headers: Record<string, string>, localAddress = '127.0.0.1'): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, headers, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({ status: res.statusCode ?? 0, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Opens a WebSocket from `localAddress`; resolves with the HTTP status of a refused handshake, or 101. */
function wsHandshake(port: number, headers: Record<string, string>, localAddress: string): Promise<{ status: number; ws: WebSocket }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers, localAddress });
  return new Promise((resolve) => {
    ws.once('open', () => resolve({ status: 101, ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode ?? 0, ws }));
    ws.once('error', () => resolve({ status: 0, ws }));
  });
}

describe('admin API against a hostile LAN host (LAN hosts played by 127.0.0.x)', () => {
  let daemon: GatewayDaemon;
  let port: number;
  const auth = { Authorization: `Bearer ${TOKEN}` };
  const opened: WebSocket[] = [];

  beforeEach(async () => {
    const config = testConfig({
      admin: { listen: '127.0.0.1:0', token: TOKEN, authDeadlineMs: 3000, allowedHosts: ['router.lan'], allowedOrigins: ['https://ui.example'], messagesPerSecond: 1000, burst: 1000 },
    });
    daemon = await startTestDaemon(testWorld(), config, {
      startAdminApi: (services, cfg, log) => startAdminServer({ services, config: cfg.admin, log, trustedSources: () => false }),
    });
    port = daemon.adminAddress!.port;
  });
  afterEach(async () => {
    for (const ws of opened.splice(0)) ws.terminate();
    await daemon.stop();
  });

  it('refuses a Host that is not an allowed name (DNS rebinding) with 421, before the token is looked at', async () => {
    const evil = await rawRequest(port, '/api/grants', { ...auth, Host: 'evil.example' });
    expect(evil.status).toBe(421);
    expect(evil.body).toMatchObject({ error_code: 'host_not_allowed', details: expect.stringContaining('evil.example') });
    expect((await rawRequest(port, '/api/health', { Host: `evil.example:${port}` })).status).toBe(421);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'router.lan', `ROUTER.LAN:${port}`]) {
      expect([host, (await rawRequest(port, '/api/grants', { ...auth, Host: host })).status]).toEqual([host, 200]);
    }
    const ws = await wsHandshake(port, { ...auth, Host: 'evil.example' }, '127.0.0.1');
    opened.push(ws.ws);
    expect(ws.status).toBe(421);
  });

  it('refuses a browser Origin that is not allowed with 403; no Origin and the API\'s own origin are fine', async () => {
    const evil = await rawRequest(port, '/api/grants', { ...auth, Host: `127.0.0.1:${port}`, Origin: 'http://evil.example' });
    expect(evil.status).toBe(403);
    expect(evil.body).toMatchObject({ error_code: 'origin_not_allowed' });
    expect((await rawRequest(port, '/api/grants', { ...auth, Origin: `http://127.0.0.1:${port}` })).status).toBe(200);
    expect((await rawRequest(port, '/api/grants', { ...auth, Origin: 'https://ui.example' })).status).toBe(200);
    expect((await rawRequest(port, '/api/grants', { ...auth, Origin: `http://127.0.0.1:${port + 1}` })).status).toBe(403);
    const cross = await wsHandshake(port, { ...auth, Origin: 'http://evil.example' }, '127.0.0.1');
    opened.push(cross.ws);
    expect(cross.status).toBe(403);
    const plain = await wsHandshake(port, auth, '127.0.0.1');
    opened.push(plain.ws);
    expect(plain.status).toBe(101);
  });

  it('500 slow sockets and 40 unauthenticated WebSockets: the hub still authenticates and get_grants answers with p99 <= 50 ms', async () => {
    const attack = await openSlowSockets({ host: '127.0.0.1', port, localAddress: '127.0.0.2', count: 500, head: 'GET /api/grants HTTP/1.1\r\nHost: 127.0.0.1\r\n', dripMs: 500 });
    try {
      const deadline = Date.now() + 5000;
      while (attack.closedByServer() < 496 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(attack.closedByServer()).toBe(496); // 4 unauthenticated per source
      expect(attack.received().some((t) => t.startsWith('HTTP/1.1 503') && t.includes('"error_code":"over_capacity"'))).toBe(true);
      // 40 WebSockets that never authenticate, from ten addresses (4 each).
      const sockets = await Promise.all(Array.from({ length: 40 }, (_, i) => wsHandshake(port, {}, `127.0.1.${(i % 10) + 1}`)));
      sockets.forEach((s) => opened.push(s.ws));
      expect(sockets.filter((s) => s.status === 101).length).toBeGreaterThanOrEqual(16);
      // The hub: a WebSocket with the token, and plain HTTP get_grants on fresh connections.
      const hub = await wsHandshake(port, auth, '127.0.0.3');
      opened.push(hub.ws);
      expect(hub.status).toBe(101);
      const answers: unknown[] = [];
      hub.ws.on('message', (d: Buffer) => answers.push(JSON.parse(d.toString('utf8'))));
      hub.ws.send(JSON.stringify({ message_id: 'g', command: 'get_grants' }));
      const until = Date.now() + 3000;
      while (!answers.some((a) => (a as { message_id?: string }).message_id === 'g') && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      expect(answers).toContainEqual({ message_id: 'g', result: [] });
      const latencies: number[] = [];
      for (let i = 0; i < 60; i++) {
        const t0 = performance.now();
        const r = await rawRequest(port, '/api/grants', auth, '127.0.0.3');
        latencies.push(performance.now() - t0);
        expect(r.status).toBe(200);
      }
      expect(percentile(latencies, 99)).toBeLessThanOrEqual(50);
      expect(hub.ws.readyState).toBe(WebSocket.OPEN);
    } finally {
      attack.stop();
    }
  });

  it('closes a connection that does not show the token within the deadline', async () => {
    const started = Date.now();
    const silent = await openSlowSockets({ host: '127.0.0.1', port, localAddress: '127.0.0.5', count: 1 });
    while (silent.closedByServer() < 1 && Date.now() - started < 6000) await new Promise((r) => setTimeout(r, 20));
    expect(silent.closedByServer()).toBe(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(2900);
    silent.stop();
  });
});

describe('hostOfHeader', () => {
  it('reads the host of a Host header: names lower-cased, IP literals canonical, malformed ones undefined', () => {
    expect(hostOfHeader('Router.LAN:8780')).toBe('router.lan');
    expect(hostOfHeader('router.lan.')).toBe('router.lan');
    expect(hostOfHeader('[2001:DB8::0:1]:8780')).toBe('2001:db8::1');
    expect(hostOfHeader('[::1]')).toBe('::1');
    expect(hostOfHeader('192.168.77.1:8780')).toBe('192.168.77.1');
    expect(hostOfHeader('evil.example@127.0.0.1')).toBeUndefined();
    expect(hostOfHeader('[not-an-address]:80')).toBeUndefined();
    expect(hostOfHeader('a b')).toBeUndefined();
  });
});

describe('admin API token file', () => {
  it('refuses to start on a token file group or others can read', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'admin-token-'));
    const path = join(dir, 'token');
    writeFileSync(path, `${TOKEN}\n`, { mode: 0o644 });
    chmodSync(path, 0o644);
    const admin = { ...testConfig().admin, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN, tokenFile: path };
    const world = testWorld();
    const daemon = await startTestDaemon(world, testConfig());
    try {
      await expect(startAdminServer({ services: daemon, config: admin, log: daemon.log })).rejects.toThrow(/readable or writable by group\/others \(mode 0644\); run: chmod 600/);
      chmodSync(path, 0o600);
      const api = await startAdminServer({ services: daemon, config: admin, log: daemon.log });
      await api.stop();
    } finally {
      await daemon.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
