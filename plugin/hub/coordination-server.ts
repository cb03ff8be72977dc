/**
 * The hub's coordination listener: HTTP/1.1 + JSON on the hub's LAN
 * addresses (default port 5390), the wire of `coordination-protocol.ts`, the
 * answers of `coordination-service.ts`. No token: a host asks only for its own
 * address (the TCP source), as a router's IGD:2 holds it.
 *
 * Built for a hostile LAN: a per-source connection budget with a reserve for
 * the others (`adapters/system/connection-budget.ts`), a small header and body
 * limit ({@link MAX_COORDINATION_BODY}), a short deadline for the whole
 * request, one JSON.parse per request (linear), and a clear JSON error for
 * anything malformed.
 *
 * @example
 * ```ts
 * const server = await startCoordinationServer({ service, listen: [{ host: '::', port: 5390 }] });
 * // curl -s -X POST http://[hub]:5390/homenet/v1/needs -d '{"protocol":"udp","internalPort":3074,"family":"ipv4"}'
 * await server.stop();
 * ```
 */
import * as http from 'node:http';
import type * as net from 'node:net';
import { ConnectionBudget, isLoopbackSource } from '../../adapters/system/connection-budget';
import { unmappedAddress } from '../../policies/model/address';
import { COORDINATION_PATH, MAX_COORDINATION_BODY, parseCoordinationAsk, parseCoordinationOutcome } from './coordination-protocol';
import type { CoordinationAnswer, CoordinationService } from './coordination-service';

export interface CoordinationServerOptions {
  readonly service: CoordinationService;
  readonly listen: readonly { readonly host: string; readonly port: number }[];
  /** Sockets in all (default 64) and per source (default 8). */
  readonly maxConnections?: number;
  readonly maxConnectionsPerSource?: number;
  /** Whole-request deadline (default 5000 ms). */
  readonly requestTimeoutMs?: number;
  /** Told about each request (logs). */
  readonly onRequest?: (info: { method: string; path: string; source: string; status: number; ms: number }) => void;
}

export interface CoordinationServer {
  readonly addresses: readonly { readonly host: string; readonly port: number }[];
  stop(): Promise<void>;
}

const NEED_PATH = new RegExp(`^${COORDINATION_PATH}/needs/([A-Za-z0-9_.:*|\\-%]{1,200})(/outcome)?$`);

function send(res: http.ServerResponse, answer: CoordinationAnswer): void {
  const body = JSON.stringify(answer.body);
  res.writeHead(answer.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

function error(status: number, message: string): CoordinationAnswer {
  return { status, body: { error: message } };
}

/** Reads a body of at most {@link MAX_COORDINATION_BODY} bytes and parses it as JSON. */
async function readJson(req: http.IncomingMessage): Promise<{ ok: true; value: unknown } | { ok: false; answer: CoordinationAnswer }> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > MAX_COORDINATION_BODY) return { ok: false, answer: error(413, `the body is larger than ${MAX_COORDINATION_BODY} bytes`) };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_COORDINATION_BODY) return { ok: false, answer: error(413, `the body is larger than ${MAX_COORDINATION_BODY} bytes`) };
    chunks.push(chunk);
  }
  try {
    return { ok: true, value: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch (e) {
    return { ok: false, answer: error(400, `the body is not JSON: ${(e as Error).message.slice(0, 120)}`) };
  }
}

async function route(service: CoordinationService, req: http.IncomingMessage, source: string): Promise<CoordinationAnswer> {
  const path = (req.url ?? '').split('?')[0];
  if (path === `${COORDINATION_PATH}/hub`) return req.method === 'GET' ? service.info() : error(405, 'use GET');
  if (path === `${COORDINATION_PATH}/needs`) {
    if (req.method !== 'POST') return error(405, 'use POST');
    const body = await readJson(req);
    if (!body.ok) return body.answer;
    const ask = parseCoordinationAsk(body.value);
    if (!ask.ok) return error(400, ask.error);
    return service.ask(ask.value, source);
  }
  const match = NEED_PATH.exec(path);
  if (match) {
    let needId: string;
    try {
      needId = decodeURIComponent(match[1]);
    } catch {
      return error(400, 'the need id is not valid percent-encoding');
    }
    if (match[2]) {
      if (req.method !== 'POST') return error(405, 'use POST');
      const body = await readJson(req);
      if (!body.ok) return body.answer;
      const outcome = parseCoordinationOutcome(body.value);
      if (!outcome.ok) return error(400, outcome.error);
      return service.outcome(needId, outcome.value, source);
    }
    return req.method === 'DELETE' ? service.end(needId, source) : error(405, 'use DELETE');
  }
  return error(404, `no such path; the coordination API is under ${COORDINATION_PATH}`);
}

/** Starts the listener on every given address; see the module comment. */
export async function startCoordinationServer(options: CoordinationServerOptions): Promise<CoordinationServer> {
  const maxTotal = options.maxConnections ?? 64;
  const maxPerSource = Math.min(options.maxConnectionsPerSource ?? 8, maxTotal);
  const budget = new ConnectionBudget({ maxTotal, maxPerSource, maxUnauthenticated: maxTotal, maxUnauthenticatedPerSource: maxPerSource }, { trusted: isLoopbackSource });
  const timeoutMs = options.requestTimeoutMs ?? 5000;
  const servers: http.Server[] = [];
  const sockets = new Set<net.Socket>();

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const started = Date.now();
    const source = unmappedAddress(req.socket.remoteAddress ?? '') ?? (req.socket.remoteAddress ?? '');
    route(options.service, req, source)
      .catch((e: unknown) => error(500, `internal error: ${(e as Error).message}`))
      .then((answer) => {
        if (!res.headersSent && !res.destroyed) send(res, answer);
        options.onRequest?.({ method: req.method ?? '', path: (req.url ?? '').slice(0, 200), source, status: answer.status, ms: Date.now() - started });
      })
      .catch(() => undefined);
  };

  try {
    for (const { host, port } of options.listen) {
      const server = http.createServer({ maxHeaderSize: 4096, headersTimeout: timeoutMs, requestTimeout: timeoutMs, keepAliveTimeout: 2000, connectionsCheckingInterval: 500 }, handler);
      server.maxHeadersCount = 32;
      // The budget decides before node's HTTP machinery is set up for the socket.
      const httpListeners = server.listeners('connection') as ((s: net.Socket) => void)[];
      server.removeAllListeners('connection');
      server.on('connection', (s: net.Socket) => {
        s.on('error', () => undefined);
        const admission = budget.admit(s.remoteAddress, () => s.destroy());
        if (!admission.admitted) {
          s.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n');
          s.destroySoon();
          return;
        }
        const ticket = admission.ticket;
        const deadline = setTimeout(() => s.destroy(), timeoutMs * 2);
        deadline.unref();
        sockets.add(s);
        s.on('close', () => {
          clearTimeout(deadline);
          sockets.delete(s);
          ticket.release();
        });
        for (const listener of httpListeners) listener.call(server, s);
      });
      server.on('clientError', (_e, socket: net.Socket) => {
        if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
        socket.destroySoon();
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ host, port, ipv6Only: host.includes(':') && host !== '::' }, () => {
          server.off('error', reject);
          resolve();
        });
      });
      servers.push(server);
    }
  } catch (e) {
    for (const server of servers) server.close();
    throw e;
  }

  return {
    addresses: servers.map((s) => {
      const a = s.address() as net.AddressInfo;
      return { host: a.address, port: a.port };
    }),
    async stop() {
      for (const s of sockets) s.destroy();
      await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
    },
  };
}
