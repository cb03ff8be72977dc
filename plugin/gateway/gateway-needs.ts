/**
 * The gateway's needs: the one place where a UPnP request or an admin call
 * becomes a need for the policy engine, and where needs end. In order, for
 * each open: the requester is resolved to a device, the need is written to the
 * journal (durable), the engine decides in the same tick, a refused need is
 * ended at once, and the answer waits until the firewall holds (or refused)
 * what was granted. Every need has a deadline, the end of the lease its client
 * was promised (the engine's own lease cap: `engine.config`); a sweep ends
 * needs whose deadline passed, and the kernel entries expire at that same
 * instant by their own timeouts. A need the engine later denies for good (a
 * device revealed as Matter) ends here too.
 *
 * It decides nothing itself: the per-client cap (client-limit), the lease cap,
 * a taken external port (exact-external-port, from `acceptOtherExternalPort`)
 * and the requester's own address (requester-owns-target, `requesterMustBeTarget`
 * on UPnP needs) are engine rules; a refusal is the engine's decision
 * ({@link OpenRefused}), which each protocol answers from its own table.
 *
 * @example
 * ```ts
 * const needs = new GatewayNeeds({ engine, journal, directory, applier, now: Date.now, upnpClass: 'game-session', log });
 * const outcome = await needs.open({ source: 'upnp', family: 'ipv6', protocol: 'udp', internalClient: '2001:db8:77::10',
 *   internalPort: 3074, remoteHost: '', remotePort: 0, leaseSeconds: 3600, requesterAddress: '2001:db8:77::10' });
 * outcome.ok ? outcome.uniqueId : 'decision' in outcome ? outcome.decision.reasons[0].code : outcome.invalid; // 1, or e.g. 'matter-device-isolation'
 * ```
 */
import { canonicalAddress, Family } from '../../policies/model/address';
import { leaseSecondsFor } from '../../policies/rules/lease-policy';
import { Decision, GrantView } from '../../policies/model/decision';
import { NeedClass, NeedRequest, Protocol } from '../../policies/model/need';
import { PolicyEngine } from '../../policies/engine';
import { DeviceDirectory } from './device-directory';
import { FirewallApplier } from './firewall-applier';
import { GatewayJournal, JournaledNeed, NeedEndCause, NeedSource } from './gateway-journal';
import { Logger } from './structured-log';

/** A request to open a pinhole (IPv6) or a port mapping (IPv4). */
export interface OpenRequest {
  readonly source: NeedSource;
  readonly family: Family;
  readonly protocol: Protocol;
  readonly internalClient: string;
  readonly internalPort: number;
  /** IPv4: the external port wished for (0/absent: the internal port). */
  readonly externalPort?: number;
  readonly remoteHost: string;
  readonly remotePort: number;
  /** 0 = the class cap. */
  readonly leaseSeconds: number;
  /** UPnP: the TCP source address of the request. */
  readonly requesterAddress?: string;
  /** Admin: who asked (the API client). */
  readonly actor?: string;
  readonly description?: string;
  /**
   * IPv4: another external port than the one wished for will do (AddAnyPortMapping, admin). Otherwise
   * (AddPortMapping) the engine's exact-external-port rule denies a port it could only give elsewhere.
   */
  readonly acceptOtherExternalPort?: boolean;
}

export type OpenOutcome =
  | {
      readonly ok: true;
      readonly needId: string;
      readonly decision: Decision;
      readonly grant: GrantView;
      /** Pinholes: the UniqueID for the client. */
      readonly uniqueId?: number;
      readonly externalPort?: number;
      readonly leaseSeconds: number;
      readonly deadline: number;
      /** True when the same need already existed (its lease was extended). */
      readonly renewed: boolean;
    }
  | OpenRefused
  | OpenInvalid;

/**
 * Refused by the engine: `decision` is the engine's own (a rule's denial, a
 * queue, an ineffective need, or the firewall's failure fed back to it as
 * `action-failed`). Its reasons are what every protocol answer is made from.
 */
