import type { Grant, GrantTarget } from '../../../policies/model/grant';
import type { NeedRequest } from '../../../policies/model/need';
import type { Verdict } from '../../../policies/model/decision';

/** A need as the journal keeps it. */
export interface JournalNeed {
  readonly id: string;
  readonly request: NeedRequest;
  readonly submittedAt: number;
  /** Set when the need ended (released, session over, device left). */
  readonly endedAt?: number;
  readonly endReason?: string;
}

/**
 * A grant the firewall holds (an applied add/renew), with its lease: the
 * engine's grant fields (times in the journal clock's ms) plus what the
 * journal learned applying it.
 */
export type JournalGrant = GrantTarget &
  Pick<Grant, 'id' | 'needId' | 'gatewayId' | 'leaseSeconds' | 'leaseStartedAt' | 'generation'> & {
    /** Absent for permanent grants (lease 0). */
    readonly expiresAt?: number;
    /** Router-side id (e.g. a pinhole UniqueID). */
    readonly routerId?: string;
    /** Firewall-side id (e.g. the nftables element id). */
    readonly firewallId?: string;
    /** The action key that last wrote it. */
    readonly actionKey: string;
  };

export type IntentState = 'pending' | 'applied' | 'failed' | 'replayed' | 'rolled-back';

/** A write-ahead record of one firewall change. */
export interface JournalIntent {
  readonly id: number;
  readonly key: string;
  readonly op: 'add' | 'renew' | 'delete';
  readonly grantId: string;
  readonly needId: string;
  readonly recordedAt: number;
  readonly state: IntentState;
  readonly settledAt?: number;
  readonly detail?: string;
}

/** A decision as appended to the journal. */
export interface JournalDecision {
  /** The journal's own, gap-free-per-file sequence. */
  readonly seq: number;
  readonly engineSeq: number;
  readonly at: number;
  readonly needId: string;
  readonly verdict: Verdict;
  /** The decision as the engine emitted it. */
  readonly body: unknown;
}

/** What {@link Journal.recover} did, and the state to restart from. */
export interface Recovery {
  /** Pending add/renew intents whose need is live: their grant now exists (lease from the intent's time, never longer). */
  readonly replayed: readonly string[];
  /** Pending add/renew intents whose need had ended: dropped. */
  readonly rolledBack: readonly string[];
  /** Grants whose lease was over: removed. */
  readonly expired: readonly string[];
  /** Grants whose need had ended or is unknown: removed. */
  readonly orphaned: readonly string[];
  /** Live needs, to re-seed the engine (oldest first). */
  readonly needs: readonly JournalNeed[];
  /** Grants that should be in the firewall now. */
  readonly grants: readonly JournalGrant[];
  /** Last decision seq (0 when none). */
  readonly lastDecisionSeq: number;
}
