/**
 * The gateway's SQLite journal (better-sqlite3, WAL): needs, grants with
 * leases, append-only decisions and write-ahead intents, so a `kill -9` at
 * any moment is recovered by {@link Journal.recover}.
 *
 * Bounded on disk (`retention`): decisions, ended needs and settled intents
 * older than `maxAgeMs` are pruned, and beyond `maxBytes` (database + WAL)
 * the oldest of them go first; live needs, pending intents and grants are
 * never pruned, so recovery is unchanged. Decisions are kept fairly between
 * devices: under the size bound the device holding the most loses its oldest
 * first. Pruning runs every few hundred writes and on the daemon's timer, in
 * bounded steps with the event loop served between them; pages are given
 * back (incremental auto_vacuum, a bounded number per step) and the WAL is
 * bounded (`wal_autocheckpoint`, `journal_size_limit`). The files (database, WAL, SHM) are 0600 in a 0700
 * directory: a directory others can write to is refused, one they can read is
 * warned about.
 *
 * @example
 * ```ts
 * import { openJournal, desiredEntries } from './plugin/gateway/journal';
 * const journal = openJournal({ path: 'state/journal.db', clock: Date.now, retention: { maxAgeMs: 7 * 86_400_000, maxBytes: 16 << 20 } });
 * const recovery = journal.recover();
 * await firewall.reconcile(desiredEntries(recovery.grants));
 * ```
 */
export { openJournal } from './journal';
export type { Journal, JournalOptions, JournalRetention, PruneReport, PruneStep } from './journal';
export { fairShares } from './journal';
export { desiredEntries } from './firewall-desired';
export { JournalInputError, JournalOpenError } from './journal-errors';
export type { JournalDecision, JournalGrant, JournalIntent, JournalNeed, Recovery, IntentState } from './journal-types';
export { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from './schema';
export type { Migration } from './schema';
