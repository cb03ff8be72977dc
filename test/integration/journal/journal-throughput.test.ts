import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Decision } from '../../../policies/model/decision';
import { openJournal } from '../../../plugin/gateway/journal';
import { action } from '../../unit/nftables/support';

/** Measured numbers, printed for the report (`npx jest test/integration/journal/journal-throughput`). */
describe('journal throughput on a real file', () => {
  let dir: string;
  beforeAll(() => (dir = mkdtempSync(join(tmpdir(), 'hn-journal-tp-'))));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(['normal', 'full'] as const)('writes thousands of grants (durability %s)', (durability) => {
    const journal = openJournal({ path: join(dir, `${durability}.db`), clock: Date.now, durability });
    try {
      const n = durability === 'full' ? 500 : 2000; // an fsync per commit: keep CI short
      const grant = (i: number) => action({ key: `add|${i}`, needId: `n${i}`, grantId: `n${i}#ipv6`, internalPort: 1 + (i % 60000) });
      let t = performance.now();
      for (let i = 0; i < n; i++) {
        journal.saveNeed({ id: `n${i}`, requester: { deviceId: 'd' }, protocol: 'udp', internalPort: 1, family: 'ipv6', class: 'game-session' });
        journal.recordIntent(grant(i));
        journal.markApplied(`add|${i}`);
      }
      const perGrant = (performance.now() - t) / n;
      const batch = Array.from({ length: 10_000 }, (_, i) => grant(n + i));
      for (let i = n; i < n + 10_000; i++) journal.saveNeed({ id: `n${i}`, requester: { deviceId: 'd' }, protocol: 'udp', internalPort: 1, family: 'ipv6', class: 'game-session' });
      t = performance.now();
      journal.recordIntents(batch);
      journal.markAppliedMany(batch.map((a) => a.key));
      const batched = performance.now() - t;
      const decision: Decision = { type: 'decision', seq: 1, at: 0, cause: 'tick', needId: 'n1', deviceId: 'd', verdict: 'granted', reasons: [], changes: [], grants: [] };
      t = performance.now();
      for (let i = 0; i < 2000; i++) journal.appendDecision({ ...decision, seq: i });
      const perDecision = (performance.now() - t) / 2000;
      t = performance.now();
      const r = journal.recover();
      const recoverMs = performance.now() - t;
      expect(r.grants).toHaveLength(n + 10_000);
      process.stdout.write(
        `journal (${durability}): ${(1000 / perGrant).toFixed(0)} grants/s one transaction per call (saveNeed+recordIntent+markApplied, ${perGrant.toFixed(3)} ms), ` +
          `10k grants batched in ${batched.toFixed(0)} ms (${((10_000 / batched) * 1000).toFixed(0)}/s), ${(1000 / perDecision).toFixed(0)} decisions/s, recover with 12k grants ${recoverMs.toFixed(0)} ms\n`,
      );
    } finally {
      journal.close();
    }
  }, 60_000);
});
