/**
 * The gateway's SQLite journal (better-sqlite3, WAL): needs, grants with
 * leases, append-only decisions and write-ahead intents, so a `kill -9` at
 * any moment is recovered by {@link Journal.recover}.
 *
 * @example
 * ```ts
 * import { openJournal, desiredEntries } from './plugin/gateway/journal';
 * const journal = openJournal({ path: 'state/journal.db', clock: Date.now });
 * const recovery = journal.recover();
 * await firewall.reconcile(desiredEntries(recovery.grants));
 * ```
 */
export { openJournal } from './journal';
export type { Journal, JournalOptions, JournalRetention, PruneReport } from './journal';
export { desiredEntries } from './firewall-desired';
export { JournalInputError, JournalOpenError } from './journal-errors';
export type { JournalDecision, JournalGrant, JournalIntent, JournalNeed, Recovery, IntentState } from './journal-types';
export { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from './schema';
export type { Migration } from './schema';
