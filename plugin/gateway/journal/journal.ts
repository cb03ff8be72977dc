import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { Action } from '../../../policies/model/action';
import type { Decision } from '../../../policies/model/decision';
import type { NeedRequest } from '../../../policies/model/need';
import { JournalInputError, JournalOpenError } from './journal-errors';
import { JournalDecision, JournalGrant, JournalIntent, JournalNeed, Recovery } from './journal-types';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from './schema';

/** Options of {@link openJournal}. */
export interface JournalOptions {
  /** The SQLite file (created with its directory when missing). `:memory:` for throwaway journals. */
  readonly path: string;
  /** Wall clock in ms; every timestamp the journal writes comes from it. */
  readonly clock: () => number;
  /**
   * `normal` (default): every committed change survives a killed process
   * (WAL, synchronous=NORMAL). `full`: also a power cut (an fsync per commit).
   */
  readonly durability?: 'normal' | 'full';
}

/** The gateway's crash-safe memory: see {@link openJournal}. */
export interface Journal {
  readonly path: string;
  /** Records (or refreshes) a live need. */
  saveNeed(request: NeedRequest): void;
  /** Marks a need ended; its grants lose their owner (recover drops them). Unknown ids are ignored. */
  endNeed(needId: string, reason: string): void;
  /** Appends a decision; returns its journal seq. */
  appendDecision(decision: Decision): number;
  /**
   * Write-ahead: records the intended firewall change before it is made. The
   * same key while pending = one intent; a key seen before and settled (an
   * engine restarted from generation 1) becomes a new pending intent.
   */
  recordIntent(action: Action): void;
  /** {@link recordIntent} for a batch, in one transaction. */
  recordIntents(actions: readonly Action[]): void;
  /**
   * The firewall change of intent `key` was made: in one transaction the
   * intent is settled and the grant written (add/renew) or removed (delete).
   */
  markApplied(key: string, ids?: { routerId?: string; firewallId?: string }): void;
  /** {@link markApplied} for a batch, in one transaction. */
  markAppliedMany(keys: readonly string[]): void;
  /** The firewall refused intent `key`: settled, grants untouched. */
  markFailed(key: string, detail: string): void;
  needs(options?: { includeEnded?: boolean }): JournalNeed[];
  grants(): JournalGrant[];
  pendingIntents(): JournalIntent[];
  intent(key: string): JournalIntent | undefined;
  decisions(options?: { afterSeq?: number; limit?: number; needId?: string }): JournalDecision[];
  /**
   * After a crash (or any start): settles unfinished intents — add/renew whose
   * need is live are rolled forward with the lease they asked for, counted
   * from when they were recorded (never extended); those whose need ended are
   * rolled back; deletes are rolled forward — then drops expired and ownerless
   * grants. Returns the state the daemon re-seeds the engine from and
   * reconciles the firewall to.
   */
  recover(): Recovery;
  /** Deletes settled intents recorded before `before` (ms); returns how many. */
  pruneIntents(before: number): number;
  close(): void;
}

interface GrantRow {
  id: string;
  need_id: string;
  gateway_id: string;
  tbl: JournalGrant['table'];
  family: JournalGrant['family'];
  protocol: JournalGrant['protocol'];
  internal_client: string;
  internal_port: number;
  external_port: number | null;
  remote_host: string;
  remote_port: number;
  lease_seconds: number;
  lease_started_at: number;
  expires_at: number | null;
  generation: number;
  router_id: string | null;
  firewall_id: string | null;
  action_key: string;
}

interface IntentRow {
  id: number;
  key: string;
  op: JournalIntent['op'];
  grant_id: string;
  need_id: string;
  action: string;
  recorded_at: number;
  state: JournalIntent['state'];
  settled_at: number | null;
  detail: string | null;
}

interface NeedRow {
  id: string;
  request: string;
  submitted_at: number;
  ended_at: number | null;
  end_reason: string | null;
}