export interface OpenRefused {
  readonly ok: false;
  readonly needId: string;
  readonly decision: Decision;
}

/** Not a need at all (an address that is not one, a field the engine's schema rejects): a protocol error, decided by nobody. */
export interface OpenInvalid {
  readonly ok: false;
  readonly needId: string;
  readonly invalid: string;
}

/** A live need with what was granted. */
export interface LiveNeed extends JournaledNeed {
  readonly grantedExternalPort?: number;
  readonly grantedLeaseSeconds?: number;
}

export interface GatewayNeedsOptions {
  readonly engine: PolicyEngine;
  readonly journal: GatewayJournal;
  readonly directory: DeviceDirectory;
  readonly applier: FirewallApplier;
  readonly now: () => number;
  readonly upnpClass: NeedClass;
  /** UPnP opens answer once the kernel holds the entry (`firewall`, default) or once journaled and granted (`journal`). */
  readonly answerAfter?: 'firewall' | 'journal';
  readonly log: Logger;
  /** Told about every need that starts, is renewed or ends (admin API events). */
  readonly onChange?: (change: NeedChange) => void;
}

export type NeedChange =
  | { readonly kind: 'need-opened' | 'need-renewed'; readonly need: LiveNeed }
  | { readonly kind: 'need-ended'; readonly needId: string; readonly cause: NeedEndCause };

/**
 * The grant that answers a request. A UPnP request names its service (an
 * AddPortMapping can only be answered with an IPv4 mapping), so it needs a
 * grant of its own family. An admin request is for reachability: when the
 * engine changed the family — an IPv4 need of an IPv6-only host becomes an
 * IPv6 pinhole under IPv6-mostly — the changed grant is the answer.
 */
function grantFor(decision: Decision, family: NeedRequest['family'], source: OpenRequest['source']): GrantView | undefined {
  const same = decision.grants.find((g) => g.family === family);
  // A hub's agent asks for reachability too, and applies what the hub settled (family included).
  if (same || (source !== 'admin' && source !== 'coordination') || decision.verdict !== 'granted-with-changes') return same;
  return decision.grants[0];
}

/** The need id of a request: the same pinhole or mapping asked again is the same need (a renewal). */
export function needIdOf(req: OpenRequest): string {
  const remote = `${req.remoteHost || '*'}:${req.remotePort || 0}`;
  if (req.source === 'admin') return `admin:${req.family}:${req.protocol}:${req.internalClient}:${req.internalPort}:${req.externalPort ?? '-'}:${remote}`;
  const kind = req.source === 'coordination' ? 'hub' : 'upnp';
  if (req.family === 'ipv6') return `${kind}6:${req.protocol}:${req.internalClient}:${req.internalPort}:${remote}`;
  return `${kind}4:${req.protocol}:${req.externalPort || req.internalPort}:${req.remoteHost || '*'}:${req.internalClient}`;
}

function firstReason(decision: Decision | undefined, fallback: string): string {
  const r = decision?.reasons[0];
  if (!r) return fallback;
  return `${r.rule}/${r.code}${r.conflictsWith ? ` (${r.conflictsWith.kind} ${r.conflictsWith.id})` : ''}${r.detail ? `: ${r.detail}` : ''}`;
}

export class GatewayNeeds {
  private readonly live = new Map<string, LiveNeed>();
  private readonly byUniqueId = new Map<number, string>();
  private nextUniqueId: number;
  /** Needs being opened: the engine's latest decision on each (the firewall's failure comes back as one). */
  private readonly opening = new Map<string, Decision | undefined>();
  private recovering = false;

