import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { Decision } from '../../../policies/model/decision';
import type { NeedRequest } from '../../../policies/model/need';
import { desiredEntries, Journal, JournalInputError, JournalOpenError, openJournal, SCHEMA_VERSION } from '../../../plugin/gateway/journal';
import { action, mapping } from '../nftables/support';

const need = (id: string, over: Partial<NeedRequest> = {}): NeedRequest => ({
  id,
  requester: { deviceId: 'console-a' },
  protocol: 'udp',
  internalPort: 3074,
  family: 'both',
  class: 'game-session',
  ...over,
});
const decision = (needId: string, seq: number): Decision => ({
  type: 'decision',
  seq,
  at: 5,
  cause: 'need-submitted',
  needId,
  deviceId: 'console-a',
  verdict: 'granted',
  reasons: [],
  changes: [],
  grants: [],
});

describe('journal', () => {
  let dir: string;
  let now: number;
  let journal: Journal;
  const open = (path = join(dir, 'j.db')) => openJournal({ path, clock: () => now });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'hn-journal-'));
    now = 1_000_000;
    journal = open();
  });
  afterEach(() => {
    journal.close();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('openJournal', () => {
    it('creates a WAL database with the schema version and our application id', () => {
      journal.close();
      const db = new Database(join(dir, 'j.db'), { readonly: true });
      expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(db.pragma('application_id', { simple: true })).toBe(0x686e6a31);
      expect(db.prepare('SELECT version FROM schema_version ORDER BY version').all()).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })));
      expect(db.pragma('auto_vacuum', { simple: true })).toBe(2); // incremental: pruning can shrink the file
      db.close();
      journal = open();
    });

    it('keeps what it had across reopening', () => {
      journal.saveNeed(need('n1'));
      journal.close();
      journal = open();
      expect(journal.needs().map((n) => n.id)).toEqual(['n1']);
    });

    it('refuses a file that is not a database, naming it, and leaves it alone', () => {
      const path = join(dir, 'garbage.db');
      writeFileSync(path, 'this is not sqlite at all, just some text that is long enough');
      const error = (() => {
        try {
          open(path);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(JournalOpenError);
      expect((error as JournalOpenError).reason).toBe('corrupt');
      expect((error as Error).message).toContain(path);
    });

    it('refuses a damaged database', () => {
      const path = join(dir, 'damaged.db');
      const j = open(path);
      for (let i = 0; i < 200; i++) j.saveNeed(need(`n${i}`, { sessionId: 'x'.repeat(200) }));
      j.close();
      const db = new Database(path);
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
      const bytes = readFileSync(path);
      bytes.fill(0x5a, 4096, 4096 * 3); // smash pages 2 and 3
      writeFileSync(path, bytes);
      expect(() => open(path)).toThrow(new RegExp(`journal ${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: is damaged`));
    });

    it("refuses another program's database", () => {
      const path = join(dir, 'foreign.db');
      const db = new Database(path);
      db.exec('CREATE TABLE photos (id INTEGER)');
      db.close();
      expect(() => open(path)).toThrow(/foreign\.db: is an SQLite database of another program .*tables photos/);
    });

    it('refuses a journal from a newer homenet', () => {
      journal.close();
      const db = new Database(join(dir, 'j.db'));
      db.prepare('INSERT INTO schema_version VALUES (99, ?, 0)').run('future');
      db.close();
      expect(() => open()).toThrow(new RegExp(`schema version 99; this homenet knows up to ${SCHEMA_VERSION}`));
      journal = open(join(dir, 'other.db'));
    });

    it('checks its options', () => {
      expect(() => openJournal({ path: '', clock: () => 0 })).toThrow(JournalInputError);
      expect(() => openJournal({ path: join(dir, 'x.db'), clock: undefined as never })).toThrow(/clock/);
    });
  });

  describe('needs', () => {
    it('saves, refreshes and ends needs', () => {
      journal.saveNeed(need('n1'));
      now += 10;
      journal.saveNeed(need('n2', { requester: { deviceId: 'console-b' } }));
      journal.saveNeed(need('n1', { internalPort: 4000 }));
      expect(journal.needs().map((n) => [n.id, n.request.internalPort, n.submittedAt])).toEqual([
        ['n1', 4000, 1_000_000],
        ['n2', 3074, 1_000_010],
      ]);
      journal.endNeed('n1', 'released');
      journal.endNeed('nope', 'released');
      expect(journal.needs().map((n) => n.id)).toEqual(['n2']);
      expect(journal.needs({ includeEnded: true }).find((n) => n.id === 'n1')).toMatchObject({ endedAt: 1_000_010, endReason: 'released' });
    });

    it('rejects a need without id or device', () => {
      expect(() => journal.saveNeed({ ...need(''), id: '' })).toThrow('need has no id');
      expect(() => journal.saveNeed({ ...need('x'), requester: undefined as never })).toThrow(/requester.deviceId/);
      expect(journal.needs()).toEqual([]);
    });
  });

  describe('decisions', () => {
    it('appends with a journal seq and reads back in order, by need', () => {
      expect(journal.appendDecision(decision('n1', 7))).toBe(1);
      expect(journal.appendDecision(decision('n2', 8))).toBe(2);
      expect(journal.appendDecision(decision('n1', 9))).toBe(3);
      expect(journal.decisions().map((d) => [d.seq, d.engineSeq, d.needId])).toEqual([
        [1, 7, 'n1'],
        [2, 8, 'n2'],
        [3, 9, 'n1'],
      ]);
      expect(journal.decisions({ needId: 'n1', afterSeq: 1 }).map((d) => d.seq)).toEqual([3]);
      expect(journal.decisions({ limit: 1 })[0].body).toEqual(decision('n1', 7));
    });

    it('is append-only: only the oldest end can be trimmed (retention)', () => {
      journal.appendDecision(decision('n1', 1));
      journal.appendDecision(decision('n1', 2));
      journal.appendDecision(decision('n1', 3));
      journal.close();
      const db = new Database(join(dir, 'j.db'));
      expect(() => db.prepare('DELETE FROM decisions WHERE seq = 2').run()).toThrow('decisions are append-only');
      expect(() => db.prepare('DELETE FROM decisions WHERE seq >= 2').run()).toThrow('decisions are append-only');
      expect(db.prepare('DELETE FROM decisions WHERE seq <= 2').run().changes).toBe(2);
      expect(() => db.prepare("UPDATE decisions SET verdict = 'denied'").run()).toThrow('decisions are append-only');
      db.close();
      journal = open();
    });
  });

  describe('intents', () => {
    it('records before, writes the grant on markApplied with the lease counted from the record', () => {
      journal.saveNeed(need('n1'));
      journal.recordIntent(action());
      journal.recordIntent(action()); // same key: one intent
      expect(journal.pendingIntents().map((i) => [i.key, i.op, i.state])).toEqual([[action().key, 'add', 'pending']]);
      expect(journal.grants()).toEqual([]);
      now += 50;
      journal.markApplied(action().key, { firewallId: 'pinhole_ipv6:2001:db8:77::10 . udp . 3074' });
      expect(journal.pendingIntents()).toEqual([]);
      expect(journal.intent(action().key)).toMatchObject({ state: 'applied', settledAt: 1_000_050 });
      expect(journal.grants()).toEqual([
        {
          id: 'n1#ipv6',
          needId: 'n1',
          gatewayId: 'gw',
          table: 'pinhole',
          family: 'ipv6',
          protocol: 'udp',
          internalClient: '2001:db8:77::10',
          internalPort: 3074,
          remoteHost: '',
          remotePort: 0,
          leaseSeconds: 3600,
          leaseStartedAt: 1_000_000,
          expiresAt: 1_000_000 + 3600_000,
          generation: 1,
          firewallId: 'pinhole_ipv6:2001:db8:77::10 . udp . 3074',
          actionKey: action().key,
        },
      ]);
      journal.markApplied(action().key); // twice: harmless
      expect(journal.grants()).toHaveLength(1);
      // A restarted engine emits the same key again: a new intent, a new lease.
      now += 100_000;
      journal.recordIntent(action());
      expect(journal.intent(action().key)).toMatchObject({ state: 'pending', recordedAt: 1_100_050 });
      journal.markApplied(action().key);
      expect(journal.grants()[0]).toMatchObject({ leaseStartedAt: 1_100_050, expiresAt: 1_100_050 + 3600_000 });
    });

    it('renews, deletes, and keeps a newer generation against an older delete', () => {
      journal.saveNeed(need('n1'));
      journal.recordIntents([action(), mapping({ externalPort: 3075 })]);
      journal.markAppliedMany([action().key, mapping().key]);
      now += 1000;
      const renew = action({ op: 'renew', key: 'renew-1', leaseSeconds: 60 });
      journal.recordIntent(renew);
      journal.markApplied(renew.key);
      expect(journal.grants().find((g) => g.id === 'n1#ipv6')).toMatchObject({ leaseSeconds: 60, leaseStartedAt: 1_001_000, expiresAt: 1_061_000 });
      expect(journal.grants().find((g) => g.id === 'n1#ipv4')).toMatchObject({ externalPort: 3075, table: 'port-mapping' });
      const moved = action({ key: 'add-g2', generation: 2, internalClient: '2001:db8:77::11' });
      const oldDelete = action({ op: 'delete', key: 'del-g1', generation: 1 });
      journal.recordIntents([moved, oldDelete]);
      journal.markAppliedMany([moved.key, oldDelete.key]);
      expect(journal.grants().find((g) => g.id === 'n1#ipv6')).toMatchObject({ generation: 2, internalClient: '2001:db8:77::11' });
      const del = mapping({ op: 'delete', key: 'del-m' });
      journal.recordIntent(del);
      journal.markApplied(del.key);
      expect(journal.grants().map((g) => g.id)).toEqual(['n1#ipv6']);
    });

    it('marks failures without touching grants, and rejects unknown keys and bad actions', () => {
      journal.saveNeed(need('n1'));
      journal.recordIntent(action());
      journal.markFailed(action().key, 'nft: Operation not permitted');
      expect(journal.intent(action().key)).toMatchObject({ state: 'failed', detail: 'nft: Operation not permitted' });
      expect(journal.grants()).toEqual([]);
      expect(() => journal.markApplied('never-recorded')).toThrow(/no intent with key never-recorded: record it before/);
      expect(() => journal.recordIntent(action({ op: 'frobnicate' as never, key: 'bad' }))).toThrow(/op "frobnicate"/);
      expect(() => journal.recordIntents([action({ key: 'ok' }), action({ key: 'bad2', leaseSeconds: -1 })])).toThrow(/leaseSeconds -1/);
      expect(journal.intent('ok')).toBeUndefined(); // the batch was refused whole
    });

    it('prunes settled intents only', () => {
      journal.saveNeed(need('n1'));
      journal.recordIntents([action(), action({ key: 'k2' })]);
      journal.markApplied(action().key);
      expect(journal.pruneIntents(now + 1)).toBe(1);
      expect(journal.pendingIntents().map((i) => i.key)).toEqual(['k2']);
    });
  });

  describe('recover', () => {
    it('rolls forward pending add/renew of live needs, never extending the lease', () => {
      journal.saveNeed(need('n1'));
      journal.recordIntent(action({ leaseSeconds: 600 }));
      now += 30_000; // killed after nft ran, before markApplied
      const r = journal.recover();
      expect(r.replayed).toEqual([action().key]);
      expect(r.grants).toHaveLength(1);
      expect(r.grants[0]).toMatchObject({ leaseStartedAt: 1_000_000, expiresAt: 1_600_000 });
      expect(journal.intent(action().key)!.state).toBe('replayed');
      expect(desiredEntries(r.grants)).toEqual([
        { kind: 'pinhole', family: 'ipv6', protocol: 'udp', internalClient: '2001:db8:77::10', internalPort: 3074, remoteHost: '', remotePort: 0, owner: 'n1#ipv6', leaseSeconds: 600, expiresAt: 1_600_000 },
      ]);
    });

    it('rolls back adds of ended or unknown needs, rolls deletes forward, drops expired and ownerless grants', () => {
      journal.saveNeed(need('live'));
      journal.saveNeed(need('gone'));
      journal.saveNeed(need('old'));
      journal.saveNeed(need('short'));
      const live = action({ key: 'live-add', needId: 'live', grantId: 'live#ipv6' });
      const gone = action({ key: 'gone-add', needId: 'gone', grantId: 'gone#ipv6', internalPort: 1 });
      const old = action({ key: 'old-add', needId: 'old', grantId: 'old#ipv6', internalPort: 2 });
      const short = action({ key: 'short-add', needId: 'short', grantId: 'short#ipv6', internalPort: 3, leaseSeconds: 5 });
      journal.recordIntents([live, old, short]);
      journal.markAppliedMany([live.key, old.key, short.key]);
      journal.recordIntent(gone);
      journal.endNeed('gone', 'released'); // killed before its add was applied
      journal.endNeed('old', 'released'); // killed before its delete was recorded
      journal.recordIntent(action({ key: 'stray', needId: 'unknown', grantId: 'unknown#ipv6', internalPort: 4 }));
      const del = action({ op: 'delete', key: 'live-del', needId: 'live', grantId: 'live#ipv6' });
      journal.recordIntent(del);
      now += 10_000;
      const r = journal.recover();
      expect(r.replayed).toEqual(['live-del']);
      expect([...r.rolledBack].sort()).toEqual(['gone-add', 'stray']);
      expect(r.expired).toEqual(['short#ipv6']);
      expect(r.orphaned).toEqual(['old#ipv6']);
      expect(r.grants).toEqual([]);
      expect(r.needs.map((n) => n.id)).toEqual(['live', 'short']);
      expect(journal.pendingIntents()).toEqual([]);
      // A second recover has nothing to do.
      expect(journal.recover()).toMatchObject({ replayed: [], rolledBack: [], expired: [], orphaned: [] });
    });

    it('reports the last decision seq', () => {
      journal.appendDecision(decision('n', 1));
      journal.appendDecision(decision('n', 2));
      expect(journal.recover().lastDecisionSeq).toBe(2);
    });

    it('keeps permanent grants', () => {
      journal.saveNeed(need('n1'));
      journal.recordIntent(action({ leaseSeconds: 0 }));
      journal.markApplied(action().key);
      now += 365 * 86400_000;
      const [g] = journal.recover().grants;
      expect(g.leaseSeconds).toBe(0);
      expect(g.expiresAt).toBeUndefined();
    });
  });
});
