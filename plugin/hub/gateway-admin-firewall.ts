/**
 * The hub's applier towards a homenet gateway (`homenet serve --mode
 * gateway`): a {@link GatewayFirewall} that programs the gateway through its
 * admin API (`plugin/gateway/ADMIN-API.md`) instead of a kernel table.
 *
 * - add / renew → `open_port` with the entry's internal client, port,
 *   protocol, family, external port (IPv4) and remote, `lease_seconds` = the
 *   time the entry has left (1..`maxLeaseSeconds`; a permanent entry asks for
 *   the gateway's class cap) and a description naming the hub and the grant
 *   (`homenet-hub <hubName> grant <grantId>`). The gateway's `need_id` is
 *   remembered per entry.
 * - delete → `close_port` of that need; a need the gateway no longer has is
 *   success.
 * - `list()` → the gateway's live needs this hub opened (admin needs whose
 *   description names this hub), with the time they have left.
 * - `reconcile(desired)` → opens what is missing, closes this hub's orphans,
 *   re-opens needs whose deadline is off by more than 2 s (or whose grant is
 *   another). Needs of other hubs, UPnP clients or the owner are never touched.
 *
 * The gateway decides again with its own rules and enforces them: a refusal
 * (`policy_denied`, naming rule, code, party and detail) is thrown as a
 * {@link GatewayAdminError} whose message leads with the gateway's reason, so
 * the hub's engine records `action-failed` with it. A grant the gateway
 * changed (another external port or family than the hub settled) is closed
 * again and thrown the same way: the hub's engine told its agent something
 * else. Bounded: one call at a time per action, a 3 s deadline per call,
 * answers read up to 1 MiB; a gateway that is down is a clear error.
 *
 * Deadlines are compared on the hub's clock (`now`). The gateway's deadlines
 * are on its own clock: the difference is measured on each fresh `open_port`
 * granted the lease asked for (its `expires_at` is the gateway's now plus that
 * lease) and taken off every deadline the gateway shows, so a gateway whose
 * clock is off by seconds is neither misread nor "corrected" again and again.
 *
 * @example
 * ```ts
 * import { GatewayAdminFirewall, probeHomenetGateway } from './gateway-admin-firewall';
 * const probe = await probeHomenetGateway('http://192.168.77.1:8780', token);
 * if (probe.ok) {
 *   const fw = new GatewayAdminFirewall({ url: 'http://192.168.77.1:8780', token, hubName: 'hub', now: Date.now });
 *   await fw.apply(actions);       // open_port / close_port on the gateway
 *   (await fw.list()).length;      // the gateway's needs this hub holds
 *   await fw.close();
 * }
 * ```
 */
import { hostname } from 'node:os';
import { commentText, entryFromAction, normalizeEntry } from '../../adapters/nftables/firewall-entry';
import type { Action } from '../../policies/model/action';
import { entryKey, type ActualEntry, type DesiredEntry, type FirewallEntry, type GatewayFirewall, type ReconcileSummary } from '../gateway/gateway-firewall';
import { GatewayAdminClient, GatewayAdminError, isRecord, type GatewayAdminClientOptions } from './gateway-admin-client';

export { GatewayAdminClient, GatewayAdminError } from './gateway-admin-client';
export type { GatewayAdminFailure, GatewayRefusalReason } from './gateway-admin-client';
export { probeHomenetGateway } from './gateway-admin-probe';
export type { GatewayProbe } from './gateway-admin-probe';

/** The most `lease_seconds` the admin API's `open_port` accepts. */
export const ADMIN_MAX_LEASE_SECONDS = 86400;
/** A deadline within this of the wanted one is right (as the memory and nftables firewalls judge it). */
const DEADLINE_TOLERANCE_MS = 2000;
/** The gateway's limit on a description (printable ASCII). */
const MAX_DESCRIPTION = 128;

export interface GatewayAdminFirewallOptions extends Omit<GatewayAdminClientOptions, 'url' | 'token'> {
  /** The gateway's admin API: `http://host:port`. */
  readonly url: string;
  /** The gateway's admin token. */
  readonly token: string;
  /** This hub's name in the descriptions it writes (1-32 of `[A-Za-z0-9._-]`; default: the host name, cleaned). */
  readonly hubName?: string;
  /** The hub's clock (ms since the epoch); the hub daemon passes its scheduler's. */
  readonly now: () => number;
  /** Cap on the lease asked for (default and most {@link ADMIN_MAX_LEASE_SECONDS}). */
  readonly maxLeaseSeconds?: number;
}

/** What the hub knows of one of its needs on the gateway. */
interface Held {
  readonly needId: string;
  /** When the gateway ends it, on the hub's clock (ms since the epoch). */
  readonly deadline: number;
  /** The lease the gateway granted. */
  readonly leaseSeconds: number;
  readonly owner?: string;
}

