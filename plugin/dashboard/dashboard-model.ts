/**
 * What the dashboard knows, and how the admin API's answers and events change
 * it: pure (no DOM, no sockets, no clock — `now` is passed in), so the page's
 * logic is unit-tested under node and the views only draw it.
 *
 * The wire shapes are the admin API's (`plugin/gateway/ADMIN-API.md`); only the
 * fields the page shows are typed here.
 *
 * @example
 * ```ts
 * let model = emptyModel();
 * model = withSnapshot(model, { devices, needs, grants }, Date.now());   // start_listening's result
 * model = withDecisions(model, [decision]);                             // a `decision` event
 * timeline(model, { deviceId: 'plug', verdict: 'denied' });             // newest first
 * deviceProtection(model.devices[0]);  // {protected: true, because: 'matter (config:devices.known)'}
 * ```
 */

export interface KindEvidence {
  readonly kind: string;
  readonly evidence: string;
}
export interface DeviceAddress {
  readonly address: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly scope?: string;
  readonly stable?: boolean;
  readonly deprecated?: boolean;
}
export interface DeviceView {
  readonly id: string;
  readonly identities?: Record<string, string | undefined>;
  readonly kinds: readonly KindEvidence[];
  readonly addresses: readonly DeviceAddress[];
  readonly ownerAllowed: boolean;
  readonly enforcement?: 'enforced' | 'advised';
  readonly ipv6Only?: string;
}
export interface GrantView {
  readonly id: string;
  readonly needId: string;
  readonly table: string;
  readonly family: 'ipv4' | 'ipv6';
  readonly protocol: string;
  readonly internalClient: string;
  readonly internalPort: number;
  readonly externalPort?: number;
  readonly leaseSeconds: number;
  readonly expiresAt: number;
  readonly state: string;
}
export interface NeedView {
  readonly id: string;
  readonly source: string;
  readonly deviceId: string;
  readonly family: string;
  readonly protocol: string;
  readonly internalClient: string;
  readonly internalPort: number;
  readonly externalPort?: number | null;
  readonly description?: string;
  readonly deadline?: number | null;
  readonly verdict: string;
}
export interface ReasonView {
  readonly rule: string;
  readonly code: string;
  readonly conflictsWith?: { readonly kind: string; readonly id: string };
  readonly detail?: string;
  readonly family?: string;
}
export interface DecisionView {
  readonly seq: number;
  readonly at: number;
  readonly cause: string;
  readonly needId: string;
  readonly deviceId: string;
  readonly verdict: string;
  readonly reasons: readonly ReasonView[];
}
export interface ServerInfo {
  readonly server?: string;
  readonly deployment?: string;
  readonly enforcement?: string;
  readonly applier?: string;
  readonly router?: unknown;
  readonly note?: string;
  readonly external_ipv4?: string | null;
  readonly firewall_table?: string;
  readonly started_at?: string;
  readonly needs?: number;
  readonly grants?: number;
}
/** One sample of the plot: how many grants were open at `at`. */
export interface OpenPortsSample {
  readonly at: number;
  readonly open: number;
}

export interface DashboardModel {
  readonly info?: ServerInfo;
  readonly devices: readonly DeviceView[];
  readonly needs: readonly NeedView[];
  readonly grants: readonly GrantView[];
  /** Oldest first, by `seq`, without duplicates, at most {@link DECISIONS_KEPT}. */
  readonly decisions: readonly DecisionView[];
  /** Open grants over time, sampled whenever the grant list changes (at most {@link SAMPLES_KEPT}). */
  readonly openPorts: readonly OpenPortsSample[];
}

export const DECISIONS_KEPT = 500;
export const SAMPLES_KEPT = 2000;
/** The kinds a homenet engine keeps unreachable from the Internet unless the owner allows (policies/model/device.ts). */
export const ISOLATED_KINDS: readonly string[] = ['matter', 'thread-border-router', 'iot'];

export function emptyModel(): DashboardModel {
  return { devices: [], needs: [], grants: [], decisions: [], openPorts: [] };
}

/** Records the grant count at `now` (a new sample only when the count changed). */
function sampled(samples: readonly OpenPortsSample[], open: number, now: number): readonly OpenPortsSample[] {
  const last = samples[samples.length - 1];
  if (last !== undefined && last.open === open) return samples;
  const next = [...samples, { at: now, open }];
  return next.length > SAMPLES_KEPT ? next.slice(next.length - SAMPLES_KEPT) : next;
}

export function withInfo(model: DashboardModel, info: ServerInfo): DashboardModel {
  return { ...model, info };
}

/**
 * The server's info on (re)connecting. A daemon that restarted (another `started_at`)
 * numbers its decisions afresh, so the ones held from before are dropped rather than
 * mixed up with new ones of the same `seq`; its history is read again.
 */
export function withServer(model: DashboardModel, info: ServerInfo): DashboardModel {
  const restarted = model.info?.started_at !== undefined && model.info.started_at !== info.started_at;
  return { ...model, info, ...(restarted ? { decisions: [] } : {}) };
}
export function withDevices(model: DashboardModel, devices: readonly DeviceView[]): DashboardModel {
  return { ...model, devices: [...devices].sort((a, b) => a.id.localeCompare(b.id)) };
}
export function withNeeds(model: DashboardModel, needs: readonly NeedView[]): DashboardModel {
  return { ...model, needs };
}
export function withGrants(model: DashboardModel, grants: readonly GrantView[], now: number): DashboardModel {
  return { ...model, grants, openPorts: sampled(model.openPorts, grants.length, now) };
}

