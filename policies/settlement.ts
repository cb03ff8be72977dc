/**
 * Settlement: applies the rules to a need and turns the outcome into grants,
 * queue entries and actions, resolving conflicts between needs (external
 * ports, table capacity) by rank. Every operation touches only the need at
 * hand and the indexes it is in: no scan over all needs on the hot path.
 */
import { Family, canonicalAddress, familyOf, isWildcardAddress } from './model/address';
import { PolicyConfig } from './model/config';
import { Change } from './model/decision';
import { Table, capacityOf } from './model/gateway';
import { Need, NeedRequest } from './model/need';
import { rankOf } from './model/rank';
import { Reason, reason } from './model/reason';
import { admitToTable } from './rules/capacity';
import { PortHolder, findFreePort, settleExternalPort } from './rules/ipv4-external-port-exclusive';
import { WithdrawalCause, leaseTerms, LeaseTerms, withdrawalReason } from './rules/lease-policy';
import { checkIsolation } from './rules/matter-isolation';
import { checkOwnerPortOpening } from './rules/owner-port-opening';
import { checkPortHygiene, normaliseProtocol } from './rules/port-hygiene';
import { checkRequesterIsTarget, checkRequesterOwnsTarget } from './rules/requester-owns-target';
import { checkClientLimit } from './rules/client-limit';
import { checkExactExternalPort } from './rules/exact-external-port';
import { followedReason, noAddressReason, selectInternalClient } from './rules/address-churn';
import { planFamilies } from './rules/ipv6-mostly';
import { gatewayGate } from './rules/router-feedback';
import { LeaseScheduler } from './lease-scheduler';
import { OutputBuffer } from './output';
import { flat } from './util/flat';
import { DeviceRecord, GatewayRecord, GrantRecord, HomeState, LegRecord, NeedRecord, TableRecord, hasKey } from './state';
import { ADMITTED } from './rules/capacity';

const FAMILIES: readonly Family[] = ['ipv6', 'ipv4'];

/** Shared empty list for records with nothing to say (never mutated: the fields are readonly arrays). */
const NONE: readonly never[] = Object.freeze([]);

/** What a leg's old grant is released with when the leg is re-admitted (same value as `reason('capacity', 'admitted', { family })`). */
const READMITTED: Readonly<Record<Family, Reason>> = {
  ipv6: Object.freeze(reason('capacity', 'admitted', { family: 'ipv6' })),
  ipv4: Object.freeze(reason('capacity', 'admitted', { family: 'ipv4' })),
};

/** The reasons of a leg admitted with nothing else to say, shared by all such legs. */
const ADMITTED_ONLY: Readonly<Record<Family, readonly Reason[]>> = {
  ipv6: Object.freeze([ADMITTED.ipv6]),
  ipv4: Object.freeze([ADMITTED.ipv4]),
};


export function tableOf(family: Family): Table {
  return family === 'ipv6' ? 'pinhole' : 'port-mapping';
}

export class Settlement {
  /** Tables where a slot was freed during the current step. */
  private readonly freed = new Set<TableRecord>();
  /** Needs that may have lost their last live leg during the current step. */
  private readonly recheck = new Set<NeedRecord>();
  /** Needs that shared a pinhole whose holder went away: settle again. */
  private readonly resettle = new Set<NeedRecord>();
  /** Live needs per requester address, kept only when the client-limit rule is configured. */
  private readonly perRequester = new Map<string, number>();
  /** The needs counted in {@link perRequester}. */
  private readonly counted = new Set<NeedRecord>();

  constructor(
    private readonly home: HomeState,
    private readonly out: OutputBuffer,
    private readonly leases: LeaseScheduler,
    private readonly config: PolicyConfig,
    private readonly now: () => number,
  ) {}

  // ---------------------------------------------------------------- needs