/** A gateway need this hub opened, read back from `GET /api/needs`. */
interface OurNeed extends Held {
  readonly entry: FirewallEntry;
}

/** A host name as a hub name: the allowed characters, at most 32. */
export function hubNameOf(name: string): string {
  const clean = name.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 32);
  return clean || 'hub';
}

export class GatewayAdminFirewall implements GatewayFirewall {
  /** The admin API client (its `url` names the gateway in messages). */
  readonly client: GatewayAdminClient;
  readonly hubName: string;
  private readonly now: () => number;
  private readonly maxLeaseSeconds: number;
  private readonly prefix: string;
  private readonly held = new Map<string, Held>();
  /** The lease cap the gateway showed (a grant shorter than asked); reconcile then wants no more. */
  private capSeconds?: number;
  /** The gateway's clock minus the hub's (ms), as last measured; 0 until then. */
  private clockOffsetMs = 0;

  constructor(options: GatewayAdminFirewallOptions) {
    this.hubName = options.hubName ?? hubNameOf(hostname());
    if (!/^[A-Za-z0-9._-]{1,32}$/.test(this.hubName)) throw new RangeError(`hubName: expected 1-32 of [A-Za-z0-9._-], got ${JSON.stringify(this.hubName)}`);
    const max = options.maxLeaseSeconds ?? ADMIN_MAX_LEASE_SECONDS;
    if (!Number.isInteger(max) || max < 1 || max > ADMIN_MAX_LEASE_SECONDS) throw new RangeError(`maxLeaseSeconds: expected an integer in 1..${ADMIN_MAX_LEASE_SECONDS}, got ${max}`);
    this.maxLeaseSeconds = max;
    this.now = options.now;
    this.prefix = `homenet-hub ${this.hubName}`;
    this.client = new GatewayAdminClient(options);
  }

  /** Nothing to create on the gateway; the first call shows whether it answers. */
  async prepare(): Promise<void> {}

  /**
   * Applies the actions in order, one admin call each, and stops at the first
   * failure (thrown; the firewall applier then retries them one by one to
   * tell which failed). add/renew open (or renew) the need, delete closes it.
   */
  async apply(actions: readonly Action[]): Promise<void> {
    for (const action of actions) {
      const entry = entryFromAction(action);
      if (action.op === 'delete') await this.remove(entry);
      else await this.open(entry, entry.leaseSeconds);
    }
  }

  /** This hub's needs on the gateway, as entries with the time they have left. */
  async list(): Promise<ActualEntry[]> {
    const ours = await this.ourNeeds();
    const now = this.now();
    return [...ours.values()].map(({ entry, deadline, leaseSeconds }) => ({
      ...entry,
      set: entry.kind,
      timeoutSeconds: leaseSeconds,
      expiresInSeconds: Math.max(0, Math.ceil((deadline - now) / 1000)),
    }));
  }

  /**
   * Makes this hub's needs on the gateway exactly `desired`. Every entry is
   * tried; when some fail (the gateway refused one, or went away), the others
   * are still done and one error naming each failure is thrown at the end.
   */
  async reconcile(desired: readonly DesiredEntry[]): Promise<ReconcileSummary> {
    const now = this.now();
    const want = new Map<string, { entry: FirewallEntry; expiresAt: number | undefined; leaseSeconds: number }>();
    for (const d of desired) {
      const { leaseSeconds, expiresAt, ...plain } = normalizeEntry<DesiredEntry>(d, 'desired entry');
      const at = expiresAt ?? (leaseSeconds > 0 ? now + leaseSeconds * 1000 : undefined);
      if (at !== undefined && at <= now) continue;
      want.set(entryKey(plain), { entry: plain, expiresAt: at, leaseSeconds });
    }
    const ours = await this.ourNeeds();
    const failures: string[] = [];
    const attempt = async (what: string, step: () => Promise<unknown>): Promise<boolean> => {
      try {
        await step();
        return true;
      } catch (error) {
        failures.push(`${what}: ${(error as Error).message}`);
        return false;
      }
    };
    let added = 0;
    let removed = 0;
    let corrected = 0;
    let unchanged = 0;
    for (const [key, need] of ours) {
      const w = want.get(key);
      if (!w) {
        if (await attempt(`close ${key}`, () => this.closeNeed(key, need.needId))) removed++;
        continue;
      }
      if (this.isRight(need, w.entry, w.expiresAt)) {
        unchanged++;
        continue;
      }
      if (await attempt(`correct ${key}`, () => this.open({ ...w.entry }, this.leaseLeft(w.expiresAt, w.leaseSeconds)))) corrected++;
    }
    for (const [key, w] of want) {
      if (ours.has(key)) continue;
      if (await attempt(`open ${key}`, () => this.open({ ...w.entry }, this.leaseLeft(w.expiresAt, w.leaseSeconds)))) added++;
    }
    if (failures.length > 0) {
      throw new GatewayAdminError(`reconcile with gateway ${this.client.url}: ${failures.length} change(s) failed (${added} added, ${removed} removed, ${corrected} corrected): ${failures.join('; ').slice(0, 2000)}`, 'reconcile_failed');
    }
    return { added, removed, corrected, unchanged };
  }

