/**
 * A bounded HTTP client for a homenet gateway's admin API
 * (`plugin/gateway/ADMIN-API.md`): `GET /api/*` lists and `POST /api/command`
 * with the bearer token. Every call has a deadline (default 3 s, connect to
 * last byte), an answer is read up to a limit (default 1 MiB) and then
 * dropped, and every failure is a {@link GatewayAdminError} that says what went
 * wrong: the gateway's own `error_code` and `details` (with the deciding
 * reason of a `policy_denied`: rule, code, party, detail), or `unreachable`,
 * `timeout`, `answer_too_large`, `bad_answer`.
 *
 * A gateway that does not answer (a timeout or a refused connection) makes the
 * next calls fail at once for `retryAfterMs` (default 1 s) with the same cause,
 * so a queue of changes against a dead gateway does not wait 3 s per change.
 *
 * @example
 * ```ts
 * import { GatewayAdminClient } from './gateway-admin-client';
 * const client = new GatewayAdminClient({ url: 'http://192.168.77.1:8780', token: 'x'.repeat(24) });
 * const result = await client.command('open_port', { internal_client: '2001:db8:77::10', internal_port: 3074, protocol: 'udp' });
 * const needs = await client.get('/api/needs'); // the gateway's live needs
 * client.close();
 * ```
 */
import http from 'node:http';
import https from 'node:https';
import { RequestSettlement } from '../../adapters/system/request-settlement';

/** Why a call failed: the gateway's `error_code`, or what the transport saw. */
export type GatewayAdminFailure = 'unreachable' | 'timeout' | 'answer_too_large' | 'bad_answer' | (string & {});

/** The deciding reason of a gateway refusal, as the gateway's decision names it. */
export interface GatewayRefusalReason {
  readonly rule: string;
  readonly code: string;
  readonly detail?: string;
  readonly conflictsWith?: { readonly kind: string; readonly id: string };
}

/** A failed admin API call. `message` leads with the gateway's own words (the hub's engine keeps the first 200 characters). */
export class GatewayAdminError extends Error {
  override readonly name = 'GatewayAdminError';
  constructor(
    message: string,
    /** The gateway's `error_code` (e.g. `policy_denied`, `not_found`, `unauthorized`) or the transport failure. */
    readonly code: GatewayAdminFailure,
    readonly extra: {
      /** HTTP status of the answer, when there was one. */
      readonly status?: number;
      /** The gateway's `details`. */
      readonly details?: string;
      /** The deciding reason of a refusal (`policy_denied`, `firewall_failed`). */
      readonly reason?: GatewayRefusalReason;
      /** The need the gateway refused or ended. */
      readonly needId?: string;
      /** The gateway's decision, as it sent it. */
      readonly decision?: unknown;
    } = {},
  ) {
    super(message);
  }
}

export interface GatewayAdminClientOptions {
  /** The admin API's base URL: `http://host:port` (https too); no path, query or credentials. */
  readonly url: string;
  /** The gateway's admin token (`Authorization: Bearer`). */
  readonly token: string;
  /** Deadline of one call, connect to last byte (default 3000 ms). */
  readonly timeoutMs?: number;
  /** Largest answer read (default 1 MiB). */
  readonly maxAnswerBytes?: number;
  /** After a timeout or a refused connection, calls fail at once for this long (default 1000 ms; 0 = always try). */
  readonly retryAfterMs?: number;
}

