/**
 * The admin API server: plain HTTP for the lists and single commands, and a
 * WebSocket (`/ws`) for commands and the live event stream. Token-
 * authenticated (`Authorization: Bearer <token>`; on the WebSocket the header
 * or a first `auth` message), with a message size cap, a rate limit per
 * WebSocket connection and per HTTP client address, and a clear error code for
 * every refusal. See `plugin/gateway/ADMIN-API.md`. The same listener serves
 * the dashboard's static files (`/`, `/dashboard/...`, `dashboard-assets.ts`)
 * without a token and with a strict CSP; the page's data calls need the token
 * like any other (its WebSocket sends the `auth` message first).
 *
 * Hostile-LAN hardening:
 * - a per-source connection budget (`adapters/system/connection-budget.ts`):
 *   `maxConnectionsPerSource` per address of `maxConnections`; connections
 *   that have not shown the token share a small pool (`maxUnauthenticated`,
 *   `maxUnauthenticatedPerSource`) and are closed after `authDeadlineMs`; when
 *   full, the newest unauthenticated socket of the heaviest source makes room;
 *   an authenticated socket is never closed for someone else; loopback is
 *   counted apart and never locked out by the LAN;
 * - Host and Origin checks against DNS rebinding and cross-site pages
 *   (`allowedHosts`, `allowedOrigins`; loopback, the listen address and the
 *   address connected to by default): 421 `host_not_allowed`, 403
 *   `origin_not_allowed`, before the token is looked at;
 * - a token file group or others can read is refused at start.
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
import { ConnectionBudget, ConnectionTicket, RefusalExplainer, isLoopbackSource } from '../../../adapters/system/connection-budget';
import { canonicalAddress, isWildcardAddress, unmappedAddress } from '../../../policies/model/address';
import { readAdminTokenFile } from '../admin-token-file';
import { GatewayConfig } from '../gateway-config';
import { GatewayDaemonServices } from '../gateway-daemon';
import { Logger } from '../structured-log';
import { listings, runAdminCommand } from './admin-commands';
import { AdminCommandError, AdminError, AdminRequest, errorMessage, ErrorCode, parseRequest } from './admin-protocol';
import { KeyedTokenBuckets, TokenBucket } from './rate-limiter';
import { dashboardSecurityHeaders, isDashboardPath, loadDashboardAssets } from './dashboard-assets';

export interface AdminServerOptions {
  readonly services: GatewayDaemonServices;
  readonly config: GatewayConfig['admin'];
  readonly log: Logger;
  /** Wall clock for rate limits (default `Date.now`). */
  readonly now?: () => number;
  /** A WebSocket that sent no `auth` within this many ms is closed (default `config.authDeadlineMs`). */
  readonly authTimeoutMs?: number;
  /** Sources outside the connection budget, never evicted (default loopback). Tests that play LAN hosts from 127.0.0.x pass `() => false`. */
  readonly trustedSources?: (source: string) => boolean;
  /** A listener whose unsent events exceed this many bytes is disconnected (default 4 MiB). */
  readonly maxBufferedBytes?: number;
  /** The built dashboard's directory (default: found beside the code, `dist/dashboard/`); `null` serves no page. */
  readonly dashboardDir?: string | null;
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
  host_not_allowed: 421,
  origin_not_allowed: 403,
  over_capacity: 503,
};

/** WebSocket close codes (4000-4999 are the application's). */
export const WS_CLOSE = { unauthorized: 4401, tooSlow: 4408, rateLimited: 4429, overCapacity: 4503 } as const;

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** `host`, `host:port`, `[v6]` or `[v6]:port` -> the host (lower case, an IP literal canonical); undefined when malformed. */
export function hostOfHeader(header: string): string | undefined {
  const v6 = /^\[([^\]]+)\](?::\d{1,5})?$/.exec(header);
  if (v6) return canonicalAddress(v6[1]);
  const named = /^([^:[\]\s/@]+)(?::\d{1,5})?$/.exec(header);
  if (!named) return undefined;
  const host = named[1].toLowerCase().replace(/\.$/, '');
  return canonicalAddress(host) ?? host;
}