function grantOf(r: GrantRow): JournalGrant {
  return {
    id: r.id,
    needId: r.need_id,
    gatewayId: r.gateway_id,
    table: r.tbl,
    family: r.family,
    protocol: r.protocol,
    internalClient: r.internal_client,
    internalPort: r.internal_port,
    ...(r.external_port !== null ? { externalPort: r.external_port } : {}),
    remoteHost: r.remote_host,
    remotePort: r.remote_port,
    leaseSeconds: r.lease_seconds,
    leaseStartedAt: r.lease_started_at,
    ...(r.expires_at !== null ? { expiresAt: r.expires_at } : {}),
    generation: r.generation,
    ...(r.router_id !== null ? { routerId: r.router_id } : {}),
    ...(r.firewall_id !== null ? { firewallId: r.firewall_id } : {}),
    actionKey: r.action_key,
  };
}

function intentOf(r: IntentRow): JournalIntent {
  return {
    id: r.id,
    key: r.key,
    op: r.op,
    grantId: r.grant_id,
    needId: r.need_id,
    recordedAt: r.recorded_at,
    state: r.state,
    ...(r.settled_at !== null ? { settledAt: r.settled_at } : {}),
    ...(r.detail !== null ? { detail: r.detail } : {}),
  };
}

function needOf(r: NeedRow): JournalNeed {
  return {
    id: r.id,
    request: JSON.parse(r.request) as NeedRequest,
    submittedAt: r.submitted_at,
    ...(r.ended_at !== null ? { endedAt: r.ended_at } : {}),
    ...(r.end_reason !== null ? { endReason: r.end_reason } : {}),
  };
}

const SQLITE_MAGIC = 'SQLite format 3\u0000';

/** Refuses a file that is not SQLite before SQLite touches it (it would otherwise only fail later, or not at all for an empty file). */
function checkFile(path: string): void {
  if (path === ':memory:' || !existsSync(path)) return;
  let head: Buffer;
  try {
    head = readFileSync(path).subarray(0, 16);
  } catch (e) {
    throw new JournalOpenError(path, 'io', `cannot be read: ${(e as Error).message}`);
  }
  if (head.length === 0) return; // an empty file becomes a new journal
  if (head.toString('latin1') !== SQLITE_MAGIC) throw new JournalOpenError(path, 'corrupt', 'is not an SQLite database (bad header); move it away or point the journal elsewhere');
}

function migrate(db: Database.Database, path: string, now: number): void {
  const appId = db.pragma('application_id', { simple: true }) as number;
  const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'").all() as { name: string }[]).map((t) => t.name);
  if (appId !== APPLICATION_ID) {
    if (appId !== 0 || tables.length > 0) {
      throw new JournalOpenError(path, 'foreign', `is an SQLite database of another program (application_id ${appId}, tables ${tables.slice(0, 5).join(', ') || 'none'}), not a homenet journal`);
    }
  }
  const current = tables.includes('schema_version') ? ((db.prepare('SELECT MAX(version) AS v FROM schema_version').get() as { v: number | null }).v ?? 0) : 0;
  if (current > SCHEMA_VERSION) throw new JournalOpenError(path, 'newer-schema', `has schema version ${current}; this homenet knows up to ${SCHEMA_VERSION}`);
  if (current === SCHEMA_VERSION) return;
  db.transaction(() => {
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.exec('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL)');
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      m.up(db);
      db.prepare('INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)').run(m.version, m.description, now);
    }
  })();
}

/**
 * Opens (creating or migrating) the gateway's SQLite journal: needs, grants
 * with their leases, an append-only decision log and a write-ahead intent
 * record of every firewall change.
 *
 * The protocol around a firewall change: `recordIntent(action)` → change the
 * firewall → `markApplied(action.key)`. A process killed anywhere in between
 * leaves a pending intent that {@link Journal.recover} settles.
 *
 * @example
 * ```ts
 * const journal = openJournal({ path: '/var/lib/homenet/journal.db', clock: Date.now });
 * const { needs, grants } = journal.recover();     // at start
 * journal.saveNeed(request);
 * journal.recordIntent(action);                    // before nft
 * await firewall.apply([action]);
 * journal.markApplied(action.key);                 // after nft
 * ```
 */
