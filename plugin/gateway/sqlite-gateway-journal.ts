/**
 * The SQLite journal (`plugin/gateway/journal/`) as the daemon's
 * {@link GatewayJournal}. The daemon's own facts about a need (where it came
 * from, its client's deadline, its UPnP UniqueID, its description) travel in
 * the stored request under `homenetGateway`, and are stripped before the
 * request reaches the engine. Firewall changes are journaled as write-ahead
 * intents (recorded before `nft`, settled after), so the journal's own
 * recovery also knows which grants the kernel should hold.
 *
 * @example
 * ```ts
 * const journal = openSqliteGatewayJournal('/var/lib/homenet/gateway.db', log, Date.now);
 * journal.liveNeeds(Date.now()); // the needs to re-seed the engine with
 * ```
 *
 * With a retention (`journal.retentionSeconds`, `journal.maxBytes`) history
 * is pruned while running: after every few hundred writes by the journal
 * itself, and on the daemon's timer through {@link GatewayJournal.prune} —
 * both in bounded steps with the event loop served between them (a step
 * holds it a few ms, not the whole prune), decisions of the device holding
 * the most of them first.
 * The highest pinhole UniqueID is kept as a high-water mark, so pruning the
 * ended needs that carried it never lets an id be handed out twice.
 */
import type { Action } from '../../policies/model/action';
import type { Decision } from '../../policies/model/decision';
import type { NeedRequest } from '../../policies/model/need';
import { Journal, JournalOptions, JournalRetention, openJournal, PruneReport, Recovery } from './journal';
import { GatewayJournal, JournaledNeed, NeedSource } from './gateway-journal';
import { Logger } from './structured-log';

interface GatewayMeta {
  readonly source: NeedSource;
  readonly deadline: number;
  readonly uniqueId?: number;
  readonly description?: string;
  readonly createdAt: number;
}

type StoredRequest = NeedRequest & { homenetGateway?: GatewayMeta };

/** The port plus what the SQLite journal adds (write-ahead intents, its recovery report). */
export interface SqliteGatewayJournal extends GatewayJournal {
  readonly journal: Journal;
  /** What the journal's recovery did when it was opened. */
  readonly recovery: Recovery;
  /** Starts a background prune (bounded steps, the event loop served between them); resolves with its report, or undefined when it failed (logged). */
  prune(): Promise<PruneReport | undefined>;
}

/** Options of {@link openSqliteGatewayJournal} beyond the path. */
export interface SqliteGatewayJournalOptions {
  /** What history to keep; without it nothing is pruned. */
  readonly retention?: JournalRetention;
  /** Told each prune step's work and duration (see {@link JournalOptions.onPruneStep}). */
  readonly onPruneStep?: JournalOptions['onPruneStep'];
  /** How prune steps are deferred (see {@link JournalOptions.defer}). */
  readonly defer?: JournalOptions['defer'];
}

const UNIQUE_ID_MARK = 'pinhole-unique-id';

export function openSqliteGatewayJournal(path: string, log: Logger, clock: () => number = Date.now, options: SqliteGatewayJournalOptions = {}): SqliteGatewayJournal {
  const journal = openJournal({
    path,
    clock,
    ...(options.retention ? { retention: options.retention } : {}),
    ...(options.onPruneStep ? { onPruneStep: options.onPruneStep } : {}),
    ...(options.defer ? { defer: options.defer } : {}),
    onWarning: (message) => log.warn(message),
  });
  const recovery = journal.recover();
  log.info('journal opened', {
    path,
    needs: recovery.needs.length,
    grants: recovery.grants.length,
    replayed: recovery.replayed.length,
    rolledBack: recovery.rolledBack.length,
    expired: recovery.expired.length,
    orphaned: recovery.orphaned.length,
  });
  let highestUniqueId = journal.mark(UNIQUE_ID_MARK);
  for (const n of journal.needs({ includeEnded: true })) {
    const u = (n.request as StoredRequest).homenetGateway?.uniqueId;
    if (u !== undefined && u > highestUniqueId) highestUniqueId = u;
  }
  return {
    journal,
    recovery,
    liveNeeds(now) {
      const out: JournaledNeed[] = [];
      for (const n of journal.needs()) {
        const { homenetGateway: meta, ...request } = n.request as StoredRequest;
        if (!meta) {
          // Not written by the gateway daemon: it has no deadline we could honour.
          journal.endNeed(n.id, 'no gateway deadline');
          continue;
        }
        if (meta.deadline <= now) {
          journal.endNeed(n.id, 'expired');
          continue;
        }
        out.push({
          id: n.id,
          source: meta.source,
          request,
          deadline: meta.deadline,
          ...(meta.uniqueId !== undefined ? { uniqueId: meta.uniqueId } : {}),
          ...(meta.description !== undefined ? { description: meta.description } : {}),
          createdAt: meta.createdAt,
        });
      }
      return out;
    },
    putNeed(need) {
      const meta: GatewayMeta = {
        source: need.source,
        deadline: need.deadline,
        ...(need.uniqueId !== undefined ? { uniqueId: need.uniqueId } : {}),
        ...(need.description !== undefined ? { description: need.description } : {}),
        createdAt: need.createdAt,
      };
      const stored: StoredRequest = { ...need.request, homenetGateway: meta };
      journal.saveNeed(stored);
      if (need.uniqueId !== undefined && need.uniqueId > highestUniqueId) {
        highestUniqueId = need.uniqueId;
        journal.raiseMark(UNIQUE_ID_MARK, highestUniqueId);
      }
    },
    endNeed(id, _at, cause) {
      journal.endNeed(id, cause);
    },
    recordDecision(decision: Decision) {
      journal.appendDecision(decision);
    },
    recentDecisions(limit) {
      // Shared between devices as the decision history shares them: a flood from one host leaves a quiet device's in.
      return journal.fairLatestDecisions(limit).map((d) => d.body as Decision);
    },
    maxUniqueId: () => highestUniqueId,
    recordIntents(actions: readonly Action[]) {
      journal.recordIntents(actions);
    },
    markApplied(keys: readonly string[]) {
      journal.markAppliedMany(keys);
    },
    markFailed(key: string, detail: string) {
      journal.markFailed(key, detail);
    },
    prune(): Promise<PruneReport | undefined> {
      return journal.pruneInBackground().then(
        (report) => {
          if (report.decisions + report.needs + report.intents > 0) log.info('journal pruned', { ...report });
          return report;
        },
        (error: unknown) => {
          log.warn('journal prune failed', { error: (error as Error).message });
          return undefined;
        },
      );
    },
    close() {
      journal.close();
    },
  };
}
