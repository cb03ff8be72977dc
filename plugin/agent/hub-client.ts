/**
 * The agent's side of the coordination protocol (`plugin/hub/coordination-protocol.ts`):
 * ask the hub for a port, report what the router gave, end the need. Plain
 * `node:http`, one short timeout per request, and every failure is one of two
 * errors: {@link HubUnavailableError} (timeout, connection refused or reset,
 * 5xx, an answer that is not the protocol's JSON — the agent then decides
 * alone) or {@link HubRequestError} (the hub understood and said no to the
 * request itself: 400, 404).
 *
 * The hub takes the TCP source address as the requester, so every request is
 * sent FROM the address the port is for: `localAddress` is the InternalClient
 * the agent would name to the router (see `internal-client.ts`).
 *
 * @example
 * ```ts
 * const hub = new HubClient({ url: 'http://[2001:db8:77::5]:5390/homenet/v1' });
 * const answer = await hub.ask({ protocol: 'udp', internalPort: 3074, family: 'ipv4' }, '192.168.77.10');
 * if (answer.kind === 'grant' && answer.grant.applier === 'agent') {
 *   // … AddPortMapping with answer.grant.externalPort …
 *   await hub.report(answer.grant.needId, { ok: true, via: 'upnp', externalPort: answer.grant.externalPort }, '192.168.77.10');
 * }
 * ```
 */
import { request } from 'node:http';
import {
  CoordinationAsk,
  CoordinationGrant,
  CoordinationOutcome,
  CoordinationRefusal,
  HubInfo,
  isCoordinationGrant,
  isCoordinationRefusal,
} from '../hub/coordination-protocol';
import { RequestSettlement } from '../../adapters/system/request-settlement';
import { canonicalAddress, familyOf, splitZone } from '../../policies/model/address';

/** Largest answer the client reads from a hub. */
export const MAX_HUB_ANSWER_BYTES = 64 * 1024;
/** Default time for one request, connect to last byte. */
export const DEFAULT_HUB_TIMEOUT_MS = 2000;

/** Why the hub could not be used; the agent then decides alone. */
export type HubUnavailableKind = 'timeout' | 'refused' | 'reset' | 'server-error' | 'malformed' | 'network';

/** The hub did not answer usefully: unreachable, slow, overloaded or broken. */
export class HubUnavailableError extends Error {
  constructor(
    readonly kind: HubUnavailableKind,
    readonly url: string,
    detail: string,
    readonly status?: number,
  ) {
    super(`the hub at ${url} is unavailable (${kind}): ${detail}`);
    this.name = 'HubUnavailableError';
  }
}

/** The hub answered and rejected the request itself (400 malformed, 404 unknown need). */
export class HubRequestError extends Error {
  constructor(
    readonly status: number,
    readonly url: string,
    detail: string,
  ) {
    super(`the hub at ${url} rejected the request (${status}): ${detail}`);
    this.name = 'HubRequestError';
  }
}

/** What an ask settles to. */
export type HubAnswer =
  | { readonly kind: 'grant'; readonly grant: CoordinationGrant }
  | { readonly kind: 'refusal'; readonly refusal: CoordinationRefusal };

export interface HubClientInit {
  /** The hub's base URL, `http://host:port/homenet/v1` (what DNS-SD browsing returns). */
  readonly url: string;
  /** Per request (default {@link DEFAULT_HUB_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
}

/** The three calls the agent makes; tests may hand `openPort` any object with them. */
export interface HubCalls {
  readonly url: string;
  ask(ask: CoordinationAsk, localAddress: string): Promise<HubAnswer>;
  report(needId: string, outcome: CoordinationOutcome, localAddress: string): Promise<CoordinationGrant>;
  end(needId: string, localAddress: string): Promise<boolean>;
}

interface RawAnswer {
  readonly status: number;
  readonly body: unknown;
}

/** Checks and normalises a hub URL (`http:` only, no query); throws a RangeError naming what is wrong. */
export function parseHubUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`'${url}' is not a URL (expected http://host:port/homenet/v1)`);
  }
  if (parsed.protocol !== 'http:') throw new RangeError(`the hub URL must be http://, not ${parsed.protocol}//`);
  if (parsed.search || parsed.hash) throw new RangeError('the hub URL must not have a query or fragment');
  return parsed;
}

export class HubClient implements HubCalls {
  readonly url: string;
  private readonly base: URL;
  private readonly timeoutMs: number;

  constructor(init: HubClientInit) {
    this.base = parseHubUrl(init.url);
    this.url = this.base.href.replace(/\/$/, '');
    this.timeoutMs = init.timeoutMs ?? DEFAULT_HUB_TIMEOUT_MS;
    if (!(this.timeoutMs > 0)) throw new RangeError('timeoutMs must be positive');
  }

  /** `GET /hub`: what the hub is and how it applies needs. */
  async info(localAddress?: string): Promise<HubInfo> {
    const answer = await this.call('GET', '/hub', undefined, localAddress);
    if (answer.status !== 200) throw this.unexpected(answer);
    const b = answer.body as Partial<HubInfo> | null;
    if (!b || typeof b !== 'object' || b.deployment !== 'hub' || (b.applier !== 'hub' && b.applier !== 'agent')) {
      throw new HubUnavailableError('malformed', this.url, 'GET /hub did not answer a HubInfo');
    }
    return b as HubInfo;
  }

