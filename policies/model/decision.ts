import { Family } from './address';
import { Table } from './gateway';
import { Protocol } from './need';
import { Reason } from './reason';
import { EventType } from './event';

/**
 * The verdict on a need. `withdrawn` is the verdict for a need that ended (its
 * session ended, its device left, its address went away): its grants are gone.
 */
export type Verdict = 'granted' | 'granted-with-changes' | 'queued' | 'denied' | 'ineffective' | 'withdrawn';

/** What a `granted-with-changes` changed relative to the request. */
export interface Change {
  readonly field: 'externalPort' | 'leaseSeconds' | 'family' | 'internalClient';
  readonly family?: Family;
  readonly wanted: string | number;
  readonly got: string | number;
}

/** The grant as a decision reports it. */
export interface GrantView {
  readonly grantId: string;
  readonly gatewayId: string;
  readonly table: Table;
  readonly family: Family;
  readonly protocol: Protocol;
  readonly internalClient: string;
  readonly internalPort: number;
  readonly externalPort?: number;
  readonly leaseSeconds: number;
  readonly expiresAt: number;
  readonly renewAt: number;
  readonly generation: number;
}

/** A decision about one need, emitted whenever its verdict or grants change. */
export interface Decision {
  readonly type: 'decision';
  /** Shared sequence with actions: total order of the engine's output. */
  readonly seq: number;
  /** Virtual time (scheduler.now()). */
  readonly at: number;
  /** The input event (or `lease-timer`) that caused it. */
  readonly cause: EventType | 'lease-timer';
  readonly needId: string;
  readonly deviceId: string;
  readonly verdict: Verdict;
  /** At least one; each names its rule; denials name the conflicting party. */
  readonly reasons: readonly Reason[];
  readonly changes: readonly Change[];
  readonly grants: readonly GrantView[];
}
