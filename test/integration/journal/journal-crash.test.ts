import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openJournal } from '../../../plugin/gateway/journal';
import { bundleCrashWriter, runAndKill } from './support/crash-harness';
import { checkRecovery } from './support/check-recovery';

describe('journal under kill -9', () => {
  let dir: string;
  let writer: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'hn-crash-'));
    writer = bundleCrashWriter(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('recovers a consistent state after 20 kills at random points', async () => {
    const db = join(dir, 'journal.db');
    let acknowledged = 0;
    let rng = 12345;
    const next = () => ((rng = (rng * 1103515245 + 12345) % 2147483648), rng / 2147483648);
    for (let round = 1; round <= 20; round++) {
      const ack = await runAndKill(writer, [db, String(round), String(round * 7919)], 40 + Math.floor(next() * 260));
      expect(ack.stderr).toBe('');
      expect(ack.exitSignal).toBe('SIGKILL');
      expect(ack.lines[0]).toBe('ready');
      acknowledged += ack.lastOp.size;
      const journal = openJournal({ path: db, clock: Date.now });
      try {
        const before = Date.now();
        const r = journal.recover();
        checkRecovery(r, ack, before);
        expect(journal.pendingIntents()).toEqual([]);
      } finally {
        journal.close();
      }
    }
    expect(acknowledged).toBeGreaterThan(100); // the writer really worked between kills
  }, 120_000);

  it('recovers a consistent state after 15 kills while the journal prunes as it writes (retention)', async () => {
    const db = join(dir, 'pruned.db');
    const previous = process.env.HN_CRASH_RETENTION_BYTES;
    process.env.HN_CRASH_RETENTION_BYTES = String(128 * 1024);
    let ended = 0;
    try {
      let rng = 777;
      const next = () => ((rng = (rng * 1103515245 + 12345) % 2147483648), rng / 2147483648);
      for (let round = 1; round <= 15; round++) {
        const ack = await runAndKill(writer, [db, String(round), String(round * 104729)], 60 + Math.floor(next() * 300));
        expect(ack.stderr).toBe('');
        expect(ack.exitSignal).toBe('SIGKILL');
        ended += ack.ended.size;
        const journal = openJournal({ path: db, clock: Date.now });
        try {
          const before = Date.now();
          checkRecovery(journal.recover(), ack, before);
          expect(journal.pendingIntents()).toEqual([]);
        } finally {
          journal.close();
        }
      }
    } finally {
      if (previous === undefined) delete process.env.HN_CRASH_RETENTION_BYTES;
      else process.env.HN_CRASH_RETENTION_BYTES = previous;
    }
    // Pruning really happened: ended needs were removed, not only marked.
    const journal = openJournal({ path: db, clock: Date.now });
    try {
      expect(ended).toBeGreaterThan(5);
      expect(journal.needs({ includeEnded: true }).filter((n) => n.endedAt !== undefined).length).toBeLessThan(ended);
    } finally {
      journal.close();
    }
  }, 180_000);
});
