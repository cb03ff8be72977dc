/**
 * The IGD front's HTTP server (`node:http`): GET/HEAD for the device description and SCPDs,
 * POST (SOAP) to the control URLs, 404 elsewhere, 405 for the wrong method on a known path.
 * Hardened for a LAN where anything may connect: body cap (413), header size and count caps
 * (431), headers and request timeouts (a slowloris client is cut off with 408), a deadline for
 * the first request head (a socket that sends nothing is closed), keep-alive timeout, a
 * per-source connection budget (`adapters/system/connection-budget.ts`: at most
 * `maxConnectionsPerSource` sockets per source address, `maxConnections` in all, and when full
 * the newest socket of the heaviest source makes room for a host holding fewer; a refused
 * socket gets `503` — the first of a source each second, the rest of a flood a bare reset — and is closed), content-type check (415), and garbage of any kind (random
 * bytes, truncated or DOCTYPE-carrying XML) answered with 400 or a SOAP fault, never a crash.
 * The requester handed to the decider is the TCP peer address (RFC 5952).
 *
 * @example
 * ```ts
 * const igd = defineIgdDevice({ uuid: '2f1c9e3a-5b7d-4c1e-9a2b-000000000001' });
 * const server = createIgdHttpServer({ igd, decider, listen: [{ host: '::', port: 5000 }] });
 * await server.start();
 * server.urls()[0]; // 'http://[::]:5000'
 * await server.close();
 * ```
 */
import http from 'node:http';
import net from 'node:net';
import { ConnectionBudget, ConnectionTicket, RefusalExplainer, RefusalReason, isLoopbackSource } from '../../system/connection-budget';
import { parseSoapRequest } from '../soap-envelope';
import { UpnpProtocolError } from '../upnp-errors';
import { IgdDocuments, buildIgdDocuments } from './description-xml';
import { GatewayDecider, Requester } from './gateway-decider';
import { IgdDevice, ServedService } from './igd-device';
import { ControlOutcome, handleControl, requesterOf } from './soap-control';
import { soapFaultBody } from './soap-response';

/** Limits of the HTTP server; every field has a default. */
export interface IgdHttpLimits {
  /** Largest request body (default 16 KiB; real SOAP requests are < 1 KiB). */
  maxBodyBytes: number;
  /** node:http `maxHeaderSize` (default 8 KiB). */
  maxHeaderBytes: number;
  /** Most header lines (default 32). */
  maxHeadersCount: number;
  /** Time to receive the whole header block (default 5000 ms). */
  headersTimeoutMs: number;
  /** Time to receive the whole request (default 10000 ms). */
  requestTimeoutMs: number;
  /** Idle keep-alive connections are closed after this (default 5000 ms). */
  keepAliveTimeoutMs: number;
  /** How often node checks the two timeouts above (default 500 ms). */
  timeoutCheckIntervalMs: number;
  /** Open connections from LAN sources, all listening addresses together (default 128); see the budget rules. */
  maxConnections: number;
  /** Open connections one source address may hold (default 16, at most `maxConnections`; the other 112 stay for the rest of the LAN). */
  maxConnectionsPerSource: number;
  /** Requests per keep-alive connection (default 100). */
  maxRequestsPerSocket: number;
}

export const DEFAULT_IGD_HTTP_LIMITS: IgdHttpLimits = {
  maxBodyBytes: 16 * 1024,
  maxHeaderBytes: 8 * 1024,
  maxHeadersCount: 32,
  headersTimeoutMs: 5000,
  requestTimeoutMs: 10000,
  keepAliveTimeoutMs: 5000,
  timeoutCheckIntervalMs: 500,
  maxConnections: 128,
  maxConnectionsPerSource: 16,
  maxRequestsPerSocket: 100,
};

/** One answered control request, for logs and metrics. */
export interface ControlLogEntry extends Omit<ControlOutcome, 'body'> {
  readonly requester: Requester;
  readonly serviceType: string;
  readonly durationMs: number;
}

