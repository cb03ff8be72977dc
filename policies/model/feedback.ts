import { Table } from './gateway';

/** The adapter applied an action. */
export interface ActionSucceeded {
  type: 'action-succeeded';
  /** The action's idempotency key. */
  key: string;
  /** Router-assigned pinhole UniqueID (AddPinhole). */
  uniqueId?: number;
  /** External port the router chose (AddAnyPortMapping), when it differs. */
  externalPort?: number;
}

/** The router answered an action with a UPnP (or PCP) fault. */
export interface ActionFailed {
  type: 'action-failed';
  key: string;
  /** UPnP errorCode (e.g. 606, 701, 703, 704, 718, 725) or PCP result code. */
  code: number;
  source?: 'upnp' | 'pcp';
  description?: string;
}

/** The adapter noticed the gateway rebooted (BOOTID.UPNP.ORG changed, or it said so). */
export interface GatewayRebooted {
  type: 'gateway-rebooted';
  gatewayId: string;
  bootId?: string;
}

/** The adapter learned the table is full (outside a particular action). */
export interface CapacityExhausted {
  type: 'capacity-exhausted';
  gatewayId: string;
  table: Table;
  /** Entries the router holds when full, if known. */
  capacity?: number;
}

export type Feedback = ActionSucceeded | ActionFailed | GatewayRebooted | CapacityExhausted;
