import { PortSet, nextPortInSet, portInSet } from '../model/port-set';
import { Rank, outranks } from '../model/rank';
import { Reason, reason } from '../model/reason';

/** Who holds an external port on a gateway+protocol: one of our needs, or the router itself (718). */
export type PortHolder = { readonly kind: 'need'; readonly needId: string; readonly rank: Rank } | { readonly kind: 'router' };

export interface PortRequest {
  /** Wished external port (already defaulted to the internal port). */
  readonly wish: number;
  readonly claimant: Rank;
  readonly gatewayId: string;
  /** MAP-E port set, when the WAN is MAP-E. */
  readonly portSet?: PortSet;
  /** Lowest substitute port (default 1024). */
  readonly minPort: number;
  /** Where to start looking for a substitute (a hint; defaults to wish + 1). */
  readonly probeFrom?: number;
  readonly holderOf: (port: number) => PortHolder | undefined;
}

export type PortSettlement =
  /** Take `port`; when `displace` is set, that need holds it now and must move to another port. */
  | { readonly port: number; readonly reasons: Reason[]; readonly displace?: string }
  | { readonly exhausted: Reason };

/**
 * The first free port at or after `start` in the set (wrapping once to
 * `minPort`), or `undefined` when every port is held.
 */
export function findFreePort(
  start: number,
  portSet: PortSet | undefined,
  minPort: number,
  holderOf: (port: number) => PortHolder | undefined,
): number | undefined {
  let wrapped = false;
  let port = nextPortInSet(Math.max(start, minPort), portSet, minPort);
  for (let guard = 0; guard <= 65536; guard++) {
    if (port === undefined) {
      if (wrapped) return undefined;
      wrapped = true;
      port = nextPortInSet(minPort, portSet, minPort);
      if (port === undefined) return undefined;
    }
    if (wrapped && port >= start) return undefined;
    if (holderOf(port) === undefined) return port;
    port = nextPortInSet(port + 1, portSet, minPort);
  }
  return undefined;
}

function portsExhausted(gatewayId: string): PortSettlement {
  return {
    exhausted: reason('ipv4-external-port-exclusive', 'external-ports-exhausted', {
      family: 'ipv4',
      conflictsWith: { kind: 'gateway', id: gatewayId },
      detail: 'no free external port on this gateway and protocol',
    }),
  };
}

/**
 * Rule 4, IPv4 external ports are exclusive per gateway and protocol. Two
 * consoles wanting UDP 3074 are a real conflict: the one that outranks the
 * other (class, priority, then age) gets it, the other gets another external
 * port (granted-with-changes), never a silent overwrite. Under MAP-E only ports
 * inside the subscriber's port set are used.
 */
export function settleExternalPort(req: PortRequest): PortSettlement {
  const reasons: Reason[] = [];
  if (!portInSet(req.wish, req.portSet)) {
    const port = findFreePort(req.wish, req.portSet, req.minPort, req.holderOf);
    if (port === undefined) return portsExhausted(req.gatewayId);
    reasons.push(
      reason('ipv4-external-port-exclusive', 'outside-map-e-port-set', {
        family: 'ipv4',
        conflictsWith: { kind: 'network', id: 'map-e-port-set' },
        detail: `external port ${req.wish} is outside the MAP-E port set; using ${port}`,
      }),
    );
    return { port, reasons };
  }
  const holder = req.holderOf(req.wish);
  if (holder === undefined) return { port: req.wish, reasons };
  if (holder.kind === 'need' && outranks(req.claimant, holder.rank)) {
    return { port: req.wish, reasons, displace: holder.needId };
  }
  const port = findFreePort(req.probeFrom ?? req.wish + 1, req.portSet, req.minPort, req.holderOf);
  if (port === undefined) return portsExhausted(req.gatewayId);
  reasons.push(
    holder.kind === 'router'
      ? reason('ipv4-external-port-exclusive', 'external-port-held-by-router', {
          family: 'ipv4',
          conflictsWith: { kind: 'gateway', id: req.gatewayId },
          detail: `the router holds external port ${req.wish} for another client (718); using ${port}`,
        })
      : reason('ipv4-external-port-exclusive', 'external-port-in-use', {
          family: 'ipv4',
          conflictsWith: { kind: 'need', id: holder.needId },
          detail: `external port ${req.wish} is held by ${holder.needId}; using ${port}`,
        }),
  );
  return { port, reasons };
}
