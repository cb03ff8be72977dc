/**
 * The demo's window on a lab router run by homenet (`lab up --router
 * homenet`): the gateway's admin API (plugin/gateway/ADMIN-API.md), read from
 * the hub's namespace — the LAN host a home hub would run on — with the token
 * the lab wrote in its run directory. Only the documented HTTP endpoints and
 * the documented fields are used, so the demo does not depend on the
 * daemon's internals.
 *
 * @example
 * ```ts
 * const api = await labAdminApi(lab.plan);
 * const plug = (await api.devices()).find((d) => d.addresses.some((a) => a.address === '2001:db8:77::20'));
 * const last = (await api.decisions({ deviceId: plug!.id })).at(-1); // {verdict: 'denied', reasons: [{code: 'matter-device-isolation', ...}]}
 * ```
 */
import { readFile } from 'node:fs/promises';
import { runCommand } from '../../adapters/system/run-command';
import { HOMENET_ADMIN_PORT, homenetRouterPaths } from './homenet-router';
import { LabPlan } from './lab-plan';

/** A LAN device as `GET /api/devices` lists it (the fields the demo reads). */
export interface AdminDevice {
  readonly id: string;
  readonly kinds: readonly { readonly kind: string; readonly evidence: string }[];
  readonly addresses: readonly { readonly address: string }[];
}

/** A live need as `GET /api/needs` lists it. */
export interface AdminNeed {
  readonly id: string;
  readonly family: string;
  readonly protocol: string;
  readonly internalClient: string;
  readonly internalPort: number;
  readonly externalPort?: number;
}

/** A grant as `GET /api/grants` lists it: one kernel element. */
export interface AdminGrant {
  readonly needId: string;
  readonly family: string;
  readonly internalClient: string;
  readonly internalPort: number;
  readonly externalPort?: number;
}

export interface AdminReason {
  readonly rule: string;
  readonly code: string;
  readonly detail?: string;
  readonly conflictsWith?: { readonly kind: string; readonly id: string };
}

/** A decision of the engine as `GET /api/decisions` lists it. */
export interface AdminDecision {
  readonly seq: number;
  readonly cause: string;
  readonly needId: string;
  readonly deviceId?: string;
  readonly verdict: string;
  readonly reasons: readonly AdminReason[];
  readonly changes: readonly { readonly field: string; readonly wanted: unknown; readonly got: unknown }[];
  readonly grants: readonly { readonly internalClient: string; readonly externalPort?: number }[];
}

export interface LabAdminApi {
  readonly url: string;
  devices(): Promise<AdminDevice[]>;
  needs(): Promise<AdminNeed[]>;
  grants(): Promise<AdminGrant[]>;
  decisions(filter?: { needId?: string; deviceId?: string; limit?: number }): Promise<AdminDecision[]>;
  /** `POST /api/command`: the answer message as is, `{result}` or `{error_code, details, ...}` (refusals are answers, not errors). */
  command(command: string, args: Record<string, unknown>): Promise<AdminAnswer>;
}

/** An answer of `POST /api/command`. */
export interface AdminAnswer {
  readonly message_id: string | number | null;
  readonly result?: Record<string, unknown>;
  readonly error_code?: string;
  readonly details?: string;
  readonly decision?: AdminDecision;
}

/**
 * A client of the lab gateway's admin API. Fails with a clear error when the
 * lab's router is not homenet (no token) or an answer is not a JSON array.
 */
export async function labAdminApi(plan: LabPlan): Promise<LabAdminApi> {
  const tokenFile = homenetRouterPaths(plan).token;
  const token = (await readFile(tokenFile, 'utf8').catch(() => {
    throw new Error(`lab '${plan.prefix}' has no gateway admin token at ${tokenFile}: is its router homenet (lab up --router homenet)?`);
  })).trim();
  const url = `http://${plan.lan.routerIpv4}:${HOMENET_ADMIN_PORT}`;
  let messages = 0;
  const request = async (what: string, curlArgs: readonly string[], input?: string): Promise<unknown> => {
    const { code, stdout, stderr } = await runCommand(
      'ip',
      ['netns', 'exec', plan.hosts.hub.namespace, 'curl', '-s', '-S', '-m', '5', '-H', `Authorization: Bearer ${token}`, ...curlArgs],
      { allowFailure: true, timeoutMs: 10_000, ...(input !== undefined ? { input } : {}) },
    );
    if (code !== 0) throw new Error(`admin API ${what} failed (curl exit ${code}): ${stderr.trim()}`);
    try {
      return JSON.parse(stdout);
    } catch {
      throw new Error(`admin API ${what} answered with something that is not JSON: ${stdout.slice(0, 200)}`);
    }
  };
  const get = async <T>(path: string): Promise<T[]> => {
    const parsed = await request(`GET ${path}`, ['-f', `${url}${path}`]);
    if (!Array.isArray(parsed)) throw new Error(`admin API GET ${path} answered with ${JSON.stringify(parsed).slice(0, 200)}, not a list`);
    return parsed as T[];
  };
  return {
    url,
    devices: () => get<AdminDevice>('/api/devices'),
    needs: () => get<AdminNeed>('/api/needs'),
    grants: () => get<AdminGrant>('/api/grants'),
    decisions(filter = {}) {
      const query = new URLSearchParams({ limit: String(filter.limit ?? 1000) });
      if (filter.needId) query.set('need_id', filter.needId);
      if (filter.deviceId) query.set('device_id', filter.deviceId);
      return get<AdminDecision>(`/api/decisions?${query.toString()}`);
    },
    async command(command, args) {
      const body = JSON.stringify({ message_id: `demo${++messages}`, command, args });
      const parsed = await request(`command ${command}`, ['-H', 'Content-Type: application/json', '--data-binary', '@-', `${url}/api/command`], body);
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`admin API command ${command} answered with ${JSON.stringify(parsed).slice(0, 200)}`);
      return parsed as AdminAnswer;
    },
  };
}
