/**
 * The admin API server: plain HTTP for the lists and single commands, and a
 * WebSocket (`/ws`) for commands and the live event stream. Token-
 * authenticated (`Authorization: Bearer <token>`; on the WebSocket the header
 * or a first `auth` message), with a message size cap, a connection cap, a
 * rate limit per WebSocket connection and per HTTP client address, and a
 * clear error code for every refusal. See `plugin/gateway/ADMIN-API.md`.
 *
 * @example
 * ```ts
 * const api = await startAdminServer({ services, config: config.admin, log });
 * // curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8780/api/grants
 * await api.stop();
 * ```
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import { AddressInfo, Socket } from 'node:net';
import { Subscription } from 'rxjs';
import { WebSocket, WebSocketServer, RawData } from 'ws';
import { GatewayConfig } from '../gateway-config';
import { GatewayDaemonServices } from '../gateway-daemon';
import { Logger } from '../structured-log';
import { listings, runAdminCommand } from './admin-commands';
import { AdminCommandError, AdminError, AdminRequest, errorMessage, ErrorCode, parseRequest } from './admin-protocol';
import { KeyedTokenBuckets, TokenBucket } from './rate-limiter';

export interface AdminServerOptions {
  readonly services: GatewayDaemonServices;
  readonly config: GatewayConfig['admin'];
  readonly log: Logger;
  /** Wall clock for rate limits (default `Date.now`). */
  readonly now?: () => number;
  /** A WebSocket that sent no `auth` within this many ms is closed (default 5000). */
  readonly authTimeoutMs?: number;
  /** A listener whose unsent events exceed this many bytes is disconnected (default 4 MiB). */
  readonly maxBufferedBytes?: number;
}

export interface AdminServer {
  readonly address: { host: string; port: number };
  stop(): Promise<void>;
}

const HTTP_STATUS: Record<ErrorCode, number> = {
  invalid_json: 400,
  invalid_message: 400,
  unknown_command: 400,
  invalid_args: 400,
  unauthorized: 401,
  rate_limited: 429,
  message_too_large: 413,
  not_found: 404,
  policy_denied: 403,
  firewall_failed: 502,
  websocket_only: 400,
  internal_error: 500,
};

