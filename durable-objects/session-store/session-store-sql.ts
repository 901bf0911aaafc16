// All SQL of the SessionStore: schema, ordered migrations and typed queries. No decisions
// here, only reads and writes; store-operations.ts decides what to write and when.
// Secrets appear only as SHA-256 digests (BLOBs); times are epoch milliseconds.
//
// Revocation is by floors: every session gets a `seq` that only grows (AUTOINCREMENT never
// reuses one), and killing all sessions of a user or of the tenant records "seq below N is
// dead". That is one write however many sessions there are; the purge alarm deletes the
// dead rows later, in bounded batches. Expiry is decided by the rule in src/core/session.ts (the
// current timeouts, the idle line and the absolute history); every read of sessions applies it as LIVE
// below (a read by id applies `isLive` in JS instead). The stored `idle_expires_at` and
// `absolute_expires_at` are what the purge goes by: after a change of timeouts they are
// brought up to date by a re-evaluation pass, in batches, before the purge deletes by them.

import type { AuditEvent } from "../../src/core/events";
import { applyMigrations, hasSchema } from "../migrations";
import type { ShardHistory } from "../../src/core/placement";
import { isLive, type AbsoluteHistory, type ExpiryRules, type SessionRecord } from "../../src/core/session";
import { newEventId, webhookEventOf } from "../../src/core/webhooks";
import { enqueue, hasEnabledWebhooks, readWebhooks, writeCopiedWebhooks, type WebhookRow } from "./webhooks-sql";