  constructor(private readonly options: GatewayNeedsOptions) {
    this.nextUniqueId = options.journal.maxUniqueId() + 1;
    options.engine.decisions$.subscribe((d) => {
      if (this.opening.size > 0 && this.opening.has(d.needId)) {
        this.opening.set(d.needId, d);
        return;
      }
      // The engine took a live need's grant away for good (a device revealed as Matter, an address gone):
      // the need ends here too, so the tables the clients read agree with the firewall.
      if ((d.verdict === 'denied' || d.verdict === 'ineffective') && this.live.has(d.needId) && !this.recovering) {
        this.options.log.info('need ended by the engine', { needId: d.needId, verdict: d.verdict, reason: firstReason(d, '') });
        this.end(d.needId, 'refused');
      }
    });
  }

  /** The lease a need gets: the engine's own cap (one config, the engine's), so the deadline and the grant agree. */
  private leaseFor(wanted: number, cls: NeedClass): number {
    return leaseSecondsFor(wanted, cls, this.options.engine.config);
  }

  /** Live needs, oldest first. */
  list(): LiveNeed[] {
    return [...this.live.values()];
  }

  get(needId: string): LiveNeed | undefined {
    return this.live.get(needId);
  }

  byUnique(uniqueId: number): LiveNeed | undefined {
    const id = this.byUniqueId.get(uniqueId);
    return id === undefined ? undefined : this.live.get(id);
  }

  deadlineOf(needId: string): number | undefined {
    return this.live.get(needId)?.deadline;
  }

  uniqueIdOf(needId: string): number | undefined {
    return this.live.get(needId)?.uniqueId;
  }

  get size(): number {
    return this.live.size;
  }

  /**
   * Re-submits the journal's live needs after a restart, in their original
   * order, each with the lease it has left (a recovery never extends a lease).
   * Call while the applier is paused.
   */
  recover(): { resubmitted: number; granted: number } {
    const now = this.options.now();
    const needs = this.options.journal.liveNeeds(now);
    this.recovering = true;
    try {
      return this.recoverNeeds(needs, now);
    } finally {
      this.recovering = false;
    }
  }

  private recoverNeeds(needs: readonly JournaledNeed[], now: number): { resubmitted: number; granted: number } {
    let granted = 0;
    for (const need of needs) {
      const left = Math.max(2, Math.ceil((need.deadline - now) / 1000));
      this.track(need);
      let decision: Decision;
      try {
        decision = this.options.engine.request({ ...need.request, leaseSeconds: left });
      } catch (error) {
        this.options.log.warn('journaled need could not be re-submitted; ending it', { needId: need.id, error: (error as Error).message });
        this.forget(need.id, 'refused');
        continue;
      }
      const grant = grantFor(decision, need.request.family, need.source);
      if (grant && (decision.verdict === 'granted' || decision.verdict === 'granted-with-changes')) {
        granted++;
        this.live.set(need.id, { ...need, grantedLeaseSeconds: grant.leaseSeconds, ...(grant.externalPort !== undefined ? { grantedExternalPort: grant.externalPort } : {}) });
      } else {
        this.options.log.info('journaled need not granted after restart', { needId: need.id, verdict: decision.verdict, reason: firstReason(decision, '') });
      }
    }
    return { resubmitted: needs.length, granted };
  }

  /** Opens (or renews) a pinhole or port mapping; see the class comment for the order of steps. */
  async open(req: OpenRequest): Promise<OpenOutcome> {
    const needId = needIdOf(req);
    this.opening.set(needId, undefined);
    try {
      return await this.openTracked(req);
    } finally {
      this.opening.delete(needId);
    }
  }

