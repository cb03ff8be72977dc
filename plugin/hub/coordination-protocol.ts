/**
 * The coordination protocol between agents and a hub (`homenet serve --mode
 * hub`): the agent asks the hub before it touches the router, the hub's
 * engine settles the need against every other need and device in the home,
 * and answers with the settled parameters (or a refusal with its reason).
 *
 * One rule shapes it, the same one IGD:2 enforces: **a host asks only for
 * itself**. The requester is the TCP source address of the request, and the
 * need's internal client is that address; there is no field to name another
 * host. So the coordination listener needs no token, like a router's IGD.
 *
 * Wire: HTTP/1.1, JSON bodies (`content-type: application/json`), at most
 * {@link MAX_COORDINATION_BODY} bytes. Paths (under {@link COORDINATION_PATH}):
 *
 * - `GET  /homenet/v1/hub` → {@link HubInfo}
 * - `POST /homenet/v1/needs` {@link CoordinationAsk} → 200 {@link CoordinationGrant}
 *   or 403 {@link CoordinationRefusal} (or 400 {@link CoordinationError} for a malformed ask).
 *   Asking again for the same (family, protocol, internal port) renews the need.
 * - `POST /homenet/v1/needs/{needId}/outcome` {@link CoordinationOutcome} → 200 {@link CoordinationGrant}
 *   (only when the grant said `applier: 'agent'`): what the agent got from the router.
 * - `DELETE /homenet/v1/needs/{needId}` → 200 `{ "ended": true }` (404 when unknown or not the requester's).
 *
 * Who applies: `applier: 'hub'` — the hub opened the port on the router
 * itself (PCP THIRD_PARTY) and renews it while the agent keeps asking;
 * the agent must not touch the router. `applier: 'agent'` — the agent applies
 * exactly the settled parameters over UPnP or PCP (the only thing IGD:2 lets it
 * do), then reports the outcome, so the hub's view stays true.
 *
 * Discovery: DNS-SD service type {@link HUB_SERVICE_TYPE} (`_homenet._tcp.local`),
 * SRV gives the port, TXT `path=/homenet/v1`, `deployment=hub`.
 *
 * @example
 * ```ts
 * import { parseCoordinationAsk } from './coordination-protocol';
 * parseCoordinationAsk({ protocol: 'udp', internalPort: 3074, family: 'ipv4', leaseSeconds: 3600 });
 * // { ok: true, value: { protocol: 'udp', internalPort: 3074, family: 'ipv4', leaseSeconds: 3600 } }
 * parseCoordinationAsk({ protocol: 'sctp', internalPort: 3074, family: 'ipv4' });
 * // { ok: false, error: 'protocol must be "udp" or "tcp"' }
 * ```
 */

/** DNS-SD service type a hub advertises. */
export const HUB_SERVICE_TYPE = '_homenet._tcp.local';
/** Path prefix of every coordination request. */
export const COORDINATION_PATH = '/homenet/v1';
/** The hub's default coordination port (TCP). */
export const DEFAULT_COORDINATION_PORT = 5390;
/** Largest request body the hub reads. */
export const MAX_COORDINATION_BODY = 4096;

export type CoordinationFamily = 'ipv4' | 'ipv6';
export type CoordinationProtocol = 'udp' | 'tcp';
/** Who puts the settled need on the router. */
export type CoordinationApplier = 'hub' | 'agent';
/**
 * Whether the hub can hold a LAN device to its decisions: `enforced` when the
 * router obeys only the controller (a homenet gateway, or a router only the hub
 * may program), `advised` when any host may still open its own ports on it.
 */
export type Enforcement = 'enforced' | 'advised';

/** What `GET /homenet/v1/hub` answers. */
export interface HubInfo {
  readonly deployment: 'hub';
  readonly version: string;
  /** How the hub applies needs now: PCP THIRD_PARTY on the router, or agents apply them. */
  readonly applier: CoordinationApplier;
  readonly enforcement: Enforcement;
  /** The router the hub programs or audits (its LAN address), when known. */
  readonly router?: string;
}