  /** Admits a new need (or re-settles one submitted again with the same id). */
  submit(req: NeedRequest): NeedRecord {
    const home = this.home;
    const existing = home.needs.get(req.id);
    if (existing) {
      this.settle(existing);
      this.out.touch(existing, true);
      return existing;
    }
    const ic = req.internalClient;
    const internalClient = ic === undefined ? undefined : isWildcardAddress(ic) ? ic : (canonicalAddress(ic) ?? null);
    const requesterAddress = req.requester.address !== undefined ? canonicalAddress(req.requester.address) : undefined;
    const protocol = normaliseProtocol(req.protocol) ?? 'udp';
    const need: { -readonly [K in keyof Need]: Need[K] } = {
      id: req.id,
      requester: requesterAddress !== undefined ? { deviceId: req.requester.deviceId, address: requesterAddress } : { deviceId: req.requester.deviceId },
      protocol,
      internalPort: req.internalPort,
      remoteHost: req.remoteHost ? (canonicalAddress(req.remoteHost) ?? req.remoteHost) : '',
      remotePort: req.remotePort ?? 0,
      family: req.family,
      leaseSeconds: req.leaseSeconds ?? 0,
      class: req.class,
      priority: req.priority ?? 0,
      submittedAt: this.now(),
      order: ++home.needOrder,
    };
    if (typeof internalClient === 'string' && !isWildcardAddress(internalClient)) need.internalClient = internalClient;
    if (req.externalPort) need.externalPort = req.externalPort;
    if (req.sessionId !== undefined) need.sessionId = req.sessionId;
    if (req.gatewayId !== undefined) need.gatewayId = req.gatewayId;
    if (req.acceptOtherExternalPort === false) need.acceptOtherExternalPort = false;
    const nr: NeedRecord = {
      need,
      rank: rankOf(need, this.config),
      status: 'active',
      ipv6: undefined,
      ipv4: undefined,
      denial: undefined,
      notes: NONE,
      planChanges: NONE,
      ineffective: NONE,
      closing: undefined,
      signature: '',
      addressKeys: NONE,
      deviceKeys: NONE,
      submittedAt: need.submittedAt,
      firstGrantAt: undefined,
      touchedIn: 0,
      forcedIn: 0,
    };
    const hygiene = checkPortHygiene({
      protocol: String(req.protocol),
      internalPort: req.internalPort,
      externalPort: req.externalPort,
      remotePort: req.remotePort,
      internalClient,
      class: req.class,
    });
    this.out.touch(nr, true);
    const strict = hygiene === undefined && req.requesterMustBeTarget === true && req.class !== 'admin'
      ? checkRequesterIsTarget(req.internalClient, req.requester.address, req.requester.deviceId)
      : undefined;
    if (hygiene || strict) {
      nr.denial = hygiene ?? strict;
      nr.status = 'closed';
      return nr;
    }
    const limit = this.config.maxNeedsPerRequester;
    if (limit !== undefined && requesterAddress !== undefined) {
      const held = this.perRequester.get(requesterAddress) ?? 0;
      const over = checkClientLimit(requesterAddress, held, limit);
      if (over) {
        nr.denial = over;
        nr.status = 'closed';
        return nr;
      }
      this.perRequester.set(requesterAddress, held + 1);
      this.counted.add(nr);
    }
    home.needs.set(need.id, nr);
    nr.deviceKeys = [home.register(home.needsByDevice, need.requester.deviceId, nr)];
    if (need.internalClient !== undefined) this.registerAddress(nr, need.internalClient);
    if (need.requester.address !== undefined) this.registerAddress(nr, need.requester.address);
    this.settle(nr);
    return nr;
  }

  /** Ends a need: its grants are withdrawn now. */
  end(needId: string, cause: WithdrawalCause, detail?: string): boolean {
    const nr = this.home.needs.get(needId);
    if (!nr || nr.status !== 'active') return false;
    this.close(nr, { verdict: 'withdrawn', reasons: [withdrawalReason(cause, detail)] });
    this.out.touch(nr, true);
    return true;
  }