/** Options of {@link createIgdHttpServer}. */
export interface IgdHttpServerOptions {
  igd: IgdDevice;
  decider: GatewayDecider;
  /** Where to listen; `::` listens dual-stack. Port 0 picks a free port. */
  listen: ReadonlyArray<{ host: string; port: number }>;
  /** SERVER header (default `Node.js/<v> UPnP/1.1 homenet-controller/0.1`). */
  serverHeader?: string;
  limits?: Partial<IgdHttpLimits>;
  /**
   * Where the requester address comes from; default the socket's remote address. Override only
   * when a trusted local component terminates TCP, or in tests that map loopback peers onto
   * captured addresses.
   */
  peerAddress?: (socket: net.Socket) => string | undefined;
  /**
   * Sources outside the budget, never evicted (default loopback: the router's own tools).
   * Tests that play LAN hosts from 127.0.0.x pass `() => false`.
   */
  trustedSources?: (source: string) => boolean;
  /**
   * The connection budget to count against, shared by several servers of one front (one per
   * LAN address) so the caps hold for the front as a whole; default: a budget of this server's own
   * ({@link igdConnectionBudget} of `limits` and `trustedSources`).
   */
  budget?: ConnectionBudget;
  /** Called for each socket the budget refused or evicted (for a rate-limited log line). */
  onRefusedConnection?: (event: { source: string | undefined; reason: RefusalReason | 'evicted' }) => void;
  /** Called after every control request (success or fault). */
  onControl?: (entry: ControlLogEntry) => void;
  /** Non-fatal problems (socket errors, handler bugs). */
  onError?: (err: Error) => void;
  /** Clock for `durationMs` (default performance.now). */
  now?: () => number;
}

export interface IgdHttpServer {
  /** The served documents (description, SCPDs) and their CONFIGID. */
  readonly documents: IgdDocuments;
  start(): Promise<void>;
  /** Bound addresses, in `listen` order (after start). */
  addresses(): net.AddressInfo[];
  /** `http://host:port` per bound address (IPv6 bracketed). */
  urls(): string[];
  close(): Promise<void>;
}

export const DEFAULT_SERVER_HEADER = `Node.js/${process.versions.node} UPnP/1.1 homenet-controller/0.1`;

const XML_TYPE = 'text/xml; charset="utf-8"';

/**
 * Creates (does not start) the HTTP server of the IGD front.
 *
 * @example
 * ```ts
 * const s = createIgdHttpServer({ igd, decider: daemon.decider, listen: [{ host: '127.0.0.1', port: 0 }] }); // the gateway daemon's decider
 * await s.start();
 * ```
 */
/**
 * The per-source connection budget of an IGD front: `maxConnections` in all, `maxConnectionsPerSource`
 * per source address; every IGD connection is unauthenticated (UPnP has no login). Sources for
 * which `trusted` holds (default loopback) are outside it.
 *
 * @example
 * ```ts
 * const budget = igdConnectionBudget({ maxConnections: 128, maxConnectionsPerSource: 16 });
 * ```
 */
export function igdConnectionBudget(
  limits: Pick<IgdHttpLimits, 'maxConnections' | 'maxConnectionsPerSource'>,
  trusted: (source: string) => boolean = isLoopbackSource,
): ConnectionBudget {
  return new ConnectionBudget(
    {
      maxTotal: limits.maxConnections,
      maxPerSource: limits.maxConnectionsPerSource,
      maxUnauthenticated: limits.maxConnections,
      maxUnauthenticatedPerSource: limits.maxConnectionsPerSource,
    },
    { trusted },
  );
}

