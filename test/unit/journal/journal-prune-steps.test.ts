// Journal pruning without pausing the event loop (bounded steps, yielding between them), and per-device fairness of the
// decisions it keeps (issue 9: one hostile host refused a million times must not push a quiet device's history out).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { APPLICATION_ID, fairShares, Journal, JournalInputError, JournalRetention, MIGRATIONS, openJournal, PruneStep, SCHEMA_VERSION } from '../../../plugin/gateway/journal';
import { openSqliteGatewayJournal } from '../../../plugin/gateway/sqlite-gateway-journal';
import { createLogger } from '../../../plugin/gateway/structured-log';
import { cycle, decision, need } from './support';

const DAY = 86_400_000;

describe('fairShares', () => {
  it('takes from the largest holder first, lowering the largest to a common level', () => {
    expect(fairShares(new Map([['flood', 900], ['quiet', 5]]), 100)).toEqual([['flood', 100]]);
    expect(fairShares(new Map([['a', 10], ['b', 7], ['c', 2]]), 5)).toEqual([['a', 4], ['b', 1]]); // a and b down to 6
    expect(fairShares(new Map([['a', 4], ['b', 4], ['c', 4]]), 4)).toEqual([['a', 2], ['b', 1], ['c', 1]]);
    expect(fairShares(new Map([['a', 3], ['b', 1]]), 10)).toEqual([['a', 3], ['b', 1]]); // all there is
    expect(fairShares(new Map([['a', 3]]), 0)).toEqual([]);
    expect(fairShares(new Map<string, number>(), 5)).toEqual([]);
  });

  it('gives exactly k (or all there is), never more than a holder holds, and never leaves a holder above one that gave', () => {
    for (let trial = 0; trial < 500; trial++) {
      const held = new Map<number, number>();
      const holders = 1 + (trial % 7);
      for (let h = 0; h < holders; h++) held.set(h, Math.floor(Math.abs(Math.sin(trial * 31 + h * 7)) * 50));
      const k = trial % 60;
      const shares = new Map(fairShares(held, k));
      const total = [...held.values()].reduce((a, b) => a + b, 0);
      expect([...shares.values()].reduce((a, b) => a + b, 0)).toBe(Math.min(k, total));
      const after = new Map([...held].map(([h, n]) => [h, n - (shares.get(h) ?? 0)]));
      for (const [h, give] of shares) {
        expect(give).toBeGreaterThan(0);
        expect(give).toBeLessThanOrEqual(held.get(h)!);
        for (const n of after.values()) expect(n).toBeLessThanOrEqual(after.get(h)! + 1);
      }
    }
  });
});

