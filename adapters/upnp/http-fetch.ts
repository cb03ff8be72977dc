/**
 * A hardened HTTP/1.1 exchange with a router: `http:` only, no redirects (a 3xx is an
 * error), a body size cap enforced while reading (the socket is destroyed at the cap, so a
 * 10 MB answer is never buffered), connect and total timeouts that are always on, optional
 * binding of the local address, and an optional keep-alive agent. Every failure is one of
 * the adapter's typed errors.
 *
 * @example
 * ```ts
 * const res = await httpFetch('http://192.168.1.1:5000/rootDesc.xml', { timeoutMs: 2000, maxBodyBytes: 256 * 1024 });
 * res.status; // 200
 * res.body.toString('utf8');
 * ```
 */
import http from 'node:http';
import { parseHttpUrl } from './http-url';
import { isLinkLocalIpv6 } from '../../policies/model/address';
import {
  UpnpAbortError, UpnpError, UpnpNetworkError, UpnpProtocolError, UpnpTimeoutError, abortErrorOf,
} from './upnp-errors';

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024;
export const DEFAULT_CONNECT_TIMEOUT_MS = 2000;
export const DEFAULT_TOTAL_TIMEOUT_MS = 5000;

export interface HttpFetchOptions {
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Zone (interface name) for a link-local host whose URL carries none. */
  zone?: string;
  /** Local address to bind the TCP connection to (IPv6 link-local needs `%zone`). */
  localAddress?: string;
  /** Keep-alive agent; without one, the connection is used once. */
  agent?: http.Agent;
  connectTimeoutMs?: number;
  /** Whole exchange, connect included. */
  timeoutMs?: number;
  maxBodyBytes?: number;
  signal?: AbortSignal;
  /** Statuses accepted as answers (default: 200-299). Others reject with UpnpProtocolError. 3xx is always refused. */
  acceptStatus?: (status: number) => boolean;
}

export interface HttpFetchResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Address the TCP connection was bound to on our side. */
  localAddress?: string;
  /** True when a kept-alive connection was reused. */
  reusedSocket: boolean;
}

/**
 * Performs one request; see the module comment for the guarantees.
 *
 * @example
 * ```ts
 * await httpFetch('http://[2001:db8::1]:5000/ctl', { method: 'POST', body: '<x/>', localAddress: '2001:db8::10' });
 * ```
 */