/** Ordered; each runs once, in one transaction with the bump of `schema_version`. Append only. */
export const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE tenant (
       id INTEGER PRIMARY KEY CHECK (id = 1),
       name TEXT NOT NULL,
       settings TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       updated_at INTEGER NOT NULL,
       revoked_below_seq INTEGER NOT NULL DEFAULT 0
     )`,
    `CREATE TABLE tenant_keys (
       id TEXT PRIMARY KEY,
       secret_hash BLOB NOT NULL,
       created_at INTEGER NOT NULL
     ) WITHOUT ROWID`,
    `CREATE TABLE sessions (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       id TEXT NOT NULL UNIQUE,
       user_id TEXT NOT NULL,
       secret_hash BLOB NOT NULL,
       created_at INTEGER NOT NULL,
       last_seen_at INTEGER NOT NULL,
       idle_expires_at INTEGER NOT NULL,
       absolute_expires_at INTEGER NOT NULL,
       ip TEXT,
       user_agent TEXT,
       data TEXT NOT NULL
     )`,
    // Listing a user's sessions newest first, killing a user's sessions, eviction.
    `CREATE INDEX sessions_by_user ON sessions (user_id, seq)`,
    // The purge: sessions by stored expiry.
    `CREATE INDEX sessions_by_expiry ON sessions (min(idle_expires_at, absolute_expires_at))`,
    `CREATE TABLE user_revocations (
       user_id TEXT PRIMARY KEY,
       revoked_below_seq INTEGER NOT NULL
     ) WITHOUT ROWID`,
    `CREATE TABLE events (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       at INTEGER NOT NULL,
       type TEXT NOT NULL,
       reason TEXT,
       actor TEXT NOT NULL,
       session_id TEXT,
       user_id TEXT,
       count INTEGER
     )`,
    `CREATE INDEX events_by_time ON events (at)`,
  ],
  [
    // Digests of secrets that rotation replaced, so a logout with a superseded token still ends
    // its session and a use of one shows in the audit log (a sign of theft). Kept until the
    // session's absolute expiry, at most SUPERSEDED_PER_SESSION per session.
    `CREATE TABLE superseded_secrets (
       seq INTEGER PRIMARY KEY,
       session_id TEXT NOT NULL,
       user_id TEXT NOT NULL,
       secret_hash BLOB NOT NULL,
       expires_at INTEGER NOT NULL,
       reported INTEGER NOT NULL DEFAULT 0
     )`,
    `CREATE INDEX superseded_by_session ON superseded_secrets (session_id, seq)`,
    `CREATE INDEX superseded_by_expiry ON superseded_secrets (expires_at)`,
  ],
  [
    // What earlier timeouts leave behind (src/core/session.ts): the idle line and the absolute
    // timeouts of past periods; and the re-evaluation pass a change of timeouts starts: rows
    // from `reevaluate_next_seq` to `reevaluate_end_seq` may still have stored expiries of
    // earlier settings (NULL: none pending).
    `ALTER TABLE tenant ADD COLUMN idle_line INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE tenant ADD COLUMN absolute_history TEXT NOT NULL DEFAULT '[]'`,
    `ALTER TABLE tenant ADD COLUMN reevaluate_next_seq INTEGER`,
    `ALTER TABLE tenant ADD COLUMN reevaluate_end_seq INTEGER`,
    // The earlier rule ended a session at min(stored idle expiry, last seen + idle timeout);
    // the new one reads only the latter. Moving "last seen" back to where the stored expiry
    // puts it keeps every verdict as it was, ended sessions ended (and never lets a stored
    // expiry run ahead of the rule, so the purge stays safe before the pass has run).
    `UPDATE sessions SET last_seen_at = min(last_seen_at,
       idle_expires_at - 1000 * coalesce((SELECT json_extract(settings, '$.idleTimeoutSeconds') FROM tenant WHERE id = 1), 1800))`,
    `UPDATE tenant SET reevaluate_next_seq = 0, reevaluate_end_seq = (SELECT coalesce(max(seq), 0) FROM sessions)`,
  ],
  [
    // Whether the TenantDirectory still has to hear of the tenant's latest settings (every
    // tenant that existed before the directory starts out so).
    `ALTER TABLE tenant ADD COLUMN registry_pending INTEGER NOT NULL DEFAULT 1`,
  ],
  [
    // Undoable kills. Each kill is recorded under the id its answer carries. A kill of one
    // session or of "my other devices" moves the rows to killed_sessions; a kill of a user or
    // of the tenant raises a floor, and its rows stay below it. Until the kill's undo window
    // passes, undo can move the rows back or lower the floor again. Once the window passes,
    // the kill is settled: its floor joins the settled floors, and the purge deletes only
    // what is below a settled floor.
    `CREATE TABLE kills (
       id TEXT PRIMARY KEY,
       kind TEXT NOT NULL,
       user_id TEXT,
       floor INTEGER,
       actor TEXT NOT NULL,
       at INTEGER NOT NULL,
       undo_until INTEGER NOT NULL,
       revoked INTEGER NOT NULL,
       platform INTEGER NOT NULL DEFAULT 0,
       lead INTEGER NOT NULL DEFAULT 1,
       settled INTEGER NOT NULL DEFAULT 0,
       undone_at INTEGER
     ) WITHOUT ROWID`,
    `CREATE INDEX kills_to_settle ON kills (undo_until) WHERE settled = 0 AND undone_at IS NULL`,
    `CREATE INDEX kills_by_time ON kills (at)`,
    `CREATE TABLE killed_sessions (
       seq INTEGER PRIMARY KEY,
       id TEXT NOT NULL,
       user_id TEXT NOT NULL,
       secret_hash BLOB NOT NULL,
       created_at INTEGER NOT NULL,
       last_seen_at INTEGER NOT NULL,
       idle_expires_at INTEGER NOT NULL,
       absolute_expires_at INTEGER NOT NULL,
       ip TEXT,
       user_agent TEXT,
       data TEXT NOT NULL,
       kill_id TEXT NOT NULL
     )`,
    `CREATE INDEX killed_by_kill ON killed_sessions (kill_id)`,
    `CREATE INDEX killed_by_id ON killed_sessions (id)`,
    `ALTER TABLE tenant ADD COLUMN settled_below_seq INTEGER NOT NULL DEFAULT 0`,
    `UPDATE tenant SET settled_below_seq = revoked_below_seq`,
    `ALTER TABLE user_revocations ADD COLUMN settled_below_seq INTEGER NOT NULL DEFAULT 0`,
    `UPDATE user_revocations SET settled_below_seq = revoked_below_seq`,
    `ALTER TABLE events ADD COLUMN kill_id TEXT`,
    // How many rows of sessions are above both floors, killed by nothing: a kill's exact
    // count without scanning rows (see countUnkilledRows). Rows come and go through the
    // triggers; floors move only in raiseTenantFloor, raiseUserFloor and the undo functions,
    // which adjust it themselves.
    `ALTER TABLE tenant ADD COLUMN unkilled_rows INTEGER NOT NULL DEFAULT 0`,
    `UPDATE tenant SET unkilled_rows = (SELECT count(*) FROM sessions s WHERE s.seq >= tenant.revoked_below_seq
       AND s.seq >= coalesce((SELECT r.revoked_below_seq FROM user_revocations r WHERE r.user_id = s.user_id), 0))`,
    `CREATE TRIGGER unkilled_insert AFTER INSERT ON sessions
       WHEN new.seq >= (SELECT revoked_below_seq FROM tenant WHERE id = 1)
        AND new.seq >= coalesce((SELECT revoked_below_seq FROM user_revocations WHERE user_id = new.user_id), 0)
     BEGIN UPDATE tenant SET unkilled_rows = unkilled_rows + 1 WHERE id = 1; END`,
    `CREATE TRIGGER unkilled_delete AFTER DELETE ON sessions
       WHEN old.seq >= (SELECT revoked_below_seq FROM tenant WHERE id = 1)
        AND old.seq >= coalesce((SELECT revoked_below_seq FROM user_revocations WHERE user_id = old.user_id), 0)
     BEGIN UPDATE tenant SET unkilled_rows = unkilled_rows - 1 WHERE id = 1; END`,
  ],
  [
    // Sharded tenants (src/core/placement.ts). Every shard keeps a copy of the tenant (settings,
    // expiry rules, shard history, keys) made by the home shard (0), versioned by
    // `copy_version`; the home also keeps which version every shard has (`copied_version`)
    // and the shard count every shard has heard of (`active_shards`: new sessions use it).
    `ALTER TABLE tenant ADD COLUMN shard INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE tenant ADD COLUMN shard_history TEXT NOT NULL DEFAULT '[{"count":1,"since":0}]'`,
    `ALTER TABLE tenant ADD COLUMN active_shards INTEGER NOT NULL DEFAULT 1`,
    `ALTER TABLE tenant ADD COLUMN copy_version INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE tenant ADD COLUMN copied_version INTEGER NOT NULL DEFAULT 0`,
    // Kills that missed a shard, finished in the background by this store's alarm: `request`
    // is a KillRequest (JSON); every shard it concerns is asked again, and a shard that already
    // has the kill answers without killing twice.
    `CREATE TABLE pending_kills (
       kill_id TEXT PRIMARY KEY,
       request TEXT NOT NULL,
       attempts INTEGER NOT NULL DEFAULT 0,
       next_at INTEGER NOT NULL
     ) WITHOUT ROWID`,
    // Listings newest first by creation, merged across shards on (created_at, shard, seq).
    `CREATE INDEX sessions_by_creation ON sessions (created_at)`,
  ],
  [
    // Webhooks (src/core/webhooks.ts): made at the home and copied to every shard like keys; the
    // signing secret sealed (src/core/sealing.ts), never in clear. Once disabled (a 410), never again
    // enabled: a copy cannot undo it. A shard other than the home that disables one tells the
    // home, retried by the alarm until heard (`home_told`).
    `CREATE TABLE webhooks (
       id TEXT PRIMARY KEY,
       url TEXT NOT NULL,
       format TEXT NOT NULL,
       events TEXT NOT NULL,
       sealed_secret BLOB,
       secret_iv BLOB,
       created_at INTEGER NOT NULL,
       disabled_at INTEGER,
       home_told INTEGER NOT NULL DEFAULT 1
     ) WITHOUT ROWID`,
    // The outbox: one row per event and webhook, written in the transaction of the change that
    // made the event (insertEvent), deleted once delivered or given up. `data` is the event's
    // data (JSON); a sharded kill's total is written into it when every shard has answered.
    `CREATE TABLE outbox (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       webhook_id TEXT NOT NULL,
       event_id TEXT NOT NULL,
       type TEXT NOT NULL,
       at INTEGER NOT NULL,
       data TEXT NOT NULL,
       kill_id TEXT,
       attempts INTEGER NOT NULL DEFAULT 0,
       next_attempt_at INTEGER NOT NULL
     )`,
    `CREATE INDEX outbox_due ON outbox (next_attempt_at)`,
    `CREATE INDEX outbox_by_webhook ON outbox (webhook_id, seq)`,
    // The recent attempts of each webhook, newest kept (WEBHOOK_ATTEMPTS_KEPT).
    `CREATE TABLE webhook_attempts (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       webhook_id TEXT NOT NULL,
       event_id TEXT NOT NULL,
       type TEXT NOT NULL,
       attempt INTEGER NOT NULL,
       at INTEGER NOT NULL,
       status INTEGER,
       error TEXT,
       next_attempt_at INTEGER
     )`,
    `CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts (webhook_id, seq)`,
    // Audit events about a webhook (disabled, events dropped) name it.
    `ALTER TABLE events ADD COLUMN webhook_id TEXT`,
  ],
  [
    // At a tenant's home: the tenant is being deleted (DELETE /v1/tenants/:tenant). From the
    // moment this row exists the home answers as if the tenant did not exist; the row goes
    // with everything else once every shard is erased and the directory has forgotten the name.
    `CREATE TABLE erasure (
       id INTEGER PRIMARY KEY CHECK (id = 1),
       requested_at INTEGER NOT NULL,
       actor TEXT NOT NULL,
       attempts INTEGER NOT NULL DEFAULT 0
     )`,
  ],
  [
    // When each tenant key was last used on this store, recorded at most once a
    // KEY_USE_RECORDED_EVERY_MS (store-operations.ts); a listing takes the latest of every shard.
    `ALTER TABLE tenant_keys ADD COLUMN last_used_at INTEGER`,
  ],
  [
    // Operator actions in the audit log: which key a key event names, which settings changed (JSON array).
    `ALTER TABLE events ADD COLUMN key_id TEXT`,
    `ALTER TABLE events ADD COLUMN fields TEXT`,
  ],
  [
    // Kills and undos this store coordinates over the tenant's stores (coordinator.ts): each
    // recorded before any store is asked, with the moment and undo deadline every store
    // applies; `waiting` names the stores the current step (the kill, or once `undo_at` is
    // set, its undo) has yet to reach, and the alarm asks them again at `next_at`.
    `CREATE TABLE changes (
       id TEXT PRIMARY KEY,
       kind TEXT NOT NULL,
       user_id TEXT,
       session_id TEXT,
       actor TEXT NOT NULL,
       platform INTEGER NOT NULL,
       at INTEGER NOT NULL,
       undo_until INTEGER NOT NULL,
       shards TEXT,
       waiting TEXT,
       revoked INTEGER NOT NULL DEFAULT 0,
       killed_at INTEGER,
       undo_at INTEGER,
       undo_actor TEXT,
       restored INTEGER NOT NULL DEFAULT 0,
       undone_at INTEGER,
       attempts INTEGER NOT NULL DEFAULT 0,
       next_at INTEGER
     ) WITHOUT ROWID`,
    `CREATE INDEX changes_due ON changes (next_at) WHERE next_at IS NOT NULL`,
    // Kills that an earlier release was finishing in the background: finished the new way. Which
    // stores they concern is worked out from the shard history when they are next asked (NULL).
    `INSERT INTO changes (id, kind, user_id, actor, platform, at, undo_until, killed_at, next_at)
       SELECT p.kill_id, json_extract(p.request, '$.kind'), json_extract(p.request, '$.userId'),
         coalesce(json_extract(p.request, '$.actor'), 'session'), coalesce(json_extract(p.request, '$.platform'), 0),
         json_extract(p.request, '$.requestedAt'), coalesce(k.undo_until, json_extract(p.request, '$.requestedAt')), p.next_at, p.next_at
       FROM pending_kills p LEFT JOIN kills k ON k.id = p.kill_id`,
    `DROP TABLE pending_kills`,
  ],
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** A store without schema has never held a tenant: its schema is made by the first PUT. */
export { hasSchema, schemaVersion } from "../migrations";

/** Brings the schema to the latest version. Idempotent: safe on every start. */
export function migrate(storage: DurableObjectStorage): void {
  applyMigrations(storage, MIGRATIONS);
}

// Tenant

export interface TenantRow {
  name: string;
  settings: string;
  createdAt: number;
  updatedAt: number;
  revokedBelowSeq: number;
  /** Below this, every kill's undo window has passed: the purge may delete the rows. */
  settledBelowSeq: number;
  idleLine: number;
  /** JSON of an AbsoluteHistory. */
  absoluteHistory: string;
  /** Whether a re-evaluation of stored expiries is under way. */
  reevaluating: boolean;
  /** Which of the tenant's shards this store is (0: the home). */
  shard: number;
  shardHistory: ShardHistory;
  /** The home's: the shard count every shard has heard of. */
  activeShards: number;
  /** At the home: the tenant is being deleted (an erasure is recorded). */
  erasing: boolean;
}

/** The tenant row as stored (being deleted or not), or null in a store that holds none. */
export function heldTenant(sql: SqlStorage): TenantRow | null {
  return hasSchema(sql) ? readTenant(sql) : null;
}

export function readTenant(sql: SqlStorage): TenantRow | null {
  const row = sql
    .exec<{
      name: string;
      settings: string;
      created_at: number;
      updated_at: number;
      revoked_below_seq: number;
      settled_below_seq: number;
      idle_line: number;
      absolute_history: string;
      reevaluate_next_seq: number | null;
      shard: number;
      shard_history: string;
      active_shards: number;
      erasing: number;
    }>(
      `SELECT name, settings, created_at, updated_at, revoked_below_seq, settled_below_seq, idle_line, absolute_history, reevaluate_next_seq,
         shard, shard_history, active_shards, EXISTS (SELECT 1 FROM erasure) AS erasing FROM tenant WHERE id = 1`,
    )
    .toArray()[0];
  return row
    ? {
        name: row.name,
        settings: row.settings,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
        revokedBelowSeq: row.revoked_below_seq,
        settledBelowSeq: row.settled_below_seq,
        idleLine: row.idle_line,
        absoluteHistory: row.absolute_history,
        reevaluating: row.reevaluate_next_seq !== null,
        shard: row.shard,
        shardHistory: JSON.parse(row.shard_history) as ShardHistory,
        activeShards: row.active_shards,
        erasing: row.erasing === 1,
      }
    : null;
}

// Deleting the tenant

/** A deletion under way at this home: who asked, and how often the other shards were tried. */
export interface Erasure {
  tenant: TenantRow;
  actor: string;
  attempts: number;
}

export function readErasure(sql: SqlStorage): Erasure | null {
  if (!hasSchema(sql)) return null;
  const row = sql.exec<{ actor: string; attempts: number }>("SELECT actor, attempts FROM erasure WHERE id = 1").toArray()[0];
  const tenant = row ? readTenant(sql) : null;
  return row && tenant ? { tenant, actor: row.actor, attempts: row.attempts } : null;
}

/** Marks the tenant as being deleted; a deletion already under way keeps its first actor. */
export function insertErasure(sql: SqlStorage, actor: string, now: number): void {
  sql.exec("INSERT INTO erasure (id, requested_at, actor) VALUES (1, ?, ?) ON CONFLICT (id) DO NOTHING", now, actor);
}

/** One more try of the deletion missed a shard or the directory. */
export function countErasureAttempt(sql: SqlStorage): void {
  sql.exec("UPDATE erasure SET attempts = attempts + 1 WHERE id = 1");
}

/** The tenant row, when the directory has yet to hear of it. */
export function pendingRegistration(sql: SqlStorage): TenantRow | null {
  const pending = hasSchema(sql) && sql.exec("SELECT 1 FROM tenant WHERE id = 1 AND registry_pending = 1").toArray().length > 0;
  return pending ? readTenant(sql) : null;
}

/** The directory has the settings written at `updatedAt` (a later write stays pending). */
export function markRegistered(sql: SqlStorage, updatedAt: number): void {
  sql.exec("UPDATE tenant SET registry_pending = 0 WHERE id = 1 AND updated_at = ?", updatedAt);
}

/**
 * Records what a change of timeouts leaves behind (src/core/session.ts): the idle line (it only
 * rises) and the absolute history. Starts the re-evaluation of every stored expiry written so far.
 */
export function recordTimeoutChange(sql: SqlStorage, idleLine: number, absoluteHistory: AbsoluteHistory): void {
  sql.exec(
    `UPDATE tenant SET idle_line = max(idle_line, ?), absolute_history = ?,
       reevaluate_next_seq = 0, reevaluate_end_seq = (SELECT coalesce(max(seq), 0) FROM sessions) WHERE id = 1`,
    idleLine,
    JSON.stringify(absoluteHistory),
  );
}

/**
 * Rewrites the stored expiries of up to `batch` rows of the pending re-evaluation by the rule
 * as it stands, and moves on. Returns the rows rewritten (at least 1 while one is pending);
 * 0 when none is pending.
 */
export function reevaluateExpiries(sql: SqlStorage, rules: ExpiryRules, batch: number): number {
  const range = sql
    .exec<{ next: number | null; end: number | null }>("SELECT reevaluate_next_seq AS next, reevaluate_end_seq AS end FROM tenant WHERE id = 1")
    .one();
  if (range.next === null || range.end === null) return 0;
  const rewritten = rewriteExpiries(sql, rules, "seq IN (SELECT seq FROM sessions WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?)", [range.next, range.end, batch]);
  if (rewritten.length < batch) {
    sql.exec("UPDATE tenant SET reevaluate_next_seq = NULL, reevaluate_end_seq = NULL WHERE id = 1");
  } else {
    sql.exec("UPDATE tenant SET reevaluate_next_seq = ? WHERE id = 1", Math.max(...rewritten.map((row) => row.seq)) + 1);
  }
  return Math.max(rewritten.length, 1); // the step did work even when the last batch was empty
}

/** Rewrites the stored expiries of the rows `where` names by the rule as it stands; returns their seqs. */
function rewriteExpiries(sql: SqlStorage, rules: ExpiryRules, where: string, bindings: SqlStorageValue[]): { seq: number }[] {
  const limit = absoluteLimit(rules);
  return sql
    .exec<{ seq: number }>(
      `UPDATE sessions SET
         idle_expires_at = CASE WHEN last_seen_at <= ? THEN last_seen_at ELSE last_seen_at + ? END,
         absolute_expires_at = min(absolute_expires_at, created_at + ${limit.sql})
       WHERE ${where}
       RETURNING seq`,
      rules.idleLine,
      rules.settings.idleTimeoutSeconds * 1000,
      ...limit.bindings,
      ...bindings,
    )
    .toArray();
}

/**
 * `absoluteLimitMs` of src/core/session.ts as SQL over `s.created_at` (or `created_at`): the least
 * absolute timeout in force since the row was created. Two bindings per past period, one more.
 */
function absoluteLimit(rules: ExpiryRules, column = "created_at"): { sql: string; bindings: number[] } {
  const current = rules.settings.absoluteTimeoutSeconds * 1000;
  if (rules.absoluteHistory.length === 0) return { sql: "?", bindings: [current] };
  const cases = rules.absoluteHistory.map(() => `WHEN ${column} < ? THEN ?`).join(" ");
  return { sql: `(CASE ${cases} ELSE ? END)`, bindings: [...rules.absoluteHistory.flat(), current] };
}

/**
 * Writes the tenant's settings at its home; the directory then has to hear of them
 * (`registry_pending`), and the other shards too (`copy_version`). `updated_at` only grows,
 * even for two writes in one millisecond: it is the version the directory keeps the newest of.
 */
export function writeTenant(sql: SqlStorage, name: string, settings: string, shardHistory: ShardHistory, now: number): void {
  sql.exec(
    `INSERT INTO tenant (id, name, settings, created_at, updated_at, shard_history, copy_version) VALUES (1, ?, ?, ?, ?, ?, 1)
     ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, shard_history = excluded.shard_history, registry_pending = 1,
       updated_at = max(excluded.updated_at, tenant.updated_at + 1), copy_version = tenant.copy_version + 1`,
    name,
    settings,
    now,
    now,
    JSON.stringify(shardHistory),
  );
}

// Copies of the tenant on its other shards

/** What the home copies to every other shard: all a shard needs to serve the tenant's sessions. */
export interface TenantCopy {
  name: string;
  settings: string;
  createdAt: number;
  updatedAt: number;
  idleLine: number;
  absoluteHistory: string;
  shardHistory: string;
  version: number;
  keys: { id: string; secretHash: ArrayBuffer; createdAt: number }[];
  webhooks: WebhookRow[];
}

/** A change of keys: the shards must hear of it too. */
export function bumpCopyVersion(sql: SqlStorage): void {
  sql.exec("UPDATE tenant SET copy_version = copy_version + 1 WHERE id = 1");
}

export function readCopy(sql: SqlStorage): TenantCopy {
  const row = sql
    .exec<{ name: string; settings: string; created_at: number; updated_at: number; idle_line: number; absolute_history: string; shard_history: string; copy_version: number }>(
      "SELECT name, settings, created_at, updated_at, idle_line, absolute_history, shard_history, copy_version FROM tenant WHERE id = 1",
    )
    .one();
  const keys = sql
    .exec<{ id: string; secret_hash: ArrayBuffer; created_at: number }>("SELECT id, secret_hash, created_at FROM tenant_keys")
    .toArray()
    .map((key) => ({ id: key.id, secretHash: key.secret_hash, createdAt: key.created_at }));
  return {
    name: row.name,
    settings: row.settings,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    idleLine: row.idle_line,
    absoluteHistory: row.absolute_history,
    shardHistory: row.shard_history,
    version: row.copy_version,
    keys,
    webhooks: readWebhooks(sql),
  };
}

/**
 * Takes a copy from the home, unless a newer one is already here. Returns whether it was
 * taken, whether the timeouts changed (stored expiries are then re-evaluated) and the
 * undelivered events dropped with the webhooks the copy disabled.
 */
export function writeCopy(sql: SqlStorage, copy: TenantCopy, shard: number): { taken: boolean; timeoutsChanged: boolean; dropped: { webhookId: string; dropped: number }[] } {
  const held = sql
    .exec<{ version: number; settings: string; idle_line: number; absolute_history: string }>(
      "SELECT copy_version AS version, settings, idle_line, absolute_history FROM tenant WHERE id = 1",
    )
    .toArray()[0];
  if (held && held.version >= copy.version) return { taken: false, timeoutsChanged: false, dropped: [] };
  const timeouts = (settings: string) => {
    const parsed = JSON.parse(settings) as { idleTimeoutSeconds: number; absoluteTimeoutSeconds: number };
    return `${parsed.idleTimeoutSeconds}/${parsed.absoluteTimeoutSeconds}`;
  };
  // What earlier timeouts left behind counts too: a copy that missed a change and its reversal
  // (idle 3600, then 1, then 3600) brings the same timeouts and a higher idle line.
  const timeoutsChanged =
    held !== undefined &&
    (timeouts(held.settings) !== timeouts(copy.settings) || held.idle_line < copy.idleLine || held.absolute_history !== copy.absoluteHistory);
  sql.exec(
    `INSERT INTO tenant (id, name, settings, created_at, updated_at, idle_line, absolute_history, shard_history, copy_version, shard, registry_pending)
     VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
     ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at,
       idle_line = max(tenant.idle_line, excluded.idle_line), absolute_history = excluded.absolute_history,
       shard_history = excluded.shard_history, copy_version = excluded.copy_version`,
    copy.name,
    copy.settings,
    copy.createdAt,
    copy.updatedAt,
    copy.idleLine,
    copy.absoluteHistory,
    copy.shardHistory,
    copy.version,
    shard,
  );
  if (timeoutsChanged) sql.exec("UPDATE tenant SET reevaluate_next_seq = 0, reevaluate_end_seq = (SELECT coalesce(max(seq), 0) FROM sessions) WHERE id = 1");
  // Keys the home no longer holds go; the others keep when they were last used here.
  sql.exec("DELETE FROM tenant_keys WHERE id NOT IN (SELECT value FROM json_each(?))", JSON.stringify(copy.keys.map((key) => key.id)));
  for (const key of copy.keys) {
    sql.exec(
      `INSERT INTO tenant_keys (id, secret_hash, created_at) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, created_at = excluded.created_at,
         last_used_at = CASE WHEN tenant_keys.secret_hash = excluded.secret_hash THEN tenant_keys.last_used_at END`,
      key.id,
      key.secretHash,
      key.createdAt,
    );
  }
  const dropped = writeCopiedWebhooks(sql, copy.webhooks);
  return { taken: true, timeoutsChanged, dropped };
}

/** At the home: the copy version not every shard has yet, or null. */
export function pendingCopyVersion(sql: SqlStorage): number | null {
  const row = sql.exec<{ version: number; copied: number }>("SELECT copy_version AS version, copied_version AS copied FROM tenant WHERE id = 1").toArray()[0];
  return row && row.version > row.copied ? row.version : null;
}

/** At the home: every shard has `version`, and so knows of `count` shards; new sessions may use it. */
export function markCopied(sql: SqlStorage, version: number, count: number): void {
  sql.exec("UPDATE tenant SET copied_version = max(copied_version, ?), active_shards = max(active_shards, ?) WHERE id = 1", version, count);
}

// Tenant keys

/** A key's digest, and when its last use here was recorded. */
export function readTenantKey(sql: SqlStorage, keyId: string): { secretHash: ArrayBuffer; lastUsedAt: number | null } | null {
  const row = sql.exec<{ secret_hash: ArrayBuffer; last_used_at: number | null }>("SELECT secret_hash, last_used_at FROM tenant_keys WHERE id = ?", keyId).toArray()[0];
  return row ? { secretHash: row.secret_hash, lastUsedAt: row.last_used_at } : null;
}

export function insertTenantKey(sql: SqlStorage, keyId: string, secretHash: ArrayBuffer, now: number): void {
  sql.exec("INSERT INTO tenant_keys (id, secret_hash, created_at) VALUES (?, ?, ?)", keyId, secretHash, now);
}

/** Number of keys deleted: 0 or 1. */
export function deleteTenantKey(sql: SqlStorage, keyId: string): number {
  return sql.exec("DELETE FROM tenant_keys WHERE id = ? RETURNING id", keyId).toArray().length;
}

export function recordKeyUse(sql: SqlStorage, keyId: string, now: number): void {
  sql.exec("UPDATE tenant_keys SET last_used_at = ? WHERE id = ?", now, keyId);
}

/** The tenant's keys, newest first: ids, creation and last use on this store, never their digests. */
export function readTenantKeys(sql: SqlStorage): { id: string; createdAt: number; lastUsedAt: number | null }[] {
  return sql
    .exec<{ id: string; created_at: number; last_used_at: number | null }>("SELECT id, created_at, last_used_at FROM tenant_keys ORDER BY created_at DESC, id")
    .toArray()
    .map((row) => ({ id: row.id, createdAt: row.created_at, lastUsedAt: row.last_used_at }));
}

export function countTenantKeys(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT count(*) AS n FROM tenant_keys").one().n;
}

// Sessions

/**
 * A session row is live when it is above both revocation floors and before both expiries by
 * the rule of src/core/session.ts: last seen after `max(idle line, now - idle timeout)`, created
 * after `max(absolute line, now - absolute timeout)`, and before its own absolute expiry.
 * The same rule as `isLive`, which reads by id apply in JS; test/session-store.test.ts checks
 * that the two agree. Bindings: see `liveBindings`.
 * The user floor is looked up per row only while some user has one (see `liveRule`): the
 * purge drops each floor once its rows are gone, so most of the time none exists.
 */
const USER_FLOOR_OF_ROW = "coalesce((SELECT r.revoked_below_seq FROM user_revocations r WHERE r.user_id = s.user_id), 0)";

/** What the LIVE rule needs to know: now, the expiry rules and the revocation floors. */
export interface LiveContext {
  now: number;
  rules: ExpiryRules;
  tenantFloor: number;
  /** Whether any user_revocations row exists. */
  userFloors: boolean;
}

/** The expiry half of LIVE: last seen after the idle cut, and the absolute expiry ahead. Bindings: `expiryBindings`. */
function notExpired(live: LiveContext): string {
  return `s.last_seen_at > ? AND min(s.absolute_expires_at, s.created_at + ${absoluteLimit(live.rules, "s.created_at").sql}) > ?`;
}

function expiryBindings({ now, rules }: LiveContext): number[] {
  const idleCut = Math.max(rules.idleLine, now - rules.settings.idleTimeoutSeconds * 1000);
  return [idleCut, ...absoluteLimit(rules).bindings, now];
}

/** The floors half of LIVE: the tenant floor always, a user's floor only while some user has one. */
function aboveFloors(live: LiveContext, seqIndexed = true): string {
  // `+s.seq` keeps the planner off the key range (which starts at the floor and reads every
  // live row) where another index finds the rows: the expiry index, in deleteExpiredUnkilled.
  const seq = seqIndexed ? "s.seq" : "+s.seq";
  return live.userFloors ? `${seq} >= ? AND ${seq} >= ${USER_FLOOR_OF_ROW}` : `${seq} >= ?`;
}

function liveRule(live: LiveContext): string {
  return `(${aboveFloors(live)} AND ${notExpired(live)})`;
}

function liveBindings(live: LiveContext): number[] {
  return [live.tenantFloor, ...expiryBindings(live)];
}

export interface SessionRow {
  seq: number;
  id: string;
  user_id: string;
  secret_hash: ArrayBuffer;
  created_at: number;
  last_seen_at: number;
  idle_expires_at: number;
  absolute_expires_at: number;
  ip: string | null;
  user_agent: string | null;
  data: string;
  [column: string]: SqlStorageValue;
}

const SESSION_COLUMNS = "s.seq, s.id, s.user_id, s.secret_hash, s.created_at, s.last_seen_at, s.idle_expires_at, s.absolute_expires_at, s.ip, s.user_agent, s.data";

export function toRecord(row: SessionRow): SessionRecord {
  return {
    seq: row.seq,
    id: row.id,
    userId: row.user_id,
    createdAt: row.created_at,
    lastSeenAt: row.last_seen_at,
    idleExpiresAt: row.idle_expires_at,
    absoluteExpiresAt: row.absolute_expires_at,
    ip: row.ip,
    userAgent: row.user_agent,
    data: row.data,
  };
}

export interface StoredSession {
  record: SessionRecord;
  secretHash: ArrayBuffer;
}

/** The live session with this public id, or null (absent, expired or revoked alike). */
export function readLiveSession(sql: SqlStorage, live: LiveContext, id: string): StoredSession | null {
  const row = live.userFloors
    ? sql.exec<SessionRow>(`SELECT ${SESSION_COLUMNS}, ${USER_FLOOR_OF_ROW} AS user_floor FROM sessions s WHERE s.id = ?`, id).toArray()[0]
    : sql.exec<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM sessions s WHERE s.id = ?`, id).toArray()[0];
  if (!row) return null;
  const record = toRecord(row);
  const floors = { tenant: live.tenantFloor, user: live.userFloors ? (row.user_floor as number) : 0 };
  return isLive(record, floors, live.rules, live.now) ? { record, secretHash: row.secret_hash } : null;
}

