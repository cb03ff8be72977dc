/**
 * The admin API serves the dashboard's files on its own listener: without a
 * token (they hold no data), with a strict CSP, behind the same Host/Origin
 * checks; the data stays behind the token, and a browser (which cannot set an
 * Authorization header on a WebSocket) authenticates with the first message.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { GatewayDaemon } from '../../../plugin/gateway/gateway-daemon';
import { startAdminServer } from '../../../plugin/gateway/admin/admin-server';
import { dashboardDirCandidates, dashboardSecurityHeaders, loadDashboardAssets } from '../../../plugin/gateway/admin/dashboard-assets';
import { startTestDaemon, testConfig, testWorld, TOKEN } from '../gateway/support';

/** A raw GET, so the Host header can be anything. */
function get(port: number, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, headers }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the admin API serves the dashboard', () => {
  let dir: string;
  let daemon: GatewayDaemon;
  let port: number;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'homenet-dashboard-'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>homenet</title><script defer src="app.js"></script>');
    writeFileSync(join(dir, 'app.js'), 'console.log("dashboard")');
    writeFileSync(join(dir, 'app.css'), 'body{margin:0}');
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  beforeEach(async () => {
    const config = testConfig({ admin: { listen: '127.0.0.1:0', token: TOKEN } });
    daemon = await startTestDaemon(testWorld(), config, {
      startAdminApi: (services, cfg, log) => startAdminServer({ services, config: cfg.admin, log, dashboardDir: dir }),
    });
    port = daemon.adminAddress!.port;
  });
  afterEach(async () => daemon.stop());

  it('serves the page, its script and its style without a token, each with a strict CSP', async () => {
    const root = await get(port, '/', { Host: `127.0.0.1:${port}` });
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('/dashboard/');
    for (const [path, type, text] of [
      ['/dashboard/', 'text/html', '<title>homenet</title>'],
      ['/dashboard/app.js', 'text/javascript', 'console.log("dashboard")'],
      ['/dashboard/app.css', 'text/css', 'body{margin:0}'],
    ]) {
      const answer = await get(port, path, { Host: `127.0.0.1:${port}` });
      expect(answer.status).toBe(200);
      expect(answer.headers['content-type']).toContain(type);
      expect(answer.body).toBe(text.startsWith('<') ? '<!doctype html><title>homenet</title><script defer src="app.js"></script>' : text);
      const csp = String(answer.headers['content-security-policy']);
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("script-src 'self';");
      expect(csp).not.toContain('unsafe-inline');
      expect(csp).toContain(`connect-src 'self' ws://127.0.0.1:${port};`);
      expect(csp).toContain("frame-ancestors 'none'");
      expect(answer.headers['x-content-type-options']).toBe('nosniff');
    }
  });

  it('answers HEAD and a matching If-None-Match (304) without a body', async () => {
    const first = await get(port, '/dashboard/app.js');
    const etag = String(first.headers.etag);
    expect(etag).toMatch(/^"[\w-]{22}"$/);
    const again = await get(port, '/dashboard/app.js', { 'If-None-Match': etag });
    expect(again.status).toBe(304);
    expect(again.body).toBe('');
    const head = await get(port, '/dashboard/', {}, 'HEAD');
    expect(head.status).toBe(200);
    expect(Number(head.headers['content-length'])).toBeGreaterThan(0);
    expect(head.body).toBe('');
  });

  it('keeps the data behind the token; any other path is the API one (401 without the token, 404 with it)', async () => {
    expect((await get(port, '/api/grants')).status).toBe(401);
    expect((await get(port, '/api/grants', { Authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await get(port, '/dashboard/secrets.json')).status).toBe(401);
    expect((await get(port, '/dashboard/secrets.json', { Authorization: `Bearer ${TOKEN}` })).status).toBe(404);
    expect((await get(port, '/dashboard/../api/grants')).status).toBe(401);
  });

  it('refuses a rebinding Host and a foreign Origin for the page too', async () => {
    expect((await get(port, '/dashboard/', { Host: 'evil.example' })).status).toBe(421);
    expect((await get(port, '/dashboard/', { Origin: 'http://evil.example' })).status).toBe(403);
  });

  it("lets the page's WebSocket in with its own Origin and the token as the first message; a wrong token is closed 4401", async () => {
    const origin = `http://127.0.0.1:${port}`;
    const connect = (token: string) =>
      new Promise<{ first: Record<string, unknown>; code: number }>((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { origin });
        let first: Record<string, unknown> | undefined;
        ws.on('open', () => ws.send(JSON.stringify({ message_id: 'auth', command: 'auth', args: { token } })));
        ws.on('message', (m) => {
          first ??= JSON.parse((m as Buffer).toString("utf8")) as Record<string, unknown>;
          ws.close(1000);
        });
        ws.on('close', (code) => resolve({ first: first ?? {}, code }));
        ws.on('error', reject);
      });
    const ok = await connect(TOKEN);
    expect(ok.first).toMatchObject({ message_id: 'auth', result: { deployment: 'gateway', enforcement: 'enforced' } });
    const wrong = await connect('wrong-token-wrong-token');
    expect(wrong.first).toMatchObject({ error_code: 'unauthorized' });
    expect(wrong.code).toBe(4401);
    // A page elsewhere cannot open it at all.
    await expect(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { origin: 'http://evil.example' });
        ws.on('open', resolve);
        ws.on('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
        ws.on('error', reject);
      }),
    ).rejects.toThrow('HTTP 403');
  });
});

describe('dashboard assets', () => {
  it('says the dashboard is not built when its directory is empty, and serves nothing then', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'homenet-dashboard-none-'));
    try {
      expect(loadDashboardAssets(empty)).toBeUndefined();
      const config = testConfig({ admin: { listen: '127.0.0.1:0', token: TOKEN } });
      const daemon = await startTestDaemon(testWorld(), config, {
        startAdminApi: (services, cfg, log) => startAdminServer({ services, config: cfg.admin, log, dashboardDir: empty }),
      });
      try {
        const answer = await get(daemon.adminAddress!.port, '/dashboard/');
        expect(answer.status).toBe(404);
        expect(answer.body).toContain('the dashboard is not built');
      } finally {
        await daemon.stop();
      }
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('finds the build beside the bundle, beside tsc output and from the sources', () => {
    expect(dashboardDirCandidates('/opt/homenet/dist')).toContain('/opt/homenet/dist/dashboard');
    expect(dashboardDirCandidates('/opt/homenet/dist/plugin/gateway/admin')).toContain('/opt/homenet/dist/dashboard');
    expect(dashboardDirCandidates('/src/plugin/gateway/admin')).toContain('/src/dist/dashboard');
  });

  it('names the WebSocket host in the CSP only when it is a plain host[:port]', () => {
    expect(dashboardSecurityHeaders('[::1]:8780')['Content-Security-Policy']).toContain("connect-src 'self' ws://[::1]:8780;");
    expect(dashboardSecurityHeaders('a b; script-src *')['Content-Security-Policy']).toContain("connect-src 'self';");
    expect(dashboardSecurityHeaders(undefined)['Content-Security-Policy']).toContain("connect-src 'self';");
  });
});
