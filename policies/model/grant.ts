import { Family } from './address';
import { Table } from './gateway';
import { NeedClass, Protocol } from './need';

/**
 * A pinhole or port mapping the engine wants to exist on a gateway. Owned by
 * exactly one live need (one grant per need and family).
 */
export interface Grant {
  /** `<needId>#<family>`. */
  readonly id: string;
  readonly needId: string;
  readonly class: NeedClass;
  readonly gatewayId: string;
  readonly table: Table;
  readonly family: Family;
  readonly protocol: Protocol;
  readonly internalClient: string;
  readonly internalPort: number;
  /** IPv4 only. */
  readonly externalPort?: number;
  readonly remoteHost: string;
  readonly remotePort: number;
  readonly leaseSeconds: number;
  /** When the current lease started (virtual ms). */
  readonly leaseStartedAt: number;
  readonly expiresAt: number;
  /** Always before leaseStartedAt + lease/2. */
  readonly renewAt: number;
  /** Bumped on every re-add (address move, router reboot, lost entry). */
  readonly generation: number;
  /** `pending` until the adapter reports success for the current add. */
  readonly state: 'pending' | 'active';
  /** Router-assigned UniqueID of a pinhole. */
  readonly uniqueId?: number;
}

/** What a grant opens on the router: the part of a {@link Grant} a firewall or a journal needs to recreate it. */
export type GrantTarget = Pick<Grant, 'table' | 'family' | 'protocol' | 'internalClient' | 'internalPort' | 'externalPort' | 'remoteHost' | 'remotePort'>;