  private async openTracked(req: OpenRequest): Promise<OpenOutcome> {
    const now = this.options.now();
    const internalClient = canonicalAddress(req.internalClient);
    const remoteHost = req.remoteHost ? canonicalAddress(req.remoteHost) : '';
    if (internalClient === undefined || remoteHost === undefined) {
      return { ok: false, needId: '', invalid: `not an IP address: ${internalClient === undefined ? req.internalClient : req.remoteHost}` };
    }
    const request: OpenRequest = { ...req, internalClient, remoteHost };
    const needId = needIdOf(request);
    const existing = this.live.get(needId);
    const requesterAddress = request.requesterAddress ? (canonicalAddress(request.requesterAddress) ?? request.requesterAddress) : undefined;
    const cls: NeedClass = request.source === 'admin' ? 'admin' : this.options.upnpClass;
    const leaseSeconds = this.leaseFor(request.leaseSeconds, cls);
    const deviceId = request.source === 'admin' ? `admin:${request.actor ?? 'api'}` : await this.options.directory.resolve(requesterAddress ?? internalClient);
    // PCP/NAT-PMP needs are held to the requester's own address like UPnP ones (THIRD_PARTY: the requester is the target).
    // Coordination (a hub's agent) too: a host asks only for itself, the TCP source of its request.
    const upnp = request.source === 'upnp' || request.source === 'pcp' || request.source === 'coordination';
    const needRequest: NeedRequest = {
      id: needId,
      requester: requesterAddress ? { deviceId, address: requesterAddress } : { deviceId },
      // UPnP: as written — the engine's requester-owns-target rule holds it to the requester's address (IGD:2).
      internalClient: upnp ? req.internalClient.trim() : internalClient,
      protocol: request.protocol,
      internalPort: request.internalPort,
      ...(request.family === 'ipv4' && request.externalPort ? { externalPort: request.externalPort } : {}),
      ...(remoteHost ? { remoteHost } : {}),
      ...(request.remotePort ? { remotePort: request.remotePort } : {}),
      family: request.family,
      // What was asked: the engine's lease rule grants its class cap and says so (lease-capped).
      leaseSeconds: request.leaseSeconds > 0 ? request.leaseSeconds : leaseSeconds,
      class: cls,
      ...(request.family === 'ipv4' && !request.acceptOtherExternalPort ? { acceptOtherExternalPort: false } : {}),
      ...(upnp ? { requesterMustBeTarget: true } : {}),
    };
    // Like miniupnpd, a UniqueID is used up only by a pinhole that exists: taken once the engine grants.
    const uniqueId = request.family === 'ipv6' ? (existing?.uniqueId ?? this.nextUniqueId) : undefined;
    const journaled: JournaledNeed = {
      id: needId,
      source: request.source,
      request: needRequest,
      deadline: now + leaseSeconds * 1000,
      ...(uniqueId !== undefined ? { uniqueId } : {}),
      ...(request.description !== undefined ? { description: request.description } : existing?.description !== undefined ? { description: existing.description } : {}),
      createdAt: existing?.createdAt ?? now,
    };
    // 1. Durable before anything changes.
    this.options.journal.putNeed(journaled);
    this.track(journaled, false);
    this.options.applier.clearFailure(needId);
    // 2. The engine decides in the same tick.
    let decision: Decision;
    try {
      decision = this.options.engine.request(needRequest);
    } catch (error) {
      this.end(needId, 'refused');
      return { ok: false, needId, invalid: (error as Error).message };
    }
    const position = this.options.applier.position();
    const grant = grantFor(decision, request.family, request.source);
    const granted = (decision.verdict === 'granted' || decision.verdict === 'granted-with-changes') && grant !== undefined;
    if (!granted) {
      // Refused (or a renewal the engine now refuses, or granted without the family asked for): the need ends, and with it any grant it had.
      this.end(needId, 'refused');
      await this.options.applier.settled(this.options.applier.position());
      return { ok: false, needId, decision };
    }
    if (uniqueId !== undefined && uniqueId >= this.nextUniqueId) this.nextUniqueId = uniqueId + 1;
    const live: LiveNeed = {
      ...journaled,
      grantedLeaseSeconds: grant.leaseSeconds,
      ...(grant.externalPort !== undefined ? { grantedExternalPort: grant.externalPort } : {}),
    };
    this.live.set(needId, live);
    // 3. A renewal keeps the engine's grant: refresh the kernel entry's timeout to the new deadline.
    if (existing) this.options.applier.refresh(needId);
    if (request.source === 'upnp' && this.options.answerAfter === 'journal') {
      // Journaled and granted: answer now; the kernel follows (a failure becomes an action-failed decision).
      this.options.onChange?.({ kind: existing ? 'need-renewed' : 'need-opened', need: live });
      return this.granted(needId, decision, grant, live, uniqueId, existing !== undefined);
    }
    await this.options.applier.settled(Math.max(position, this.options.applier.position()));
    const failure = this.options.applier.failureOf(needId);
    if (failure) {
      // The firewall's refusal went back to the engine (action-failed): its decision is the answer.
      const fedBack = this.opening.get(needId);
      this.end(needId, 'refused');
      await this.options.applier.settled(this.options.applier.position());
      return { ok: false, needId, decision: fedBack && fedBack.seq > decision.seq ? fedBack : decision };
    }
    this.options.onChange?.({ kind: existing ? 'need-renewed' : 'need-opened', need: live });
    return this.granted(needId, decision, grant, live, uniqueId, existing !== undefined);
  }