/** Checks and normalises the admin API URL: `http(s)://host[:port]`, nothing after. */
export function parseGatewayUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`gateway admin URL: not a URL: ${JSON.stringify(url).slice(0, 120)} (expected http://host:port)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new RangeError(`gateway admin URL: ${parsed.protocol} is not http: or https: (${url})`);
  if (parsed.username || parsed.password) throw new RangeError('gateway admin URL: credentials in the URL are not allowed (the token is given apart)');
  if ((parsed.pathname !== '/' && parsed.pathname !== '') || parsed.search || parsed.hash) {
    throw new RangeError(`gateway admin URL: expected no path, query or fragment, got ${url} (the API lives under /api on the base URL)`);
  }
  return parsed;
}

const DEFAULT_TIMEOUT_MS = 3000;
const DEFAULT_MAX_ANSWER = 1024 * 1024;

interface Answer {
  readonly status: number;
  readonly body: unknown;
}

export class GatewayAdminClient {
  /** The base URL, for messages: `http://host:port`. */
  readonly url: string;
  private readonly base: URL;
  private readonly token: string;
  private readonly timeoutMs: number;
  private readonly maxAnswerBytes: number;
  private readonly retryAfterMs: number;
  private readonly agent: http.Agent;
  private down?: { at: number; error: GatewayAdminError };
  private seq = 0;

  constructor(options: GatewayAdminClientOptions) {
    this.base = parseGatewayUrl(options.url);
    this.url = this.base.origin;
    if (typeof options.token !== 'string' || options.token.length === 0 || /[\r\n]/.test(options.token)) {
      throw new RangeError('gateway admin token: expected a non-empty single-line string');
    }
    this.token = options.token;
    this.timeoutMs = positive('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS);
    this.maxAnswerBytes = positive('maxAnswerBytes', options.maxAnswerBytes, DEFAULT_MAX_ANSWER);
    this.retryAfterMs = options.retryAfterMs ?? 1000;
    const agentOptions = { keepAlive: true, maxSockets: 4, maxFreeSockets: 2 };
    this.agent = this.base.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
  }

  /** `GET <path>` (e.g. `/api/needs`, `/api/info`): the JSON answer, or a {@link GatewayAdminError}. */
  async get(path: string): Promise<unknown> {
    const answer = await this.call('GET', path);
    if (answer.status !== 200) throw this.errorOf(`GET ${path}`, answer);
    return answer.body;
  }

  /** Runs one command (`POST /api/command`): its `result`, or a {@link GatewayAdminError} with the gateway's error. */
  async command(command: string, args: Record<string, unknown> = {}): Promise<unknown> {
    const id = `hub-${++this.seq}`;
    const answer = await this.call('POST', '/api/command', JSON.stringify({ message_id: id, command, args }));
    const body = answer.body;
    if (answer.status === 200 && isRecord(body) && 'result' in body) return body.result;
    throw this.errorOf(command, answer);
  }

  /** Closes idle keep-alive connections. */
  close(): void {
    this.agent.destroy();
  }

  private errorOf(what: string, answer: Answer): GatewayAdminError {
    const body = answer.body;
    if (!isRecord(body) || typeof body.error_code !== 'string') {
      return new GatewayAdminError(`gateway ${this.url}: ${what}: unexpected answer (HTTP ${answer.status})`, 'bad_answer', { status: answer.status });
    }
    const details = typeof body.details === 'string' ? body.details.slice(0, 1000) : '';
    const needId = typeof body.need_id === 'string' ? body.need_id : undefined;
    const reason = decidingReason(body.decision, details);
    // The gateway's words first: an engine keeps only the head of the message.
    const message = `gateway ${body.error_code}: ${details || '(no details)'} [${what} at ${this.url}]`;
    return new GatewayAdminError(message, body.error_code, {
      status: answer.status,
      details,
      ...(reason ? { reason } : {}),
      ...(needId !== undefined ? { needId } : {}),
      ...(body.decision !== undefined ? { decision: body.decision } : {}),
    });
  }

  private async call(method: 'GET' | 'POST', path: string, body?: string): Promise<Answer> {
    const what = `${method} ${path}`;
    if (this.down && this.retryAfterMs > 0 && Date.now() - this.down.at < this.retryAfterMs) {
      const { error } = this.down;
      throw new GatewayAdminError(`${error.message} (failed ${Date.now() - this.down.at} ms ago; not retried yet) [${what}]`, error.code);
    }
    try {
      const answer = await this.request(method, path, body);
      this.down = undefined;
      return answer;
    } catch (error) {
      if (error instanceof GatewayAdminError && (error.code === 'unreachable' || error.code === 'timeout')) this.down = { at: Date.now(), error };
      throw error;
    }
  }

  private async request(method: 'GET' | 'POST', path: string, body?: string): Promise<Answer> {
    try {
      return await this.requestOnce(method, path, body);
    } catch (error) {
      // A kept-alive connection the gateway closed meanwhile (it restarted, or timed the idle socket out): once more on a new one.
      // Safe to repeat: open_port of the same port is a renewal, close_port of a closed need is not_found.
      if (error instanceof StaleConnection) return this.requestOnce(method, path, body);
      throw error;
    }
  }

  private requestOnce(method: 'GET' | 'POST', path: string, body?: string): Promise<Answer> {
    const what = `${method} ${path}`;
    const transport = this.base.protocol === 'https:' ? https : http;
    return new Promise<Answer>((resolve, reject) => {
      const settlement = new RequestSettlement<Answer>(resolve, reject);
      const { finish } = settlement;
      const req = (settlement.request = transport.request(
        new URL(path, this.base),
        {
          method,
          agent: this.agent,
          headers: {
            Authorization: `Bearer ${this.token}`,
            Accept: 'application/json',
            ...(body !== undefined ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) } : {}),
          },
        },
        (res) => {
          const status = res.statusCode ?? 0;
          const declared = Number(res.headers['content-length']);
          if (Number.isFinite(declared) && declared > this.maxAnswerBytes) {
            finish(this.tooLarge(what, declared));
            return;
          }
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > this.maxAnswerBytes) finish(this.tooLarge(what, size));
            else chunks.push(chunk);
          });
          res.on('error', (e) => finish(new GatewayAdminError(`gateway ${this.url} unreachable: ${what}: ${e.message}`, 'unreachable')));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              finish(undefined, { status, body: JSON.parse(text) as unknown });
            } catch {
              finish(new GatewayAdminError(`gateway ${this.url}: ${what}: the answer is not JSON (HTTP ${status}): ${JSON.stringify(text.slice(0, 80))}`, 'bad_answer', { status }));
            }
          });
        },
      ));
      settlement.timer = setTimeout(() => finish(new GatewayAdminError(`gateway ${this.url} did not answer ${what} within ${this.timeoutMs} ms`, 'timeout')), this.timeoutMs);
      req.on('error', (e: NodeJS.ErrnoException) => {
        const message = `gateway ${this.url} unreachable: ${what}: ${e.code ?? ''}${e.code ? ' ' : ''}${e.message}`;
        finish(req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE') ? new StaleConnection(message) : new GatewayAdminError(message, 'unreachable'));
      });
      req.end(body);
    });
  }

  private tooLarge(what: string, size: number): GatewayAdminError {
    return new GatewayAdminError(`gateway ${this.url}: ${what}: the answer is over ${this.maxAnswerBytes} bytes (${size} read); dropped`, 'answer_too_large');
  }
}

/** A reused keep-alive socket the server had closed: the request never reached it. */
class StaleConnection extends GatewayAdminError {
  constructor(message: string) {
    super(message, 'unreachable');
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value <= 0) throw new RangeError(`${name}: expected a positive integer, got ${value}`);
  return value;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The reason the gateway's `details` cite (`verdict: rule/code ...`), found in its decision; else the decision's first. */
function decidingReason(decision: unknown, details: string): GatewayRefusalReason | undefined {
  if (!isRecord(decision) || !Array.isArray(decision.reasons)) return undefined;
  const reasons = decision.reasons.filter(isRecord).flatMap((r): GatewayRefusalReason[] => {
    if (typeof r.rule !== 'string' || typeof r.code !== 'string') return [];
    const party = isRecord(r.conflictsWith) && typeof r.conflictsWith.kind === 'string' && typeof r.conflictsWith.id === 'string'
      ? { conflictsWith: { kind: r.conflictsWith.kind, id: r.conflictsWith.id } }
      : {};
    return [{ rule: r.rule, code: r.code, ...(typeof r.detail === 'string' ? { detail: r.detail } : {}), ...party }];
  });
  return reasons.find((r) => details.includes(`${r.rule}/${r.code}`)) ?? reasons[0];
}
