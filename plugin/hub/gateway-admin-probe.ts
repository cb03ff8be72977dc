/**
 * Is the router a homenet gateway the hub can program? Asks its admin API's
 * `GET /api/info` (bearer token) and answers what it is: `ok` only for a
 * homenet gateway (`server: "homenet-gateway"`, deployment `gateway`) that
 * takes `open_port` and `close_port`. Never throws: a dead address, a wrong
 * token, a hub or another server is `ok: false` with the reason in `error`.
 * The hub uses it to choose {@link GatewayAdminFirewall} as its applier.
 *
 * @example
 * ```ts
 * import { probeHomenetGateway } from './gateway-admin-probe';
 * const probe = await probeHomenetGateway('http://192.168.77.1:8780', token);
 * // { ok: true, server: 'homenet-gateway', deployment: 'gateway', enforcement: 'enforced', url: 'http://192.168.77.1:8780' }
 * // or { ok: false, error: 'gateway http://192.168.77.1:8780 unreachable: GET /api/info: ECONNREFUSED ...', url: ... }
 * ```
 */
import { GatewayAdminClient, isRecord, type GatewayAdminClientOptions } from './gateway-admin-client';

/** What `GET /api/info` said. */
export interface GatewayProbe {
  /** A homenet gateway this hub can program through its admin API. */
  readonly ok: boolean;
  /** The base URL asked. */
  readonly url: string;
  /** `homenet-gateway`, `homenet-hub`, ... (absent when nothing answered). */
  readonly server?: string;
  /** `gateway` or `hub` (a gateway without the field is a gateway). */
  readonly deployment?: string;
  /** `enforced` or `advised`. */
  readonly enforcement?: string;
  /** Why not `ok`. */
  readonly error?: string;
}

/** Asks `GET /api/info`; see the module comment. Options: `timeoutMs` (default 3000), `maxAnswerBytes` (1 MiB). */
export async function probeHomenetGateway(url: string, token: string, options: Omit<GatewayAdminClientOptions, 'url' | 'token'> = {}): Promise<GatewayProbe> {
  let client: GatewayAdminClient;
  try {
    client = new GatewayAdminClient({ ...options, url, token, retryAfterMs: 0 });
  } catch (error) {
    return { ok: false, url, error: (error as Error).message };
  }
  try {
    const info = await client.get('/api/info');
    if (!isRecord(info) || typeof info.server !== 'string') return { ok: false, url: client.url, error: `${client.url}/api/info: not a homenet admin API answer` };
    const server = info.server;
    const deployment = typeof info.deployment === 'string' ? info.deployment : server === 'homenet-gateway' ? 'gateway' : undefined;
    const enforcement = typeof info.enforcement === 'string' ? info.enforcement : deployment === 'gateway' ? 'enforced' : undefined;
    const facts = { url: client.url, server, ...(deployment !== undefined ? { deployment } : {}), ...(enforcement !== undefined ? { enforcement } : {}) };
    const commands = Array.isArray(info.commands) ? info.commands : [];
    if (server !== 'homenet-gateway' || deployment !== 'gateway') {
      return { ok: false, ...facts, error: `${client.url} is ${server} (deployment ${deployment ?? 'unknown'}), not a homenet gateway` };
    }
    const missing = ['open_port', 'close_port'].filter((c) => !commands.includes(c));
    if (missing.length > 0) return { ok: false, ...facts, error: `${client.url}: the gateway's admin API has no ${missing.join(', ')}` };
    return { ok: true, ...facts };
  } catch (error) {
    return { ok: false, url: client.url, error: (error as Error).message };
  } finally {
    client.close();
  }
}
