/**
 * What the gateway daemon needs from its journal: the needs it holds (with
 * the deadline its client was promised and the UPnP UniqueID it was given),
 * written **before** the engine decides and the firewall changes, and the
 * decisions taken, for the admin API and the audit trail.
 *
 * The SQLite journal (`plugin/gateway/journal/`) is adapted to this port by
 * `sqlite-gateway-journal.ts`; {@link MemoryGatewayJournal} keeps everything in
 * memory (tests, `journal.path: null`).
 *
 * @example
 * ```ts
 * import { MemoryGatewayJournal } from './gateway-journal';
 * const journal = new MemoryGatewayJournal();
 * journal.putNeed({ id: 'n1', source: 'admin', request, deadline: Date.now() + 60_000, createdAt: Date.now() });
 * journal.liveNeeds(Date.now()).length; // 1
 * ```
 */
import { Action } from '../../policies/model/action';
import { Decision } from '../../policies/model/decision';
import { NeedRequest } from '../../policies/model/need';

/** Where a need came from. */
export type NeedSource = 'upnp' | 'admin' | 'pcp' | 'coordination';

/** One need as the journal keeps it. */
export interface JournaledNeed {
  readonly id: string;
  readonly source: NeedSource;
  /** The request as submitted to the engine. */
  readonly request: NeedRequest;
  /** Wall-clock ms when the client's lease ends; the kernel never holds its entries longer. */
  readonly deadline: number;
  /** UPnP UniqueID of a pinhole (given back to the client). */
  readonly uniqueId?: number;
  /** UPnP NewPortMappingDescription, admin note. */
  readonly description?: string;
  readonly createdAt: number;
}

/** Why a need ended. */
export type NeedEndCause = 'deleted' | 'expired' | 'refused' | 'replaced';

export interface GatewayJournal {
  /** Needs whose deadline is after `now`, in the order they were first written. */
  liveNeeds(now: number): JournaledNeed[];
  /** Inserts or replaces a need (a renewal replaces it with a later deadline). Durable on return. */
  putNeed(need: JournaledNeed): void;
  /** Marks a need ended. Durable on return. Unknown ids are ignored. */
  endNeed(id: string, at: number, cause: NeedEndCause): void;
  /** Appends a decision (may be buffered: decisions are history, not state). */
  recordDecision(decision: Decision): void;
  /** The most recent decisions, newest last. */
  recentDecisions(limit: number): Decision[];
  /** The highest pinhole UniqueID ever handed out (0 when none), so ids are never reused across restarts. */
  maxUniqueId(): number;
  /** Optional write-ahead log of firewall changes: recorded before the kernel is touched... */
  recordIntents?(actions: readonly Action[]): void;
  /** ...and settled after. */
  markApplied?(keys: readonly string[]): void;
  markFailed?(key: string, detail: string): void;
  /** Optional: applies the journal's retention now (the daemon calls it on a timer). Never removes live needs or pending intents. */
  prune?(): unknown;
  close(): void;
}

/** A journal held in memory: nothing survives the process. */
export class MemoryGatewayJournal implements GatewayJournal {
  private readonly needs = new Map<string, JournaledNeed>();
  private readonly decisions: Decision[] = [];
  private highestUniqueId = 0;
  closed = false;

  constructor(private readonly decisionsKept = 10_000) {}

  liveNeeds(now: number): JournaledNeed[] {
    return [...this.needs.values()].filter((n) => n.deadline > now);
  }

  putNeed(need: JournaledNeed): void {
    this.assertOpen();
    // Re-inserting keeps the Map's first-insertion order: the order needs were first written.
    this.needs.set(need.id, need);
    if (need.uniqueId !== undefined && need.uniqueId > this.highestUniqueId) this.highestUniqueId = need.uniqueId;
  }

  endNeed(id: string): void {
    this.assertOpen();
    this.needs.delete(id);
  }

  recordDecision(decision: Decision): void {
    this.assertOpen();
    this.decisions.push(decision);
    if (this.decisions.length > this.decisionsKept * 2) this.decisions.splice(0, this.decisions.length - this.decisionsKept);
  }

  recentDecisions(limit: number): Decision[] {
    return this.decisions.slice(-limit);
  }

  maxUniqueId(): number {
    return this.highestUniqueId;
  }

  close(): void {
    this.closed = true;
  }

  private assertOpen(): void {
    if (this.closed) throw new Error('the journal is closed');
  }
}
