import type Database from 'better-sqlite3';

/** `PRAGMA application_id` of a homenet journal: 'hnj1'. A file with another id is not ours. */
export const APPLICATION_ID = 0x686e6a31;

/** One schema step; applied in a transaction, in order, once. */
export interface Migration {
  readonly version: number;
  readonly description: string;
  up(db: Database.Database): void;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'needs, grants, decisions, intents',
    up(db) {
      db.exec(`
        CREATE TABLE needs (
          id TEXT PRIMARY KEY,
          device_id TEXT NOT NULL,
          request TEXT NOT NULL,
          submitted_at INTEGER NOT NULL,
          ended_at INTEGER,
          end_reason TEXT
        );
        CREATE INDEX needs_live ON needs(ended_at) WHERE ended_at IS NULL;
        CREATE TABLE grants (
          id TEXT PRIMARY KEY,
          need_id TEXT NOT NULL,
          gateway_id TEXT NOT NULL,
          tbl TEXT NOT NULL CHECK (tbl IN ('pinhole', 'port-mapping')),
          family TEXT NOT NULL CHECK (family IN ('ipv4', 'ipv6')),
          protocol TEXT NOT NULL CHECK (protocol IN ('udp', 'tcp')),
          internal_client TEXT NOT NULL,
          internal_port INTEGER NOT NULL,
          external_port INTEGER,
          remote_host TEXT NOT NULL,
          remote_port INTEGER NOT NULL,
          lease_seconds INTEGER NOT NULL,
          lease_started_at INTEGER NOT NULL,
          expires_at INTEGER,
          generation INTEGER NOT NULL,
          router_id TEXT,
          firewall_id TEXT,
          action_key TEXT NOT NULL,
          updated_at INTEGER NOT NULL
        );
        CREATE INDEX grants_need ON grants(need_id);
        CREATE TABLE decisions (
          seq INTEGER PRIMARY KEY AUTOINCREMENT,
          engine_seq INTEGER NOT NULL,
          at INTEGER NOT NULL,
          recorded_at INTEGER NOT NULL,
          need_id TEXT NOT NULL,
          verdict TEXT NOT NULL,
          body TEXT NOT NULL
        );
        CREATE INDEX decisions_need ON decisions(need_id);
        CREATE TRIGGER decisions_append_only_update BEFORE UPDATE ON decisions BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
        CREATE TRIGGER decisions_append_only_delete BEFORE DELETE ON decisions BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
        CREATE TABLE intents (
          id INTEGER PRIMARY KEY AUTOINCREMENT,
          key TEXT NOT NULL UNIQUE,
          op TEXT NOT NULL CHECK (op IN ('add', 'renew', 'delete')),
          grant_id TEXT NOT NULL,
          need_id TEXT NOT NULL,
          action TEXT NOT NULL,
          recorded_at INTEGER NOT NULL,
          state TEXT NOT NULL CHECK (state IN ('pending', 'applied', 'failed', 'replayed', 'rolled-back')),
          settled_at INTEGER,
          detail TEXT
        );
        CREATE INDEX intents_pending ON intents(state) WHERE state = 'pending';
      `);
    },
  },
  {
    version: 2,
    description: 'retention: decisions trimmed from the oldest end only; high-water marks that outlive pruned rows',
    up(db) {
      db.exec(`
        DROP TRIGGER decisions_append_only_delete;
        CREATE TRIGGER decisions_append_only_delete BEFORE DELETE ON decisions
          WHEN OLD.seq > (SELECT MIN(seq) FROM decisions)
          BEGIN SELECT RAISE(ABORT, 'decisions are append-only (retention trims the oldest only)'); END;
        CREATE INDEX needs_ended ON needs(ended_at) WHERE ended_at IS NOT NULL;
        CREATE INDEX intents_recorded ON intents(recorded_at);
        CREATE INDEX intents_pending_need ON intents(need_id) WHERE state = 'pending';
        CREATE TABLE marks (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
      `);
    },
  },
  {
    version: 3,
    description: 'per-device retention: decisions carry their device; each device trimmed from its own oldest end',
    up(db) {
      // The backfill updates every row once: the update trigger is lifted for it and put back as it was.
      db.exec(`
        DROP TRIGGER decisions_append_only_update;
        ALTER TABLE decisions ADD COLUMN device_id TEXT;
        UPDATE decisions SET device_id = json_extract(body, '$.deviceId') WHERE json_valid(body);
        CREATE TRIGGER decisions_append_only_update BEFORE UPDATE ON decisions BEGIN SELECT RAISE(ABORT, 'decisions are append-only'); END;
        CREATE INDEX decisions_device ON decisions(device_id, seq);
        DROP TRIGGER decisions_append_only_delete;
        CREATE TRIGGER decisions_append_only_delete BEFORE DELETE ON decisions
          WHEN OLD.seq > (SELECT MIN(seq) FROM decisions WHERE device_id IS OLD.device_id)
          BEGIN SELECT RAISE(ABORT, 'decisions are append-only (retention trims each device''s oldest only)'); END;
      `);
    },
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;
