import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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
  /** What {@link Journal.prune} keeps; without it nothing is ever pruned. */
  readonly retention?: JournalRetention;
  /** Receives what is worth telling but does not stop the journal (a directory others can read, permissions tightened). */
  readonly onWarning?: (message: string) => void;
  /**
   * Runs the next step of a background prune later, after the event loop
   * served what is waiting (default `setImmediate`). Tests pass their own to
   * step by hand.
   */
  readonly defer?: (next: () => void) => void;
  /** Told what each prune step did and how long it held the thread (benchmarks, metrics). */
  readonly onPruneStep?: (step: PruneStep) => void;
}

/** One bounded piece of a prune (see {@link Journal.pruneInBackground}). */
export interface PruneStep {
  /** `age`/`size`: history deleted; `vacuum`: free pages given back; `checkpoint`: WAL copied back, then truncated (a blocking {@link Journal.prune} only). */
  readonly kind: 'age' | 'size' | 'vacuum' | 'checkpoint';
  /** Rows deleted (age, size) or pages freed (vacuum). */
  readonly amount: number;
  /** Wall time the step held the thread, in ms (on a loaded machine, also the time it waited for a CPU). */
  readonly ms: number;
  /** CPU time (user + system) the process used during the step, in ms: its own work, without waits for the disk or a CPU. */
  readonly cpuMs: number;
}

/**
 * How much history the journal keeps. History is decisions, ended needs and
 * settled intents; live needs, pending intents and grants are state and are
 * never pruned, whatever their age or size.
 */
export interface JournalRetention {
  /** History older than this (by when it was written, ended or recorded) is removed. */
  readonly maxAgeMs: number;
  /**
   * Bound on the database plus its WAL, in bytes: once the data passes 3/4 of
   * it, history goes until the data is back under 60% of it — decisions from
   * the device holding the most of them first (its oldest first), so one
   * device flooding the journal pushes out its own history, not a quiet
   * device's; ended needs and settled intents oldest first. The WAL is held
   * to about 1/8 of it (`wal_autocheckpoint`, `journal_size_limit`).
   */
  readonly maxBytes: number;
  /** A prune starts by itself after this many writes (default: one per 16 KiB of `maxBytes`, 64..1024). */
  readonly pruneEveryWrites?: number;
  /** Rows one prune step deletes at most (default 200): what bounds how long a step holds the thread. */
  readonly rowsPerStep?: number;
  /** Free pages one prune step gives back at most (default 64). */
  readonly pagesPerStep?: number;
}

