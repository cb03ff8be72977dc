import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNftablesAdapter, elementId } from '../../../adapters/nftables';
import { runCommand } from '../../../adapters/system/run-command';
import { desiredEntries, openJournal } from '../../../plugin/gateway/journal';
import { describeAsRoot, uniquePrefix } from '../nftables/support/firewall-topology';
import { bundleCrashWriter, runAndKill } from './support/crash-harness';
import { checkRecovery } from './support/check-recovery';

describeAsRoot('journal + nftables under kill -9, in a private namespace', () => {
  const netns = uniquePrefix('hnj');
  let dir: string;
  let writer: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hn-crash-nft-'));
    writer = bundleCrashWriter(dir);
    await runCommand('ip', ['netns', 'add', netns]);
  });
  afterAll(async () => {
    await runCommand('ip', ['netns', 'delete', netns], { allowFailure: true });
    rmSync(dir, { recursive: true, force: true });
  });

  it('after each kill mid-batch, recover + reconcile leave the kernel table equal to the journal', async () => {
    const db = join(dir, 'journal.db');
    const fw = createNftablesAdapter({ wanInterfaces: ['wan0'], netns });
    let acknowledged = 0;
    let settled = 0; // pending intents the kills left for recover()
    let fixed = 0; // kernel elements reconcile had to add or remove
    for (let round = 1; round <= 8; round++) {
      const ack = await runAndKill(writer, [db, String(round), String(round * 104729), netns], 150 + ((round * 137) % 400));
      expect(ack.stderr).toBe('');
      expect(ack.exitSignal).toBe('SIGKILL');
      acknowledged += ack.lastOp.size;
      const journal = openJournal({ path: db, clock: Date.now });
      try {
        const before = Date.now();
        const recovery = journal.recover();
        checkRecovery(recovery, ack, before);
        const report = await fw.reconcile(desiredEntries(recovery.grants));
        settled += recovery.replayed.length + recovery.rolledBack.length;
        fixed += report.plan.add.length + report.plan.remove.length + report.plan.correct.length;
        const kernel = (await fw.read()).entries;
        const soon = Date.now() + 1500; // leases ending this instant may be gone from either side
        const journalIds = new Set(recovery.grants.filter((g) => g.expiresAt === undefined || g.expiresAt > soon).map((g) => g.id));
        const byGrant = new Map(recovery.grants.map((g) => [g.id, g]));
        // Zero orphans: every kernel element has an owner in the journal, at the same element.
        for (const e of kernel) {
          const g = byGrant.get(e.owner ?? '');
          expect(g).toBeDefined();
          expect(elementId(e)).toBe(elementId(desiredEntries([g!])[0]));
          if (g!.expiresAt !== undefined) expect(Math.abs(e.expiresInSeconds! - (g!.expiresAt - Date.now()) / 1000)).toBeLessThanOrEqual(2.5);
        }
        // Zero lost grants: every live journal grant is in the kernel.
        const kernelOwners = new Set(kernel.map((e) => e.owner));
        for (const id of journalIds) expect(kernelOwners.has(id)).toBe(true);
        expect(kernel.length).toBeGreaterThanOrEqual(journalIds.size);
      } finally {
        journal.close();
      }
    }
    expect(acknowledged).toBeGreaterThan(20);
    // The kills really landed mid-change: recovery had unfinished intents to settle (nft runs dominate the loop).
    expect(settled).toBeGreaterThan(0);
    process.stdout.write(`journal+nftables crash: ${acknowledged} acknowledged, ${settled} intents settled by recover, ${fixed} elements fixed by reconcile\n`);
  }, 120_000);
});