/** `scheme://host[:port]` -> [scheme, host, port] (default ports filled in); undefined when it is not an origin. */
function originParts(origin: string): [string, string, number] | undefined {
  const m = /^(https?):\/\/(\[[^\]]+\]|[^:/[\]]+)(?::(\d{1,5}))?$/i.exec(origin.trim());
  if (!m) return undefined;
  const host = hostOfHeader(m[2]);
  if (host === undefined) return undefined;
  const scheme = m[1].toLowerCase();
  return [scheme, host, m[3] !== undefined ? Number(m[3]) : scheme === 'https' ? 443 : 80];
}

/** Starts the admin API on `config.listen`. */
export async function startAdminServer(options: AdminServerOptions): Promise<AdminServer> {
  const { services, config, log } = options;
  if (!config.listen) throw new Error('admin.listen is null: the admin API is off');
  if (!config.token) throw new Error('admin.token is required for the admin API');
  // The same check as the default token file's: anyone who can read the token can open the firewall.
  if (config.tokenFile !== undefined) readAdminTokenFile(config.tokenFile);
  const tokenDigest = digest(config.token);
  const now = options.now ?? Date.now;
  const authorized = (presented: string | undefined): boolean => presented !== undefined && timingSafeEqual(digest(presented), tokenDigest);
  const bearer = (header: string | undefined): string | undefined => (header && /^Bearer\s+(\S+)$/i.exec(header)?.[1]) || undefined;
  const httpBuckets = new KeyedTokenBuckets(config.messagesPerSecond, config.burst, now);
  const sockets = new Set<Socket>();
  let actorSeq = 0;
  const authDeadlineMs = options.authTimeoutMs ?? config.authDeadlineMs;
  const dashboard = options.dashboardDir === null ? undefined : loadDashboardAssets(options.dashboardDir);

  // ---- Host / Origin ----
  const loopbackHosts = ['localhost', '127.0.0.1', '::1'];
  const allowedHosts = new Set<string>([...loopbackHosts, ...config.allowedHosts.map((h) => hostOfHeader(h) ?? h.toLowerCase())]);
  if (!isWildcardAddress(config.listen.host)) allowedHosts.add(canonicalAddress(config.listen.host) ?? config.listen.host);
  let boundPort = config.listen.port;
  /** Allowed: a listed host, or the IP literal the client connected to (a rebinding page can only send a name). */
  const isAllowedHost = (req: http.IncomingMessage, host: string): boolean => {
    if (allowedHosts.has(host)) return true;
    const local = req.socket.localAddress !== undefined ? unmappedAddress(req.socket.localAddress) : undefined;
    return local !== undefined && host === local;
  };
  const hostAllowed = (req: http.IncomingMessage): boolean => {
    const header = req.headers.host;
    if (header === undefined) return true; // HTTP/1.0 without Host: not a browser (node refuses HTTP/1.1 without one)
    const host = hostOfHeader(header);
    return host !== undefined && isAllowedHost(req, host);
  };
  const allowedOrigins = new Set(config.allowedOrigins.map((o) => o.toLowerCase()));
  const originAllowed = (req: http.IncomingMessage): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined) return true; // not a browser
    if (allowedOrigins.has(origin.toLowerCase())) return true;
    const parts = originParts(origin);
    return parts !== undefined && parts[0] === 'http' && parts[2] === boundPort && isAllowedHost(req, parts[1]);
  };
  /** The refusal of a request that failed the Host or Origin check; undefined when it passed. */
  const hostOrOriginRefusal = (req: http.IncomingMessage): AdminError | undefined => {
    if (!hostAllowed(req)) {
      return errorMessage(null, 'host_not_allowed', `Host ${JSON.stringify(String(req.headers.host).slice(0, 100))} is not an allowed name of this API (loopback, the listen address, or admin.allowedHosts)`);
    }
    if (!originAllowed(req)) {
      return errorMessage(null, 'origin_not_allowed', `Origin ${JSON.stringify(String(req.headers.origin).slice(0, 100))} may not use this API (add it to admin.allowedOrigins)`);
    }
    return undefined;
  };

  // ---- connection budget ----
  const budget = new ConnectionBudget(
    {
      maxTotal: config.maxConnections,
      maxPerSource: config.maxConnectionsPerSource,
      maxUnauthenticated: config.maxUnauthenticated,
      maxUnauthenticatedPerSource: config.maxUnauthenticatedPerSource,
    },
    { trusted: options.trustedSources ?? isLoopbackSource },
  );
  const tickets = new WeakMap<Socket, ConnectionTicket>();
  const explainer = new RefusalExplainer(1000, now);
  const deadlines = new WeakMap<Socket, NodeJS.Timeout>();
  /** Refusals are counted and logged once per 10 s with the counts, not once per socket. */
  const refused = new Map<string, number>();
  const flushRefused = (): void => {
    if (refused.size === 0) return;
    const bySource = Object.fromEntries([...refused].sort((a, b) => b[1] - a[1]).slice(0, 10));
    log.warn('admin connections refused', { total: [...refused.values()].reduce((a, b) => a + b, 0), bySource });
    refused.clear();
  };
  const refusedTimer = setInterval(flushRefused, 10_000);
  refusedTimer.unref();
  const countRefusal = (source: string | undefined, reason: string): void => {
    const key = `${source ?? '?'} ${reason}`;
    if (refused.size < 1000 || refused.has(key)) refused.set(key, (refused.get(key) ?? 0) + 1);
  };
  const authenticated = (socket: Socket): void => {
    tickets.get(socket)?.authenticate();
    const timer = deadlines.get(socket);
    if (timer !== undefined) clearTimeout(timer);
    deadlines.delete(socket);
  };
  const rearmDeadline = (socket: Socket): void => {
    const ticket = tickets.get(socket);
    const old = deadlines.get(socket);
    if (ticket === undefined || ticket.trusted || old === undefined) return;
    clearTimeout(old);
    const timer = setTimeout(() => {
      if (!ticket.authenticated) socket.destroy();
    }, authDeadlineMs + 1000);
    timer.unref();
    deadlines.set(socket, timer);
  };
  const admitSocket = (socket: Socket): boolean => {
    let ticket: ConnectionTicket | undefined;
    const admission = budget.admit(socket.remoteAddress, () => {
      countRefusal(ticket?.source, 'evicted');
      socket.destroy();
    });
    if (!admission.admitted) {
      countRefusal(admission.source, admission.reason);
      if (!explainer.shouldExplain(admission.source)) {
        socket.resetAndDestroy(); // the rest of a flood: a bare reset is cheapest
        return false;
      }
      const body = JSON.stringify(errorMessage(null, 'over_capacity', admission.reason === 'source-cap' ? 'too many connections from your address' : 'too many connections; try again'));
      socket.end(`HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n${body}`);
      socket.destroySoon();
      return false;
    }
    ticket = admission.ticket;
    const own = ticket;
    tickets.set(socket, own);
    if (!own.trusted) {
      const timer = setTimeout(() => {
        if (!own.authenticated) {
          countRefusal(own.source, 'auth-deadline');
          socket.destroy();
        }
      }, authDeadlineMs);
      timer.unref();
      deadlines.set(socket, timer);
    }
    socket.on('close', () => {
      const timer = deadlines.get(socket);
      if (timer !== undefined) clearTimeout(timer);
      own.release();
    });
    return true;
  };

  const sendJson = (res: http.ServerResponse, status: number, body: unknown): void => {
    if (res.headersSent || res.destroyed) return;
    const bytes = Buffer.from(JSON.stringify(body));
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': bytes.length, 'Cache-Control': 'no-store' });
    res.end(bytes);
  };
  const sendError = (res: http.ServerResponse, error: AdminError): void => sendJson(res, HTTP_STATUS[error.error_code], error);

  /** The dashboard's files: no token (they hold no data), a strict CSP; the page's data calls need the token. */
  const serveDashboard = (req: http.IncomingMessage, res: http.ServerResponse, path: string): void => {
    const headers = dashboardSecurityHeaders(req.headers.host);
    if (path === '/' || path === '/dashboard') {
      res.writeHead(302, { ...headers, Location: '/dashboard/', 'Content-Length': 0 });
      res.end();
      return;
    }
    const asset = dashboard?.get(path);
    if (asset === undefined) {
      sendJson(res, 404, errorMessage(null, 'unknown_command', 'the dashboard is not built into this install (npm run build makes dist/dashboard/)'));
      return;
    }
    const common = { ...headers, 'Content-Type': asset.type, 'Cache-Control': 'no-cache', ETag: asset.etag };
    if (req.headers['if-none-match'] === asset.etag) {
      res.writeHead(304, common);
      res.end();
      return;
    }
    res.writeHead(200, { ...common, 'Content-Length': asset.body.length });
    res.end(req.method === 'HEAD' ? undefined : asset.body);
  };

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
    const misdirected = hostOrOriginRefusal(req);
    if (misdirected) {
      res.setHeader('Connection', 'close');
      sendError(res, misdirected);
      return;
    }
    if (path === '/api/health' && req.method === 'GET') {
      sendJson(res, 200, { ok: true });
      return;
    }
    if (!httpBuckets.take(req.socket.remoteAddress ?? '?')) {
      sendError(res, errorMessage(null, 'rate_limited', `more than ${config.messagesPerSecond} requests per second (burst ${config.burst})`));
      return;
    }
    if (isDashboardPath(path) && (req.method === 'GET' || req.method === 'HEAD')) {
      serveDashboard(req, res, path);
      return;
    }
    if (!authorized(bearer(req.headers.authorization))) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="homenet"');
      sendError(res, errorMessage(null, 'unauthorized', 'send the admin token as "Authorization: Bearer <token>"'));
      return;
    }
    authenticated(req.socket);
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
  // The budget decides before node's HTTP machinery (parser, timers) is set up: a refused socket costs little.
  const httpConnectionListeners = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    socket.on('error', () => undefined);
    if (!admitSocket(socket)) return;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    for (const listener of httpConnectionListeners) listener.call(server, socket);
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
    const misdirected = hostOrOriginRefusal(req);
    if (misdirected) return refuse(HTTP_STATUS[misdirected.error_code], misdirected.error_code === 'host_not_allowed' ? 'Misdirected Request' : 'Forbidden');
    if (path !== '/ws') return refuse(404, 'Not Found');
    const header = bearer(req.headers.authorization);
    if (header !== undefined && !authorized(header)) return refuse(401, 'Unauthorized');
    if (header !== undefined) authenticated(socket);
    else rearmDeadline(socket); // the WebSocket's own auth timer closes it politely (4401) first
    wss.handleUpgrade(req, socket, head, (ws) => serveSocket(ws, socket, header !== undefined, `ws:${req.socket.remoteAddress ?? '?'}#${++actorSeq}`));
  });

  const serveSocket = (ws: WebSocket, socket: Socket, preAuthorized: boolean, actor: string): void => {
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
        }, authDeadlineMs);
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
        authenticated(socket);
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
  boundPort = bound.port;
  log.info('admin api listening', { address: `${address.host.includes(':') ? `[${address.host}]` : address.host}:${address.port}` });

  return {
    address,
    async stop() {
      clearInterval(refusedTimer);
      flushRefused();
      for (const ws of clients) ws.close(1001, 'daemon stopping');
      wss.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
    },
  };
}