/** WebSocket close codes (4000-4999 are the application's). */
export const WS_CLOSE = { unauthorized: 4401, tooSlow: 4408, rateLimited: 4429, overCapacity: 4503 } as const;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Starts the admin API on `config.listen`. */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { services, config, log } = options;
  if (!config.listen) throw new Error('admin.listen is null: the admin API is off');
  if (!config.token) throw new Error('admin.token is required for the admin API');
  const tokenDigest = digest(config.token);
  const now = options.now ?? Date.now;
  const authorized = (presented: string | undefined): boolean => presented !== undefined && timingSafeEqual(digest(presented), tokenDigest);
  const bearer = (header: string | undefined): string | undefined => (header && /^Bearer\s+(\S+)$/i.exec(header)?.[1]) || undefined;
  const httpBuckets = new KeyedTokenBuckets(config.messagesPerSecond, config.burst, now);
  const sockets = new Set<Socket>();
  let actorSeq = 0;

  const sendJson = (res: http.ServerResponse, status: number, body: unknown): void => {
    if (res.headersSent || res.destroyed) return;
    const bytes = Buffer.from(JSON.stringify(body));
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': bytes.length, 'Cache-Control': 'no-store' });
    res.end(bytes);
  };
  const sendError = (res: http.ServerResponse, error: AdminError): void => sendJson(res, HTTP_STATUS[error.error_code], error);

  const answer = async (request: AdminRequest, context: Parameters<typeof runAdminCommand>[2]): Promise<object> => {
    try {
      const result = await runAdminCommand(services, request, context);
      return { message_id: request.message_id, result };
    } catch (error) {
      if (error instanceof AdminCommandError) return errorMessage(request.message_id, error.code, error.message, error.extra);
      log.error('command failed', { command: request.command, error: error as Error });
      return errorMessage(request.message_id, 'internal_error', 'the command failed inside the daemon (see its log)');
    }
  };

  const readBody = (req: http.IncomingMessage): Promise<string | undefined> =>
    new Promise((resolve, reject) => {
      const declared = Number(req.headers['content-length'] ?? 0);
      if (declared > config.maxMessageBytes) {
        resolve(undefined);
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > config.maxMessageBytes) {
          resolve(undefined);
          req.destroy();
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      req.on('error', reject);
    });

  const handleHttp = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const path = url.pathname;
    if (path === '/api/health' && req.method === 'GET') {
      sendJson(res, 200, { ok: true });
      return;
    }
    if (!httpBuckets.take(req.socket.remoteAddress ?? '?')) {
      sendError(res, errorMessage(null, 'rate_limited', `more than ${config.messagesPerSecond} requests per second (burst ${config.burst})`));
      return;
    }
    if (!authorized(bearer(req.headers.authorization))) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="homenet"');
      sendError(res, errorMessage(null, 'unauthorized', 'send the admin token as "Authorization: Bearer <token>"'));
      return;
    }
    const lists: Record<string, () => unknown> = {
      '/api/info': () => listings.info(services),
      '/api/devices': () => listings.devices(services),
      '/api/needs': () => listings.needs(services),
      '/api/grants': () => listings.grants(services),
      '/api/decisions': () => {
        const raw = url.searchParams.get('limit');
        const limit = raw === null ? 100 : Number(raw);
        if (!Number.isInteger(limit) || limit < 1 || limit > config.decisionsKept) {
          throw new AdminCommandError('invalid_args', `limit: expected an integer in 1..${config.decisionsKept}, got ${JSON.stringify(raw)}`);
        }
        const filter: { needId?: string; deviceId?: string } = {};
        const needId = url.searchParams.get('need_id');
        const deviceId = url.searchParams.get('device_id');
        if (needId) filter.needId = needId;
        if (deviceId) filter.deviceId = deviceId;
        return listings.decisions(services, limit, filter);
      },
    };
    if (lists[path]) {
      if (req.method !== 'GET') {
        res.setHeader('Allow', 'GET');
        sendJson(res, 405, errorMessage(null, 'invalid_message', `${path} only answers GET`));
        return;
      }
      try {
        sendJson(res, 200, lists[path]());
      } catch (error) {
        if (error instanceof AdminCommandError) sendError(res, errorMessage(null, error.code, error.message));
        else throw error;
      }
      return;
    }
    if (path === '/api/command') {
      if (req.method !== 'POST') {
        res.setHeader('Allow', 'POST');
        sendJson(res, 405, errorMessage(null, 'invalid_message', '/api/command only answers POST'));
        return;
      }
      const body = await readBody(req);
      if (body === undefined) {
        sendError(res, errorMessage(null, 'message_too_large', `the body is over ${config.maxMessageBytes} bytes`));
        return;
      }
      const parsed = parseRequest(body);
      if (!parsed.ok) {
        sendError(res, parsed.error);
        return;
      }
      const out = (await answer(parsed.request, { actor: `http:${req.socket.remoteAddress ?? '?'}` })) as AdminError | { result: unknown };
      sendJson(res, 'error_code' in out ? HTTP_STATUS[out.error_code] : 200, out);
      return;
    }
    sendJson(res, 404, errorMessage(null, 'unknown_command', `no endpoint ${path.slice(0, 100)}; see GET /api/info, /api/devices, /api/needs, /api/grants, /api/decisions, POST /api/command, WebSocket /ws`));
  };

  const server = http.createServer({ maxHeaderSize: 8192, requestTimeout: 10_000, headersTimeout: 5_000, keepAliveTimeout: 5_000 }, (req, res) => {
    handleHttp(req, res).catch((error: unknown) => {
      log.error('http handler failed', { error: error as Error });
      sendError(res, errorMessage(null, 'internal_error', 'the request failed inside the daemon (see its log)'));
    });
  });
  server.maxHeadersCount = 32;
  server.maxConnections = config.maxConnections;
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_error, socket: Socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxMessageBytes, perMessageDeflate: false });
  const clients = new Set<WebSocket>();
  server.on('upgrade', (req: http.IncomingMessage, socket: Socket, head: Buffer) => {
    const path = new URL(req.url ?? '/', 'http://admin.invalid').pathname;
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (path !== '/ws') return refuse(404, 'Not Found');
    const header = bearer(req.headers.authorization);
    if (header !== undefined && !authorized(header)) return refuse(401, 'Unauthorized');
    if (clients.size >= config.maxConnections) return refuse(503, 'Service Unavailable');
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws, header !== undefined, `ws:${req.socket.remoteAddress ?? '?'}#${++actorSeq}`));
  });

  const serveSocket = (ws: WebSocket, preAuthorized: boolean, actor: string): void => {
    clients.add(ws);
    let authed = preAuthorized;
    let listening: Subscription | undefined;
    let pending = Promise.resolve();
    const bucket = new TokenBucket(config.messagesPerSecond, config.burst, now);
    let overRate = 0;
    const send = (message: unknown): void => {
      if (ws.readyState !== WebSocket.OPEN) return;
      ws.send(JSON.stringify(message));
    };
    const authTimer = authed
      ? undefined
      : setTimeout(() => {
          send(errorMessage(null, 'unauthorized', 'no auth message in time: send {"message_id":..,"command":"auth","args":{"token":".."}} first'));
          ws.close(WS_CLOSE.unauthorized, 'unauthorized');
        }, options.authTimeoutMs ?? 5000);
    const listen = (on: boolean) => {
      if (on && !listening) {
        listening = services.events$.subscribe((event) => {
          if (ws.bufferedAmount > (options.maxBufferedBytes ?? 4 * 1024 * 1024)) {
            log.warn('event listener too slow; disconnected', { actor });
            ws.close(WS_CLOSE.tooSlow, 'too slow');
            return;
          }
          send(event);
        });
      } else if (!on && listening) {
        listening.unsubscribe();
        listening = undefined;
      }
    };
    const info = () => listings.info(services);
    if (authed) send(info());
    ws.on('message', (data: RawData, isBinary: boolean) => {
      if (!bucket.take()) {
        overRate++;
        send(errorMessage(null, 'rate_limited', `more than ${config.messagesPerSecond} messages per second (burst ${config.burst})`));
        if (overRate > config.burst) ws.close(WS_CLOSE.rateLimited, 'rate limited');
        return;
      }
      overRate = 0;
      if (isBinary) {
        send(errorMessage(null, 'invalid_message', 'send text frames holding JSON'));
        return;
      }
      const parsed = parseRequest((Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data)).toString('utf8'));
      if (!parsed.ok) {
        send(parsed.error);
        if (!authed) ws.close(WS_CLOSE.unauthorized, 'unauthorized');
        return;
      }
      const request = parsed.request;
      if (!authed) {
        const token = request.command === 'auth' ? request.args.token : undefined;
        if (typeof token !== 'string' || !authorized(token)) {
          send(errorMessage(request.message_id, 'unauthorized', 'the first message must be {"command":"auth","args":{"token":"<admin token>"}} with the right token'));
          ws.close(WS_CLOSE.unauthorized, 'unauthorized');
          return;
        }
        authed = true;
        if (authTimer) clearTimeout(authTimer);
        send({ message_id: request.message_id, result: info() });
        return;
      }
      // Commands answer in the order they arrived.
      pending = pending.then(async () => send(await answer(request, { actor, listen })));
    });
    ws.on('close', () => {
      clients.delete(ws);
      if (authTimer) clearTimeout(authTimer);
      listen(false);
    });
    ws.on('error', (error) => log.debug('websocket error', { actor, error: error.message }));
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen!.port, config.listen!.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const address = { host: bound.address, port: bound.port };
  log.info('admin api listening', { address: `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}` });

  return {
    address,
    async stop() {
      for (const ws of clients) ws.close(1001, 'daemon stopping');
      wss.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