/** What one {@link Journal.prune} removed, and the files' size after it. */
export interface PruneReport {
  readonly decisions: number;
  readonly needs: number;
  readonly intents: number;
  /** Database + WAL bytes after the prune (0 for `:memory:`). */
  readonly bytes: number;
  /** Whether the size bound (not only age) made it remove history. */
  readonly bySize: boolean;
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
  /** The `limit` newest decisions, oldest first (retention may leave gaps in the seqs). */
  latestDecisions(limit: number): JournalDecision[];
  /**
   * At most `limit` of the newest decisions, shared between devices as the
   * retention shares them: each device its newest, none more than one above
   * another unless that one has no more (a flood of one host's decisions
   * leaves a quiet device's in; an odd one left over goes to the device
   * holding fewer). Oldest first.
   */
  fairLatestDecisions(limit: number): JournalDecision[];
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
  /**
   * Applies the retention (see {@link JournalRetention}) at once: history
   * older than `maxAgeMs`, then history while the database is over its size
   * share; frees the pages and truncates the WAL. Never touches a live need,
   * a pending intent or a grant, so {@link recover} finds the same state
   * before and after. A no-op without a retention. Runs the same bounded
   * steps as {@link pruneInBackground} back to back, so it holds the thread
   * for all of them: for tools, tests and shutdown, not a serving daemon.
   */
  prune(): PruneReport;
  /**
   * The same prune in bounded steps (at most `rowsPerStep` rows deleted or
   * `pagesPerStep` pages freed, in one transaction each), yielding to the
   * event loop between steps (`defer`). A prune already running is joined,
   * not started twice. The journal starts one by itself every
   * `pruneEveryWrites` writes; if writes keep coming while the event loop
   * gives the steps no turn (1/8 of that many), each further write runs one
   * step itself, so the size bound holds either way.
   *
   * @example
   * ```ts
   * const report = await journal.pruneInBackground(); // the IGD keeps answering meanwhile
   * ```
   */
  pruneInBackground(): Promise<PruneReport>;
  /** Database + WAL bytes on disk now (0 for `:memory:`). */
  sizeOnDisk(): number;
  /** A named high-water mark that outlives pruned rows (0 when never set). */
  mark(name: string): number;
  /** Raises mark `name` to `value` (never lowers it). */
  raiseMark(name: string, value: number): void;
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

interface DecisionRow {
  seq: number;
  engine_seq: number;
  at: number;
  need_id: string;
  verdict: JournalDecision['verdict'];
  body: string;
}

function decisionOf(r: DecisionRow): JournalDecision {
  return { seq: r.seq, engineSeq: r.engine_seq, at: r.at, needId: r.need_id, verdict: r.verdict, body: JSON.parse(r.body) as unknown };
}

/**
 * How many rows each holder gives up so that `k` go in all, the largest
 * holders first: they are lowered to a common level (water-filling), so a
 * holder loses nothing while another holds more. Ties go to the holder met
 * first. O(holders · log holders).
 *
 * @example
 * ```ts
 * fairShares(new Map([['flood', 900], ['quiet', 5]]), 100); // [['flood', 100]]
 * ```
 */
export function fairShares<K>(held: ReadonlyMap<K, number>, k: number): [K, number][] {
  const sorted = [...held].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
  if (k <= 0 || sorted.length === 0) return [];
  let sum = 0;
  for (let n = 1; n <= sorted.length; n++) {
    sum += sorted[n - 1][1];
    const next = n < sorted.length ? sorted[n][1] : 0;
    if (sum - n * next < k && n < sorted.length) continue;
    // The top n go down to `level` (at least `next`); the first `extra` of them one further.
    const level = Math.max(next, Math.ceil((sum - k) / n));
    let extra = Math.max(0, k - (sum - n * level));
    const out: [K, number][] = [];
    for (let i = 0; i < n; i++) {
      const give = sorted[i][1] - level + (extra > 0 && level > 0 ? 1 : 0);
      if (extra > 0 && level > 0) extra--;
      if (give > 0) out.push([sorted[i][0], give]);
    }
    return out;
  }
  return [];
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

/**
 * The directory and files' permissions: journal files hold MACs, addresses
 * and the history of who opened what, so they are 0600 in a 0700 directory.
 * A missing directory is created 0700. An existing directory others can
 * **write** to is refused (anyone there could replace the journal or plant its
 * WAL); one they can only read or search is warned about (the files are 0600
 * whatever the directory, so only names and sizes show), because state
 * directories made 0755 by earlier versions must keep working.
 */
function secureLocation(path: string, warn: (message: string) => void): void {
  const dir = dirname(resolve(path));
  if (!existsSync(dir)) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
  } else {
    const mode = statSync(dir).mode & 0o777;
    if (mode & 0o022) {
      throw new JournalOpenError(path, 'insecure', `its directory ${dir} is writable by group or others (mode ${mode.toString(8).padStart(4, '0')}): anyone there could replace the journal; run chmod 700 ${dir} or use another directory`);
    }
    if (mode & 0o055) warn(`journal directory ${dir} is readable by group or others (mode ${mode.toString(8).padStart(4, '0')}); the journal files are 0600, but chmod 700 ${dir} hides their names too`);
  }
  if (!existsSync(path)) closeSync(openSync(path, 'a', 0o600));
  tighten(path, warn);
}

/** Makes `file` 0600 if it exists and is more open (SQLite gives its WAL and SHM the database's mode). */
function tighten(file: string, warn: (message: string) => void): void {
  let mode: number;
  try {
    mode = statSync(file).mode & 0o777;
  } catch {
    return;
  }
  if ((mode & 0o077) === 0) return;
  chmodSync(file, 0o600);
  warn(`journal file ${file} was mode ${mode.toString(8).padStart(4, '0')}; now 0600`);
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
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
  const retention = options.retention;
  if (retention !== undefined) {
    if (!(retention.maxAgeMs > 0)) throw new JournalInputError(`journal retention maxAgeMs must be positive, got ${retention.maxAgeMs}`);
    if (!Number.isInteger(retention.maxBytes) || retention.maxBytes < 64 * 1024) throw new JournalInputError(`journal retention maxBytes must be a whole number of at least 65536, got ${retention.maxBytes}`);
    for (const key of ['pruneEveryWrites', 'rowsPerStep', 'pagesPerStep'] as const) {
      const v = retention[key];
      if (v !== undefined && !(Number.isInteger(v) && v > 0)) throw new JournalInputError(`journal retention ${key} must be a positive whole number, got ${v}`);
    }
  }
  const warn = options.onWarning ?? (() => undefined);
  const onDisk = path !== ':memory:';
  checkFile(path);
  // Warnings about the location are told once the database opened (a caller that retries elsewhere is not told twice).
  const locationWarnings: string[] = [];
  if (onDisk) secureLocation(path, (m) => locationWarnings.push(m));
  let db: Database.Database;
  let rebuild = false;
  try {
    db = new Database(path);
    locationWarnings.forEach(warn);
  } catch (e) {
    throw new JournalOpenError(path, 'io', `cannot be opened: ${(e as Error).message}`);
  }
  try {
    // Before any table exists (a new file): freed pages can be given back to the file system.
    db.pragma('auto_vacuum = INCREMENTAL');
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${options.durability === 'full' ? 'FULL' : 'NORMAL'}`);
    db.pragma('busy_timeout = 5000');
    const check = db.pragma('quick_check', { simple: true }) as string;
    if (check !== 'ok') throw new JournalOpenError(path, 'corrupt', `is damaged: ${check}`);
    migrate(db, path, clock());
    if (retention !== undefined) {
      // An older journal made without auto_vacuum is rebuilt once, at open (before anything is served), after a prune (less to copy).
      rebuild = (db.pragma('auto_vacuum', { simple: true }) as number) !== 2;
      const walBytes = Math.floor(retention.maxBytes / 8);
      db.pragma(`journal_size_limit = ${walBytes}`);
      db.pragma(`wal_autocheckpoint = ${Math.max(4, Math.floor(walBytes / 2 / (db.pragma('page_size', { simple: true }) as number)))}`);
    }
    if (onDisk) for (const f of [`${path}-wal`, `${path}-shm`]) tighten(f, warn);
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
    appendDecision: db.prepare('INSERT INTO decisions (engine_seq, at, recorded_at, need_id, verdict, body, device_id) VALUES (?, ?, ?, ?, ?, ?, ?)'),
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
    latestDecisions: db.prepare('SELECT * FROM (SELECT * FROM decisions ORDER BY seq DESC LIMIT ?) ORDER BY seq'),
    // Each device's newest decisions, ranked (1 = its newest), those ranked up to ?.
    rankedDecisions: db.prepare(
      'SELECT * FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY device_id ORDER BY seq DESC) AS rank FROM decisions) WHERE rank <= ? ORDER BY seq',
    ),
    decisionsPerDevice: db.prepare('SELECT device_id AS device, COUNT(*) AS n FROM decisions GROUP BY device_id'),
    // The sequence, not MAX(seq): retention may have removed every decision.
    lastDecision: db.prepare("SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'decisions'), 0) AS seq"),
    expiredGrants: db.prepare('SELECT id FROM grants WHERE expires_at IS NOT NULL AND expires_at <= ?'),
    orphanGrants: db.prepare('SELECT g.id FROM grants g LEFT JOIN needs n ON n.id = g.need_id WHERE n.id IS NULL OR n.ended_at IS NOT NULL'),
    prune: db.prepare("DELETE FROM intents WHERE state != 'pending' AND recorded_at < ?"),
    // Retention. Decisions go from each device's oldest end only (the schema's trigger refuses anything else).
    // Decisions older than @before, from the oldest end and no further than the first newer one (the clock may have
    // stepped back), looking at @limit rows at most.
    pruneOldDecisions: db.prepare(
      `WITH head AS (SELECT seq, recorded_at FROM decisions ORDER BY seq LIMIT @limit)
       DELETE FROM decisions WHERE seq IN (SELECT seq FROM head WHERE seq < COALESCE((SELECT MIN(seq) FROM head WHERE recorded_at >= @before), 9007199254740991))
       RETURNING device_id`,
    ),
    // The oldest @limit decisions of one device (the schema's trigger refuses anything but a device's oldest end).
    pruneDeviceOldest: db.prepare(
      'DELETE FROM decisions WHERE seq IN (SELECT seq FROM decisions WHERE device_id IS @device ORDER BY seq LIMIT @limit) RETURNING device_id',
    ),
    // An ended need still owning a grant or named by a pending intent is state, not history.
    pruneNeeds: db.prepare(
      `DELETE FROM needs WHERE id IN (SELECT n.id FROM needs n WHERE n.ended_at IS NOT NULL AND n.ended_at < @before
         AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.need_id = n.id)
         AND NOT EXISTS (SELECT 1 FROM intents i WHERE i.need_id = n.id AND i.state = 'pending')
         ORDER BY n.ended_at LIMIT @limit)`,
    ),
    pruneIntentsOldest: db.prepare("DELETE FROM intents WHERE id IN (SELECT id FROM intents WHERE state != 'pending' AND recorded_at < @before ORDER BY recorded_at LIMIT @limit)"),
    countEndedHistory: db.prepare(
      "SELECT (SELECT COUNT(*) FROM needs WHERE ended_at IS NOT NULL) AS needs, (SELECT COUNT(*) FROM intents WHERE state != 'pending') AS intents",
    ),
    mark: db.prepare('SELECT value FROM marks WHERE name = ?'),
    raiseMark: db.prepare('INSERT INTO marks (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = MAX(value, excluded.value)'),
  };

  /** Bytes of pages holding data (the file minus its free pages). */
  function liveBytes(): number {
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    return ((db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number)) * pageSize;
  }

  function sizeOnDisk(): number {
    return onDisk ? fileSize(path) + fileSize(`${path}-wal`) : 0;
  }

  /** Decisions each device holds now (kept exact: appends add, every delete returns its rows' devices). */
  const heldBy = new Map<string | null, number>();
  for (const r of s.decisionsPerDevice.all() as { device: string | null; n: number }[]) heldBy.set(r.device, r.n);
  function released(rows: readonly { device_id: string | null }[]): number {
    for (const r of rows) {
      const n = (heldBy.get(r.device_id) ?? 1) - 1;
      if (n > 0) heldBy.set(r.device_id, n);
      else heldBy.delete(r.device_id);
    }
    return rows.length;
  }

  const rowsPerStep = retention?.rowsPerStep ?? 200;
  const pagesPerStep = retention?.pagesPerStep ?? 64;
  let writesSincePrune = 0;
  const pruneEvery = retention?.pruneEveryWrites ?? Math.min(1024, Math.max(64, Math.floor((retention?.maxBytes ?? 0) / 16384)));
  // A prune that got no turn from the event loop in this many writes is being starved (writes in a synchronous burst).
  const starvedAfter = Math.max(4, Math.floor(pruneEvery / 8));
  const defer = options.defer ?? ((next: () => void) => void setImmediate(next));
  const onPruneStep = options.onPruneStep;

  /**
   * One prune as bounded steps: each `yield` ends a step (no transaction is
   * open across one), so a caller may run the next step now or later.
   */
  function* pruneSteps(r: JournalRetention, truncateWal: boolean): Generator<PruneStep, PruneReport, void> {
    const before = clock() - r.maxAgeMs;
    let decisions = 0;
    let needs = 0;
    let intents = 0;
    let t = process.hrtime.bigint();
    let cpu = onPruneStep ? process.cpuUsage() : undefined;
    const step = (kind: PruneStep['kind'], amount: number): PruneStep => {
      const end = process.hrtime.bigint();
      const used = cpu ? process.cpuUsage(cpu) : { user: 0, system: 0 };
      const done = { kind, amount, ms: Number(end - t) / 1e6, cpuMs: (used.user + used.system) / 1000 };
      onPruneStep?.(done);
      return done;
    };
    const resume = () => {
      t = process.hrtime.bigint();
      if (cpu) cpu = process.cpuUsage();
    };
    // By age: each category from its oldest end, a step's worth of rows at a time.
    for (;;) {
      const n = db.transaction(() => released(s.pruneOldDecisions.all({ before, limit: rowsPerStep }) as { device_id: string | null }[]))();
      decisions += n;
      if (n === 0) break;
      yield step('age', n);
      resume();
    }
    for (;;) {
      const n = s.pruneNeeds.run({ before, limit: rowsPerStep }).changes;
      needs += n;
      if (n === 0) break;
      yield step('age', n);
      resume();
    }
    for (;;) {
      const n = s.pruneIntentsOldest.run({ before, limit: rowsPerStep }).changes;
      intents += n;
      if (n === 0) break;
      yield step('age', n);
      resume();
    }
    // The size bound: the database's share is 3/4 of maxBytes (the WAL's 1/8, plus a step's worth);
    // once over it, history goes until the data is under 60% of maxBytes.
    const share = Math.floor(r.maxBytes * 0.75);
    const target = Math.floor(r.maxBytes * 0.6);
    let bySize = false;
    if (liveBytes() > share) {
      bySize = true;
      // How the rows split between the categories, counted once (a step each way would be wasted on COUNT).
      const other = s.countEndedHistory.get() as { needs: number; intents: number };
      yield step('size', 0);
      resume();
      for (let live = liveBytes(); live > target; live = liveBytes()) {
        const held = [...heldBy.values()].reduce((a, b) => a + b, 0);
        const total = held + other.needs + other.intents;
        if (total === 0) break; // what is left is state
        // Rows are taken in proportion to what is over the target (a little more), a step's worth at most.
        const rows = Math.min(rowsPerStep, Math.ceil(total * ((live - target) / live + 0.02)));
        const portion = (n: number) => (n === 0 ? 0 : Math.max(1, Math.round((rows * n) / total)));
        const removed = db.transaction(() => {
          let d = 0;
          for (const [device, n] of fairShares(heldBy, portion(held))) d += released(s.pruneDeviceOldest.all({ device, limit: n }) as { device_id: string | null }[]);
          const n = other.needs > 0 ? s.pruneNeeds.run({ before: Number.MAX_SAFE_INTEGER, limit: portion(other.needs) }).changes : 0;
          const i = other.intents > 0 ? s.pruneIntentsOldest.run({ before: Number.MAX_SAFE_INTEGER, limit: portion(other.intents) }).changes : 0;
          return { d, n, i };
        })();
        // A category with nothing left to give (only state remains) drops out of the split.
        other.needs = removed.n < portion(other.needs) ? 0 : Math.max(0, other.needs - removed.n);
        other.intents = removed.i < portion(other.intents) ? 0 : Math.max(0, other.intents - removed.i);
        decisions += removed.d;
        needs += removed.n;
        intents += removed.i;
        const n = removed.d + removed.n + removed.i;
        if (n === 0) break;
        yield step('size', n);
        resume();
      }
    }
    // Free pages back to the file system, a bounded number per step.
    if (decisions + needs + intents > 0) {
      for (;;) {
        const free = db.pragma('freelist_count', { simple: true }) as number;
        if (free === 0) break;
        db.pragma(`incremental_vacuum(${Math.min(free, pagesPerStep)})`);
        yield step('vacuum', Math.min(free, pagesPerStep));
        resume();
      }
    }
    // The WAL. In the background it is left to the automatic checkpoints (a write's commit copies it back once it
    // holds wal_autocheckpoint pages; journal_size_limit truncates it), so no step waits for an fsync of its own.
    // A blocking prune copies it back and truncates it.
    if (truncateWal) {
      db.pragma('wal_checkpoint(PASSIVE)');
      yield step('checkpoint', 0);
      resume();
      db.pragma('wal_checkpoint(TRUNCATE)');
      if (onDisk) for (const f of [`${path}-wal`, `${path}-shm`]) tighten(f, warn);
      step('checkpoint', 0);
    }
    return { decisions, needs, intents, bytes: sizeOnDisk(), bySize };
  }

  const nothing = (): PruneReport => ({ decisions: 0, needs: 0, intents: 0, bytes: sizeOnDisk(), bySize: false });

  /** The prune under way, if any: its steps and the promise its callers wait on. */
  let running: { steps: Generator<PruneStep, PruneReport, void>; done: Promise<PruneReport>; settle(r: PruneReport): void; fail(e: unknown): void; deferred: boolean } | undefined;

  /** Runs the running prune's next step; true once it finished. */
  function advance(): boolean {
    const run = running;
    if (!run) return true;
    if (!db.open) {
      running = undefined;
      run.settle(nothing());
      return true;
    }
    let next: IteratorResult<PruneStep, PruneReport>;
    try {
      next = run.steps.next();
    } catch (e) {
      running = undefined;
      run.fail(e);
      return true;
    }
    if (!next.done) return false;
    running = undefined;
    run.settle(next.value);
    return true;
  }

  function scheduleNext(): void {
    const run = running;
    if (!run || run.deferred) return;
    run.deferred = true;
    defer(() => {
      run.deferred = false;
      if (running !== run) return;
      if (!advance()) scheduleNext();
    });
  }

  function pruneInBackground(): Promise<PruneReport> {
    if (retention === undefined || !db.open) return Promise.resolve(nothing());
    if (running) return running.done;
    writesSincePrune = 0;
    let settle!: (r: PruneReport) => void;
    let fail!: (e: unknown) => void;
    const done = new Promise<PruneReport>((res, rej) => {
      settle = res;
      fail = rej;
    });
    running = { steps: pruneSteps(retention, false), done, settle, fail, deferred: false };
    scheduleNext();
    return done;
  }

  function prune(): PruneReport {
    if (retention === undefined || !db.open) return nothing();
    // A background prune under way is finished first (its report is its own); then a whole one runs.
    while (running && !advance());
    writesSincePrune = 0;
    const steps = pruneSteps(retention, true);
    for (;;) {
      const next = steps.next();
      if (next.done) return next.value;
    }
  }

  /**
   * Counts a write; every `pruneEvery` writes a background prune starts. While
   * one runs and `pruneEvery / 8` writes came without the event loop giving
   * it a turn, each further write runs one of its steps itself.
   */
  function wrote(): void {
    if (retention === undefined) return;
    ++writesSincePrune;
    if (running) {
      if (writesSincePrune >= starvedAfter) advance();
      return;
    }
    if (writesSincePrune < pruneEvery) return;
    pruneInBackground().catch((e: unknown) => warn(`journal prune failed: ${(e as Error).message}`));
  }

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

  // Made once: building a transaction function per call costs as much as a small write.
  const tx = {
    recordIntents: db.transaction((actions: readonly Action[], at: number) => actions.forEach((a) => writeIntent(a, at))),
    applied: db.transaction((key: string, ids?: { routerId?: string; firewallId?: string }) => applied(key, ids)),
    appliedMany: db.transaction((keys: readonly string[]) => keys.forEach((k) => applied(k))),
  };

  const journal: Journal = {
    path,
    saveNeed(request) {
      if (!request || typeof request.id !== 'string' || request.id === '') throw new JournalInputError('need has no id');
      if (!request.requester || typeof request.requester.deviceId !== 'string') throw new JournalInputError(`need ${request.id}: requester.deviceId is required`);
      s.saveNeed.run({ id: request.id, device: request.requester.deviceId, request: JSON.stringify(request), at: clock() });
      wrote();
    },
    endNeed(needId, reason) {
      s.endNeed.run(clock(), reason, needId);
      wrote();
    },
    appendDecision(d) {
      if (!d || d.type !== 'decision' || typeof d.needId !== 'string') throw new JournalInputError('appendDecision takes an engine decision');
      const device = typeof d.deviceId === 'string' ? d.deviceId : null;
      const seq = Number(s.appendDecision.run(d.seq, d.at, clock(), d.needId, d.verdict, JSON.stringify(d), device).lastInsertRowid);
      heldBy.set(device, (heldBy.get(device) ?? 0) + 1);
      wrote();
      return seq;
    },
    recordIntent(action) {
      writeIntent(actionOf(action), clock());
      wrote();
    },
    recordIntents: (actions) => {
      const checked = actions.map(actionOf);
      const at = clock();
      tx.recordIntents(checked, at);
      wrote();
    },
    markApplied(key, ids) {
      tx.applied(key, ids);
      wrote();
    },
    markAppliedMany(keys) {
      tx.appliedMany(keys);
      wrote();
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
      const rows = s.decisions.all(options.afterSeq ?? 0, options.needId ?? null, options.needId ?? null, options.limit ?? 1000) as DecisionRow[];
      return rows.map(decisionOf);
    },
    latestDecisions(limit) {
      if (!Number.isInteger(limit) || limit < 0) throw new JournalInputError(`latestDecisions limit must be a whole number, got ${limit}`);
      return (s.latestDecisions.all(limit) as DecisionRow[]).map(decisionOf);
    },
    fairLatestDecisions(limit) {
      if (!Number.isInteger(limit) || limit < 0) throw new JournalInputError(`fairLatestDecisions limit must be a whole number, got ${limit}`);
      // The level: each device keeps min(its count, level) newest, the highest level that fits in limit.
      const counts = [...heldBy.values()].sort((a, b) => a - b);
      let level = 0;
      let below = 0; // sum of the counts under the level
      for (let i = 0; i < counts.length; i++) {
        const higher = Math.floor((limit - below) / (counts.length - i)); // what each of the rest can have
        if (counts[i] <= higher) {
          below += counts[i];
          level = counts[i];
          continue;
        }
        level = higher;
        break;
      }
      const rows = s.rankedDecisions.all(level + 1) as (DecisionRow & { rank: number; device_id: string | null })[];
      const within = rows.filter((r) => r.rank <= level);
      // What is left of the limit goes one more each to the devices holding the fewest.
      const room = limit - within.length;
      const held = (r: { device_id: string | null }) => heldBy.get(r.device_id) ?? 0;
      const next = room > 0 ? rows.filter((r) => r.rank === level + 1).sort((a, b) => held(a) - held(b)).slice(0, room) : [];
      return [...within, ...next].sort((a, b) => a.seq - b.seq).map(decisionOf);
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
    prune,
    pruneInBackground,
    sizeOnDisk,
    mark(name) {
      return (s.mark.get(name) as { value: number } | undefined)?.value ?? 0;
    },
    raiseMark(name, value) {
      if (!Number.isSafeInteger(value)) throw new JournalInputError(`mark ${name}: ${value} is not a whole number`);
      s.raiseMark.run(name, value);
    },
    close() {
      if (db.open) db.close();
    },
  };
  if (rebuild) {
    prune();
    db.exec('VACUUM'); // auto_vacuum = INCREMENTAL (set at open) takes effect
    db.pragma('wal_checkpoint(TRUNCATE)');
  }
  return journal;
}