export function createIgdHttpServer(options: IgdHttpServerOptions): IgdHttpServer {
  const limits: IgdHttpLimits = { ...DEFAULT_IGD_HTTP_LIMITS, ...(options.limits ?? {}) };
  // A smaller total without a per-source cap of its own: the default cap shrinks with it.
  if (options.limits?.maxConnectionsPerSource === undefined) limits.maxConnectionsPerSource = Math.min(limits.maxConnectionsPerSource, limits.maxConnections);
  for (const [k, v] of Object.entries(limits)) {
    if (!(Number.isInteger(v) && v > 0)) throw new RangeError(`limits.${k} must be a positive integer, got ${String(v)}`);
  }
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) throw new RangeError('limits.headersTimeoutMs must not exceed limits.requestTimeoutMs');
  if (limits.maxConnectionsPerSource > limits.maxConnections) throw new RangeError('limits.maxConnectionsPerSource must not exceed limits.maxConnections');
  if (options.listen.length === 0) throw new RangeError('listen must name at least one address');
  const documents = buildIgdDocuments(options.igd);
  const serverHeader = options.serverHeader ?? DEFAULT_SERVER_HEADER;
  const controlByPath = new Map<string, ServedService>(options.igd.services.map((s) => [s.controlPath, s]));
  const now = options.now ?? (() => performance.now());
  const report = (e: unknown): void => {
    try {
      options.onError?.(e instanceof Error ? e : new Error(String(e)));
    } catch {
      /* the reporter must not break the server */
    }
  };

  const send = (res: http.ServerResponse, status: number, body: string, extra: Record<string, string> = {}, head = false): void => {
    if (res.headersSent || res.destroyed) return;
    const bytes = Buffer.from(body, 'utf8');
    res.writeHead(status, {
      'Content-Type': body === '' ? 'text/plain; charset="utf-8"' : XML_TYPE,
      'Content-Length': String(bytes.length),
      Server: serverHeader,
      ...extra,
    });
    res.end(head ? undefined : bytes);
  };
  const plain = (res: http.ServerResponse, status: number, extra: Record<string, string> = {}): void => {
    if (res.headersSent || res.destroyed) return;
    const text = `${status} ${http.STATUS_CODES[status] ?? ''}\n`;
    res.writeHead(status, { 'Content-Type': 'text/plain; charset="utf-8"', 'Content-Length': String(Buffer.byteLength(text)), Server: serverHeader, ...extra });
    res.end(text);
  };

  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    req.on('error', () => undefined);
    res.on('error', (e) => report(e));
    const path = (req.url ?? '').split('?')[0] ?? '';
    const doc = documents.byPath.get(path);
    const service = controlByPath.get(path);
    if (doc !== undefined) {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        drainAndAnswer(req, res, () => plain(res, 405, { Allow: 'GET, HEAD' }));
        return;
      }
      send(res, 200, doc, {}, req.method === 'HEAD');
      return;
    }
    if (!service) {
      drainAndAnswer(req, res, () => plain(res, 404));
      return;
    }
    if (req.method !== 'POST') {
      drainAndAnswer(req, res, () => plain(res, 405, { Allow: 'POST' }));
      return;
    }
    const type = (req.headers['content-type'] ?? '').toLowerCase();
    if (type !== '' && !/^(text|application)\/xml\s*(;|$)/.test(type)) {
      drainAndAnswer(req, res, () => plain(res, 415));
      return;
    }
    const declared = req.headers['content-length'];
    if (declared !== undefined && Number(declared) > limits.maxBodyBytes) {
      refuseBody(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let overflow = false;
    req.on('data', (chunk: Buffer) => {
      if (overflow) return;
      size += chunk.length;
      if (size > limits.maxBodyBytes) {
        overflow = true;
        chunks.length = 0;
        refuseBody(req, res);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (overflow) return;
      const body = Buffer.concat(chunks).toString('utf8');
      void control(req, res, service, body).catch((e: unknown) => {
        report(e);
        send(res, 500, soapFaultBody(501));
      });
    });
  };

  const refuseBody = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    plain(res, 413, { Connection: 'close' });
    // Stop reading: the rest of an oversized body is not worth receiving.
    res.on('finish', () => req.socket.destroySoon());
  };

  const drainAndAnswer = (req: http.IncomingMessage, res: http.ServerResponse, answer: () => void): void => {
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > limits.maxBodyBytes) req.socket.destroy();
    });
    req.on('end', answer);
    req.resume();
  };

  const control = async (req: http.IncomingMessage, res: http.ServerResponse, service: ServedService, body: string): Promise<void> => {
    const started = now();
    const socket = req.socket;
    const peer = options.peerAddress ? options.peerAddress(socket) : socket.remoteAddress;
    const requester = peer !== undefined ? requesterOf(peer, socket.remotePort ?? 0) : undefined;
    const soapAction = req.headers.soapaction;
    if (typeof soapAction !== 'string' || soapAction.trim() === '') {
      plain(res, 400);
      return;
    }
    if (!requester) {
      report(new Error(`control request from an unusable peer address ${String(peer)}`));
      send(res, 500, soapFaultBody(606), { Ext: '' });
      return;
    }
    let outcome: ControlOutcome;
    let serviceType = service.definition.serviceType;
    try {
      const parsed = parseSoapRequest(soapAction, body);
      serviceType = parsed.serviceType;
      outcome = await handleControl({ service, serviceType, action: parsed.action, args: parsed.args, requester }, options.decider);
    } catch (e) {
      if (!(e instanceof UpnpProtocolError)) throw e;
      outcome = { status: 500, body: soapFaultBody(402), action: '(unparsed)', code: 402, detail: e.message, refusedBy: 'protocol' };
    }
    send(res, outcome.status, outcome.body, { Ext: '' });
    try {
      const { body: _body, ...rest } = outcome;
      options.onControl?.({ ...rest, requester, serviceType, durationMs: now() - started });
    } catch (e) {
      report(e);
    }
  };

  const servers: http.Server[] = [];
  const sockets = new Set<net.Socket>();
  let started = false;
  // One budget for every listening address (and, when given, for every server of the front):
  // a host reaching the IGD on its IPv4 and IPv6 addresses is two sources.
  const budget = options.budget ?? igdConnectionBudget(limits, options.trustedSources);
  const notifyRefused = (source: string | undefined, reason: RefusalReason | 'evicted'): void => {
    try {
      options.onRefusedConnection?.({ source, reason });
    } catch (e) {
      report(e);
    }
  };
  /** The first request head must arrive within headersTimeoutMs of the connect (node's own check starts with the first byte). */
  const firstHeadTimers = new WeakMap<net.Socket, NodeJS.Timeout>();
  const explainer = new RefusalExplainer(1000, Date.now);

  /** True when the budget admitted the socket; a refused one is answered 503 and closed. */
  const admitSocket = (s: net.Socket): boolean => {
    const peer = options.peerAddress ? options.peerAddress(s) : s.remoteAddress;
    let ticket: ConnectionTicket | undefined;
    const admission = budget.admit(peer, () => {
      notifyRefused(ticket?.source, 'evicted');
      s.destroy();
    });
    if (!admission.admitted) {
      notifyRefused(admission.source, admission.reason);
      if (explainer.shouldExplain(admission.source)) {
        s.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Length: 0\r\n\r\n');
        s.destroySoon();
      } else s.resetAndDestroy(); // the rest of a flood: a bare reset is cheapest
      return false;
    }
    ticket = admission.ticket;
    const admitted = ticket;
    const timer = setTimeout(() => s.destroy(), limits.headersTimeoutMs);
    timer.unref();
    firstHeadTimers.set(s, timer);
    s.on('close', () => {
      clearTimeout(timer);
      admitted.release();
    });
    return true;
  };

  const makeServer = (): http.Server => {
    const server = http.createServer({
      maxHeaderSize: limits.maxHeaderBytes,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      connectionsCheckingInterval: limits.timeoutCheckIntervalMs,
    }, (req, res) => {
      const timer = firstHeadTimers.get(req.socket);
      if (timer !== undefined) {
        clearTimeout(timer);
        firstHeadTimers.delete(req.socket);
      }
      try {
        onRequest(req, res);
      } catch (e) {
        report(e);
        if (!res.headersSent) plain(res, 500);
      }
    });
    server.maxHeadersCount = limits.maxHeadersCount;
    server.maxRequestsPerSocket = limits.maxRequestsPerSocket;
    // The budget decides before node's HTTP machinery (parser, timers) is set up: a refused socket costs little.
    const httpConnectionListeners = server.listeners('connection') as Array<(s: net.Socket) => void>;
    server.removeAllListeners('connection');
    server.on('connection', (s: net.Socket) => {
      s.on('error', () => undefined);
      if (!admitSocket(s)) return;
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      for (const listener of httpConnectionListeners) listener.call(server, s);
    });
    server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      if (socket.writable && !(socket as net.Socket & { _httpMessage?: unknown })._httpMessage) {
        socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      }
      socket.destroySoon();
    });
    server.on('error', (e) => report(e));
    return server;
  };

  return {
    documents,
    async start(): Promise<void> {
      if (started) return;
      started = true;
      try {
        for (const { host, port } of options.listen) {
          const server = makeServer();
          await new Promise<void>((resolve, reject) => {
            const onError = (e: Error): void => reject(e);
            server.once('error', onError);
            server.listen({ host, port, ipv6Only: false }, () => {
              server.off('error', onError);
              resolve();
            });
          });
          servers.push(server);
        }
      } catch (e) {
        await this.close();
        throw e;
      }
    },
    addresses(): net.AddressInfo[] {
      return servers.map((s) => s.address()).filter((a): a is net.AddressInfo => typeof a === 'object' && a !== null);
    },
    urls(): string[] {
      return this.addresses().map((a) => `http://${a.family === 'IPv6' || a.address.includes(':') ? `[${a.address}]` : a.address}:${a.port}`);
    },
    async close(): Promise<void> {
      const all = servers.splice(0);
      started = false;
      for (const s of sockets) s.destroy();
      await Promise.all(all.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
    },
  };
}