  /**
   * Applies every rule to the need as things stand and brings its legs in
   * line. Idempotent: settling an unchanged need changes nothing and emits
   * nothing.
   */
  settle(nr: NeedRecord): void {
    if (nr.status !== 'active') return;
    const home = this.home;
    const need = nr.need;
    this.out.touch(nr);
    const requester = this.device(need.requester.deviceId);
    const targetOwnerId =
      need.internalClient !== undefined
        ? home.addressOwner.get(need.internalClient)
        : (requester?.id ?? (need.requester.address !== undefined ? home.addressOwner.get(need.requester.address) : undefined));
    const target =
      targetOwnerId === undefined ? undefined : requester !== undefined && targetOwnerId === requester.id ? requester : home.devices.get(targetOwnerId);
    if (target && !hasKey(nr.deviceKeys, target.id)) {
      nr.deviceKeys = nr.deviceKeys.concat(home.register(home.needsByDevice, target.id, nr));
    }
    if (nr.notes.length > 0) nr.notes = NONE;
    let denial = checkRequesterOwnsTarget(need, requester, targetOwnerId);
    if (!denial && home.portOpeningDisabled.size > 0) denial = checkOwnerPortOpening(requester?.id ?? need.requester.deviceId, target?.id, home.portOpeningDisabled);
    if (!denial) {
      const iso = checkIsolation(target);
      if (iso && 'deny' in iso) denial = iso.deny;
      else if (iso) nr.notes = [iso.allow];
    }
    if (denial) {
      nr.denial = denial;
      this.close(nr);
      return;
    }
    const plan = planFamilies(need.family, (target ?? requester)?.ipv6Only, home.network);
    if (plan.reasons.length > 0) nr.notes = [...nr.notes, ...plan.reasons];
    nr.planChanges = plan.changes;
    nr.ineffective = plan.ineffective;
    let lost: Reason | undefined;
    // Drop legs the plan no longer wants first, so their slots and ports are free.
    for (const family of FAMILIES) {
      if (!plan.legs.includes(family)) this.dropLeg(nr, family, plan.ineffective[0] ?? plan.reasons[0]);
    }
    for (let i = 0; i < plan.legs.length; i++) {
      const r = this.settleLeg(nr, plan.legs[i], target, requester);
      if (r?.deny) {
        // The address the leg would use belongs to an isolated device.
        nr.denial = r.deny;
        this.close(nr);
        return;
      }
      if (r?.lost) lost = r.lost;
    }
    if (!this.hasLiveLeg(nr)) {
      if (lost) this.close(nr, { verdict: 'withdrawn', reasons: [lost] });
      else this.close(nr);
    }
  }

  /** Called at the end of every step: admits queued legs where slots freed up, closes dead needs. */
  finishStep(): void {
    let guard = 0;
    while (this.freed.size > 0 || this.resettle.size > 0) {
      if (this.resettle.size > 0) {
        for (const nr of [...this.resettle]) {
          this.resettle.delete(nr);
          this.settle(nr);
        }
      }
      if (this.freed.size === 0) continue;
      const tables = [...this.freed];
      this.freed.clear();
      for (const tbl of tables) {
        const gw = this.home.gateways.get(tbl.gatewayId);
        if (!gw) continue;
        const cap = capacityOf(gw.facts, tbl.table);
        while (tbl.queue.size > 0 && tbl.grants.size < cap) {
          const leg = tbl.queue.pop() as LegRecord;
          this.home.queuedCount--;
          leg.queuedIn = undefined;
          leg.state = 'none';
          if (++guard > 1_000_000) throw new Error('settlement did not converge');
          this.settle(leg.need);
        }
      }
    }
    if (this.recheck.size === 0) return;
    for (const nr of this.recheck) {
      if (nr.status === 'active' && !this.hasLiveLeg(nr)) this.close(nr);
    }
    this.recheck.clear();
  }