export function openJournal(options: JournalOptions): Journal {
  const { path, clock } = options;
  if (typeof path !== 'string' || path === '') throw new JournalInputError('journal path must be a non-empty string');
  if (typeof clock !== 'function') throw new JournalInputError('journal clock must be a function returning ms');
  checkFile(path);
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(path);
  } catch (e) {
    throw new JournalOpenError(path, 'io', `cannot be opened: ${(e as Error).message}`);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('busy_timeout = 5000');
    const check = db.pragma('quick_check', { simple: true }) as string;
    if (check !== 'ok') throw new JournalOpenError(path, 'corrupt', `is damaged: ${check}`);
    migrate(db, path, clock());
  } catch (e) {
    db.close();
    if (e instanceof JournalOpenError) throw e;
    const code = (e as { code?: string }).code ?? '';
    if (/NOTADB|CORRUPT/.test(code)) throw new JournalOpenError(path, 'corrupt', `is damaged or not a database (${code}: ${(e as Error).message})`);
    throw new JournalOpenError(path, 'io', `cannot be used: ${(e as Error).message}`);
  }

  const s = {
    saveNeed: db.prepare(
      `INSERT INTO needs (id, device_id, request, submitted_at) VALUES (@id, @device, @request, @at)
       ON CONFLICT(id) DO UPDATE SET request = excluded.request, device_id = excluded.device_id, ended_at = NULL, end_reason = NULL`,
    ),
    endNeed: db.prepare('UPDATE needs SET ended_at = ?, end_reason = ? WHERE id = ? AND ended_at IS NULL'),
    appendDecision: db.prepare('INSERT INTO decisions (engine_seq, at, recorded_at, need_id, verdict, body) VALUES (?, ?, ?, ?, ?, ?)'),
    recordIntent: db.prepare(
      `INSERT INTO intents (key, op, grant_id, need_id, action, recorded_at, state) VALUES (?, ?, ?, ?, ?, ?, 'pending')
       ON CONFLICT(key) DO UPDATE SET op = excluded.op, grant_id = excluded.grant_id, need_id = excluded.need_id, action = excluded.action,
         recorded_at = excluded.recorded_at, state = 'pending', settled_at = NULL, detail = NULL
       WHERE intents.state != 'pending'`,
    ),
    intentByKey: db.prepare('SELECT * FROM intents WHERE key = ?'),
    settle: db.prepare('UPDATE intents SET state = ?, settled_at = ?, detail = ? WHERE id = ?'),
    grantById: db.prepare('SELECT * FROM grants WHERE id = ?'),
    upsertGrant: db.prepare(
      `INSERT INTO grants (id, need_id, gateway_id, tbl, family, protocol, internal_client, internal_port, external_port, remote_host, remote_port,
         lease_seconds, lease_started_at, expires_at, generation, router_id, firewall_id, action_key, updated_at)
       VALUES (@id, @need_id, @gateway_id, @tbl, @family, @protocol, @internal_client, @internal_port, @external_port, @remote_host, @remote_port,
         @lease_seconds, @lease_started_at, @expires_at, @generation, @router_id, @firewall_id, @action_key, @updated_at)
       ON CONFLICT(id) DO UPDATE SET need_id = excluded.need_id, gateway_id = excluded.gateway_id, tbl = excluded.tbl, family = excluded.family,
         protocol = excluded.protocol, internal_client = excluded.internal_client, internal_port = excluded.internal_port,
         external_port = excluded.external_port, remote_host = excluded.remote_host, remote_port = excluded.remote_port,
         lease_seconds = excluded.lease_seconds, lease_started_at = excluded.lease_started_at, expires_at = excluded.expires_at,
         generation = excluded.generation, router_id = COALESCE(excluded.router_id, grants.router_id),
         firewall_id = COALESCE(excluded.firewall_id, grants.firewall_id), action_key = excluded.action_key, updated_at = excluded.updated_at`,
    ),
    deleteGrant: db.prepare('DELETE FROM grants WHERE id = ?'),
    needs: db.prepare('SELECT * FROM needs WHERE ended_at IS NULL ORDER BY submitted_at, id'),
    allNeeds: db.prepare('SELECT * FROM needs ORDER BY submitted_at, id'),
    needById: db.prepare('SELECT * FROM needs WHERE id = ?'),
    grants: db.prepare('SELECT * FROM grants ORDER BY id'),
    pending: db.prepare("SELECT * FROM intents WHERE state = 'pending' ORDER BY id"),
    decisions: db.prepare('SELECT * FROM decisions WHERE seq > ? AND (? IS NULL OR need_id = ?) ORDER BY seq LIMIT ?'),
    lastDecision: db.prepare('SELECT COALESCE(MAX(seq), 0) AS seq FROM decisions'),
    expiredGrants: db.prepare('SELECT id FROM grants WHERE expires_at IS NOT NULL AND expires_at <= ?'),
    orphanGrants: db.prepare('SELECT g.id FROM grants g LEFT JOIN needs n ON n.id = g.need_id WHERE n.id IS NULL OR n.ended_at IS NOT NULL'),
    prune: db.prepare("DELETE FROM intents WHERE state != 'pending' AND recorded_at < ?"),
  };

  function actionOf(a: Action): Action {
    if (!a || typeof a.key !== 'string' || a.key === '') throw new JournalInputError('intent action has no key');
    if (a.op !== 'add' && a.op !== 'renew' && a.op !== 'delete') throw new JournalInputError(`intent ${a.key}: op ${JSON.stringify(a.op)} is not add, renew or delete`);
    if (typeof a.grantId !== 'string' || typeof a.needId !== 'string') throw new JournalInputError(`intent ${a.key}: grantId and needId are required`);
    if (!Number.isInteger(a.leaseSeconds) || a.leaseSeconds < 0) throw new JournalInputError(`intent ${a.key}: leaseSeconds ${a.leaseSeconds} is not a whole number of seconds`);
    return a;
  }

  function writeIntent(a: Action, at: number): void {
    s.recordIntent.run(a.key, a.op, a.grantId, a.needId, JSON.stringify(a), at);
  }

  /** Applies a settled intent's effect on the grants table; `startedAt` is when the lease began. */
  function effect(a: Action, startedAt: number, ids: { routerId?: string; firewallId?: string } = {}): void {
    const existing = s.grantById.get(a.grantId) as GrantRow | undefined;
    if (existing && existing.generation > a.generation) return; // an older generation's action: the newer grant stands
    if (a.op === 'delete') {
      if (existing) s.deleteGrant.run(a.grantId);
      return;
    }
    s.upsertGrant.run({
      id: a.grantId,
      need_id: a.needId,
      gateway_id: a.gatewayId,
      tbl: a.table,
      family: a.family,
      protocol: a.protocol,
      internal_client: a.internalClient,
      internal_port: a.internalPort,
      external_port: a.externalPort ?? null,
      remote_host: a.remoteHost,
      remote_port: a.remotePort,
      lease_seconds: a.leaseSeconds,
      lease_started_at: startedAt,
      expires_at: a.leaseSeconds > 0 ? startedAt + a.leaseSeconds * 1000 : null,
      generation: a.generation,
      router_id: ids.routerId ?? (a.uniqueId !== undefined ? String(a.uniqueId) : null),
      firewall_id: ids.firewallId ?? null,
      action_key: a.key,
      updated_at: clock(),
    });
  }

  function applied(key: string, ids?: { routerId?: string; firewallId?: string }): void {
    const row = s.intentByKey.get(key) as IntentRow | undefined;
    if (!row) throw new JournalInputError(`no intent with key ${key}: record it before changing the firewall`);
    if (row.state === 'applied' || row.state === 'replayed') return;
    const now = clock();
    // The kernel's lease started when nft ran, i.e. between recordedAt and now: count from recordedAt, never later.
    effect(JSON.parse(row.action) as Action, row.recorded_at, ids);
    s.settle.run('applied', now, null, row.id);
  }

  const journal: Journal = {
    path,
    saveNeed(request) {
      if (!request || typeof request.id !== 'string' || request.id === '') throw new JournalInputError('need has no id');
      if (!request.requester || typeof request.requester.deviceId !== 'string') throw new JournalInputError(`need ${request.id}: requester.deviceId is required`);
      s.saveNeed.run({ id: request.id, device: request.requester.deviceId, request: JSON.stringify(request), at: clock() });
    },
    endNeed(needId, reason) {
      s.endNeed.run(clock(), reason, needId);
    },
    appendDecision(d) {
      if (!d || d.type !== 'decision' || typeof d.needId !== 'string') throw new JournalInputError('appendDecision takes an engine decision');
      return Number(s.appendDecision.run(d.seq, d.at, clock(), d.needId, d.verdict, JSON.stringify(d)).lastInsertRowid);
    },
    recordIntent(action) {
      writeIntent(actionOf(action), clock());
    },
    recordIntents: (actions) => {
      const checked = actions.map(actionOf);
      const at = clock();
      db.transaction(() => checked.forEach((a) => writeIntent(a, at)))();
    },
    markApplied(key, ids) {
      db.transaction(() => applied(key, ids))();
    },
    markAppliedMany(keys) {
      db.transaction(() => keys.forEach((k) => applied(k)))();
    },
    markFailed(key, detail) {
      const row = s.intentByKey.get(key) as IntentRow | undefined;
      if (!row) throw new JournalInputError(`no intent with key ${key}`);
      if (row.state === 'pending') s.settle.run('failed', clock(), detail, row.id);
    },
    needs(options = {}) {
      return ((options.includeEnded ? s.allNeeds : s.needs).all() as NeedRow[]).map(needOf);
    },
    grants() {
      return (s.grants.all() as GrantRow[]).map(grantOf);
    },
    pendingIntents() {
      return (s.pending.all() as IntentRow[]).map(intentOf);
    },
    intent(key) {
      const row = s.intentByKey.get(key) as IntentRow | undefined;
      return row ? intentOf(row) : undefined;
    },
    decisions(options = {}) {
      const rows = s.decisions.all(options.afterSeq ?? 0, options.needId ?? null, options.needId ?? null, options.limit ?? 1000) as {
        seq: number;
        engine_seq: number;
        at: number;
        need_id: string;
        verdict: JournalDecision['verdict'];
        body: string;
      }[];
      return rows.map((r) => ({ seq: r.seq, engineSeq: r.engine_seq, at: r.at, needId: r.need_id, verdict: r.verdict, body: JSON.parse(r.body) as unknown }));
    },
    recover() {
      return db.transaction((): Recovery => {
        const now = clock();
        const replayed: string[] = [];
        const rolledBack: string[] = [];
        for (const row of s.pending.all() as IntentRow[]) {
          const action = JSON.parse(row.action) as Action;
          const need = s.needById.get(row.need_id) as NeedRow | undefined;
          if (row.op !== 'delete' && (!need || need.ended_at !== null)) {
            s.settle.run('rolled-back', now, need ? 'need ended' : 'need unknown', row.id);
            rolledBack.push(row.key);
            continue;
          }
          effect(action, row.recorded_at);
          s.settle.run('replayed', now, null, row.id);
          replayed.push(row.key);
        }
        const expired = (s.expiredGrants.all(now) as { id: string }[]).map((r) => r.id);
        expired.forEach((id) => s.deleteGrant.run(id));
        const orphaned = (s.orphanGrants.all() as { id: string }[]).map((r) => r.id);
        orphaned.forEach((id) => s.deleteGrant.run(id));
        return {
          replayed,
          rolledBack,
          expired,
          orphaned,
          needs: (s.needs.all() as NeedRow[]).map(needOf),
          grants: (s.grants.all() as GrantRow[]).map(grantOf),
          lastDecisionSeq: (s.lastDecision.get() as { seq: number }).seq,
        };
      })();
    },
    pruneIntents(before) {
      return s.prune.run(before).changes;
    },
    close() {
      if (db.open) db.close();
    },
  };
  return journal;
}