export function httpFetch(url: string, options: HttpFetchOptions = {}): Promise<HttpFetchResult> {
  const pre = abortErrorOf(options.signal);
  if (pre) return Promise.reject(pre);
  let target;
  try {
    target = parseHttpUrl(url);
  } catch (e) {
    return Promise.reject(e instanceof Error ? e : new Error(String(e)));
  }
  const maxBody = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const connectMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const totalMs = options.timeoutMs ?? DEFAULT_TOTAL_TIMEOUT_MS;
  const zone = target.zone ?? (target.hostKind === 'ipv6' && isLinkLocalIpv6(target.host) ? options.zone : undefined);
  const connectHost = zone ? `${target.host}%${zone}` : target.host;
  const hostHeader = `${target.hostKind === 'ipv6' ? `[${target.host}]` : target.host}:${target.port}`;
  const body = options.body === undefined ? undefined : Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body, 'utf8');

  return new Promise<HttpFetchResult>((resolve, reject) => {
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    let req: http.ClientRequest | undefined;
    const finish = (err: Error | undefined, result?: HttpFetchResult): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      options.signal?.removeEventListener('abort', onAbort);
      if (err) {
        req?.destroy();
        reject(err);
      } else {
        resolve(result as HttpFetchResult);
      }
    };
    const onAbort = (): void => finish(new UpnpAbortError(`HTTP ${options.method ?? 'GET'} ${url} aborted`, { cause: options.signal?.reason }));
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const headers: Record<string, string> = { Host: hostHeader, ...options.headers };
    if (body) headers['Content-Length'] = String(body.length);
    const requestOptions: http.RequestOptions = {
      host: connectHost,
      port: target.port,
      path: target.path,
      method: options.method ?? 'GET',
      headers,
      setHost: false,
      insecureHTTPParser: false,
      maxHeaderSize: 16 * 1024,
      agent: options.agent ?? false,
    };
    if (options.localAddress) requestOptions.localAddress = options.localAddress;
    try {
      req = http.request(requestOptions);
    } catch (cause) {
      finish(new UpnpNetworkError(`Cannot start HTTP request to ${url}: ${String(cause)}`, { cause }));
      return;
    }
    const r = req;
    timers.push(setTimeout(() => finish(new UpnpTimeoutError(
      `No complete HTTP answer from ${url} within ${totalMs} ms`, 'response', totalMs)), totalMs));
    const connectTimer = setTimeout(() => finish(new UpnpTimeoutError(
      `Could not connect to ${hostHeader} within ${connectMs} ms`, 'connect', connectMs)), connectMs);
    timers.push(connectTimer);

    r.on('socket', (socket) => {
      if (!socket.connecting) clearTimeout(connectTimer);
      else socket.once('connect', () => clearTimeout(connectTimer));
    });
    r.on('error', (err: NodeJS.ErrnoException) => finish(mapError(err, url)));
    r.on('response', (res) => {
      clearTimeout(connectTimer);
      const status = res.statusCode ?? 0;
      const fail = (err: Error): void => {
        finish(err); // first: destroying emits 'aborted'/'error', which must not win
        res.destroy();
      };
      if (status >= 300 && status < 400) {
        fail(new UpnpProtocolError(`HTTP ${status} redirect from ${url} refused (redirects are never followed)`, { httpStatus: status }));
        return;
      }
      const accept = options.acceptStatus ?? ((s: number) => s >= 200 && s < 300);
      if (!accept(status)) {
        fail(new UpnpProtocolError(`HTTP ${status} from ${url}`, { httpStatus: status }));
        return;
      }
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBody) {
        fail(new UpnpProtocolError(`Body of ${declared} bytes from ${url} exceeds the ${maxBody}-byte cap`, { httpStatus: status }));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        if (settled) return;
        size += chunk.length;
        if (size > maxBody) {
          fail(new UpnpProtocolError(`Body from ${url} exceeds the ${maxBody}-byte cap; stopped reading`, { httpStatus: status }));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (err: NodeJS.ErrnoException) => finish(mapError(err, url, 'truncated answer')));
      res.on('aborted', () => finish(new UpnpProtocolError(`Truncated answer from ${url}`, { httpStatus: status })));
      res.on('end', () => {
        if (!res.complete) {
          finish(new UpnpProtocolError(`Truncated answer from ${url}`, { httpStatus: status }));
          return;
        }
        const result: HttpFetchResult = {
          status,
          headers: res.headers,
          body: Buffer.concat(chunks, size),
          reusedSocket: r.reusedSocket,
        };
        const local = r.socket?.localAddress;
        if (local) result.localAddress = local;
        finish(undefined, result);
      });
    });
    r.end(body);
  });
}

function mapError(err: NodeJS.ErrnoException, url: string, context = 'request failed'): UpnpError {
  if (err instanceof UpnpError) return err;
  const code = err.code ?? '';
  if (code.startsWith('HPE_') || code === 'ERR_INVALID_HTTP_RESPONSE') {
    return new UpnpProtocolError(`Malformed HTTP answer from ${url}: ${err.message}`, { cause: err });
  }
  if (code === 'ECONNRESET' && context === 'truncated answer') {
    return new UpnpProtocolError(`Truncated answer from ${url}`, { cause: err });
  }
  const opts: { cause: unknown; systemCode?: string } = { cause: err };
  if (code) opts.systemCode = code;
  return new UpnpNetworkError(`HTTP ${context} for ${url}: ${err.message}`, opts);
}