  /** Closes a need: releases its grants and queue places and forgets it. */
  close(nr: NeedRecord, closing?: NeedRecord['closing']): void {
    const home = this.home;
    if (closing) nr.closing = closing;
    const why = closing?.reasons[0] ?? nr.denial ?? reason('lease-policy', 'need-released');
    nr.status = 'closed';
    if (this.counted.size > 0 && this.counted.delete(nr)) {
      const address = nr.need.requester.address as string;
      const held = (this.perRequester.get(address) ?? 1) - 1;
      if (held <= 0) this.perRequester.delete(address);
      else this.perRequester.set(address, held);
    }
    for (const family of FAMILIES) {
      const leg = family === 'ipv6' ? nr.ipv6 : nr.ipv4;
      if (!leg) continue;
      if (leg.grant) this.releaseGrant(leg.grant, true, why);
      this.dequeue(leg);
      this.unshare(leg);
    }
    if (home.needs.get(nr.need.id) === nr) home.needs.delete(nr.need.id);
    for (const set of nr.deviceKeys) home.unregister(home.needsByDevice, set, nr);
    for (const set of nr.addressKeys) home.unregister(home.needsByAddress, set, nr);
    home.waitingForGateway.delete(nr);
    this.out.touch(nr);
  }

  hasLiveLeg(nr: NeedRecord): boolean {
    const a = nr.ipv6?.state;
    const b = nr.ipv4?.state;
    return (a !== undefined && a !== 'none' && a !== 'denied') || (b !== undefined && b !== 'none' && b !== 'denied');
  }

  device(id: string): DeviceRecord | undefined {
    return this.home.devices.get(id);
  }

  registerAddress(nr: NeedRecord, address: string): void {
    const keys = nr.addressKeys;
    if (hasKey(keys, address)) return;
    const set = this.home.register(this.home.needsByAddress, address, nr);
    nr.addressKeys = keys.length === 0 ? [set] : keys.concat(set);
  }

  // ---------------------------------------------------------------- legs

  private leg(nr: NeedRecord, family: Family): LegRecord {
    let leg = family === 'ipv6' ? nr.ipv6 : nr.ipv4;
    if (!leg) {
      leg = {
        family,
        need: nr,
        state: 'none',
        grant: undefined,
        lastGeneration: 0,
        reasons: NONE,
        changes: NONE,
        sticky: undefined,
        queuedIn: undefined,
        sharedKey: undefined,
        queuedAddr: undefined,
        queuePos: -1,
      };
      if (family === 'ipv6') nr.ipv6 = leg;
      else nr.ipv4 = leg;
    }
    return leg;
  }

  private dropLeg(nr: NeedRecord, family: Family, why: Reason | undefined): void {
    const leg = family === 'ipv6' ? nr.ipv6 : nr.ipv4;
    if (!leg) return;
    this.resetLeg(leg, why ?? reason('lease-policy', 'need-released', { family }));
    if (family === 'ipv6') nr.ipv6 = undefined;
    else nr.ipv4 = undefined;
  }

  private resetLeg(leg: LegRecord, why: Reason): void {
    if (leg.grant) this.releaseGrant(leg.grant, true, why);
    this.dequeue(leg);
    this.unshare(leg);
    leg.state = 'none';
    leg.reasons = NONE;
    leg.changes = NONE;
  }

  private unshare(leg: LegRecord): void {
    if (leg.sharedKey === undefined) return;
    const set = this.home.pinholeSharers.get(leg.sharedKey);
    if (set && set.delete(leg) && set.size === 0) this.home.pinholeSharers.delete(leg.sharedKey);
    leg.sharedKey = undefined;
  }

  private dequeue(leg: LegRecord): void {
    if (leg.queuedIn) {
      if (leg.queuedIn.queue.remove(leg)) this.home.queuedCount--;
      leg.queuedIn = undefined;
      leg.queuedAddr = undefined;
    }
  }

