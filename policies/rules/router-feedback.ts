import { ActionOp } from '../model/action';
import { Gateway, Table } from '../model/gateway';
import { Reason, reason } from '../model/reason';

const gw = (id: string) => ({ kind: 'gateway' as const, id });

export const PINHOLE_SETTING =
  "enable inbound IPv6 pinholes (UPnP IGD:2 'WANIPv6FirewallControl' / 'allow UPnP to open IPv6 ports') in the router's firewall settings";

/** Whether a gateway can take a grant in the table right now. */
export type GatewayGate =
  | { readonly ok: true }
  | { readonly queue: Reason }
  | { readonly deny: Reason }
  /** The firewall is off: no pinhole is needed, the host is reachable already. */
  | { readonly notNeeded: Reason };

/**
 * Rule 9 (gateway side): what the router's known facts allow. No gateway yet
 * queues; missing services, grade C/D and a firewall that refuses inbound
 * pinholes deny (naming the setting to change); a disabled firewall needs no
 * pinhole.
 */
const OPEN: GatewayGate = Object.freeze({ ok: true as const });

export function gatewayGate(gateway: Gateway | undefined, table: Table): GatewayGate {
  const family = table === 'pinhole' ? 'ipv6' : 'ipv4';
  if (!gateway) {
    return { queue: reason('router-feedback', 'no-gateway', { family, conflictsWith: { kind: 'network', id: 'gateway' }, detail: 'no UPnP/PCP gateway known yet' }) };
  }
  if (gateway.grade === 'D') {
    return { deny: reason('router-feedback', table === 'pinhole' ? 'pinholes-unsupported' : 'port-mappings-unsupported', { family, conflictsWith: gw(gateway.id), detail: 'grade D: the router does not answer discovery' }) };
  }
  if (table === 'pinhole') {
    if (!gateway.pinholes) {
      return { deny: reason('router-feedback', 'pinholes-unsupported', { family, conflictsWith: gw(gateway.id), detail: 'the gateway has no WANIPv6FirewallControl (not IGD:2)' }) };
    }
    if (!gateway.firewallEnabled) {
      return { notNeeded: reason('router-feedback', 'firewall-disabled', { family, detail: 'the IPv6 firewall is disabled: no pinhole is needed' }) };
    }
    if (!gateway.inboundPinholeAllowed || gateway.grade === 'C') {
      return {
        deny: reason('router-feedback', 'inbound-pinhole-not-allowed', {
          family,
          conflictsWith: gw(gateway.id),
          faultCode: 703,
          detail: `grade ${gateway.grade === 'C' ? 'C' : 'B'}: ${PINHOLE_SETTING}`,
        }),
      };
    }
    return OPEN;
  }
  if (!gateway.portMappings) {
    return { deny: reason('router-feedback', 'port-mappings-unsupported', { family, conflictsWith: gw(gateway.id), detail: 'the gateway has no WANIPConnection' }) };
  }
  return OPEN;
}

/** What to do about a fault the router returned for an action. */
export type FaultOutcome =
  /** Refuse the leg (sticky until the need is submitted again); `gatewayPatch` records what the fault taught. */
  | { readonly kind: 'deny'; readonly reason: Reason; readonly gatewayPatch?: Partial<Gateway> }
  /** 702: the firewall is off, no pinhole needed. */
  | { readonly kind: 'not-needed'; readonly reason: Reason }
  /** 701/728: the table is full; learn its size, queue the leg. */
  | { readonly kind: 'capacity'; readonly reason: Reason }
  /** 704/402 on renewal: the router lost its state (likely rebooted); re-add every active grant. */
  | { readonly kind: 'reconcile'; readonly reason: Reason }
  /** 718: someone else holds the external port on the router; pick another. */
  | { readonly kind: 'move-port'; readonly port: number }
  /** 725: the router only takes lease 0; re-add as permanent and delete it ourselves. */
  | { readonly kind: 'permanent-only'; readonly reason: Reason }
  /** Faults on delete: the entry is gone either way. */
  | { readonly kind: 'ignore' };

/**
 * Rule 9, router feedback: maps a UPnP fault code to what the engine does.
 * 606/703 deny (703 teaches grade B and names the setting), 701/728 teach the
 * capacity, 704/402 on renewal trigger reconciliation, 718 moves the external
 * port, 725 switches to permanent mappings, 702 means no pinhole is needed.
 */
export function interpretFault(code: number, op: ActionOp, table: Table, gatewayId: string, externalPort?: number, routerSaid?: string): FaultOutcome {
  const family = table === 'pinhole' ? 'ipv6' : 'ipv4';
  const party = gw(gatewayId);
  if (op === 'delete') return { kind: 'ignore' };
  switch (code) {
    case 606:
      return {
        kind: 'deny',
        reason: reason('router-feedback', 'router-not-authorized', {
          family,
          conflictsWith: party,
          faultCode: 606,
          detail: 'the router refused: the request must come from the InternalClient address, with an internal port >= 1024',
        }),
      };
    case 703:
      return {
        kind: 'deny',
        reason: reason('router-feedback', 'inbound-pinhole-not-allowed', { family, conflictsWith: party, faultCode: 703, detail: `grade B: ${PINHOLE_SETTING}` }),
        gatewayPatch: { inboundPinholeAllowed: false, grade: 'B' },
      };
    case 702:
      return { kind: 'not-needed', reason: reason('router-feedback', 'firewall-disabled', { family, faultCode: 702, detail: 'the IPv6 firewall is disabled: no pinhole is needed' }) };
    case 701:
    case 728:
      return {
        kind: 'capacity',
        reason: reason('router-feedback', 'router-capacity-exhausted', {
          family,
          conflictsWith: party,
          faultCode: code,
          detail: `${table} table full (${code}); queued until a slot frees, never retried in a loop`,
        }),
      };
    case 704:
    case 402:
      if (op === 'renew') {
        return { kind: 'reconcile', reason: reason('router-feedback', 'router-lost-entry', { family, faultCode: code, detail: `${code} on renewal: the router lost its entries (reboot?); re-adding every active grant` }) };
      }
      break;
    case 718:
      if (table === 'port-mapping' && externalPort !== undefined) return { kind: 'move-port', port: externalPort };
      break;
    case 725:
      if (table === 'port-mapping') {
        return { kind: 'permanent-only', reason: reason('router-feedback', 'permanent-lease-only', { family, faultCode: 725, detail: 'the router only accepts permanent mappings: lease 0, deleted by us when the lease ends' }) };
      }
      break;
    default:
      break;
  }
  return {
    kind: 'deny',
    reason: reason('router-feedback', 'router-rejected', { family, conflictsWith: party, faultCode: code, detail: `the router answered ${code} to ${op}${routerSaid ? `: ${routerSaid.slice(0, 200)}` : ''}` }),
  };
}
