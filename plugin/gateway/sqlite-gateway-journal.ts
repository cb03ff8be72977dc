/**
 * The SQLite journal (`plugin/gateway/journal/`) as the daemon's
 * {@link GatewayJournal}.
 */
import { GatewayJournal } from './gateway-journal';
import { Logger } from './structured-log';

export function openSqliteGatewayJournal(path: string, log: Logger): GatewayJournal {
  void log;
  throw new Error(`the SQLite journal is not available yet (journal.path ${path}); set journal.path to null to run with an in-memory journal`);
}
