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
import { flat } from './util/flat';

export interface Step {
  readonly decisions: readonly Decision[];
  readonly actions: readonly Action[];
}

export const EMPTY_STEP: Step = { decisions: [], actions: [] };

type MutableAction = { -readonly [K in keyof Action]: Action[K] };

/*
 * Output objects are built as one literal per shape (optional fields last,
 * as before), not a literal plus appended fields: appending a field past the
 * literal's own gives the object a second, out-of-line property store.
 */
export function grantView(g: GrantRecord): GrantView {
  if (g.externalPort === undefined) {
    return {
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
  }
  return {
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
    externalPort: g.externalPort,
  };
}

const NONE: readonly never[] = Object.freeze([]);

function grantedLike(leg: LegRecord): boolean {
  return leg.state === 'granted' || leg.state === 'not-needed' || leg.state === 'shared';
}

/** Verdict, reasons, changes and grants of a need as it stands. */
export function assess(n: NeedRecord): { verdict: Verdict; reasons: Reason[]; changes: Change[]; grants: GrantRecord[] } {
  if (n.closing) return { verdict: n.closing.verdict, reasons: n.closing.reasons, changes: [], grants: [] };
  if (n.denial) return { verdict: 'denied', reasons: [n.denial, ...n.notes], changes: [], grants: [] };
  // Legs in family order (IPv6, then IPv4); each list is built at its final size in one go.
  const v6 = n.ipv6;
  const v4 = n.ipv4;
  const v6Granted = v6 !== undefined && grantedLike(v6);
  const v4Granted = v4 !== undefined && grantedLike(v4);
  let granted = 0;
  let queued = 0;
  let denied = 0;
  for (let i = 0; i < 2; i++) {
    const leg: LegRecord | undefined = i === 0 ? v6 : v4;
    if (leg === undefined) continue;
    if (i === 0 ? v6Granted : v4Granted) granted++;
    else if (leg.state === 'queued') queued++;
    else if (leg.state === 'denied') denied++;
  }
  const reasons: Reason[] = n.notes.concat(v6 !== undefined ? v6.reasons : NONE, v4 !== undefined ? v4.reasons : NONE, n.ineffective);
  const changes: Change[] = n.planChanges.concat(v6Granted ? v6.changes : NONE, v4Granted ? v4.changes : NONE);
  const g6 = v6Granted ? v6.grant : undefined;
  const g4 = v4Granted ? v4.grant : undefined;
  const grants: GrantRecord[] = g6 !== undefined ? (g4 !== undefined ? [g6, g4] : [g6]) : g4 !== undefined ? [g4] : [];
  let verdict: Verdict;
  if (granted > 0) {
    verdict = changes.length > 0 || queued + denied > 0 || n.ineffective.length > 0 || n.planChanges.length > 0 ? 'granted-with-changes' : 'granted';
  } else if (queued > 0) verdict = 'queued';
  else if (denied > 0) verdict = 'denied';
  else if (n.ineffective.length > 0) verdict = 'ineffective';
  else verdict = 'denied';
  return { verdict, reasons, changes, grants };
}

/** What a decision is compared on: verdict, reason codes, and each grant's gateway, family, client, external port and lease. */
function signatureOf(verdict: Verdict, reasons: Reason[], grants: GrantRecord[]): string {
  // Joined in one go (the same text as appending piece by piece, without the intermediate strings).
  const parts = new Array<string | number>(1 + reasons.length + grants.length);
  parts[0] = verdict;
  let k = 1;
  for (let i = 0; i < reasons.length; i++) parts[k++] = reasons[i].code;
  for (let i = 0; i < grants.length; i++) {
    const g = grants[i];
    parts[k++] = [g.gatewayId, g.family, g.internalClient, g.externalPort ?? '', g.leaseSeconds].join(',');
  }
  return parts.join('|');
}

export class OutputBuffer {
  private seq = 0;
  private at = 0;
  private cause: EventType | 'lease-timer' = 'tick';
  private readonly touched: NeedRecord[] = [];
  /** Number of the step being collected: a need is touched (forced) in it when its `touchedIn` (`forcedIn`) equals it. */
  private step = 1;
  private readonly actions: MutableAction[] = [];

  begin(cause: EventType | 'lease-timer', at: number): void {
    this.cause = cause;
    this.at = at;
  }

  /** Marks a need as possibly changed; `force` emits a decision even if nothing changed. */
  touch(need: NeedRecord, force = false): void {
    if (need.touchedIn !== this.step) {
      need.touchedIn = this.step;
      this.touched.push(need);
    }
    if (force) need.forcedIn = this.step;
  }

  /** Queues an action for a grant as it is now; returns its key. */
  action(op: ActionOp, grant: GrantRecord, why: Reason, routerLease: number): string {
    const g = grant;
    const key = actionKey(op, g, op === 'renew' ? g.renewals : undefined);
    const leaseSeconds = op === 'delete' ? 0 : routerLease;
    const withUniqueId = g.uniqueId !== undefined && op !== 'add';
    // prettier-ignore
    const a: MutableAction =
      g.externalPort === undefined
        ? withUniqueId
          ? { type: 'action', seq: 0, at: this.at, op, table: g.table, key, gatewayId: g.gatewayId, grantId: g.id, needId: g.needId, generation: g.generation, family: g.family, protocol: g.protocol, internalClient: g.internalClient, internalPort: g.internalPort, remoteHost: g.remoteHost, remotePort: g.remotePort, leaseSeconds, reason: why, uniqueId: g.uniqueId }
          : { type: 'action', seq: 0, at: this.at, op, table: g.table, key, gatewayId: g.gatewayId, grantId: g.id, needId: g.needId, generation: g.generation, family: g.family, protocol: g.protocol, internalClient: g.internalClient, internalPort: g.internalPort, remoteHost: g.remoteHost, remotePort: g.remotePort, leaseSeconds, reason: why }
        : withUniqueId
          ? { type: 'action', seq: 0, at: this.at, op, table: g.table, key, gatewayId: g.gatewayId, grantId: g.id, needId: g.needId, generation: g.generation, family: g.family, protocol: g.protocol, internalClient: g.internalClient, internalPort: g.internalPort, remoteHost: g.remoteHost, remotePort: g.remotePort, leaseSeconds, reason: why, externalPort: g.externalPort, uniqueId: g.uniqueId }
          : { type: 'action', seq: 0, at: this.at, op, table: g.table, key, gatewayId: g.gatewayId, grantId: g.id, needId: g.needId, generation: g.generation, family: g.family, protocol: g.protocol, internalClient: g.internalClient, internalPort: g.internalPort, remoteHost: g.remoteHost, remotePort: g.remotePort, leaseSeconds, reason: why, externalPort: g.externalPort };
    this.actions.push(a);
    return key;
  }

  flush(): Step {
    const step = this.step++;
    if (this.touched.length === 0 && this.actions.length === 0) return EMPTY_STEP;
    const decisions: Decision[] = [];
    for (const n of this.touched) {
      const { verdict, reasons, changes, grants } = assess(n);
      if (n.forcedIn !== step || n.status !== 'closed') {
        const signature = signatureOf(verdict, reasons, grants);
        if (signature === n.signature && n.forcedIn !== step) continue;
        n.signature = flat(signature);
      }
      // else: a need closed in this step is forgotten by every index and
      // never compared again; its (forced) decision needs no signature.
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
    this.actions.length = 0;
    return { decisions, actions };
  }
}
