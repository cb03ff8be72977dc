/**
 * The hub client against a hub that misbehaves: dies mid-answer, is slow,
 * overloaded (503), answers JSON that is not JSON or not the protocol's.
 * (The happy path is tested against the real hub daemon.)
 */
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { AddressInfo } from 'node:net';
import { HubClient, HubRequestError, HubUnavailableError } from '../../../plugin/agent/hub-client';

const ASK = { protocol: 'udp', internalPort: 3074, family: 'ipv4' } as const;

async function hub(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ server: Server; url: string; seen: IncomingMessage[] }> {
  const seen: IncomingMessage[] = [];
  const server = createServer((req, res) => {
    seen.push(req);
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}/homenet/v1`, seen };
}

const servers: Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

async function start(handler: (req: IncomingMessage, res: ServerResponse) => void) {
  const h = await hub(handler);
  servers.push(h.server);
  return h;
}

async function failure(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected the call to fail');
}

describe('HubClient faults', () => {
  test('a hub that dies in the middle of its answer is unavailable (reset), not a hang', async () => {
    const h = await start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '500' });
      res.write('{"verdict":"granted","needId":"n');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const client = new HubClient({ url: h.url, timeoutMs: 3000 });
    const started = Date.now();
    const error = await failure(client.ask(ASK, '127.0.0.1'));
    expect(error).toBeInstanceOf(HubUnavailableError);
    expect((error as HubUnavailableError).kind).toBe('reset');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('a hub that closes the connection before answering is unavailable (reset)', async () => {
    const h = await start((req) => req.socket.destroy());
    const error = await failure(new HubClient({ url: h.url }).ask(ASK, '127.0.0.1'));
    expect(error).toBeInstanceOf(HubUnavailableError);
    expect((error as HubUnavailableError).kind).toBe('reset');
  });

  test('a slow hub times out after the short timeout, with a clear message', async () => {
    const h = await start(() => undefined); // never answers
    const client = new HubClient({ url: h.url, timeoutMs: 300 });
    const started = Date.now();
    const error = await failure(client.ask(ASK, '127.0.0.1'));
    const took = Date.now() - started;
    expect(error).toBeInstanceOf(HubUnavailableError);
    expect((error as HubUnavailableError).kind).toBe('timeout');
    expect(error.message).toMatch(/within 300 ms/);
    expect(took).toBeGreaterThanOrEqual(280);
    expect(took).toBeLessThan(1500);
  });

  test('503 is unavailable (server-error) and carries the hub error text', async () => {
    const h = await start((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'too many asks' }));
    });
    const error = await failure(new HubClient({ url: h.url }).ask(ASK, '127.0.0.1'));
    expect(error).toBeInstanceOf(HubUnavailableError);
    expect((error as HubUnavailableError).kind).toBe('server-error');
    expect((error as HubUnavailableError).status).toBe(503);
    expect(error.message).toMatch(/too many asks/);
  });

  test('a 500 with an HTML page is still a server error', async () => {
    const h = await start((_req, res) => {
      res.writeHead(500, { 'content-type': 'text/html' });
      res.end('<html>oops</html>');
    });
    const error = await failure(new HubClient({ url: h.url }).end('n1', '127.0.0.1'));
    expect((error as HubUnavailableError).kind).toBe('server-error');
  });

  test('malformed JSON is unavailable (malformed)', async () => {
    const h = await start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"verdict": "granted", ');
    });
    const error = await failure(new HubClient({ url: h.url }).ask(ASK, '127.0.0.1'));
    expect(error).toBeInstanceOf(HubUnavailableError);
    expect((error as HubUnavailableError).kind).toBe('malformed');
    expect(error.message).toMatch(/not JSON/);
  });

  test('JSON that is not a grant is malformed, and so is a 403 that is not a refusal', async () => {
    let status = 200;
    const h = await start((_req, res) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ verdict: 'granted', needId: 7 }));
    });
    const client = new HubClient({ url: h.url });
    expect(((await failure(client.ask(ASK, '127.0.0.1'))) as HubUnavailableError).kind).toBe('malformed');
    status = 403;
    expect(((await failure(client.ask(ASK, '127.0.0.1'))) as HubUnavailableError).kind).toBe('malformed');
  });

  test('an answer larger than the cap is refused', async () => {
    const h = await start((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(`{"x":"${'a'.repeat(200_000)}"}`);
    });
    const error = await failure(new HubClient({ url: h.url }).ask(ASK, '127.0.0.1'));
    expect((error as HubUnavailableError).kind).toBe('malformed');
    expect(error.message).toMatch(/larger than/);
  });

  test('no hub listening is unavailable (refused)', async () => {
    const h = await start(() => undefined);
    const url = h.url;
    await new Promise((resolve) => h.server.close(resolve));
    servers.splice(servers.indexOf(h.server), 1);
    const error = await failure(new HubClient({ url }).ask(ASK, '127.0.0.1'));
    expect((error as HubUnavailableError).kind).toBe('refused');
  });

  test('400 and 404 are request errors; DELETE of an unknown need is false', async () => {
    const h = await start((req, res) => {
      res.writeHead(req.method === 'DELETE' ? 404 : 400, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'internalPort must be an integer 1-65535' }));
    });
    const client = new HubClient({ url: h.url });
    const error = await failure(client.ask(ASK, '127.0.0.1'));
    expect(error).toBeInstanceOf(HubRequestError);
    expect(error.message).toMatch(/internalPort must be/);
    expect(await client.end('gone', '127.0.0.1')).toBe(false);
  });

  test('the request comes from the given local address, to the path under the URL, as JSON', async () => {
    let body = '';
    let from: string | undefined;
    const h = await start((req, res) => {
      from = req.socket.remoteAddress;
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ verdict: 'denied', needId: 'n9', reasons: [{ rule: 'matter-device-guard', code: 'device-protected', detail: 'plug' }] }));
      });
    });
    const answer = await new HubClient({ url: h.url }).ask(ASK, '127.0.0.2');
    expect(answer.kind).toBe('refusal');
    expect(from).toBe('127.0.0.2');
    expect(h.seen[0].url).toBe('/homenet/v1/needs');
    expect(h.seen[0].headers['content-type']).toBe('application/json');
    expect(JSON.parse(body)).toEqual(ASK);
  });

  test('bad URLs and a local address of the other family are clear errors', async () => {
    expect(() => new HubClient({ url: 'ftp://hub/homenet/v1' })).toThrow(/must be http/);
    expect(() => new HubClient({ url: 'not a url' })).toThrow(/is not a URL/);
    await expect(new HubClient({ url: 'http://127.0.0.1:1/homenet/v1' }).ask(ASK, '2001:db8::1')).rejects.toThrow(/not the same address family/);
  });
});
