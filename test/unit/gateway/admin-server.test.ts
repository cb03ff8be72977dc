import { WebSocket } from 'ws';
import { GatewayDaemon } from '../../../plugin/gateway/gateway-daemon';
import { startAdminServer } from '../../../plugin/gateway/admin/admin-server';
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