/**
 * A place in a newest-first listing: everything before (time, seq), time being a session's
 * creation or an event's instant. Listings of several shards merge on it (src/core/merge.ts).
 */
export interface Position {
  time: number;
  seq: number;
}

const FROM_THE_TOP: Position = { time: Number.MAX_SAFE_INTEGER, seq: 0 };

/**
 * The smallest text above every text that starts with `prefix` (code point order, which is
 * SQLite's byte order for UTF-8), or null when none exists: the prefix's last code point
 * raised by one, surrogates skipped.
 */
export function prefixEnd(prefix: string): string | null {
  const points = [...prefix].map((character) => character.codePointAt(0)!);
  while (points.length > 0) {
    const last = points.pop()!;
    if (last < 0x10ffff) return String.fromCodePoint(...points, last + 1 === 0xd800 ? 0xe000 : last + 1);
  }
  return null;
}

/** The user filter of a listing, as SQL and its bindings: one user (an index lookup), a prefix (an index range), or none. */
function userFilter(options: { userId?: string | undefined; userPrefix?: string | undefined }): { clause: string; bindings: string[] } {
  if (options.userId !== undefined) return { clause: "s.user_id = ? AND ", bindings: [options.userId] };
  if (options.userPrefix === undefined) return { clause: "", bindings: [] };
  const end = prefixEnd(options.userPrefix);
  return end === null
    ? { clause: "s.user_id >= ? AND ", bindings: [options.userPrefix] }
    : { clause: "s.user_id >= ? AND s.user_id < ? AND ", bindings: [options.userPrefix, end] };
}