describe('journal prune in bounded steps', () => {
  let dir: string;
  let now: number;
  let journal: Journal | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hn-prune-steps-'));
    now = 1_000_000_000;
  });
  afterEach(() => {
    journal?.close();
    journal = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** A journal whose background steps wait in `queue` until the test runs them (as the event loop would). */
  function open(retention: JournalRetention, path = join(dir, 'state', 'j.db')) {
    const queue: (() => void)[] = [];
    const steps: PruneStep[] = [];
    journal = openJournal({ path, clock: () => now, retention, defer: (next) => queue.push(next), onPruneStep: (s) => steps.push(s) });
    return { j: journal, queue, steps };
  }

  it('deletes at most rowsPerStep rows and frees at most pagesPerStep pages per step, the journal usable between steps', async () => {
    const { j, queue, steps } = open({ maxAgeMs: DAY, maxBytes: 16 << 20, pruneEveryWrites: 1_000_000, rowsPerStep: 50, pagesPerStep: 8 });
    for (let i = 0; i < 400; i++) cycle(j, i);
    now += 2 * DAY;
    j.saveNeed(need('live'));
    const done = j.pruneInBackground();
    expect(j.pruneInBackground()).toBe(done); // joined, not started twice
    expect(steps).toEqual([]); // nothing ran yet: the caller's turn is not held
    let turns = 0;
    let mostStepsInATurn = 0;
    while (queue.length > 0) {
      const before = steps.length;
      queue.shift()!();
      mostStepsInATurn = Math.max(mostStepsInATurn, steps.length - before);
      turns++;
      // Between two steps the journal takes writes and reads as usual.
      j.appendDecision(decision('between', 10_000 + turns));
      expect(j.needs().map((n) => n.id)).toEqual(['live']);
    }
    const report = await done;
    expect(report).toMatchObject({ decisions: 800, needs: 400, intents: 800, bySize: false });
    expect(mostStepsInATurn).toBe(1); // one step per turn, the event loop served between them
    expect(turns).toBeGreaterThanOrEqual(steps.length);
    for (const s of steps) {
      if (s.kind === 'age' || s.kind === 'size') expect(s.amount).toBeLessThanOrEqual(50);
      if (s.kind === 'vacuum') expect(s.amount).toBeLessThanOrEqual(8);
    }
    expect(steps.filter((s) => s.kind === 'age').length).toBeGreaterThanOrEqual((800 + 400 + 800) / 50);
    expect(steps.some((s) => s.kind === 'vacuum')).toBe(true);
    expect(steps.filter((s) => s.kind === 'checkpoint')).toEqual([]); // in the background the WAL is left to the automatic checkpoints
    // What the steps wrote between them is kept (it is newer than the retention).
    expect(j.decisions({ limit: 10_000 }).every((d) => d.needId === 'between')).toBe(true);
    expect(j.decisions({ limit: 10_000 }).length).toBe(turns);
    // A blocking prune truncates the WAL at its end.
    now += 2 * DAY;
    for (let i = 1000; i < 1010; i++) cycle(j, i);
    now += 2 * DAY;
    steps.length = 0;
    j.prune();
    expect(steps.map((s) => s.kind).slice(-2)).toEqual(['checkpoint', 'checkpoint']);
  });

  it('runs on setImmediate by default: other tasks get the event loop between steps', async () => {
    journal = openJournal({ path: join(dir, 'j.db'), clock: () => now, retention: { maxAgeMs: DAY, maxBytes: 16 << 20, pruneEveryWrites: 1_000_000, rowsPerStep: 20 } });
    for (let i = 0; i < 100; i++) cycle(journal, i);
    now += 2 * DAY;
    let ticks = 0;
    let stop = false;
    const tick = () => {
      ticks++;
      if (!stop) setImmediate(tick);
    };
    setImmediate(tick);
    const report = await journal.pruneInBackground();
    stop = true;
    expect(report.decisions).toBe(200);
    expect(ticks).toBeGreaterThanOrEqual(10); // at least one other task per 20-row step
  });

  it('starts by itself every pruneEveryWrites writes and, starved of turns, advances a step per write', () => {
    const { j, queue, steps } = open({ maxAgeMs: 1000, maxBytes: 16 << 20, pruneEveryWrites: 64, rowsPerStep: 10 });
    for (let i = 0; i < 8; i++) cycle(j, i); // 64 writes: a prune is started, its steps wait for a turn
    expect(queue).toHaveLength(1);
    expect(steps).toEqual([]);
    now += 5000;
    for (let i = 8; i < 16; i++) cycle(j, i); // the turn never comes: after 8 more writes each write runs a step
    expect(steps.length).toBeGreaterThan(0);
    expect(steps.every((s) => s.kind !== 'age' || s.amount <= 10)).toBe(true);
  });

  it('a background prune cut short by close settles with nothing, and throws nothing later', async () => {
    const { j, queue } = open({ maxAgeMs: 1000, maxBytes: 16 << 20, pruneEveryWrites: 1_000_000, rowsPerStep: 5 });
    for (let i = 0; i < 20; i++) cycle(j, i);
    now += 5000;
    const done = j.pruneInBackground();
    queue.shift()!();
    j.close();
    while (queue.length > 0) queue.shift()!();
    await expect(done).resolves.toMatchObject({ decisions: 0, needs: 0, intents: 0 });
  });

  it('checks the step sizes it is given', () => {
    expect(() => open({ maxAgeMs: DAY, maxBytes: 1 << 20, rowsPerStep: 0 })).toThrow(JournalInputError);
    expect(() => open({ maxAgeMs: DAY, maxBytes: 1 << 20, pagesPerStep: 1.5 })).toThrow('journal retention pagesPerStep must be a positive whole number, got 1.5');
  });
});