/** An agent's request: a port for itself (the requester is the internal client). */
export interface CoordinationAsk {
  readonly protocol: CoordinationProtocol;
  readonly internalPort: number;
  readonly family: CoordinationFamily;
  /** IPv4: the external port wished for (absent: the internal port). */
  readonly externalPort?: number;
  /** Asked lease (0 or absent: the hub's cap). */
  readonly leaseSeconds?: number;
  readonly description?: string;
}

/** The engine's reason, as every homenet answer carries it. */
export interface CoordinationReason {
  readonly rule: string;
  readonly code: string;
  readonly detail?: string;
  /** The need or device the conflict was with. */
  readonly conflictsWith?: string;
}

/** The settled need (200). */
export interface CoordinationGrant {
  readonly verdict: 'granted' | 'granted-with-changes';
  readonly needId: string;
  readonly applier: CoordinationApplier;
  /** The family settled (may differ from the ask: an IPv6-only host's IPv4 need becomes a pinhole). */
  readonly family: CoordinationFamily;
  readonly protocol: CoordinationProtocol;
  readonly internalClient: string;
  readonly internalPort: number;
  /** IPv4: the external port to use (may differ from the ask: the reason names the need holding it). */
  readonly externalPort?: number;
  /** IPv4 with `applier: 'hub'`: the router's external address peers use (optional; added by the agent side, issue 11). */
  readonly externalAddress?: string;
  readonly leaseSeconds: number;
  /** `applier: 'hub'`: true once the router holds it; `agent`: true once the agent reported success. */
  readonly applied: boolean;
  readonly reasons: readonly CoordinationReason[];
}

/** The need refused (403): the reasons say which rule and, for a conflict, whom with. */
export interface CoordinationRefusal {
  readonly verdict: 'denied' | 'ineffective' | 'queued';
  readonly needId: string;
  readonly reasons: readonly CoordinationReason[];
}

/** A malformed request (400), an unknown need (404), an overloaded hub (503). */
export interface CoordinationError {
  readonly error: string;
}

/** What the agent got from the router for an `applier: 'agent'` grant. */
export interface CoordinationOutcome {
  readonly ok: boolean;
  /** How the agent applied it. */
  readonly via: 'upnp' | 'pcp';
  /** IPv4: the external port the router gave. */
  readonly externalPort?: number;
  /** The lease the router gave. */
  readonly leaseSeconds?: number;
  /** Why it failed (the router's error). */
  readonly error?: string;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function port(v: unknown, name: string, allowZero = false): Parsed<number> {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < (allowZero ? 0 : 1) || v > 65535) return { ok: false, error: `${name} must be an integer ${allowZero ? 0 : 1}-65535` };
  return { ok: true, value: v };
}

const ASK_FIELDS = new Set(['protocol', 'internalPort', 'family', 'externalPort', 'leaseSeconds', 'description']);