/** Live sessions newest first (by creation, then seq), before `before` when given, optionally of one user or a user id prefix. */
export function listLiveSessions(
  sql: SqlStorage,
  live: LiveContext,
  options: { userId?: string | undefined; userPrefix?: string | undefined; before?: Position | undefined; limit: number },
): SessionRecord[] {
  const before = options.before ?? FROM_THE_TOP;
  const user = userFilter(options);
  return sql
    .exec<SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM sessions s
       WHERE ${user.clause}(s.created_at < ? OR (s.created_at = ? AND s.seq < ?)) AND ${liveRule(live)}
       ORDER BY s.created_at DESC, s.seq DESC LIMIT ?`,
      ...user.bindings,
      before.time,
      before.time,
      before.seq,
      ...liveBindings(live),
      options.limit,
    )
    .toArray()
    .map(toRecord);
}

/** Live sessions of the tenant, or of one user. An index scan: no row is read from the table twice. */
export function countLiveSessions(sql: SqlStorage, live: LiveContext, userId?: string): number {
  const query =
    userId === undefined
      ? sql.exec<{ n: number }>(`SELECT count(*) AS n FROM sessions s WHERE ${liveRule(live)}`, ...liveBindings(live))
      : sql.exec<{ n: number }>(`SELECT count(*) AS n FROM sessions s WHERE s.user_id = ? AND ${liveRule(live)}`, userId, ...liveBindings(live));
  return query.one().n;
}

export function insertSession(sql: SqlStorage, record: Omit<SessionRecord, "seq">, secretHash: ArrayBuffer): number {
  return sql
    .exec<{ seq: number }>(
      `INSERT INTO sessions (id, user_id, secret_hash, created_at, last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
      record.id,
      record.userId,
      secretHash,
      record.createdAt,
      record.lastSeenAt,
      record.idleExpiresAt,
      record.absoluteExpiresAt,
      record.ip,
      record.userAgent,
      record.data,
    )
    .one().seq;
}