describe('journal retention is fair between devices', () => {
  let dir: string;
  let journal: Journal | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hn-prune-fair-'));
  });
  afterEach(() => {
    journal?.close();
    journal = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it("keeps a quiet device's decisions through a flood of another host's refusals that the size bound prunes many times", () => {
    const now = 1_000_000_000;
    const maxBytes = 256 * 1024;
    journal = openJournal({ path: join(dir, 'j.db'), clock: () => now, retention: { maxAgeMs: 365 * DAY, maxBytes, pruneEveryWrites: 64 } });
    const j = journal;
    for (let i = 0; i < 10; i++) j.appendDecision(decision(`plug-${i}`, i, 'plug'));
    let pruned = 0;
    for (let i = 0; i < 3000; i++) {
      j.appendDecision(decision(`hostile-${i}`, 100 + i, 'hostile'));
      if (i % 500 === 499) pruned += j.prune().decisions;
    }
    expect(pruned).toBeGreaterThan(0);
    expect(j.sizeOnDisk()).toBeLessThanOrEqual(maxBytes);
    const kept = j.decisions({ limit: 100_000 });
    expect(kept.length).toBeLessThan(3010); // the flood was pruned...
    expect(kept.filter((d) => d.needId.startsWith('plug-')).map((d) => d.needId)).toEqual(Array.from({ length: 10 }, (_, i) => `plug-${i}`)); // ...the plug kept all
    // The flooder kept its newest.
    expect(kept[kept.length - 1].needId).toBe('hostile-2999');
    const hostile = kept.filter((d) => d.needId.startsWith('hostile-'));
    expect(hostile[0].needId).not.toBe('hostile-0');
  });

  it('reads the newest decisions shared between devices, so a restarted admin view still shows a quiet device', () => {
    journal = openJournal({ path: join(dir, 'j.db'), clock: () => 1 });
    const j = journal;
    for (let i = 0; i < 5; i++) j.appendDecision(decision(`plug-${i}`, i, 'plug'));
    for (let i = 0; i < 3; i++) j.appendDecision(decision(`console-${i}`, 10 + i, 'console'));
    for (let i = 0; i < 1000; i++) j.appendDecision(decision(`hostile-${i}`, 100 + i, 'hostile'));
    const fair = j.fairLatestDecisions(20);
    expect(fair).toHaveLength(20);
    expect(fair.map((d) => d.seq)).toEqual([...fair.map((d) => d.seq)].sort((a, b) => a - b)); // oldest first
    expect(fair.filter((d) => d.needId.startsWith('plug-')).map((d) => d.needId)).toEqual(['plug-0', 'plug-1', 'plug-2', 'plug-3', 'plug-4']);
    expect(fair.filter((d) => d.needId.startsWith('console-'))).toHaveLength(3);
    expect(fair.filter((d) => d.needId.startsWith('hostile-')).map((d) => d.needId)).toEqual(Array.from({ length: 12 }, (_, i) => `hostile-${988 + i}`));
    // Tighter than the quiet devices hold: each gets the same share of its newest, the odd one to the device holding fewest.
    const tight = j.fairLatestDecisions(7);
    expect(tight.map((d) => d.needId).filter((n) => n.startsWith('plug-'))).toHaveLength(2);
    expect(tight.map((d) => d.needId).filter((n) => n.startsWith('console-'))).toHaveLength(3);
    expect(tight.map((d) => d.needId).filter((n) => n.startsWith('hostile-'))).toHaveLength(2);
    expect(tight).toHaveLength(7);
    expect(tight.map((d) => d.needId)).toContain('plug-4');
    expect(j.fairLatestDecisions(0)).toEqual([]);
    // The plain newest are the flood's only.
    expect(j.latestDecisions(20).every((d) => d.needId.startsWith('hostile-'))).toBe(true);
  });

  it("the gateway journal's recentDecisions (what the daemon reseeds its admin history with) keeps a quiet device in", () => {
    const gw = openSqliteGatewayJournal(join(dir, 'gw.db'), createLogger({ level: 'error', write: () => undefined }), () => 1);
    try {
      for (let i = 0; i < 3; i++) gw.recordDecision(decision(`plug-${i}`, i, 'plug'));
      for (let i = 0; i < 500; i++) gw.recordDecision(decision(`hostile-${i}`, 10 + i, 'hostile'));
      const recent = gw.recentDecisions(10);
      expect(recent.map((d) => d.needId)).toEqual(['plug-0', 'plug-1', 'plug-2', ...Array.from({ length: 7 }, (_, i) => `hostile-${493 + i}`)]);
    } finally {
      gw.close();
    }
  });

  it('the schema refuses deleting a decision that is not its own device\u2019s oldest', () => {
    const path = join(dir, 'j.db');
    journal = openJournal({ path, clock: () => 1 });
    journal.appendDecision(decision('a1', 1, 'a'));
    journal.appendDecision(decision('b1', 2, 'b'));
    journal.appendDecision(decision('a2', 3, 'a'));
    journal.appendDecision(decision('b2', 4, 'b'));
    journal.close();
    const db = new Database(path);
    try {
      expect(() => db.prepare('DELETE FROM decisions WHERE seq = 4').run()).toThrow("decisions are append-only (retention trims each device's oldest only)");
      expect(db.prepare('DELETE FROM decisions WHERE seq = 2').run().changes).toBe(1); // b's oldest, though not the oldest overall
      expect(db.prepare("SELECT device_id AS d FROM decisions ORDER BY seq").all()).toEqual([{ d: 'a' }, { d: 'a' }, { d: 'b' }]);
    } finally {
      db.close();
    }
    journal = openJournal({ path, clock: () => 1 });
    expect(journal.latestDecisions(2).map((d) => d.needId)).toEqual(['a2', 'b2']);
  });

  it('migrates a version-2 journal: its decisions get their device from the body', () => {
    const path = join(dir, 'v2.db');
    const db = new Database(path);
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    for (const m of MIGRATIONS.slice(0, 2)) {
      m.up(db);
      db.prepare('INSERT INTO schema_version VALUES (?, ?, 0)').run(m.version, m.description);
    }
    const insert = db.prepare('INSERT INTO decisions (engine_seq, at, recorded_at, need_id, verdict, body) VALUES (?, 0, 0, ?, ?, ?)');
    insert.run(1, 'p1', 'granted', JSON.stringify(decision('p1', 1, 'plug')));
    insert.run(2, 'c1', 'granted', JSON.stringify(decision('c1', 2, 'console')));
    db.close();
    journal = openJournal({ path, clock: () => 1, retention: { maxAgeMs: DAY, maxBytes: 1 << 20 } });
    journal.appendDecision(decision('p2', 3, 'plug'));
    journal.close();
    journal = undefined;
    const check = new Database(path, { readonly: true });
    try {
      expect(check.prepare('SELECT MAX(version) AS v FROM schema_version').get()).toEqual({ v: SCHEMA_VERSION });
      expect(check.prepare('SELECT need_id AS n, device_id AS d FROM decisions ORDER BY seq').all()).toEqual([
        { n: 'p1', d: 'plug' },
        { n: 'c1', d: 'console' },
        { n: 'p2', d: 'plug' },
      ]);
    } finally {
      check.close();
    }
  });
});
