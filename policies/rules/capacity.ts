import { Rank, outranks } from '../model/rank';
import { Reason, reason } from '../model/reason';
import { Table } from '../model/gateway';

/** What the capacity rule needs to know about one gateway table. */
export interface TableView {
  readonly gatewayId: string;
  readonly table: Table;
  readonly used: number;
  /** Configured or learned size; Infinity when unknown. */
  readonly capacity: number;
  /** The lowest-ranked grant in the table, if any. */
  readonly weakest?: { readonly needId: string; readonly rank: Rank };
}

export type CapacityOutcome =
  | { readonly admit: Reason }
  /** Admit by evicting `victim`, which is queued with `victimReason`. */
  | { readonly admit: Reason; readonly victim: string; readonly victimReason: Reason }
  | { readonly queue: Reason };

/**
 * Rule 5, capacity: a gateway's table (configured, or learned from 701/728) is
 * never exceeded. When it is full, a need that outranks the weakest grant in
 * the table pre-empts it (the victim is queued, naming the winner); otherwise
 * the need is queued, naming the gateway.
 */
export const ADMITTED = {
  ipv4: Object.freeze(reason('capacity', 'admitted', { family: 'ipv4' })),
  ipv6: Object.freeze(reason('capacity', 'admitted', { family: 'ipv6' })),
};

const ADMIT_V4: CapacityOutcome = Object.freeze({ admit: ADMITTED.ipv4 });
const ADMIT_V6: CapacityOutcome = Object.freeze({ admit: ADMITTED.ipv6 });

export function admitToTable(view: TableView, claimant: Rank, claimantNeedId: string, family: 'ipv4' | 'ipv6'): CapacityOutcome {
  if (view.used < view.capacity) return family === 'ipv4' ? ADMIT_V4 : ADMIT_V6;
  const gateway = { kind: 'gateway' as const, id: view.gatewayId };
  const weakest = view.weakest;
  if (weakest && outranks(claimant, weakest.rank)) {
    return {
      admit: reason('capacity', 'preempted-lower-class', {
        family,
        conflictsWith: { kind: 'need', id: weakest.needId },
        detail: `${view.table} table of ${view.gatewayId} full (${view.capacity}); took the slot of ${weakest.needId}`,
      }),
      victim: weakest.needId,
      victimReason: reason('capacity', 'preempted', {
        family,
        conflictsWith: { kind: 'need', id: claimantNeedId },
        detail: `${view.table} table of ${view.gatewayId} full (${view.capacity}); pre-empted by ${claimantNeedId}`,
      }),
    };
  }
  return {
    queue: reason('capacity', 'capacity-full', {
      family,
      conflictsWith: gateway,
      detail: `${view.table} table of ${view.gatewayId} full (${view.capacity})`,
    }),
  };
}