  /** Settles one family of a need. Returns a withdrawal reason when its address is gone for good. */
  private settleLeg(
    nr: NeedRecord,
    family: Family,
    target: DeviceRecord | undefined,
    requester: DeviceRecord | undefined,
  ): { lost?: Reason; deny?: Reason } | undefined {
    const home = this.home;
    const leg = this.leg(nr, family);
    const need = nr.need;
    if (leg.sticky) {
      if (leg.grant || leg.queuedIn) this.resetLeg(leg, leg.sticky);
      leg.state = 'denied';
      leg.reasons = [leg.sticky];
      return undefined;
    }
    const table = tableOf(family);
    const gwId = need.gatewayId ?? this.config.defaultGatewayId ?? home.gateways.keys().next().value;
    const gw = gwId !== undefined ? home.gateways.get(gwId) : undefined;
    const gate = gatewayGate(gw?.facts, table);
    if (!('ok' in gate)) {
      const r = 'queue' in gate ? gate.queue : 'deny' in gate ? gate.deny : gate.notNeeded;
      const state = 'queue' in gate ? 'queued' : 'deny' in gate ? 'denied' : 'not-needed';
      if (leg.state === state && !leg.grant && !leg.queuedIn && leg.reasons.length === 1 && leg.reasons[0].code === r.code) return undefined;
      this.resetLeg(leg, r);
      leg.state = state;
      leg.reasons = [r];
      if ('queue' in gate) home.waitingForGateway.add(nr);
      return undefined;
    }
    const gateway = gw as GatewayRecord;
    const explicit = need.internalClient !== undefined && familyOf(need.internalClient) === family ? need.internalClient : undefined;
    const inUse = leg.grant?.internalClient ?? leg.queuedAddr ?? explicit;
    const fallback = need.requester.address !== undefined && familyOf(need.requester.address) === family ? need.requester.address : undefined;
    const choice = selectInternalClient(target, family, inUse, fallback);
    if ('lost' in choice) {
      const why = reason('lease-policy', 'address-deprecated', {
        family,
        detail: `${choice.lost} was deprecated or removed and ${target?.id ?? 'the device'} has no stable replacement`,
      });
      this.resetLeg(leg, why);
      leg.state = 'denied';
      leg.reasons = [why];
      return { lost: why };
    }
    if ('none' in choice) {
      const why = noAddressReason(family, target?.id ?? requester?.id ?? need.requester.deviceId);
      this.resetLeg(leg, why);
      leg.state = 'denied';
      leg.reasons = [why];
      return undefined;
    }
    const address = choice.address;
    const owner = home.addressOwner.get(address);
    if (owner !== undefined && owner !== target?.id) {
      const iso = checkIsolation(home.devices.get(owner));
      if (iso && 'deny' in iso) return { deny: iso.deny };
    }
    if (leg.state === 'granted' && leg.grant && leg.grant.gatewayId === gateway.facts.id && leg.grant.internalClient === address) return undefined;
    if (leg.state === 'shared' && leg.sharedKey !== undefined && home.pinholes.get(leg.sharedKey)?.live &&
        leg.sharedKey === HomeState.pinholeKey(gateway.facts.id, need.protocol, address, need.internalPort, need.remoteHost, need.remotePort)) return undefined;
    if (leg.state === 'queued' && leg.queuedIn && leg.queuedIn.gatewayId === gateway.facts.id && leg.queuedAddr === address) return undefined;
    let extraReasons: readonly Reason[] = NONE;
    let extraChanges: readonly Change[] = NONE;
    if (choice.followedFrom !== undefined) {
      extraReasons = [followedReason(family, choice.followedFrom, address)];
      extraChanges = [{ field: 'internalClient', family, wanted: choice.followedFrom, got: address }];
    }
    this.resetLeg(leg, extraReasons.length > 0 ? extraReasons[0] : READMITTED[family]);
    this.registerAddress(nr, address);
    this.allocate(leg, gateway, address, extraReasons, extraChanges);
    return undefined;
  }

