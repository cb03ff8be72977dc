import { DesiredEntry, desiredEntryOf } from '../../../adapters/nftables/firewall-entry';
import { JournalGrant } from './journal-types';

/**
 * The firewall entries the journal's grants call for: what
 * `NftablesAdapter.reconcile` takes after {@link Journal.recover}. Every
 * entry's owner is its grant id, and its lease ends when the journal says.
 *
 * @example
 * ```ts
 * const { grants } = journal.recover();
 * await firewall.reconcile(desiredEntries(grants));
 * ```
 */
export function desiredEntries(grants: readonly JournalGrant[]): DesiredEntry[] {
  return grants.map((g) => desiredEntryOf(g, g.expiresAt));
}