export function writeSessionTouch(sql: SqlStorage, record: SessionRecord): void {
  sql.exec("UPDATE sessions SET last_seen_at = ?, idle_expires_at = ? WHERE seq = ?", record.lastSeenAt, record.idleExpiresAt, record.seq);
}

export function writeSessionSecret(sql: SqlStorage, record: SessionRecord, secretHash: ArrayBuffer): void {
  sql.exec(
    "UPDATE sessions SET secret_hash = ?, last_seen_at = ?, idle_expires_at = ? WHERE seq = ?",
    secretHash,
    record.lastSeenAt,
    record.idleExpiresAt,
    record.seq,
  );
}

export function deleteSession(sql: SqlStorage, seq: number): void {
  sql.exec("DELETE FROM sessions WHERE seq = ?", seq);
}

// Secrets superseded by rotation

export interface SupersededSecret {
  seq: number;
  userId: string;
  secretHash: ArrayBuffer;
  reported: boolean;
}

/** Records a secret that rotation replaced, keeping only the newest `keep` of the session. */
export function insertSupersededSecret(sql: SqlStorage, record: SessionRecord, secretHash: ArrayBuffer, keep: number): void {
  sql.exec(
    "INSERT INTO superseded_secrets (session_id, user_id, secret_hash, expires_at) VALUES (?, ?, ?, ?)",
    record.id,
    record.userId,
    secretHash,
    record.absoluteExpiresAt,
  );
  sql.exec(
    `DELETE FROM superseded_secrets WHERE session_id = ? AND seq <= (
       SELECT seq FROM superseded_secrets WHERE session_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?
     )`,
    record.id,
    record.id,
    keep,
  );
}

/** The superseded secrets of a session, read by its public id (never looked up by secret). */
export function supersededSecrets(sql: SqlStorage, sessionId: string): SupersededSecret[] {
  return sql
    .exec<{ seq: number; user_id: string; secret_hash: ArrayBuffer; reported: number }>(
      "SELECT seq, user_id, secret_hash, reported FROM superseded_secrets WHERE session_id = ?",
      sessionId,
    )
    .toArray()
    .map((row) => ({ seq: row.seq, userId: row.user_id, secretHash: row.secret_hash, reported: row.reported === 1 }));
}

