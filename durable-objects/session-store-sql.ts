// All SQL of the SessionStore: schema, ordered migrations and typed queries. No decisions
// here, only reads and writes; the operations module decides what to write and when.
// Secrets appear only as SHA-256 digests (BLOBs); times are epoch milliseconds.

import type { SessionRecord } from "../src/session";

/** Ordered; each runs once, in one transaction with the bump of `schema_version`. Append only. */
const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE tenant (
       id INTEGER PRIMARY KEY CHECK (id = 1),
       name TEXT NOT NULL,
       settings TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       updated_at INTEGER NOT NULL
     )`,
    `CREATE TABLE tenant_keys (
       id TEXT PRIMARY KEY,
       secret_hash BLOB NOT NULL,
       created_at INTEGER NOT NULL
     ) WITHOUT ROWID`,
    `CREATE TABLE sessions (
       id TEXT PRIMARY KEY,
       user_id TEXT NOT NULL,
       secret_hash BLOB NOT NULL,
       created_at INTEGER NOT NULL,
       last_seen_at INTEGER NOT NULL,
       idle_expires_at INTEGER NOT NULL,
       absolute_expires_at INTEGER NOT NULL,
       ip TEXT,
       user_agent TEXT,
       data TEXT NOT NULL
     ) WITHOUT ROWID`,
    `CREATE INDEX sessions_by_user ON sessions (user_id, last_seen_at)`,
  ],
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** True once any migration has run. A store without schema has never held a tenant. */
export function hasSchema(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").toArray().length > 0;
}

export function schemaVersion(sql: SqlStorage): number {
  if (!hasSchema(sql)) return 0;
  return sql.exec<{ version: number }>("SELECT version FROM schema_version").one().version;
}

/** Brings the schema to the latest version. Idempotent: safe on every start. */
export function migrate(storage: DurableObjectStorage): void {
  const sql = storage.sql;
  storage.transactionSync(() => {
    sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    sql.exec("INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version)");
  });
  for (let version = schemaVersion(sql); version < MIGRATIONS.length; version++) {
    storage.transactionSync(() => {
      for (const statement of MIGRATIONS[version]!) sql.exec(statement);
      sql.exec("UPDATE schema_version SET version = ?", version + 1);
    });
  }
}

// Tenant

export interface TenantRow {
  name: string;
  settings: string;
  createdAt: number;
  updatedAt: number;
}

export function readTenant(sql: SqlStorage): TenantRow | null {
  const rows = sql
    .exec<{ name: string; settings: string; created_at: number; updated_at: number }>(
      "SELECT name, settings, created_at, updated_at FROM tenant WHERE id = 1",
    )
    .toArray();
  const row = rows[0];
  return row ? { name: row.name, settings: row.settings, createdAt: row.created_at, updatedAt: row.updated_at } : null;
}

export function writeTenant(sql: SqlStorage, name: string, settings: string, now: number): void {
  sql.exec(
    `INSERT INTO tenant (id, name, settings, created_at, updated_at) VALUES (1, ?, ?, ?, ?)
     ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
    name,
    settings,
    now,
    now,
  );
}

// Tenant keys

export function readTenantKeyHash(sql: SqlStorage, keyId: string): ArrayBuffer | null {
  const row = sql.exec<{ secret_hash: ArrayBuffer }>("SELECT secret_hash FROM tenant_keys WHERE id = ?", keyId).toArray()[0];
  return row ? row.secret_hash : null;
}

export function insertTenantKey(sql: SqlStorage, keyId: string, secretHash: ArrayBuffer, now: number): void {
  sql.exec("INSERT INTO tenant_keys (id, secret_hash, created_at) VALUES (?, ?, ?)", keyId, secretHash, now);
}

/** Number of keys deleted: 0 or 1. */
export function deleteTenantKey(sql: SqlStorage, keyId: string): number {
  return sql.exec("DELETE FROM tenant_keys WHERE id = ? RETURNING id", keyId).toArray().length;
}

export function countTenantKeys(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT count(*) AS n FROM tenant_keys").one().n;
}

// Sessions

interface SessionRow {
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

export interface StoredSession {
  record: SessionRecord;
  secretHash: ArrayBuffer;
}

export function readSession(sql: SqlStorage, id: string): StoredSession | null {
  const row = sql.exec<SessionRow>("SELECT * FROM sessions WHERE id = ?", id).toArray()[0];
  if (!row) return null;
  return {
    secretHash: row.secret_hash,
    record: {
      id: row.id,
      userId: row.user_id,
      createdAt: row.created_at,
      lastSeenAt: row.last_seen_at,
      idleExpiresAt: row.idle_expires_at,
      absoluteExpiresAt: row.absolute_expires_at,
      ip: row.ip,
      userAgent: row.user_agent,
      data: row.data,
    },
  };
}

export function insertSession(sql: SqlStorage, record: SessionRecord, secretHash: ArrayBuffer): void {
  sql.exec(
    `INSERT INTO sessions (id, user_id, secret_hash, created_at, last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent, data)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
  );
}

export function writeSessionTouch(sql: SqlStorage, record: SessionRecord): void {
  sql.exec("UPDATE sessions SET last_seen_at = ?, idle_expires_at = ? WHERE id = ?", record.lastSeenAt, record.idleExpiresAt, record.id);
}

export function writeSessionSecret(sql: SqlStorage, record: SessionRecord, secretHash: ArrayBuffer): void {
  sql.exec(
    "UPDATE sessions SET secret_hash = ?, last_seen_at = ?, idle_expires_at = ? WHERE id = ?",
    secretHash,
    record.lastSeenAt,
    record.idleExpiresAt,
    record.id,
  );
}

export function deleteSession(sql: SqlStorage, id: string): number {
  return sql.exec("DELETE FROM sessions WHERE id = ? RETURNING id", id).toArray().length;
}

/** Ids of a user's sessions, least recently seen first (the order of eviction). */
export function sessionIdsOfUserLeastRecentFirst(sql: SqlStorage, userId: string): string[] {
  return sql
    .exec<{ id: string }>("SELECT id FROM sessions WHERE user_id = ? ORDER BY last_seen_at, created_at", userId)
    .toArray()
    .map((row) => row.id);
}

/** Sessions whose stored expiry is still ahead. An upper bound: settings may have tightened since. */
export function countUnexpiredSessions(sql: SqlStorage, now: number): number {
  return sql
    .exec<{ n: number }>("SELECT count(*) AS n FROM sessions WHERE idle_expires_at > ? AND absolute_expires_at > ?", now, now)
    .one().n;
}