  /** Closes idle connections; the gateway's needs stay and end by their own leases. */
  async close(): Promise<void> {
    this.client.close();
  }

  /** The description this hub writes on a need for the grant `owner`. */
  descriptionOf(owner: string | undefined): string {
    if (owner === undefined) return this.prefix;
    const head = `${this.prefix} grant `;
    return head + commentText(owner).slice(0, MAX_DESCRIPTION - head.length);
  }

  private ownerOf(description: string): string | undefined {
    const head = `${this.prefix} grant `;
    return description.startsWith(head) ? description.slice(head.length) : undefined;
  }

  private isOurs(description: unknown): description is string {
    return typeof description === 'string' && (description === this.prefix || description.startsWith(`${this.prefix} `));
  }

  /** Seconds to ask for an entry ending at `expiresAt` (or a permanent one: 0, the gateway's class cap). */
  private leaseLeft(expiresAt: number | undefined, leaseSeconds: number): number {
    if (expiresAt === undefined) return leaseSeconds;
    return Math.max(1, Math.ceil((expiresAt - this.now()) / 1000));
  }

  private isRight(need: OurNeed, entry: FirewallEntry, expiresAt: number | undefined): boolean {
    if (need.owner !== this.ownerOf(this.descriptionOf(entry.owner))) return false;
    if (expiresAt === undefined) return true;
    // The gateway's cap (learnt from a shorter grant) is as long as it can be: no use asking again.
    const wanted = this.capSeconds !== undefined ? Math.min(expiresAt, this.now() + this.capSeconds * 1000) : expiresAt;
    return Math.abs(need.deadline - wanted) <= DEADLINE_TOLERANCE_MS;
  }

  private async open(entry: FirewallEntry, leaseSeconds: number): Promise<void> {
    if (entry.kind === 'pinhole' && entry.family === 'ipv4') {
      throw new GatewayAdminError(`gateway ${this.client.url}: an IPv4 pinhole cannot be opened through the admin API (it opens IPv4 as port mappings) [${entryKey(entry)}]`, 'unsupported_entry');
    }
    const lease = Math.min(leaseSeconds, this.maxLeaseSeconds);
    const key = entryKey(entry);
    const args: Record<string, unknown> = {
      internal_client: entry.internalClient,
      internal_port: entry.internalPort,
      protocol: entry.protocol,
      family: entry.family,
      ...(entry.family === 'ipv4' ? { external_port: entry.externalPort ?? entry.internalPort } : {}),
      lease_seconds: lease,
      ...(entry.remoteHost ? { remote_host: entry.remoteHost } : {}),
      ...(entry.remotePort ? { remote_port: entry.remotePort } : {}),
      description: this.descriptionOf(entry.owner),
    };
    const sentAt = this.now();
    const result = await this.client.command('open_port', args);
    const answeredAt = this.now();
    if (!isRecord(result) || typeof result.need_id !== 'string' || typeof result.expires_at !== 'number' || typeof result.lease_seconds !== 'number') {
      throw new GatewayAdminError(`gateway ${this.client.url}: open_port answered without need_id, expires_at and lease_seconds`, 'bad_answer');
    }
    const needId = result.need_id;
    const grant = isRecord(result.grant) ? result.grant : {};
    const grantedFamily = typeof grant.family === 'string' ? grant.family : entry.family;
    const grantedPort = typeof result.external_port === 'number' ? result.external_port : undefined;
    const wantedPort = entry.family === 'ipv4' ? (entry.externalPort ?? entry.internalPort) : undefined;
    if (grantedFamily !== entry.family || (wantedPort !== undefined && grantedPort !== undefined && grantedPort !== wantedPort)) {
      // The hub settled (and told its agent) this family and port: another one is not what it asked for.
      const reason = firstReasonText(result.decision);
      await this.client.command('close_port', { need_id: needId }).catch(() => undefined);
      throw new GatewayAdminError(
        `gateway changed the grant: ${grantedFamily}${grantedPort !== undefined ? ` external port ${grantedPort}` : ''} instead of ${entry.family}${wantedPort !== undefined ? ` external port ${wantedPort}` : ''}${reason ? `: ${reason}` : ''} [open_port at ${this.client.url}; closed again]`,
        'grant_changed',
        { needId },
      );
    }
    // A fresh need granted the lease asked: expires_at is the gateway's now + that lease, which gives its clock.
    if (result.renewed === false && lease > 0 && result.lease_seconds === lease) {
      this.clockOffsetMs = Math.round(result.expires_at - lease * 1000 - (sentAt + answeredAt) / 2);
    }
    // The gateway's engine capped the lease (its class cap): reconcile wants no more than that.
    if (hasReason(result.decision, 'lease-capped')) this.capSeconds = result.lease_seconds;
    this.held.set(key, { needId, deadline: result.expires_at - this.clockOffsetMs, leaseSeconds: result.lease_seconds, ...(entry.owner !== undefined ? { owner: entry.owner } : {}) });
  }