/** Validates an ask (a parsed JSON body); unknown fields are refused so a typo is not silently ignored. */
export function parseCoordinationAsk(body: unknown): Parsed<CoordinationAsk> {
  if (!isRecord(body)) return { ok: false, error: 'the body must be a JSON object' };
  for (const key of Object.keys(body)) if (!ASK_FIELDS.has(key)) return { ok: false, error: `unknown field ${JSON.stringify(key).slice(0, 40)}` };
  if (body.protocol !== 'udp' && body.protocol !== 'tcp') return { ok: false, error: 'protocol must be "udp" or "tcp"' };
  if (body.family !== 'ipv4' && body.family !== 'ipv6') return { ok: false, error: 'family must be "ipv4" or "ipv6"' };
  const internal = port(body.internalPort, 'internalPort');
  if (!internal.ok) return internal;
  let externalPort: number | undefined;
  if (body.externalPort !== undefined) {
    const ext = port(body.externalPort, 'externalPort', true);
    if (!ext.ok) return ext;
    if (body.family !== 'ipv4' && ext.value !== 0 && ext.value !== internal.value) return { ok: false, error: 'externalPort is for ipv4 only (a pinhole has no external port)' };
    externalPort = ext.value || undefined;
  }
  let leaseSeconds: number | undefined;
  if (body.leaseSeconds !== undefined) {
    if (typeof body.leaseSeconds !== 'number' || !Number.isInteger(body.leaseSeconds) || body.leaseSeconds < 0 || body.leaseSeconds > 604_800) return { ok: false, error: 'leaseSeconds must be an integer 0-604800' };
    leaseSeconds = body.leaseSeconds;
  }
  if (body.description !== undefined && (typeof body.description !== 'string' || body.description.length > 256)) return { ok: false, error: 'description must be a string of at most 256 characters' };
  return {
    ok: true,
    value: {
      protocol: body.protocol,
      internalPort: internal.value,
      family: body.family,
      ...(externalPort !== undefined ? { externalPort } : {}),
      ...(leaseSeconds !== undefined ? { leaseSeconds } : {}),
      ...(typeof body.description === 'string' ? { description: body.description } : {}),
    },
  };
}

const OUTCOME_FIELDS = new Set(['ok', 'via', 'externalPort', 'leaseSeconds', 'error']);

/** Validates an agent's outcome report. */
export function parseCoordinationOutcome(body: unknown): Parsed<CoordinationOutcome> {
  if (!isRecord(body)) return { ok: false, error: 'the body must be a JSON object' };
  for (const key of Object.keys(body)) if (!OUTCOME_FIELDS.has(key)) return { ok: false, error: `unknown field ${JSON.stringify(key).slice(0, 40)}` };
  if (typeof body.ok !== 'boolean') return { ok: false, error: 'ok must be true or false' };
  if (body.via !== 'upnp' && body.via !== 'pcp') return { ok: false, error: 'via must be "upnp" or "pcp"' };
  let externalPort: number | undefined;
  if (body.externalPort !== undefined) {
    const ext = port(body.externalPort, 'externalPort');
    if (!ext.ok) return ext;
    externalPort = ext.value;
  }
  if (body.leaseSeconds !== undefined && (typeof body.leaseSeconds !== 'number' || !Number.isInteger(body.leaseSeconds) || body.leaseSeconds < 0)) return { ok: false, error: 'leaseSeconds must be a non-negative integer' };
  if (body.error !== undefined && (typeof body.error !== 'string' || body.error.length > 512)) return { ok: false, error: 'error must be a string of at most 512 characters' };
  return {
    ok: true,
    value: {
      ok: body.ok,
      via: body.via,
      ...(externalPort !== undefined ? { externalPort } : {}),
      ...(typeof body.leaseSeconds === 'number' ? { leaseSeconds: body.leaseSeconds } : {}),
      ...(typeof body.error === 'string' ? { error: body.error } : {}),
    },
  };
}

/** Whether a parsed JSON answer is a grant (the agent's side of the wire). */
export function isCoordinationGrant(v: unknown): v is CoordinationGrant {
  return isRecord(v) && (v.verdict === 'granted' || v.verdict === 'granted-with-changes') && typeof v.needId === 'string'
    && (v.applier === 'hub' || v.applier === 'agent') && (v.family === 'ipv4' || v.family === 'ipv6')
    && typeof v.internalPort === 'number' && typeof v.leaseSeconds === 'number' && Array.isArray(v.reasons);
}

/** Whether a parsed JSON answer is a refusal. */
export function isCoordinationRefusal(v: unknown): v is CoordinationRefusal {
  return isRecord(v) && (v.verdict === 'denied' || v.verdict === 'ineffective' || v.verdict === 'queued') && typeof v.needId === 'string' && Array.isArray(v.reasons);
}