  /** Capacity, lease and external port for a leg that has an address and a gateway. */
  private allocate(leg: LegRecord, gw: GatewayRecord, address: string, extraReasons: readonly Reason[], extraChanges: readonly Change[]): void {
    const nr = leg.need;
    const need = nr.need;
    const family = leg.family;
    const table = tableOf(family);
    const tbl = gw[table];
    let pinholeKey: string | undefined;
    if (family === 'ipv6') {
      const key = (pinholeKey = flat(HomeState.pinholeKey(gw.facts.id, need.protocol, address, need.internalPort, need.remoteHost, need.remotePort)));
      const holder = this.home.pinholes.get(key);
      if (holder && holder.live && holder.owner.need !== nr) {
        leg.state = 'shared';
        leg.sharedKey = key;
        leg.reasons = [
          reason('capacity', 'pinhole-shared', {
            family,
            conflictsWith: { kind: 'need', id: holder.needId },
            detail: `the pinhole ${need.protocol} [${address}]:${need.internalPort} already exists for ${holder.needId}; the router keeps one entry for both`,
          }),
          ...extraReasons,
        ];
        leg.changes = extraChanges;
        let set = this.home.pinholeSharers.get(key);
        if (!set) this.home.pinholeSharers.set(key, (set = new Set()));
        set.add(leg);
        return;
      }
    }
    const capacity = capacityOf(gw.facts, table);
    const weakest = tbl.grants.size >= capacity ? tbl.grants.peek() : undefined;
    const outcome = admitToTable(
      {
        gatewayId: gw.facts.id,
        table,
        used: tbl.grants.size,
        capacity,
        weakest: weakest ? { needId: weakest.needId, rank: weakest.rank } : undefined,
      },
      nr.rank,
      need.id,
      family,
    );
    if ('queue' in outcome) {
      this.enqueue(leg, tbl, address, [outcome.queue, ...extraReasons]);
      leg.changes = extraChanges;
      return;
    }
    if ('victim' in outcome && weakest) this.evict(weakest, outcome.victimReason);
    const reasons: Reason[] = extraReasons.length === 0 ? [outcome.admit] : [outcome.admit, ...extraReasons];
    const changes: Change[] = extraChanges.length === 0 ? [] : [...extraChanges];
    const lease = leaseTerms(need.leaseSeconds, need.class, family, this.config, this.now());
    if (lease.reason && lease.change) {
      reasons.push(lease.reason);
      changes.push(lease.change);
    }
    let externalPort: number | undefined;
    let displaced: GrantRecord | undefined;
    if (family === 'ipv4') {
      const wish = need.externalPort || need.internalPort;
      const settled = settleExternalPort({
        wish,
        claimant: nr.rank,
        gatewayId: gw.facts.id,
        portSet: this.portSet(),
        minPort: this.config.minExternalPort,
        holderOf: this.holderOf(gw, need.protocol),
      });
      if ('exhausted' in settled) {
        leg.state = 'denied';
        leg.reasons = [settled.exhausted, ...extraReasons];
        leg.changes = extraChanges;
        this.recheck.add(nr);
        return;
      }
      if (need.acceptOtherExternalPort === false && settled.port !== wish) {
        const taken = settled.reasons[0]?.conflictsWith;
        leg.state = 'denied';
        leg.reasons = [checkExactExternalPort(wish, settled.port, false, taken) as Reason, ...settled.reasons, ...extraReasons];
        leg.changes = extraChanges;
        this.recheck.add(nr);
        return;
      }
      for (const r of settled.reasons) reasons.push(r);
      if (settled.port !== wish) changes.push({ field: 'externalPort', family: 'ipv4', wanted: wish, got: settled.port });
      externalPort = settled.port;
      if (settled.displace !== undefined) displaced = this.home.ports.get(HomeState.portKey(gw.facts.id, need.protocol, settled.port));
    }
    if (displaced) this.releaseGrant(displaced, true, reason('ipv4-external-port-exclusive', 'external-port-reassigned', { family: 'ipv4', conflictsWith: { kind: 'need', id: need.id } }));
    this.createGrant(leg, gw, address, externalPort, lease.terms, outcome.admit, pinholeKey);
    leg.state = 'granted';
    leg.reasons = reasons.length === 1 && reasons[0] === ADMITTED[family] ? ADMITTED_ONLY[family] : reasons;
    leg.changes = changes.length === 0 ? NONE : changes;
    if (displaced) this.relocate(displaced, need.id);
  }

  private portSet() {
    const t = this.home.network.ipv4OverIpv6;
    return t.mode === 'map-e' ? t.portSet : undefined;
  }

  private holderOf(gw: GatewayRecord, protocol: string): (port: number) => PortHolder | undefined {
    const ports = this.home.ports;
    const prefix = `${gw.facts.id}|${protocol}|`;
    return (port) => {
      const g = ports.get(prefix + port);
      if (g) return { kind: 'need', needId: g.needId, rank: g.rank };
      if (gw.routerHeld.size > 0 && gw.routerHeld.has(`${protocol}|${port}`)) return { kind: 'router' };
      return undefined;
    };
  }