export function markSupersededReported(sql: SqlStorage, seq: number): void {
  sql.exec("UPDATE superseded_secrets SET reported = 1 WHERE seq = ?", seq);
}

/** Deletes up to `batch` superseded secrets whose session can no longer be alive. */
export function deleteExpiredSupersededSecrets(sql: SqlStorage, now: number, batch: number): number {
  return sql
    .exec("DELETE FROM superseded_secrets WHERE seq IN (SELECT seq FROM superseded_secrets WHERE expires_at <= ? LIMIT ?) RETURNING seq", now, batch)
    .toArray().length;
}

export function earliestSupersededExpiry(sql: SqlStorage): number | null {
  return sql.exec<{ at: number | null }>("SELECT min(expires_at) AS at FROM superseded_secrets").one().at;
}

/**
 * The seqs of the user's other live sessions. Ended ones are left to the purge, which records
 * how each ended (an expiry is not this kill).
 */
export function otherLiveSessionsOfUser(sql: SqlStorage, live: LiveContext, userId: string, keepSeq: number, createdBy = Number.MAX_SAFE_INTEGER): number[] {
  return sql
    .exec<{ seq: number }>(
      `SELECT s.seq FROM sessions s WHERE s.user_id = ? AND s.seq != ? AND s.created_at <= ? AND ${liveRule(live)}`,
      userId,
      keepSeq,
      createdBy,
      ...liveBindings(live),
    )
    .toArray()
    .map((row) => row.seq);
}

/**
 * Deletes up to `batch` sessions that expired and were not killed (above both floors, not
 * live), of one user or of the whole tenant, and says which: a kill about to cover them must
 * not take their end, which was expiry. The tenant-wide search goes by the stored expiries.
 */
export function deleteExpiredUnkilled(sql: SqlStorage, live: LiveContext, userId: string | null, batch: number): PurgedSession[] {
  const scope = userId === null ? "min(s.idle_expires_at, s.absolute_expires_at) <= ?" : "s.user_id = ?";
  return sql
    .exec<{ seq: number; id: string; user_id: string }>(
      `DELETE FROM sessions WHERE seq IN (
         SELECT s.seq FROM sessions s WHERE ${scope} AND ${aboveFloors(live, false)} AND NOT (${notExpired(live)}) LIMIT ?
       ) RETURNING seq, id, user_id`,
      userId ?? live.now,
      live.tenantFloor,
      ...expiryBindings(live),
      batch,
    )
    .toArray()
    .map((row) => ({ seq: row.seq, id: row.id, userId: row.user_id }));
}

/** Live sessions of a user, least recently seen first: the order of eviction. */
export function liveSessionsOfUserLeastRecentFirst(sql: SqlStorage, live: LiveContext, userId: string): SessionRecord[] {
  return sql
    .exec<SessionRow>(
      `SELECT ${SESSION_COLUMNS} FROM sessions s WHERE s.user_id = ? AND ${liveRule(live)} ORDER BY s.last_seen_at, s.seq`,
      userId,
      ...liveBindings(live),
    )
    .toArray()
    .map(toRecord);
}

