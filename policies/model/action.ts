import { Family } from './address';
import { Table } from './gateway';
import { Protocol } from './need';
import { Reason } from './reason';

export type ActionOp = 'add' | 'renew' | 'delete';

/**
 * An instruction for an adapter. `add` = AddPinhole / AddPortMapping, `renew`
 * = UpdatePinhole (or AddPinhole again when the UniqueID is not known) /
 * AddPortMapping again, `delete` = DeletePinhole / DeletePortMapping.
 * Applying the same `key` twice must have the effect of applying it once.
 */
export interface Action {
  readonly type: 'action';
  readonly seq: number;
  readonly at: number;
  readonly op: ActionOp;
  readonly table: Table;
  /** `op|gateway|family|protocol|internalClient|internalPort|externalPort|g<generation>[|r<renewal>]`. */
  readonly key: string;
  readonly gatewayId: string;
  readonly grantId: string;
  readonly needId: string;
  readonly generation: number;
  readonly family: Family;
  readonly protocol: Protocol;
  readonly internalClient: string;
  readonly internalPort: number;
  readonly externalPort?: number;
  readonly remoteHost: string;
  readonly remotePort: number;
  /** Lease to send to the router: 1..86400, or 0 when the router only takes permanent mappings (725). */
  readonly leaseSeconds: number;
  /** Known router UniqueID (pinholes), for renew/delete. */
  readonly uniqueId?: number;
  /** Why: the rule and reason code behind this action. */
  readonly reason: Reason;
}

/** The deterministic idempotency key of an action. */
export function actionKey(
  op: ActionOp,
  g: {
    gatewayId: string;
    family: Family;
    protocol: Protocol;
    internalClient: string;
    internalPort: number;
    externalPort?: number;
    generation: number;
  },
  renewal?: number,
): string {
  // One join builds the key as a single flat string (a template literal would build it piece by piece).
  const parts = [op, g.gatewayId, g.family, g.protocol, g.internalClient, g.internalPort, g.externalPort ?? '-', 'g' + g.generation];
  if (renewal !== undefined) parts.push('r' + renewal);
  return parts.join('|');
}
