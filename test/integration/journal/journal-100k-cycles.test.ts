// Issue 9 acceptance: the journal stays under its configured size through 100k add/delete cycles, its files 0600 in a
// 0700 directory. The cycles are the daemon's (need, decision, intent, applied; ended, delete intent, applied,
// decision: 8 commits each), every few of them a turn of the event loop (as between requests), so the pruning the
// journal does in the background runs as it would in the daemon; the size is checked after every cycle.
//
// The files live on tmpfs (/dev/shm) when there is one: the bound does not depend on the disk, and 100k cycles at a
// 1 MiB bound checkpoint every cycle or two, an fsync each on a real disk (minutes instead of seconds).
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Action } from '../../../policies/model/action';
import type { Decision } from '../../../policies/model/decision';
import type { NeedRequest } from '../../../policies/model/need';
import { Journal, openJournal } from '../../../plugin/gateway/journal';
import { action } from '../../unit/nftables/support';

const CYCLES = 100_000;
const MAX_BYTES = 1 << 20;

const need = (id: string, deviceId: string): NeedRequest => ({
  id,
  requester: { deviceId, address: '2001:db8:77::10' },
  internalClient: '2001:db8:77::10',
  protocol: 'udp',
  internalPort: 3000 + (Number(id.slice(1)) % 1000),
  family: 'ipv6',
  class: 'game-session',
  leaseSeconds: 3600,
});
const decision = (needId: string, seq: number, deviceId: string, verdict: 'granted' | 'ended'): Decision =>
  ({
    type: 'decision',
    seq,
    at: seq,
    cause: 'need-submitted',
    needId,
    deviceId,
    verdict,
    reasons: [{ rule: 'requester-owns-target', code: 'requester-is-target', detail: 'the requester opens its own address' }],
    changes: [],
    grants: [],
  }) as unknown as Decision;
const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

describe('journal through 100k add/delete cycles', () => {
  let dir: string;
  let journal: Journal | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'hn-100k-'));
  });
  afterAll(() => {
    journal?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`stays under maxBytes (${MAX_BYTES} B, database + WAL) after every cycle, files 0600 in a 0700 directory`, async () => {
    const state = join(dir, 'state');
    const path = join(state, 'gateway.db');
    let now = 1_700_000_000_000;
    const j = (journal = openJournal({ path, clock: () => now, retention: { maxAgeMs: 7 * 86_400_000, maxBytes: MAX_BYTES } }));
    // State that no pruning may touch: a live need with its grant, from a quiet device.
    j.saveNeed(need('n-live', 'plug'));
    const live = action({ key: 'k-live', grantId: 'g-live', needId: 'n-live', leaseSeconds: 0 });
    j.recordIntent(live);
    j.markApplied(live.key);
    j.appendDecision(decision('n-live', 0, 'plug', 'granted'));

    let largest = 0;
    let over = 0;
    const started = Date.now();
    for (let i = 0; i < CYCLES; i++) {
      now += 1000;
      const id = `n${i}`;
      j.saveNeed(need(id, 'console'));
      j.appendDecision(decision(id, 2 * i + 1, 'console', 'granted'));
      const add: Action = action({ key: `add|${id}`, grantId: `${id}#ipv6`, needId: id, internalPort: 3000 + (i % 1000) });
      j.recordIntents([add]);
      j.markAppliedMany([add.key]);
      j.endNeed(id, 'deleted');
      const del: Action = action({ key: `delete|${id}`, op: 'delete', grantId: `${id}#ipv6`, needId: id, internalPort: 3000 + (i % 1000) });
      j.recordIntents([del]);
      j.markAppliedMany([del.key]);
      j.appendDecision(decision(id, 2 * i + 2, 'console', 'ended'));
      const bytes = j.sizeOnDisk();
      largest = Math.max(largest, bytes);
      if (bytes > MAX_BYTES) over++;
      if (i % 8 === 7) await new Promise<void>((resolve) => setImmediate(resolve)); // the event loop's turn
      if (i % 25_000 === 24_999) for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) expect({ f, mode: mode(f) }).toEqual({ f, mode: '600' });
    }
    const seconds = (Date.now() - started) / 1000;
    console.log(`100k cycles: largest database + WAL ${largest} B (bound ${MAX_BYTES} B), ${seconds.toFixed(1)} s`);

    expect(over).toBe(0);
    expect(largest).toBeLessThanOrEqual(MAX_BYTES);
    expect(largest).toBeGreaterThan(MAX_BYTES / 2); // it did fill up, so the bound was what held it
    // Files and directory.
    expect(mode(state)).toBe('700');
    for (const f of [path, `${path}-wal`, `${path}-shm`]) if (existsSync(f)) expect({ f, mode: mode(f) }).toEqual({ f, mode: '600' });
    // The newest history is kept, the live state untouched, the quiet device's decision too.
    const kept = j.latestDecisions(1_000_000);
    expect(kept[kept.length - 1].needId).toBe(`n${CYCLES - 1}`);
    expect(kept.length).toBeLessThan(2 * CYCLES);
    expect(kept[0].needId).toBe('n-live');
    const recovery = j.recover();
    expect(recovery.needs.map((n) => n.id)).toEqual(['n-live']);
    expect(recovery.grants.map((g) => g.id)).toEqual(['g-live']);
    expect(recovery.lastDecisionSeq).toBe(2 * CYCLES + 1);
  }, 180_000);
});