  /** A grant lost its external port to a need that outranks it: give it another one. */
  private relocate(old: GrantRecord, winnerNeedId: string): void {
    const leg = old.owner;
    const nr = leg.need;
    const gw = this.home.gateways.get(old.gatewayId) as GatewayRecord;
    const wish = nr.need.externalPort || nr.need.internalPort;
    const port = findFreePort((old.externalPort ?? wish) + 1, this.portSet(), this.config.minExternalPort, this.holderOf(gw, old.protocol));
    const kept = leg.reasons.filter((r) => r.rule !== 'ipv4-external-port-exclusive');
    const keptChanges = leg.changes.filter((c) => c.field !== 'externalPort');
    this.out.touch(nr);
    if (port !== undefined && nr.need.acceptOtherExternalPort === false && port !== wish) {
      leg.state = 'denied';
      leg.reasons = [checkExactExternalPort(wish, port, false, { kind: 'need', id: winnerNeedId }) as Reason];
      leg.changes = [];
      this.recheck.add(nr);
      return;
    }
    if (port === undefined) {
      leg.state = 'denied';
      leg.reasons = [reason('ipv4-external-port-exclusive', 'external-ports-exhausted', { family: 'ipv4', conflictsWith: { kind: 'need', id: winnerNeedId } })];
      leg.changes = [];
      this.recheck.add(nr);
      return;
    }
    const why = reason('ipv4-external-port-exclusive', 'external-port-reassigned', {
      family: 'ipv4',
      conflictsWith: { kind: 'need', id: winnerNeedId },
      detail: `external port ${old.externalPort} went to ${winnerNeedId}, which outranks this need; moved to ${port}`,
    });
    const lease = leaseTerms(nr.need.leaseSeconds, nr.need.class, 'ipv4', this.config, this.now());
    this.createGrant(leg, gw, old.internalClient, port, lease.terms, why);
    leg.state = 'granted';
    leg.reasons = [...kept, why];
    leg.changes = [...keptChanges, ...(port !== wish ? [{ field: 'externalPort' as const, family: 'ipv4' as const, wanted: wish, got: port }] : [])];
  }

  private enqueue(leg: LegRecord, tbl: TableRecord, address: string, reasons: readonly Reason[]): void {
    leg.state = 'queued';
    leg.reasons = reasons;
    leg.queuedAddr = address;
    leg.queuedIn = tbl;
    tbl.queue.push(leg);
    this.home.queuedCount++;
  }

  /** Takes a grant's slot away; its leg waits in the queue. */
  evict(g: GrantRecord, why: Reason, emitDelete = true): void {
    const leg = g.owner;
    const gw = this.home.gateways.get(g.gatewayId) as GatewayRecord;
    this.releaseGrant(g, emitDelete, why, false);
    this.enqueue(leg, gw[g.table], g.internalClient, [why]);
    leg.changes = NONE;
    this.out.touch(leg.need);
  }

  // ---------------------------------------------------------------- grants

  createGrant(
    leg: LegRecord,
    gw: GatewayRecord,
    address: string,
    externalPort: number | undefined,
    terms: LeaseTerms,
    why: Reason,
    pinholeKey?: string,
  ): GrantRecord {
    const home = this.home;
    const nr = leg.need;
    const need = nr.need;
    const g: GrantRecord = {
      id: flat(`${need.id}#${leg.family}`),
      serial: ++home.grantSerial,
      needId: need.id,
      owner: leg,
      class: need.class,
      rank: nr.rank,
      gatewayId: gw.facts.id,
      table: tableOf(leg.family),
      family: leg.family,
      protocol: need.protocol,
      internalClient: address,
      internalPort: need.internalPort,
      externalPort,
      remoteHost: need.remoteHost,
      remotePort: need.remotePort,
      leaseSeconds: terms.leaseSeconds,
      leaseStartedAt: terms.leaseStartedAt,
      expiresAt: terms.expiresAt,
      renewAt: terms.renewAt,
      generation: ++home.generation,
      state: 'pending',
      uniqueId: undefined,
      renewals: 0,
      addKey: undefined,
      renewKey: undefined,
      live: true,
      indexKey: flat(
        externalPort !== undefined
          ? HomeState.portKey(gw.facts.id, need.protocol, externalPort)
          : (pinholeKey ?? HomeState.pinholeKey(gw.facts.id, need.protocol, address, need.internalPort, need.remoteHost, need.remotePort)),
      ),
      tablePos: -1,
      renewPos: -1,
    };
    leg.lastGeneration = g.generation;
    leg.grant = g;
    gw[g.table].grants.push(g);
    if (externalPort !== undefined) home.ports.set(g.indexKey, g);
    if (g.table === 'pinhole') home.pinholes.set(g.indexKey, g);
    this.leases.track(g);
    home.grantCount++;
    home.pendingCount++;
    this.emitAdd(g, why);
    return g;
  }

