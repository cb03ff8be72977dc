/**
 * What the hub answers an agent (the protocol is `coordination-protocol.ts`;
 * the listener is `coordination-server.ts`): an ask becomes one need on the
 * hub's one decision path (`GatewayNeeds`: journal, engine, applier), the
 * engine's decision becomes the answer. Nothing here decides policy: a
 * refusal is a rule's, with its reason; a changed family or external port is
 * the engine's settlement, with the reason naming the need it settled against.
 *
 * `applier: 'hub'` — the hub's applier put the need on the router (PCP
 * THIRD_PARTY) before the answer. `applier: 'agent'` — the agent applies the
 * settled parameters and reports the outcome here: a failure ends the need
 * (the router refused it, so the hub must not believe it open), a success
 * records what the router gave.
 *
 * @example
 * ```ts
 * const service = new CoordinationService({ needs, applier: () => 'agent', info: () => hubInfo });
 * const answer = await service.ask({ protocol: 'udp', internalPort: 3074, family: 'ipv4' }, '192.168.1.20');
 * answer.status; // 200 (a CoordinationGrant) or 403 (a CoordinationRefusal)
 * ```
 */
import type { Decision } from '../../policies/model/decision';
import type { Reason } from '../../policies/model/reason';
import { canonicalAddress } from '../../policies/model/address';
import type { GatewayNeeds, LiveNeed } from '../gateway/gateway-needs';
import type {
  CoordinationApplier, CoordinationAsk, CoordinationError, CoordinationGrant, CoordinationOutcome, CoordinationReason, CoordinationRefusal, HubInfo,
} from './coordination-protocol';

/** An answer: HTTP status and JSON body. */
export interface CoordinationAnswer {
  readonly status: number;
  readonly body: CoordinationGrant | CoordinationRefusal | CoordinationError | HubInfo | { readonly ended: true };
}

/** What an agent reported for an `applier: 'agent'` need. */
export interface AgentReport extends CoordinationOutcome {
  readonly at: number;
}

export interface CoordinationServiceOptions {
  readonly needs: GatewayNeeds;
  /** Who applies (chosen once at start, when the hub probes its router). */
  readonly applier: () => CoordinationApplier;
  readonly info: () => HubInfo;
  /** The router's WAN IPv4 ('' when unknown): the address peers use for an IPv4 grant. */
  readonly externalIpv4?: () => string;
  readonly now?: () => number;
  /** Told about each agent report (admin events, logs). */
  readonly onReport?: (needId: string, report: AgentReport) => void;
}

function reasonsOf(reasons: readonly Reason[]): CoordinationReason[] {
  return reasons.map((r) => ({
    rule: r.rule,
    code: r.code,
    ...(r.detail ? { detail: r.detail } : {}),
    ...(r.conflictsWith ? { conflictsWith: `${r.conflictsWith.kind} ${r.conflictsWith.id}` } : {}),
  }));
}

function refusalOf(needId: string, decision: Decision): CoordinationRefusal {
  const verdict = decision.verdict === 'ineffective' || decision.verdict === 'queued' ? decision.verdict : 'denied';
  return { verdict, needId, reasons: reasonsOf(decision.reasons) };
}

/** Where peers reach a grant: the router's WAN IPv4 for a mapping (when known), the host itself for a pinhole. */
function externalAddressOf(family: 'ipv4' | 'ipv6', internalClient: string, externalIpv4: (() => string) | undefined): { externalAddress?: string } {
  if (family === 'ipv6') return { externalAddress: internalClient };
  const wan = externalIpv4?.() ?? '';
  return wan ? { externalAddress: wan } : {};
}

/** The coordination answers of one hub; see the module comment. */
export class CoordinationService {
  private readonly reports = new Map<string, AgentReport>();
  /** The last grant answered per live need (what the agent applies and reports on). */
  private readonly answered = new Map<string, CoordinationGrant>();
  private readonly now: () => number;

  constructor(private readonly options: CoordinationServiceOptions) {
    this.now = options.now ?? Date.now;
  }

  info(): CoordinationAnswer {
    return { status: 200, body: this.options.info() };
  }

