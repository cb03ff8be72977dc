// Journal retention (age and size), the WAL bound, and the files' permissions (issue 9, item 5).
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { APPLICATION_ID, Journal, JournalInputError, JournalOpenError, JournalRetention, MIGRATIONS, openJournal, SCHEMA_VERSION } from '../../../plugin/gateway/journal';
import { openSqliteGatewayJournal } from '../../../plugin/gateway/sqlite-gateway-journal';
import { createLogger } from '../../../plugin/gateway/structured-log';
import { action } from '../nftables/support';
import { cycle, decision, need } from './support';

const mode = (path: string) => statSync(path).mode & 0o777;
const DAY = 86_400_000;

describe('journal retention', () => {
  let dir: string;
  let now: number;
  let journal: Journal | undefined;
  const open = (retention?: JournalRetention, path = join(dir, 'state', 'j.db'), onWarning?: (m: string) => void) =>
    (journal = openJournal({ path, clock: () => now, ...(retention ? { retention } : {}), ...(onWarning ? { onWarning } : {}) }));

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hn-retention-'));
    now = 1_000_000_000;
  });
  afterEach(() => {
    journal?.close();
    journal = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('removes history older than maxAgeMs, never a live need, a pending intent or a grant', () => {
    const j = open({ maxAgeMs: DAY, maxBytes: 16 << 20, pruneEveryWrites: 1_000_000 });
    for (let i = 0; i < 20; i++) cycle(j, i);
    // State that must survive: a live need with its grant, and a pending intent of an ended need.
    j.saveNeed(need('live'));
    const live = action({ key: 'k-live', grantId: 'g-live', needId: 'live', leaseSeconds: 0 });
    j.recordIntent(live);
    j.markApplied(live.key);
    j.saveNeed(need('ending'));
    j.recordIntent(action({ key: 'k-ending', grantId: 'g-ending', needId: 'ending' }));
    j.endNeed('ending', 'deleted');
    now += 2 * DAY;
    cycle(j, 100); // recent history stays
    const before = { grants: j.grants(), pending: j.pendingIntents() };

    const report = j.prune();

    expect(report).toMatchObject({ decisions: 40, needs: 20, intents: 41, bySize: false });
    expect(j.decisions().map((d) => d.needId)).toEqual(['n100', 'n100']);
    expect(j.needs({ includeEnded: true }).map((n) => n.id).sort()).toEqual(['ending', 'live', 'n100']);
    expect({ grants: j.grants(), pending: j.pendingIntents() }).toEqual(before);
    // Recovery after a prune: the same state as it would have found before.
    const recovery = j.recover();
    expect(recovery.needs.map((n) => n.id)).toEqual(['live']);
    expect(recovery.grants.map((g) => g.id)).toEqual(['g-live']);
    expect(recovery.rolledBack).toEqual(['k-ending']);
    expect(recovery.lastDecisionSeq).toBe(42);
  });

  it('keeps the decision sequence going after every decision was pruned', () => {
    const j = open({ maxAgeMs: 1000, maxBytes: 16 << 20, pruneEveryWrites: 1_000_000 });
    cycle(j, 1);
    now += 5000;
    j.prune();
    expect(j.decisions()).toEqual([]);
    expect(j.recover().lastDecisionSeq).toBe(2);
    expect(j.appendDecision(decision('n9', 9))).toBe(3);
  });

  it('keeps database + WAL under maxBytes through many cycles, pruning by itself as it writes', () => {
    const maxBytes = 256 * 1024;
    const j = open({ maxAgeMs: 365 * DAY, maxBytes });
    let largest = 0;
    for (let i = 0; i < 250; i++) {
      cycle(j, i);
      largest = Math.max(largest, j.sizeOnDisk());
    }
    largest = Math.max(largest, j.sizeOnDisk());
    expect(largest).toBeGreaterThan(maxBytes / 4); // it did fill up...
    expect(largest).toBeLessThanOrEqual(maxBytes); // ...and never past the bound
    // The newest history is what is kept; the oldest went first.
    const kept = j.decisions({ limit: 1_000_000 });
    expect(kept.length).toBeGreaterThan(50);
    expect(kept[kept.length - 1].needId).toBe('n249');
    expect(kept[0].seq).toBeGreaterThan(1);
    const report = j.prune();
    expect(report.bytes).toBeLessThanOrEqual(maxBytes);
    expect(existsSync(`${join(dir, 'state', 'j.db')}-wal`) ? statSync(`${join(dir, 'state', 'j.db')}-wal`).size : 0).toBe(0); // truncated
  }, 120_000); // fsync-bound (a checkpoint every few cycles at this small bound): slow on a loaded machine

  it('never prunes state by size: a journal of live needs only stays whole', () => {
    const j = open({ maxAgeMs: DAY, maxBytes: 64 * 1024, pruneEveryWrites: 1_000_000 });
    for (let i = 0; i < 300; i++) j.saveNeed(need(`live-${i}`));
    const report = j.prune();
    expect(report.bySize).toBe(true);
    expect(report.needs).toBe(0);
    expect(j.needs()).toHaveLength(300);
  });

  it('rebuilds an older journal without auto_vacuum when opened with a retention, so it can shrink', () => {
    const path = join(dir, 'old.db');
    // A version-1 journal as homenet made it before retention: tables, and no auto_vacuum.
    const db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.exec('CREATE TABLE schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    MIGRATIONS[0].up(db);
    db.prepare('INSERT INTO schema_version VALUES (1, ?, 0)').run(MIGRATIONS[0].description);
    db.prepare("INSERT INTO needs (id, device_id, request, submitted_at, ended_at) VALUES ('old', 'd', '{}', 0, 1)").run();
    db.close();
    chmodSync(path, 0o600);
    chmodSync(dir, 0o700);
    const before = new Database(path, { readonly: true });
    expect(before.pragma('auto_vacuum', { simple: true })).toBe(0);
    before.close();
    open({ maxAgeMs: DAY, maxBytes: 1 << 20 }, path);
    journal?.close();
    const check = new Database(path, { readonly: true });
    expect(check.pragma('auto_vacuum', { simple: true })).toBe(2);
    expect(check.prepare('SELECT id FROM needs').all()).toEqual([]); // its old history pruned first
    expect(check.prepare('SELECT MAX(version) AS v FROM schema_version').get()).toEqual({ v: SCHEMA_VERSION });
    check.close();
  });

  it('checks the retention it is given', () => {
    expect(() => open({ maxAgeMs: 0, maxBytes: 1 << 20 })).toThrow(JournalInputError);
    expect(() => open({ maxAgeMs: DAY, maxBytes: 1000 })).toThrow(/maxBytes must be a whole number of at least 65536, got 1000/);
  });

  it('keeps the highest pinhole UniqueID across pruning and reopening', async () => {
    const path = join(dir, 'state', 'gw.db');
    const log = createLogger({ level: 'error', write: () => undefined });
    const retention = { maxAgeMs: 1000, maxBytes: 1 << 20 };
    let gw = openSqliteGatewayJournal(path, log, () => now, { retention });
    const request = need('p1');
    gw.putNeed({ id: 'p1', source: 'upnp', request, deadline: now + 60_000, uniqueId: 41, createdAt: now });
    gw.endNeed('p1', now, 'deleted');
    now += 10_000;
    await gw.prune();
    expect(gw.journal.needs({ includeEnded: true })).toEqual([]);
    gw.close();
    gw = openSqliteGatewayJournal(path, log, () => now, { retention });
    expect(gw.maxUniqueId()).toBe(41);
    gw.close();
  });
});

describe('journal files and directory', () => {
  let dir: string;
  let journal: Journal | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hn-perm-'));
  });
  afterEach(() => {
    journal?.close();
    journal = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates its directory 0700 and the database, WAL and SHM 0600 whatever the umask', () => {
    const previous = process.umask(0o000);
    try {
      const path = join(dir, 'a', 'b', 'j.db');
      journal = openJournal({ path, clock: () => 1 });
      journal.saveNeed(need('n1'));
      expect(mode(join(dir, 'a', 'b'))).toBe(0o700);
      for (const f of [path, `${path}-wal`, `${path}-shm`]) expect({ f, mode: mode(f).toString(8) }).toEqual({ f, mode: '600' });
    } finally {
      process.umask(previous);
    }
  });

  it('tightens an existing 0644 journal and warns', () => {
    const state = join(dir, 'state');
    mkdirSync(state, { mode: 0o700 });
    const path = join(state, 'j.db');
    openJournal({ path, clock: () => 1 }).close();
    chmodSync(path, 0o644);
    const warnings: string[] = [];
    journal = openJournal({ path, clock: () => 1, onWarning: (m) => warnings.push(m) });
    expect(mode(path)).toBe(0o600);
    expect(warnings).toEqual([`journal file ${path} was mode 0644; now 0600`]);
  });

  it('refuses a directory others can write to, naming it', () => {
    const state = join(dir, 'shared');
    mkdirSync(state);
    chmodSync(state, 0o777);
    const path = join(state, 'j.db');
    expect(() => openJournal({ path, clock: () => 1 })).toThrow(JournalOpenError);
    expect(() => openJournal({ path, clock: () => 1 })).toThrow(`its directory ${state} is writable by group or others (mode 0777)`);
    expect(existsSync(path)).toBe(false);
  });

  it('warns about a directory others can read, and still opens (its files are 0600)', () => {
    const state = join(dir, 'readable');
    mkdirSync(state);
    chmodSync(state, 0o755);
    const warnings: string[] = [];
    const path = join(state, 'j.db');
    writeFileSync(join(state, 'unrelated'), '');
    journal = openJournal({ path, clock: () => 1, onWarning: (m) => warnings.push(m) });
    expect(warnings).toEqual([`journal directory ${state} is readable by group or others (mode 0755); the journal files are 0600, but chmod 700 ${state} hides their names too`]);
    expect(mode(path)).toBe(0o600);
  });
});