/** The floor that kills every session existing now: one above the highest seq ever issued. */
function nextSeq(sql: SqlStorage): number {
  const row = sql.exec<{ seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'sessions'").toArray()[0];
  return (row?.seq ?? 0) + 1;
}

/**
 * The first seq of a session (of `userId`, or any) created after `createdBy`, among live rows
 * and those another kill moved aside: a floor set below a restorable session would keep it
 * ended when its own kill is undone.
 */
function firstCreatedAfter(sql: SqlStorage, createdBy: number, userId: string | null): number | null {
  const user = userId === null ? "" : "user_id = ?2 AND";
  return sql
    .exec<{ seq: number | null }>(
      `SELECT min(seq) AS seq FROM (SELECT min(seq) AS seq FROM sessions WHERE ${user} created_at > ?1 UNION ALL SELECT min(seq) FROM killed_sessions WHERE ${user} created_at > ?1)`,
      createdBy,
      ...(userId === null ? [] : [userId]),
    )
    .one().seq;
}

/**
 * Kills every session existing now, or (`createdBy`) every session created at or before that
 * instant: a kill requested then and applied later spares sessions created since. Returns the
 * floor (never lowered). Sessions above it stay killed by nothing, and are counted again.
 */
export function raiseTenantFloor(sql: SqlStorage, createdBy?: number): number {
  const floor = (createdBy === undefined ? null : firstCreatedAfter(sql, createdBy, null)) ?? nextSeq(sql);
  const inForce = sql.exec<{ floor: number }>("UPDATE tenant SET revoked_below_seq = max(revoked_below_seq, ?) WHERE id = 1 RETURNING revoked_below_seq AS floor", floor).one().floor;
  // The floor bound as a value, so the count reads only the rows above it (by key), not the table.
  sql.exec(`UPDATE tenant SET unkilled_rows = (SELECT count(*) FROM sessions s WHERE s.seq >= ? AND s.seq >= ${USER_FLOOR_OF_ROW}) WHERE id = 1`, inForce);
  return floor;
}

/** Kills every session of a user existing now; returns the floor. */
/** Kills every session of a user existing now, or created at or before `createdBy` (as raiseTenantFloor); returns the floor. */
export function raiseUserFloor(sql: SqlStorage, tenantFloor: number, userId: string, createdBy?: number): number {
  const floor = (createdBy === undefined ? null : firstCreatedAfter(sql, createdBy, userId)) ?? nextSeq(sql);
  const covered = sql
    .exec<{ n: number }>(
      `SELECT count(*) AS n FROM sessions s WHERE s.user_id = ? AND s.seq < ? AND s.seq >= ? AND s.seq >= ${USER_FLOOR_OF_ROW}`,
      userId,
      floor,
      tenantFloor,
    )
    .one().n;
  sql.exec(
    `INSERT INTO user_revocations (user_id, revoked_below_seq) VALUES (?, ?)
     ON CONFLICT (user_id) DO UPDATE SET revoked_below_seq = max(revoked_below_seq, excluded.revoked_below_seq)`,
    userId,
    floor,
  );
  sql.exec("UPDATE tenant SET unkilled_rows = unkilled_rows - ? WHERE id = 1", covered);
  return floor;
}

/**
 * Rows of sessions killed by nothing, expired ones included: kept by triggers and the floor
 * functions, so reading it costs one row however many sessions there are.
 */
export function unkilledRows(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT unkilled_rows AS n FROM tenant WHERE id = 1").one().n;
}

// Kills: recorded for undo

/**
 * `tombstone`: a kill this store never had, undone: a copy of it arriving later (finished in the
 * background after the undo) finds it and kills nothing.
 */
export type KillKind = "one" | "siblings" | "user" | "tenant" | "tombstone";

export interface KillRow {
  id: string;
  kind: KillKind;
  user_id: string | null;
  floor: number | null;
  actor: string;
  at: number;
  undo_until: number;
  revoked: number;
  platform: number;
  settled: number;
  undone_at: number | null;
  [column: string]: SqlStorageValue;
}

export interface NewKill {
  id: string;
  kind: KillKind;
  userId?: string;
  floor?: number;
  actor: string;
  revoked: number;
  platform: boolean;
}

/** Records a kill applied here, for undo. Its audit event is its coordinator's (`lead`, which said who recorded it, is 0). */
export function insertKill(sql: SqlStorage, kill: NewKill, now: number, undoUntil: number): void {
  sql.exec(
    "INSERT INTO kills (id, kind, user_id, floor, actor, at, undo_until, revoked, platform, lead) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
    kill.id,
    kill.kind,
    kill.userId ?? null,
    kill.floor ?? null,
    kill.actor,
    now,
    undoUntil,
    kill.revoked,
    kill.platform ? 1 : 0,
  );
}

export function readKill(sql: SqlStorage, id: string): KillRow | null {
  return sql.exec<KillRow>("SELECT * FROM kills WHERE id = ?", id).toArray()[0] ?? null;
}

export function markUndone(sql: SqlStorage, id: string, now: number): void {
  sql.exec("UPDATE kills SET undone_at = ? WHERE id = ?", now, id);
}

/** Records that a kill this store does not have was undone (see KillKind). */
export function insertTombstone(sql: SqlStorage, id: string, now: number): void {
  sql.exec(
    "INSERT INTO kills (id, kind, actor, at, undo_until, revoked, undone_at, lead) VALUES (?, 'tombstone', 'system', ?, ?, 0, ?, 0) ON CONFLICT (id) DO NOTHING",
    id,
    now,
    now,
    now,
  );
}

const KILLED_COLUMNS = "seq, id, user_id, secret_hash, created_at, last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent, data";

/** Moves sessions out of reach, kept for undo under the kill's id: two statements however many (one bound list). */
export function moveToKilled(sql: SqlStorage, seqs: readonly number[], killId: string): void {
  const list = JSON.stringify(seqs);
  sql.exec(`INSERT INTO killed_sessions (${KILLED_COLUMNS}, kill_id) SELECT ${KILLED_COLUMNS}, ? FROM sessions WHERE seq IN (SELECT value FROM json_each(?))`, killId, list);
  sql.exec("DELETE FROM sessions WHERE seq IN (SELECT value FROM json_each(?))", list);
}

/**
 * Moves a kill's sessions back, with their seqs (a floor raised since still covers them), and
 * their stored expiries made anew under the rule as it stands (timeouts may have changed while
 * they were away). Returns their seqs.
 */
export function restoreKilled(sql: SqlStorage, killId: string, rules: ExpiryRules): number[] {
  const seqs = sql
    .exec<{ seq: number }>(`INSERT INTO sessions (${KILLED_COLUMNS}) SELECT ${KILLED_COLUMNS} FROM killed_sessions WHERE kill_id = ? RETURNING seq`, killId)
    .toArray()
    .map((row) => row.seq);
  sql.exec("DELETE FROM killed_sessions WHERE kill_id = ?", killId);
  rewriteExpiries(sql, rules, "seq IN (SELECT value FROM json_each(?))", [JSON.stringify(seqs)]);
  return seqs;
}

/**
 * Lowers the floor a user or tenant kill raised to the highest left by the other kills still
 * in force (never below the settled floor). Returns the floor before and after.
 */
export function lowerFloor(sql: SqlStorage, kill: KillRow): { from: number; to: number } {
  // Settled kills are in the settled floor already (or, for a user whose floor the purge dropped, their rows are gone).
  const others = sql
    .exec<{ floor: number | null }>(
      "SELECT max(floor) AS floor FROM kills WHERE kind = ? AND id != ? AND undone_at IS NULL AND settled = 0 AND user_id IS ?",
      kill.kind,
      kill.id,
      kill.user_id,
    )
    .one().floor ?? 0;
  let from: number;
  let to: number;
  if (kill.kind === "tenant") {
    const row = sql.exec<{ floor: number; settled: number }>("SELECT revoked_below_seq AS floor, settled_below_seq AS settled FROM tenant WHERE id = 1").one();
    [from, to] = [row.floor, Math.max(row.settled, others)];
    sql.exec("UPDATE tenant SET revoked_below_seq = ? WHERE id = 1", to);
  } else {
    const row = sql
      .exec<{ floor: number; settled: number }>("SELECT revoked_below_seq AS floor, settled_below_seq AS settled FROM user_revocations WHERE user_id = ?", kill.user_id)
      .toArray()[0] ?? { floor: 0, settled: 0 };
    [from, to] = [row.floor, Math.max(row.settled, others)];
    sql.exec("UPDATE user_revocations SET revoked_below_seq = ? WHERE user_id = ?", to, kill.user_id);
  }
  // Rows between the two floors that no other floor covers are killed by nothing again.
  if (to < from) {
    const user = kill.kind === "user" ? "AND s.user_id = ?" : "";
    sql.exec(
      `UPDATE tenant SET unkilled_rows = unkilled_rows + (SELECT count(*) FROM sessions s
         WHERE s.seq >= ? AND s.seq < ? ${user} AND s.seq >= tenant.revoked_below_seq AND s.seq >= ${USER_FLOOR_OF_ROW}) WHERE id = 1`,
      to,
      from,
      ...(kill.kind === "user" ? [kill.user_id] : []),
    );
  }
  return { from, to };
}

/** Users of the rows between two seqs (the rows a lowered floor may have brought back), optionally of one user. */
export function usersBetween(sql: SqlStorage, from: number, to: number, userId: string | null): string[] {
  if (userId !== null) return [userId];
  return sql.exec<{ user_id: string }>("SELECT DISTINCT user_id FROM sessions WHERE seq >= ? AND seq < ?", from, to).toArray().map((row) => row.user_id);
}

/** Live sessions among these seqs. */
export function countLiveAmong(sql: SqlStorage, live: LiveContext, seqs: readonly number[]): number {
  return sql
    .exec<{ n: number }>(`SELECT count(*) AS n FROM sessions s WHERE s.seq IN (SELECT value FROM json_each(?)) AND ${liveRule(live)}`, JSON.stringify(seqs), ...liveBindings(live))
    .one().n;
}

/** Live sessions between two seqs, optionally of one user. */
export function countLiveBetween(sql: SqlStorage, live: LiveContext, from: number, to: number, userId: string | null): number {
  const user = userId === null ? "" : "s.user_id = ? AND ";
  const bindings = userId === null ? [] : [userId];
  return sql
    .exec<{ n: number }>(`SELECT count(*) AS n FROM sessions s WHERE ${user}s.seq >= ? AND s.seq < ? AND ${liveRule(live)}`, ...bindings, from, to, ...liveBindings(live))
    .one().n;
}

/**
 * Settles up to `batch` kills whose undo window has passed: a floor joins the settled floors,
 * moved rows are deleted, and so are rows another kill moved that the settled floor covers
 * (ended for good by it, whatever becomes of that other kill). Returns how many it settled.
 */
export function settleKills(sql: SqlStorage, now: number, graceMs: number, batch: number): number {
  const due = sql.exec<KillRow>(`SELECT * FROM kills WHERE settled = 0 AND undone_at IS NULL AND ${SETTLES_AT} <= ?2 LIMIT ?3`, graceMs, now, batch).toArray();
  for (const kill of due) {
    if (kill.kind === "tenant") {
      sql.exec("UPDATE tenant SET settled_below_seq = max(settled_below_seq, ?) WHERE id = 1", kill.floor);
      sql.exec("DELETE FROM killed_sessions WHERE seq < ?", kill.floor);
    } else if (kill.kind === "user") {
      sql.exec("UPDATE user_revocations SET settled_below_seq = max(settled_below_seq, ?) WHERE user_id = ?", kill.floor, kill.user_id);
      sql.exec("DELETE FROM killed_sessions WHERE user_id = ? AND seq < ?", kill.user_id, kill.floor);
    } else {
      sql.exec("DELETE FROM killed_sessions WHERE kill_id = ?", kill.id);
    }
    sql.exec("UPDATE kills SET settled = 1 WHERE id = ?", kill.id);
  }
  return due.length;
}

/** When the next kill's undo window passes, or null. */
export function nextKillToSettle(sql: SqlStorage, graceMs: number): number | null {
  return sql.exec<{ at: number | null }>(`SELECT min(${SETTLES_AT}) AS at FROM kills WHERE settled = 0 AND undone_at IS NULL`, graceMs).one().at;
}

/** When a kill settles: its window's end, and a grace (?1) after it if the window was ever open here (it ends after the kill reached this store). */
const SETTLES_AT = "(undo_until + CASE WHEN undo_until > at THEN ?1 ELSE 0 END)";

/** Deletes up to `batch` kill records older than `before`: past any undo window, kept only to answer "too late". */
export function deleteOldKills(sql: SqlStorage, before: number, batch: number): number {
  return sql.exec("DELETE FROM kills WHERE id IN (SELECT id FROM kills WHERE at < ? AND (settled = 1 OR undone_at IS NOT NULL) LIMIT ?) RETURNING id", before, batch).toArray()
    .length;
}

/** Deletes up to `batch` records of changes coordinated here (coordinator.ts) older than `before` that nothing waits on: kept as long as kill records. */
export function deleteOldChanges(sql: SqlStorage, before: number, batch: number): number {
  return sql.exec("DELETE FROM changes WHERE id IN (SELECT id FROM changes WHERE at < ? AND next_at IS NULL LIMIT ?) RETURNING id", before, batch).toArray().length;
}

/**
 * Deletes the session with this public id if a kill ended it and undo could still bring it
 * back (below a floor in force and not expired, or moved by a kill): a logout with its token
 * ends it for good. Returns its user, or null when there was none.
 */
export function deleteRestorable(sql: SqlStorage, live: LiveContext, id: string): string | null {
  const moved = sql.exec<{ user_id: string }>("DELETE FROM killed_sessions WHERE id = ? RETURNING user_id", id).toArray()[0];
  const below = sql
    .exec<{ user_id: string }>(
      `DELETE FROM sessions WHERE seq IN (
         SELECT s.seq FROM sessions s WHERE s.id = ? AND NOT (s.seq >= ? AND s.seq >= ${USER_FLOOR_OF_ROW}) AND ${notExpired(live)}
       ) RETURNING user_id`,
      id,
      live.tenantFloor,
      ...expiryBindings(live),
    )
    .toArray()[0];
  return (moved ?? below)?.user_id ?? null;
}

// Purge: each call deletes at most `batch` rows, so one statement stays small.

export interface PurgedSession {
  seq: number;
  id: string;
  userId: string;
}

/** Deletes up to `batch` sessions whose stored expiry has passed, killed ones too, and says which. */
export function deleteExpiredSessions(sql: SqlStorage, now: number, batch: number): PurgedSession[] {
  return sql
    .exec<{ seq: number; id: string; user_id: string }>(
      `DELETE FROM sessions WHERE seq IN (
         SELECT seq FROM sessions WHERE min(idle_expires_at, absolute_expires_at) <= ? LIMIT ?
       ) RETURNING seq, id, user_id`,
      now,
      batch,
    )
    .toArray()
    .map((row) => ({ seq: row.seq, id: row.id, userId: row.user_id }));
}

/** Deletes up to `batch` sessions below the settled tenant floor; returns how many. */
export function deleteBelowTenantFloor(sql: SqlStorage, settledFloor: number, batch: number): number {
  return sql.exec("DELETE FROM sessions WHERE seq IN (SELECT seq FROM sessions WHERE seq < ? LIMIT ?) RETURNING seq", settledFloor, batch).toArray().length;
}

/**
 * Deletes up to `batch` sessions below users' settled floors, dropping each floor once none is
 * left below it and no kill of it can be undone (new sessions are all above it), and going on
 * to the next floor: a floor whose rows are already gone costs one statement, not a whole
 * alarm run. Returns the rows deleted plus the floors dropped (0: nothing left to do).
 */
export function deleteBelowUserFloors(sql: SqlStorage, batch: number): number {
  let work = 0;
  while (work < batch) {
    const floor = sql
      .exec<{ user_id: string; settled_below_seq: number }>("SELECT user_id, settled_below_seq FROM user_revocations WHERE settled_below_seq >= revoked_below_seq LIMIT 1")
      .toArray()[0];
    if (!floor) break;
    const limit = batch - work;
    const deleted = sql
      .exec(
        "DELETE FROM sessions WHERE seq IN (SELECT seq FROM sessions WHERE user_id = ? AND seq < ? LIMIT ?) RETURNING seq",
        floor.user_id,
        floor.settled_below_seq,
        limit,
      )
      .toArray().length;
    work += deleted;
    if (deleted < limit) {
      sql.exec("DELETE FROM user_revocations WHERE user_id = ?", floor.user_id);
      work += 1;
    }
  }
  return work;
}

/** The earliest stored expiry of any session, or null when there is none. */
export function earliestExpiry(sql: SqlStorage): number | null {
  return sql.exec<{ at: number | null }>("SELECT min(min(idle_expires_at, absolute_expires_at)) AS at FROM sessions").one().at;
}

export function hasUserFloors(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM user_revocations LIMIT 1").toArray().length > 0;
}

/** Whether any session is below a settled floor: rows the purge may delete now. */
export function hasRevokedRows(sql: SqlStorage, settledTenantFloor: number): boolean {
  const belowTenant = sql.exec("SELECT 1 FROM sessions WHERE seq < ? LIMIT 1", settledTenantFloor).toArray().length > 0;
  return belowTenant || sql.exec("SELECT 1 FROM user_revocations WHERE settled_below_seq >= revoked_below_seq LIMIT 1").toArray().length > 0;
}

/** A user's floor in force (0: none). */
export function userFloor(sql: SqlStorage, userId: string): number {
  return sql.exec<{ floor: number }>("SELECT revoked_below_seq AS floor FROM user_revocations WHERE user_id = ?", userId).toArray()[0]?.floor ?? 0;
}

// Events

export interface EventRow {
  seq: number;
  at: number;
  type: string;
  reason: string | null;
  actor: string;
  session_id: string | null;
  user_id: string | null;
  count: number | null;
  kill_id: string | null;
  webhook_id: string | null;
  key_id: string | null;
  fields: string | null;
  [column: string]: SqlStorageValue;
}

/** An audit event before it is written: its time is the write's. */
export type NewEvent = Omit<AuditEvent, "at">;

/**
 * Records an audit event, and queues it for the tenant's webhooks in the same transaction: a
 * change that commits has its event pushed out, one that rolls back has none. `dueAt`: when
 * the webhooks may first get it (later than now only for a sharded kill awaiting its total).
 */
export function insertEvent(sql: SqlStorage, event: NewEvent, now: number, dueAt = now): void {
  if (hasEnabledWebhooks(sql)) {
    const pushed = webhookEventOf(event, sql.exec<{ name: string }>("SELECT name FROM tenant WHERE id = 1").one().name);
    if (pushed) enqueue(sql, newEventId(), pushed, now, dueAt);
  }
  sql.exec(
    "INSERT INTO events (at, type, reason, actor, session_id, user_id, count, kill_id, webhook_id, key_id, fields) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    now,
    event.type,
    event.reason ?? null,
    event.actor,
    event.sessionId ?? null,
    event.userId ?? null,
    event.count ?? null,
    event.killId ?? null,
    event.webhookId ?? null,
    event.keyId ?? null,
    event.fields ? JSON.stringify(event.fields) : null,
  );
}

/** The newest event's seq, or 0: where to look for what a change is about to record. */
export function lastEventSeq(sql: SqlStorage): number {
  return sql.exec<{ seq: number | null }>("SELECT max(seq) AS seq FROM events").one().seq ?? 0;
}

export function eventsAfter(sql: SqlStorage, seq: number): EventRow[] {
  return sql.exec<EventRow>("SELECT * FROM events WHERE seq > ? ORDER BY seq", seq).toArray();
}

/** Events newest first (by instant, then seq), before `before` when given. */
export function listEvents(sql: SqlStorage, options: { before?: Position | undefined; limit: number }): EventRow[] {
  const before = options.before ?? FROM_THE_TOP;
  return sql
    .exec<EventRow>("SELECT * FROM events WHERE at < ? OR (at = ? AND seq < ?) ORDER BY at DESC, seq DESC LIMIT ?", before.time, before.time, before.seq, options.limit)
    .toArray();
}

/** Audit events since `since`, counted by type into buckets of `bucketMs`: sessions, not events (a mass kill counts what it ended). */
export function countEventsByBucket(sql: SqlStorage, since: number, bucketMs: number): { bucket: number; type: string; n: number }[] {
  return sql
    .exec<{ bucket: number; type: string; n: number }>(
      "SELECT CAST((at - ?) / ? AS INTEGER) AS bucket, type, sum(coalesce(count, 1)) AS n FROM events WHERE at >= ? AND type IN ('created', 'revoked', 'expired', 'kill_undone') GROUP BY bucket, type",
      since,
      bucketMs,
      since,
    )
    .toArray();
}

/** Deletes up to `batch` events older than `before` or beyond the newest `keep`. */
export function deleteOldEvents(sql: SqlStorage, before: number, keep: number, batch: number): number {
  const byAge = sql.exec("DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE at < ? LIMIT ?) RETURNING seq", before, batch).toArray().length;
  const cutoff = sql.exec<{ seq: number }>("SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ?", keep).toArray()[0];
  if (!cutoff) return byAge;
  const byCount = sql
    .exec("DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= ? LIMIT ?) RETURNING seq", cutoff.seq, batch)
    .toArray().length;
  return byAge + byCount;
}

export function oldestEventAt(sql: SqlStorage): number | null {
  return sql.exec<{ at: number | null }>("SELECT min(at) AS at FROM events").one().at;
}