  /** Emits an add for the grant's current generation and indexes its key. */
  emitAdd(g: GrantRecord, why: Reason): void {
    const gw = this.home.gateways.get(g.gatewayId) as GatewayRecord;
    const routerLease = g.table === 'port-mapping' && gw.facts.permanentLeasesOnly ? 0 : g.leaseSeconds;
    if (g.addKey !== undefined) this.home.grantsByKey.delete(g.addKey);
    if (g.renewKey !== undefined) this.home.grantsByKey.delete(g.renewKey);
    g.renewKey = undefined;
    g.addKey = flat(this.out.action('add', g, why, routerLease));
    this.home.grantsByKey.set(g.addKey, g);
  }

  /** Emits a renewal for the grant's lease (already moved forward) and indexes its key. */
  emitRenew(g: GrantRecord, why: Reason): void {
    const gw = this.home.gateways.get(g.gatewayId) as GatewayRecord;
    if (g.table === 'port-mapping' && gw.facts.permanentLeasesOnly) return;
    if (g.renewKey !== undefined) this.home.grantsByKey.delete(g.renewKey);
    g.renewKey = flat(this.out.action('renew', g, why, g.leaseSeconds));
    this.home.grantsByKey.set(g.renewKey, g);
  }

  /**
   * Forgets a grant: out of its table, port and renewal indexes; a delete
   * action when it may exist on the router. `freesSlot` lets queued legs in.
   */
  releaseGrant(g: GrantRecord, emitDelete: boolean, why: Reason, freesSlot = true): void {
    if (!g.live) return;
    const home = this.home;
    g.live = false;
    const gw = home.gateways.get(g.gatewayId) as GatewayRecord;
    const tbl = gw[g.table];
    tbl.grants.remove(g);
    if (g.state === 'active') tbl.active--;
    if (freesSlot && tbl.queue.size > 0) this.freed.add(tbl);
    if (g.externalPort !== undefined) {
      const key = g.indexKey;
      if (home.ports.get(key) === g) home.ports.delete(key);
    }
    if (g.table === 'pinhole') {
      const key = g.indexKey;
      if (home.pinholes.get(key) === g) home.pinholes.delete(key);
      const sharers = home.pinholeSharers.size > 0 ? home.pinholeSharers.get(key) : undefined;
      if (sharers) for (const leg of sharers) this.resettle.add(leg.need);
    }
    this.leases.untrack(g);
    if (g.addKey !== undefined) home.grantsByKey.delete(g.addKey);
    if (g.renewKey !== undefined) home.grantsByKey.delete(g.renewKey);
    home.grantCount--;
    if (g.state === 'pending') home.pendingCount--;
    if (emitDelete) this.out.action('delete', g, why, 0);
    if (g.owner.grant === g) g.owner.grant = undefined;
    this.out.touch(g.owner.need);
  }

  /** Marks that a need may have lost its last live leg (checked at the end of the step). */
  markRecheck(nr: NeedRecord): void {
    this.recheck.add(nr);
  }

  /** Lets queued legs of a table in if slots are free (e.g. capacity raised). */
  markFreed(tbl: TableRecord): void {
    if (tbl.queue.size > 0) this.freed.add(tbl);
  }
}
