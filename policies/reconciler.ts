/**
 * Reconciliation: brings the engine's desired state back onto a router that
 * lost it, and applies what adapters report about actions. A router reboot
 * (changed boot id, `gateway-rebooted`, or 704/402 on a renewal) re-adds every
 * active grant on that gateway with a new generation, so the router converges
 * to the same desired state; faults are interpreted by the router-feedback
 * rule.
 */
import { capacityOf, Table } from './model/gateway';
import { ActionFailed, ActionSucceeded, CapacityExhausted } from './model/feedback';
import { Reason, reason } from './model/reason';
import { interpretFault } from './rules/router-feedback';
import { leaseTerms } from './rules/lease-policy';
import { LeaseScheduler } from './lease-scheduler';
import { OutputBuffer } from './output';
import { Settlement } from './settlement';
import { GatewayRecord, GrantRecord, HomeState } from './state';
import { PolicyConfig } from './model/config';

export class Reconciler {
  constructor(
    private readonly home: HomeState,
    private readonly settlement: Settlement,
    private readonly out: OutputBuffer,
    private readonly leases: LeaseScheduler,
    private readonly config: PolicyConfig,
    private readonly now: () => number,
  ) {}

  /** Re-adds every grant on the gateway (new generation, fresh lease), oldest need first. */
  reconcileGateway(gw: GatewayRecord, why: Reason): void {
    gw.routerHeld.clear();
    const grants = [...gw.pinhole.grants.values(), ...gw['port-mapping'].grants.values()];
    grants.sort((a, b) => a.rank.order - b.rank.order || (a.family === b.family ? 0 : a.family === 'ipv6' ? -1 : 1));
    const now = this.now();
    for (const g of grants) {
      if (g.state === 'active') {
        gw[g.table].active--;
        this.home.pendingCount++;
      }
      g.state = 'pending';
      g.uniqueId = undefined;
      g.generation = ++this.home.generation;
      g.owner.lastGeneration = g.generation;
      g.renewals = 0;
      const terms = leaseTerms(g.leaseSeconds, g.class, g.family, this.config, now).terms;
      g.leaseStartedAt = terms.leaseStartedAt;
      g.expiresAt = terms.expiresAt;
      g.renewAt = terms.renewAt;
      this.leases.track(g);
      this.settlement.emitAdd(g, why);
    }
  }

  /** Renews every grant whose renewal time has come (lease timer). */
  renewDue(now: number): void {
    for (const g of this.leases.takeDue(now)) {
      g.renewals++;
      g.leaseStartedAt = now;
      g.expiresAt = now + g.leaseSeconds * 1000;
      const terms = leaseTerms(g.leaseSeconds, g.class, g.family, this.config, now).terms;
      g.renewAt = terms.renewAt;
      this.leases.track(g);
      this.settlement.emitRenew(g, reason('lease-policy', 'renewal-due', { family: g.family }));
    }
  }

  succeeded(ev: ActionSucceeded): void {
    const g = this.home.grantsByKey.get(ev.key);
    if (!g || !g.live) return;
    this.home.grantsByKey.delete(ev.key);
    if (ev.key === g.addKey) {
      g.addKey = undefined;
      if (g.state === 'pending') {
        g.state = 'active';
        this.home.pendingCount--;
        (this.home.gateways.get(g.gatewayId) as GatewayRecord)[g.table].active++;
      }
      if (ev.uniqueId !== undefined) g.uniqueId = ev.uniqueId;
      if (ev.externalPort !== undefined && g.externalPort !== undefined && ev.externalPort !== g.externalPort) {
        this.routerChosePort(g, ev.externalPort);
      }
    } else if (ev.key === g.renewKey) {
      g.renewKey = undefined;
    }
  }

  /** AddAnyPortMapping: the router picked another external port than we asked for. */
  private routerChosePort(g: GrantRecord, port: number): void {
    const ports = this.home.ports;
    const newKey = HomeState.portKey(g.gatewayId, g.protocol, port);
    if (ports.has(newKey)) return; // one of ours holds it: keep our record, the next renewal corrects the router
    if (ports.get(g.indexKey) === g) ports.delete(g.indexKey);
    ports.set(newKey, g);
    g.externalPort = port;
    g.indexKey = newKey;
    const leg = g.owner;
    const wish = leg.need.need.externalPort || leg.need.need.internalPort;
    leg.changes = [...leg.changes.filter((c) => c.field !== 'externalPort'), ...(port !== wish ? [{ field: 'externalPort' as const, family: 'ipv4' as const, wanted: wish, got: port }] : [])];
    leg.reasons = [
      ...leg.reasons.filter((r) => r.rule !== 'ipv4-external-port-exclusive'),
      reason('ipv4-external-port-exclusive', 'router-assigned-external-port', { family: 'ipv4', detail: `the router assigned external port ${port}` }),
    ];
    this.out.touch(leg.need);
  }