  /** An agent at `requester` asks for a port for itself. */
  async ask(ask: CoordinationAsk, requester: string): Promise<CoordinationAnswer> {
    const address = canonicalAddress(requester);
    if (address === undefined) return { status: 400, body: { error: `the request's source is not an IP address: ${requester}` } };
    const applier = this.options.applier();
    const outcome = await this.options.needs.open({
      source: 'coordination',
      family: ask.family,
      protocol: ask.protocol,
      internalClient: address,
      internalPort: ask.internalPort,
      ...(ask.externalPort !== undefined ? { externalPort: ask.externalPort } : {}),
      remoteHost: '',
      remotePort: 0,
      leaseSeconds: ask.leaseSeconds ?? 0,
      requesterAddress: address,
      ...(ask.description !== undefined ? { description: ask.description } : {}),
      // The hub settles a port taken by another need to a free one (the reason names the holder).
      acceptOtherExternalPort: true,
    });
    if (!outcome.ok) {
      if ('invalid' in outcome) return { status: 400, body: { error: outcome.invalid } };
      return { status: 403, body: refusalOf(outcome.needId, outcome.decision) };
    }
    if (!outcome.renewed) this.reports.delete(outcome.needId);
    const grant = this.toGrant(outcome.needId, outcome.decision, outcome.grant, outcome.leaseSeconds, applier);
    this.answered.set(outcome.needId, grant);
    return { status: 200, body: grant };
  }

  /** An agent reports what the router did with an `applier: 'agent'` grant. */
  async outcome(needId: string, outcome: CoordinationOutcome, requester: string): Promise<CoordinationAnswer> {
    const need = this.owned(needId, requester);
    if (!need) return { status: 404, body: { error: `no need ${needId} of ${requester}` } };
    if (this.options.applier() !== 'agent') return { status: 409, body: { error: `need ${needId} is applied by the hub; there is nothing to report` } };
    const report: AgentReport = { ...outcome, at: this.now() };
    this.reports.set(needId, report);
    this.options.onReport?.(needId, report);
    if (!outcome.ok) {
      // The router refused what the hub settled: the need is not open, so the hub must not hold it.
      await this.options.needs.close(needId, 'refused');
      this.forget(needId);
      return { status: 200, body: { ended: true } };
    }
    const answered = this.answered.get(needId);
    if (!answered) return { status: 404, body: { error: `no grant of need ${needId} to report on` } };
    const body: CoordinationGrant = {
      ...answered,
      ...(outcome.externalPort !== undefined && answered.family === 'ipv4' ? { externalPort: outcome.externalPort } : {}),
      ...(outcome.leaseSeconds !== undefined ? { leaseSeconds: outcome.leaseSeconds } : {}),
      applied: true,
    };
    this.answered.set(needId, body);
    return { status: 200, body };
  }

  /** An agent ends its need (the hub's applier removes it from the router). */
  async end(needId: string, requester: string): Promise<CoordinationAnswer> {
    if (!this.owned(needId, requester)) return { status: 404, body: { error: `no need ${needId} of ${requester}` } };
    await this.options.needs.close(needId, 'deleted');
    this.forget(needId);
    return { status: 200, body: { ended: true } };
  }

  /** The agent's last report of a need (undefined: none, or the hub applies it). */
  reportOf(needId: string): AgentReport | undefined {
    return this.reports.get(needId);
  }

  /** Drops what is kept of needs that ended (called on the daemon's need-ended events). */
  forget(needId: string): void {
    this.reports.delete(needId);
    this.answered.delete(needId);
  }

  /** The last grant answered for a live need. */
  grantOf(needId: string): CoordinationGrant | undefined {
    return this.answered.get(needId);
  }

  private owned(needId: string, requester: string): LiveNeed | undefined {
    const need = this.options.needs.get(needId);
    const address = canonicalAddress(requester);
    if (!need || need.source !== 'coordination' || address === undefined) return undefined;
    return need.request.requester.address === address ? need : undefined;
  }

  private toGrant(needId: string, decision: Decision, grant: { family: 'ipv4' | 'ipv6'; protocol: 'udp' | 'tcp'; internalClient: string; internalPort: number; externalPort?: number }, leaseSeconds: number, applier: CoordinationApplier): CoordinationGrant {
    return {
      verdict: decision.verdict === 'granted-with-changes' ? 'granted-with-changes' : 'granted',
      needId,
      applier,
      family: grant.family,
      protocol: grant.protocol,
      internalClient: grant.internalClient,
      internalPort: grant.internalPort,
      ...(grant.family === 'ipv4' && grant.externalPort !== undefined ? { externalPort: grant.externalPort } : {}),
      ...externalAddressOf(grant.family, grant.internalClient, this.options.externalIpv4),
      leaseSeconds,
      applied: applier === 'hub' || this.reports.get(needId)?.ok === true,
      reasons: reasonsOf(decision.reasons),
    };
  }
}