  private async remove(entry: FirewallEntry): Promise<void> {
    const key = entryKey(entry);
    const needId = this.held.get(key)?.needId ?? (await this.ourNeeds()).get(key)?.needId;
    if (needId === undefined) return; // the gateway has no need of ours for it: gone already
    await this.closeNeed(key, needId);
  }

  private async closeNeed(key: string, needId: string): Promise<void> {
    try {
      await this.client.command('close_port', { need_id: needId });
    } catch (error) {
      // A need the gateway no longer has (expired, ended by its engine, closed by the owner) is what was wanted.
      if (!(error instanceof GatewayAdminError && error.code === 'not_found')) throw error;
    }
    this.held.delete(key);
  }

  /** This hub's live needs on the gateway, by entry key; also refreshes what the hub remembers. */
  private async ourNeeds(): Promise<Map<string, OurNeed>> {
    const answer = await this.client.get('/api/needs');
    if (!Array.isArray(answer)) throw new GatewayAdminError(`gateway ${this.client.url}: GET /api/needs did not answer a list`, 'bad_answer');
    const out = new Map<string, OurNeed>();
    for (const n of answer) {
      if (!isRecord(n) || n.source !== 'admin' || !this.isOurs(n.description)) continue;
      const entry = entryOfNeed(n);
      if (!entry || typeof n.id !== 'string' || typeof n.deadline !== 'number') continue;
      const key = entryKey(entry);
      const owner = this.ownerOf(n.description);
      const known = this.held.get(key);
      const need: OurNeed = {
        entry: owner !== undefined ? { ...entry, owner } : entry,
        needId: n.id,
        deadline: n.deadline - this.clockOffsetMs,
        leaseSeconds: known?.needId === n.id ? known.leaseSeconds : Math.max(0, Math.ceil((n.deadline - this.clockOffsetMs - this.now()) / 1000)),
        ...(owner !== undefined ? { owner } : {}),
      };
      out.set(key, need);
    }
    // Forget what the gateway no longer holds; learn what this hub opened before a restart.
    for (const key of [...this.held.keys()]) if (!out.has(key)) this.held.delete(key);
    for (const [key, need] of out) this.held.set(key, { needId: need.needId, deadline: need.deadline, leaseSeconds: need.leaseSeconds, ...(need.owner !== undefined ? { owner: need.owner } : {}) });
    return out;
  }
}

/** The entry a gateway need (as `GET /api/needs` shows it) stands for; undefined when it is not one. */
function entryOfNeed(n: Record<string, unknown>): FirewallEntry | undefined {
  const family = n.family;
  if (family !== 'ipv4' && family !== 'ipv6') return undefined;
  try {
    return normalizeEntry<FirewallEntry>({
      kind: family === 'ipv6' ? 'pinhole' : 'port-mapping',
      family,
      protocol: n.protocol as FirewallEntry['protocol'],
      internalClient: n.internalClient as string,
      internalPort: n.internalPort as number,
      ...(family === 'ipv4' && typeof n.externalPort === 'number' ? { externalPort: n.externalPort } : {}),
      remoteHost: typeof n.remoteHost === 'string' ? n.remoteHost : '',
      remotePort: typeof n.remotePort === 'number' ? n.remotePort : 0,
    }, `gateway need ${String(n.id)}`);
  } catch {
    return undefined;
  }
}

function hasReason(decision: unknown, code: string): boolean {
  return isRecord(decision) && Array.isArray(decision.reasons) && decision.reasons.some((r) => isRecord(r) && r.code === code);
}

/** `rule/code (party): detail` of a decision's first reason that is not informational, for messages. */
function firstReasonText(decision: unknown): string | undefined {
  if (!isRecord(decision) || !Array.isArray(decision.reasons)) return undefined;
  const reasons = decision.reasons.filter(isRecord);
  const r = reasons.find((x) => x.code !== 'admitted' && x.code !== 'lease-capped') ?? reasons[0];
  if (!r) return undefined;
  const party = isRecord(r.conflictsWith) ? ` (${String(r.conflictsWith.kind)} ${String(r.conflictsWith.id)})` : '';
  return `${String(r.rule)}/${String(r.code)}${party}${typeof r.detail === 'string' ? `: ${r.detail}` : ''}`;
}