  failed(ev: ActionFailed): void {
    const home = this.home;
    const g = home.grantsByKey.get(ev.key);
    if (!g || !g.live) return;
    const op = ev.key === g.addKey ? 'add' : 'renew';
    home.grantsByKey.delete(ev.key);
    if (op === 'add') g.addKey = undefined;
    else g.renewKey = undefined;
    const gw = home.gateways.get(g.gatewayId) as GatewayRecord;
    // The router's own words (a homenet gateway names its rule and the device) go into the refusal's detail.
    const outcome = interpretFault(ev.code, op, g.table, g.gatewayId, g.externalPort, ev.description);
    const leg = g.owner;
    const nr = leg.need;
    switch (outcome.kind) {
      case 'ignore':
        return;
      case 'deny': {
        this.settlement.releaseGrant(g, op === 'renew', outcome.reason);
        leg.sticky = outcome.reason;
        leg.state = 'denied';
        leg.reasons = [outcome.reason];
        leg.changes = [];
        this.settlement.markRecheck(nr);
        if (outcome.gatewayPatch) {
          Object.assign(gw.facts, outcome.gatewayPatch);
          this.resettleTable(gw, g.table);
        }
        return;
      }
      case 'not-needed':
        gw.facts.firewallEnabled = false;
        this.settlement.releaseGrant(g, false, outcome.reason);
        leg.state = 'none';
        this.settlement.settle(nr);
        this.resettleTable(gw, g.table);
        return;
      case 'capacity':
        this.learnCapacity(gw, g.table, gw[g.table].active, outcome.reason, g);
        return;
      case 'reconcile':
        this.reconcileGateway(gw, outcome.reason);
        return;
      case 'move-port':
        gw.routerHeld.add(`${g.protocol}|${outcome.port}`);
        this.settlement.releaseGrant(g, false, reason('ipv4-external-port-exclusive', 'external-port-held-by-router', { family: 'ipv4' }));
        leg.state = 'none';
        this.settlement.settle(nr);
        return;
      case 'permanent-only':
        gw.facts.permanentLeasesOnly = true;
        g.generation = ++home.generation;
        leg.lastGeneration = g.generation;
        this.settlement.emitAdd(g, outcome.reason);
        if (!leg.reasons.some((r) => r.code === 'permanent-lease-only')) leg.reasons = [...leg.reasons, outcome.reason];
        this.out.touch(nr);
        return;
    }
  }

  capacityExhausted(ev: CapacityExhausted): void {
    const gw = this.home.gateways.get(ev.gatewayId);
    if (!gw) return;
    const why = reason('router-feedback', 'router-capacity-exhausted', {
      family: ev.table === 'pinhole' ? 'ipv6' : 'ipv4',
      conflictsWith: { kind: 'gateway', id: ev.gatewayId },
      detail: `${ev.table} table full`,
    });
    this.learnCapacity(gw, ev.table, ev.capacity ?? gw[ev.table].active, why);
  }

  /**
   * The router's table is full at `size` entries: remember that (never lower
   * than what it already confirmed), queue the failed grant without retrying
   * it, and evict the weakest grants until the table fits.
   */
  private learnCapacity(gw: GatewayRecord, table: Table, size: number, why: Reason, failed?: GrantRecord): void {
    const key = table === 'pinhole' ? 'learnedPinholeCapacity' : 'learnedPortMappingCapacity';
    const previous = gw.facts[key];
    gw.facts[key] = Math.max(size, previous ?? 0);
    if (failed) this.settlement.evict(failed, why, false);
    const tbl = gw[table];
    const cap = capacityOf(gw.facts, table);
    while (tbl.grants.size > cap) {
      const weakest = tbl.grants.peek() as GrantRecord;
      this.settlement.evict(weakest, why);
    }
  }

  /** Re-settles every need holding or waiting for a slot in the table (gateway facts changed). */
  resettleTable(gw: GatewayRecord, table: Table): void {
    const tbl = gw[table];
    const needs = new Set([...tbl.grants.values()].map((g) => g.owner.need));
    for (const leg of tbl.queue.values()) needs.add(leg.need);
    const ordered = [...needs].sort((a, b) => a.need.order - b.need.order);
    for (const nr of ordered) this.settlement.settle(nr);
  }
}