/** `start_listening`'s result: `{devices, needs, grants}`. */
export function withSnapshot(model: DashboardModel, snapshot: { devices?: readonly DeviceView[]; needs?: readonly NeedView[]; grants?: readonly GrantView[] }, now: number): DashboardModel {
  let next = model;
  if (snapshot.devices) next = withDevices(next, snapshot.devices);
  if (snapshot.needs) next = withNeeds(next, snapshot.needs);
  if (snapshot.grants) next = withGrants(next, snapshot.grants, now);
  return next;
}

/** Adds decisions (from `get_decisions` or `decision` events), keeping `seq` order and dropping ones already held. */
export function withDecisions(model: DashboardModel, decisions: readonly DecisionView[]): DashboardModel {
  const bySeq = new Map(model.decisions.map((d) => [d.seq, d]));
  for (const d of decisions) bySeq.set(d.seq, d);
  const all = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  return { ...model, decisions: all.length > DECISIONS_KEPT ? all.slice(all.length - DECISIONS_KEPT) : all };
}

export interface TimelineFilter {
  /** Only this device's decisions (`''` / undefined: all). */
  readonly deviceId?: string;
  /** `denied`, `granted` (granted and granted-with-changes), or any verdict name; `''` / undefined: all. */
  readonly verdict?: string;
}

function verdictMatches(verdict: string, wanted: string | undefined): boolean {
  if (!wanted) return true;
  if (wanted === 'granted') return verdict === 'granted' || verdict === 'granted-with-changes';
  return verdict === wanted;
}

/** The decisions the timeline shows, newest first. */
export function timeline(model: DashboardModel, filter: TimelineFilter = {}, limit = 200): DecisionView[] {
  const out: DecisionView[] = [];
  for (let i = model.decisions.length - 1; i >= 0 && out.length < limit; i--) {
    const d = model.decisions[i];
    if (filter.deviceId && d.deviceId !== filter.deviceId) continue;
    if (!verdictMatches(d.verdict, filter.verdict)) continue;
    out.push(d);
  }
  return out;
}

/** The device ids the timeline's device filter offers: known devices and every device a decision names. */
export function timelineDevices(model: DashboardModel): string[] {
  return [...new Set([...model.devices.map((d) => d.id), ...model.decisions.map((d) => d.deviceId)])].sort();
}

/** A reason as one line: `rule/code (kind id): detail`. */
export function reasonText(reason: ReasonView): string {
  const party = reason.conflictsWith ? ` (${reason.conflictsWith.kind} ${reason.conflictsWith.id})` : '';
  const family = reason.family ? ` [${reason.family}]` : '';
  return `${reason.rule}/${reason.code}${party}${family}${reason.detail ? `: ${reason.detail}` : ''}`;
}

export interface Protection {
  /** True when the engine keeps the device unreachable from the Internet (an isolated kind the owner did not open). */
  readonly protected: boolean;
  /** The kind and its evidence, e.g. `matter (config:devices.known)`; why it is protected, or why it is not. */
  readonly because: string;
}

/** Whether the device is one the policy keeps closed, and the evidence. */
export function deviceProtection(device: DeviceView): Protection {
  const isolated = device.kinds.find((k) => ISOLATED_KINDS.includes(k.kind));
  if (!isolated) return { protected: false, because: device.kinds.length ? 'no isolated kind' : 'kind unknown' };
  if (device.ownerAllowed) return { protected: false, because: `${isolated.kind} (${isolated.evidence}), allowed by the owner` };
  return { protected: true, because: `${isolated.kind} (${isolated.evidence})` };
}

/**
 * How far the server's clock is ahead of this device's, from an HTTP `Date` header (1 s
 * resolution): leases count down on the server's clock, so a phone with a wrong clock still
 * shows the right time left. Differences under 2 s (the header's resolution) count as 0.
 */
export function clockOffsetMs(dateHeader: string | null, localNow: number): number {
  const server = dateHeader ? Date.parse(dateHeader) : NaN;
  if (!Number.isFinite(server)) return 0;
  const offset = server + 500 - localNow; // the header truncates to the second: assume mid-second
  return Math.abs(offset) < 2000 ? 0 : offset;
}

/** Seconds left on a lease (never negative). */
export function leaseLeft(expiresAt: number, now: number): number {
  return Math.max(0, Math.round((expiresAt - now) / 1000));
}

/** `75` -> `1:15`, `3725` -> `1:02:05`. */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${r}` : `${m}:${r}`;
}

/** A grant as the person reads it: `udp [2001:db8::5]:41100` or `udp 203.0.113.1:3074 -> 192.168.77.10:3074`. */
export function grantEndpoint(grant: GrantView): string {
  if (grant.family === 'ipv6') return `${grant.protocol} [${grant.internalClient}]:${grant.internalPort}`;
  return `${grant.protocol} :${grant.externalPort ?? grant.internalPort} -> ${grant.internalClient}:${grant.internalPort}`;
}

/** Needs still waiting for a grant (queued, ineffective or undecided), the ones a person looks at. */
export function waitingNeeds(model: DashboardModel): NeedView[] {
  return model.needs.filter((n) => n.verdict !== 'granted' && n.verdict !== 'granted-with-changes');
}