  /** `POST /needs`: a grant (200) or a refusal (403). Asking again for the same need renews it. */
  async ask(ask: CoordinationAsk, localAddress: string): Promise<HubAnswer> {
    const answer = await this.call('POST', '/needs', ask, localAddress);
    if (answer.status === 200) {
      if (!isCoordinationGrant(answer.body)) throw new HubUnavailableError('malformed', this.url, 'a 200 answer to an ask is not a grant');
      return { kind: 'grant', grant: answer.body };
    }
    if (answer.status === 403) {
      if (!isCoordinationRefusal(answer.body)) throw new HubUnavailableError('malformed', this.url, 'a 403 answer to an ask is not a refusal');
      return { kind: 'refusal', refusal: answer.body };
    }
    throw this.unexpected(answer);
  }

  /** `POST /needs/{id}/outcome`: what the router gave for an `applier: 'agent'` grant. */
  async report(needId: string, outcome: CoordinationOutcome, localAddress: string): Promise<CoordinationGrant> {
    const answer = await this.call('POST', `/needs/${encodeURIComponent(needId)}/outcome`, outcome, localAddress);
    if (answer.status !== 200) throw this.unexpected(answer);
    if (!isCoordinationGrant(answer.body)) throw new HubUnavailableError('malformed', this.url, 'a 200 answer to an outcome is not a grant');
    return answer.body;
  }

  /** `DELETE /needs/{id}`: true when ended, false when the hub did not know it (404). */
  async end(needId: string, localAddress: string): Promise<boolean> {
    const answer = await this.call('DELETE', `/needs/${encodeURIComponent(needId)}`, undefined, localAddress);
    if (answer.status === 404) return false;
    if (answer.status !== 200) throw this.unexpected(answer);
    return true;
  }

  private unexpected(answer: RawAnswer): Error {
    const said = answer.body && typeof answer.body === 'object' && typeof (answer.body as { error?: unknown }).error === 'string'
      ? String((answer.body as { error: string }).error).slice(0, 200)
      : 'no error text';
    if (answer.status >= 500) return new HubUnavailableError('server-error', this.url, `HTTP ${answer.status}: ${said}`, answer.status);
    if (answer.status >= 400) return new HubRequestError(answer.status, this.url, said);
    return new HubUnavailableError('malformed', this.url, `unexpected HTTP ${answer.status}`, answer.status);
  }

  private call(method: 'GET' | 'POST' | 'DELETE', path: string, body: unknown, localAddress?: string): Promise<RawAnswer> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    const host = this.base.hostname.replace(/^\[|\]$/g, '');
    const local = localAddress === undefined ? undefined : splitZone(localAddress).address;
    if (local !== undefined && canonicalAddress(host) !== undefined && familyOf(local) !== familyOf(host)) {
      return Promise.reject(new RangeError(`cannot ask the hub at ${this.url} from ${local}: not the same address family`));
    }
    return new Promise<RawAnswer>((resolve, reject) => {
      const settlement = new RequestSettlement<RawAnswer>(resolve, reject);
      const { finish } = settlement;
      const req = (settlement.request = request({
        method,
        host,
        port: this.base.port ? Number(this.base.port) : 80,
        path: `${this.base.pathname.replace(/\/$/, '')}${path}`,
        ...(local !== undefined ? { localAddress: local, family: familyOf(local) === 'ipv6' ? 6 : 4 } : {}),
        agent: false,
        headers: {
          accept: 'application/json',
          connection: 'close',
          ...(payload ? { 'content-type': 'application/json', 'content-length': payload.length } : {}),
        },
      }));
      settlement.timer = setTimeout(
        () => finish(new HubUnavailableError('timeout', this.url, `no complete answer to ${method} ${path} within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      req.on('error', (error: NodeJS.ErrnoException) => finish(networkError(this.url, error)));
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_HUB_ANSWER_BYTES) {
            finish(new HubUnavailableError('malformed', this.url, `the answer is larger than ${MAX_HUB_ANSWER_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (error: NodeJS.ErrnoException) => finish(networkError(this.url, error)));
        res.on('aborted', () => finish(new HubUnavailableError('reset', this.url, `the connection closed in the middle of the answer to ${method} ${path}`)));
        res.on('end', () => {
          if (settlement.done) return;
          if (!res.complete) {
            finish(new HubUnavailableError('reset', this.url, `the connection closed in the middle of the answer to ${method} ${path}`));
            return;
          }
          const status = res.statusCode ?? 0;
          const text = Buffer.concat(chunks).toString('utf8');
          let parsed: unknown;
          try {
            parsed = text.length === 0 ? undefined : JSON.parse(text);
          } catch {
            // A 5xx page in HTML is still a server error; anything else must be JSON.
            if (status >= 500) {
              finish(undefined, { status, body: undefined });
              return;
            }
            finish(new HubUnavailableError('malformed', this.url, `HTTP ${status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 60))}`, status));
            return;
          }
          finish(undefined, { status, body: parsed });
        });
      });
      req.end(payload);
    });
  }
}

function networkError(url: string, error: NodeJS.ErrnoException): Error {
  if (error instanceof HubUnavailableError) return error;
  switch (error.code) {
    case 'ECONNREFUSED':
      return new HubUnavailableError('refused', url, 'connection refused (no hub listening)');
    case 'ECONNRESET':
    case 'EPIPE':
      return new HubUnavailableError('reset', url, `the connection was reset (${error.message})`);
    case 'EADDRNOTAVAIL':
      return new RangeError(`cannot send from that address: it is not this host's (${error.message})`);
    default:
      return new HubUnavailableError('network', url, error.message);
  }
}
