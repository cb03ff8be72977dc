/**
 * Collects what one input event (or lease timer) produced and turns it into
 * immutable, JSON-serialisable decisions and actions with a shared sequence.
 * Decisions come first (one per need whose verdict or grants changed, in the
 * order the needs were touched), then the actions in the order they arose.
 */
import { Action, ActionOp, actionKey } from './model/action';
import { Change, Decision, GrantView, Verdict } from './model/decision';
import { EventType } from './model/event';
import { Reason } from './model/reason';
import { GrantRecord, LegRecord, NeedRecord } from './state';

export interface Step {
  readonly decisions: readonly Decision[];
  readonly actions: readonly Action[];
}

export const EMPTY_STEP: Step = { decisions: [], actions: [] };

type MutableAction = { -readonly [K in keyof Action]: Action[K] };

export function grantView(g: GrantRecord): GrantView {
  const v: { -readonly [K in keyof GrantView]: GrantView[K] } = {
    grantId: g.id,
    gatewayId: g.gatewayId,
    table: g.table,
    family: g.family,
    protocol: g.protocol,
    internalClient: g.internalClient,
    internalPort: g.internalPort,
    leaseSeconds: g.leaseSeconds,
    expiresAt: g.expiresAt,
    renewAt: g.renewAt,
    generation: g.generation,
  };
  if (g.externalPort !== undefined) v.externalPort = g.externalPort;
  return v;
}

function legs(n: NeedRecord): LegRecord[] {
  const out: LegRecord[] = [];
  if (n.ipv6) out.push(n.ipv6);
  if (n.ipv4) out.push(n.ipv4);
  return out;
}

/** Verdict, reasons, changes and grants of a need as it stands. */
export function assess(n: NeedRecord): { verdict: Verdict; reasons: Reason[]; changes: Change[]; grants: GrantRecord[] } {
  if (n.closing) return { verdict: n.closing.verdict, reasons: n.closing.reasons, changes: [], grants: [] };
  if (n.denial) return { verdict: 'denied', reasons: [n.denial, ...n.notes], changes: [], grants: [] };
  const reasons: Reason[] = [...n.notes];
  const changes: Change[] = [...n.planChanges];
  const grants: GrantRecord[] = [];
  let granted = 0;
  let queued = 0;
  let denied = 0;
  for (const leg of legs(n)) {
    for (const r of leg.reasons) reasons.push(r);
    if (leg.state === 'granted' || leg.state === 'not-needed' || leg.state === 'shared') {
      granted++;
      for (const c of leg.changes) changes.push(c);
      if (leg.grant) grants.push(leg.grant);
    } else if (leg.state === 'queued') queued++;
    else if (leg.state === 'denied') denied++;
  }
  for (const r of n.ineffective) reasons.push(r);
  let verdict: Verdict;
  if (granted > 0) {
    verdict = changes.length > 0 || queued + denied > 0 || n.ineffective.length > 0 || n.planChanges.length > 0 ? 'granted-with-changes' : 'granted';
  } else if (queued > 0) verdict = 'queued';
  else if (denied > 0) verdict = 'denied';
  else if (n.ineffective.length > 0) verdict = 'ineffective';
  else verdict = 'denied';
  return { verdict, reasons, changes, grants };
}

function signatureOf(verdict: Verdict, reasons: Reason[], grants: GrantRecord[]): string {
  let s = verdict;
  for (const r of reasons) s += `|${r.code}`;
  for (const g of grants) s += `|${g.gatewayId},${g.family},${g.internalClient},${g.externalPort ?? ''},${g.leaseSeconds}`;
  return s;
}

export class OutputBuffer {
  private seq = 0;
  private at = 0;
  private cause: EventType | 'lease-timer' = 'tick';
  private readonly touched: NeedRecord[] = [];
  private readonly touchedSet = new Set<NeedRecord>();
  private readonly forced = new Set<NeedRecord>();
  private readonly actions: MutableAction[] = [];

  begin(cause: EventType | 'lease-timer', at: number): void {
    this.cause = cause;
    this.at = at;
  }

  /** Marks a need as possibly changed; `force` emits a decision even if nothing changed. */
  touch(need: NeedRecord, force = false): void {
    if (!this.touchedSet.has(need)) {
      this.touchedSet.add(need);
      this.touched.push(need);
    }
    if (force) this.forced.add(need);
  }

  /** Queues an action for a grant as it is now; returns its key. */
  action(op: ActionOp, grant: GrantRecord, why: Reason, routerLease: number): string {
    const g = grant;
    const key = actionKey(op, g, op === 'renew' ? g.renewals : undefined);
    const a: MutableAction = {
      type: 'action',
      seq: 0,
      at: this.at,
      op,
      table: g.table,
      key,
      gatewayId: g.gatewayId,
      grantId: g.id,
      needId: g.needId,
      generation: g.generation,
      family: g.family,
      protocol: g.protocol,
      internalClient: g.internalClient,
      internalPort: g.internalPort,
      remoteHost: g.remoteHost,
      remotePort: g.remotePort,
      leaseSeconds: op === 'delete' ? 0 : routerLease,
      reason: why,
    };
    if (g.externalPort !== undefined) a.externalPort = g.externalPort;
    if (g.uniqueId !== undefined && op !== 'add') a.uniqueId = g.uniqueId;
    this.actions.push(a);
    return key;
  }

  flush(): Step {
    if (this.touched.length === 0 && this.actions.length === 0) return EMPTY_STEP;
    const decisions: Decision[] = [];
    for (const n of this.touched) {
      const { verdict, reasons, changes, grants } = assess(n);
      const signature = signatureOf(verdict, reasons, grants);
      if (signature === n.signature && !this.forced.has(n)) continue;
      n.signature = signature;
      if (n.firstGrantAt === undefined && grants.length > 0) n.firstGrantAt = this.at;
      decisions.push({
        type: 'decision',
        seq: ++this.seq,
        at: this.at,
        cause: this.cause,
        needId: n.need.id,
        deviceId: n.need.requester.deviceId,
        verdict,
        reasons,
        changes,
        grants: grants.map(grantView),
      });
    }
    const actions: Action[] = this.actions.length > 0 ? this.actions.slice() : [];
    for (const a of actions as MutableAction[]) a.seq = ++this.seq;
    this.touched.length = 0;
    this.touchedSet.clear();
    this.forced.clear();
    this.actions.length = 0;
    return { decisions, actions };
  }
}