  private granted(needId: string, decision: Decision, grant: GrantView, live: LiveNeed, uniqueId: number | undefined, renewed: boolean): OpenOutcome {
    return {
      ok: true,
      needId,
      decision,
      grant,
      ...(uniqueId !== undefined ? { uniqueId } : {}),
      ...(grant.externalPort !== undefined ? { externalPort: grant.externalPort } : {}),
      leaseSeconds: grant.leaseSeconds,
      deadline: live.deadline,
      renewed,
    };
  }

  /** Extends a live need's lease (UpdatePinhole). */
  async renew(needId: string, leaseSeconds: number): Promise<LiveNeed | undefined> {
    const need = this.live.get(needId);
    if (!need) return undefined;
    const lease = this.leaseFor(leaseSeconds, need.request.class);
    const renewed: LiveNeed = { ...need, deadline: this.options.now() + lease * 1000 };
    this.options.journal.putNeed(stripGranted(renewed));
    this.live.set(needId, renewed);
    this.options.applier.refresh(needId);
    await this.options.applier.settled(this.options.applier.position());
    this.options.onChange?.({ kind: 'need-renewed', need: renewed });
    return renewed;
  }

  /** Ends a need (DeletePinhole, DeletePortMapping, admin close) and waits until the firewall let go of it. */
  async close(needId: string, cause: NeedEndCause = 'deleted'): Promise<boolean> {
    if (!this.live.has(needId)) return false;
    this.end(needId, cause);
    await this.options.applier.settled(this.options.applier.position());
    return true;
  }

  /** Ends every need whose deadline has passed; returns how many. */
  sweep(): number {
    const now = this.options.now();
    let ended = 0;
    for (const need of [...this.live.values()]) {
      if (need.deadline <= now) {
        this.end(need.id, 'expired');
        ended++;
      }
    }
    return ended;
  }

  /** Holds a need; `takeUniqueId` (recovery) marks its UniqueID used at once, an open only once granted. */
  private track(need: JournaledNeed, takeUniqueId = true): void {
    this.live.set(need.id, need);
    if (need.uniqueId !== undefined) {
      this.byUniqueId.set(need.uniqueId, need.id);
      if (takeUniqueId && need.uniqueId >= this.nextUniqueId) this.nextUniqueId = need.uniqueId + 1;
    }
  }

  private forget(needId: string, cause: NeedEndCause): void {
    const need = this.live.get(needId);
    if (!need) return;
    this.live.delete(needId);
    if (need.uniqueId !== undefined) this.byUniqueId.delete(need.uniqueId);
    this.options.journal.endNeed(needId, this.options.now(), cause);
  }

  private end(needId: string, cause: NeedEndCause): void {
    this.forget(needId, cause);
    this.options.engine.submit({ type: 'need-ended', needId, why: 'released' });
    this.options.onChange?.({ kind: 'need-ended', needId, cause });
  }
}

function stripGranted(need: LiveNeed): JournaledNeed {
  const { grantedExternalPort: _p, grantedLeaseSeconds: _l, ...rest } = need;
  return rest;
}
