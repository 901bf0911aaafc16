// All SQL of the TenantDirectory: its schema, ordered migrations and typed queries. One row per
// tenant, written by the tenant's own store whenever its settings change (so the directory is
// a copy; each SessionStore stays the authority on its tenant).

import type { Jurisdiction } from "../../src/core/placement";
import type { TenantSettings } from "../../src/core/settings";
import { applyMigrations } from "../migrations";

/** Ordered; each runs once, in one transaction with the bump of `schema_version`. Append only. */
const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE tenants (
       name TEXT PRIMARY KEY,
       settings TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       updated_at INTEGER NOT NULL
     ) WITHOUT ROWID`,
  ],
  [
    // Which jurisdiction each tenant name was claimed in, written before its first store exists
    // (the authority on where a tenant lives: a name is claimed once, in one jurisdiction).
    `CREATE TABLE claims (
       name TEXT PRIMARY KEY,
       jurisdiction TEXT,
       claimed_at INTEGER NOT NULL
     ) WITHOUT ROWID`,
    // Platform-wide kills and their durable progress: every tenant known when the kill was
    // requested, by name; `after` is the last name tried. Tenants that could not be reached
    // wait in platform_kill_retries.
    `CREATE TABLE platform_kills (
       id TEXT PRIMARY KEY,
       at INTEGER NOT NULL,
       actor TEXT NOT NULL,
       tenants INTEGER NOT NULL,
       applied INTEGER NOT NULL DEFAULT 0,
       revoked INTEGER NOT NULL DEFAULT 0,
       after TEXT NOT NULL DEFAULT '',
       done_at INTEGER,
       undone_at INTEGER
     ) WITHOUT ROWID`,
    `CREATE TABLE platform_kill_retries (
       kill_id TEXT NOT NULL,
       tenant TEXT NOT NULL,
       tried_at INTEGER NOT NULL,
       PRIMARY KEY (kill_id, tenant)
     ) WITHOUT ROWID`,
  ],
  [
    // Tenants deleted: the name and its creation time (a later tenant of the same name is
    // another one), when and by whom. Kept, so that a late record from the deleted tenant's
    // store is recognised and ignored, and as the platform's record of deletions.
    `CREATE TABLE deleted_tenants (
       name TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       deleted_at INTEGER NOT NULL,
       actor TEXT NOT NULL,
       PRIMARY KEY (name, created_at)
     ) WITHOUT ROWID`,
  ],
];

/** Brings the schema to the latest version. Idempotent: safe on every start. */
export function migrate(storage: DurableObjectStorage): void {
  applyMigrations(storage, MIGRATIONS);
}

/** A tenant as the directory lists it. */
export interface DirectoryEntry {
  tenant: string;
  settings: TenantSettings;
  createdAt: string;
  updatedAt: string;
}

/**
 * Records a tenant, or its newer settings; a copy older than the one held is ignored, and so is
 * a record of a tenant since deleted (it may arrive late). The name is claimed in the tenant's
 * jurisdiction if it is not: a tenant created while its name was being forgotten keeps where
 * it lives.
 */
export function recordTenant(
  sql: SqlStorage,
  name: string,
  settings: TenantSettings,
  createdAt: number,
  updatedAt: number,
): void {
  if (sql.exec("SELECT 1 FROM deleted_tenants WHERE name = ? AND created_at = ?", name, createdAt).toArray().length > 0)
    return;
  sql.exec(
    `INSERT INTO tenants (name, settings, created_at, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at
     WHERE excluded.updated_at >= tenants.updated_at`,
    name,
    JSON.stringify(settings),
    createdAt,
    updatedAt,
  );
  sql.exec(
    "INSERT INTO claims (name, jurisdiction, claimed_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
    name,
    settings.jurisdiction,
    createdAt,
  );
}

/**
 * Forgets a deleted tenant (its entry and its claim: the name is free again) and records the
 * deletion. Once only: a deletion told again (its home restarted, or did not hear the answer)
 * may come after a new tenant took the name, which must be left alone. Until the first time,
 * the name's claim is the deleted tenant's: no other can be made while it holds the name.
 */
export function forgetTenant(sql: SqlStorage, name: string, createdAt: number, actor: string, now: number): void {
  if (sql.exec("SELECT 1 FROM deleted_tenants WHERE name = ? AND created_at = ?", name, createdAt).toArray().length > 0)
    return;
  sql.exec("DELETE FROM tenants WHERE name = ? AND created_at = ?", name, createdAt);
  sql.exec("DELETE FROM claims WHERE name = ?", name);
  sql.exec(
    "INSERT INTO deleted_tenants (name, created_at, deleted_at, actor) VALUES (?, ?, ?, ?)",
    name,
    createdAt,
    now,
    actor,
  );
}

/**
 * Claims a tenant name in a jurisdiction (null: none), unless it was claimed already. Returns
 * the jurisdiction the name has: the earlier claim's, if any.
 */
export function claimName(
  sql: SqlStorage,
  name: string,
  jurisdiction: Jurisdiction | null,
  now: number,
): Jurisdiction | null {
  sql.exec(
    "INSERT INTO claims (name, jurisdiction, claimed_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
    name,
    jurisdiction,
    now,
  );
  return sql.exec<{ jurisdiction: Jurisdiction | null }>("SELECT jurisdiction FROM claims WHERE name = ?", name).one()
    .jurisdiction;
}

/**
 * The jurisdiction of a known tenant (claimed, or recorded by its store: tenants from before
 * claims existed are in none), or undefined for a name the directory has never heard of.
 */
export function jurisdictionOf(sql: SqlStorage, name: string): Jurisdiction | null | undefined {
  const claim = sql
    .exec<{ jurisdiction: Jurisdiction | null }>("SELECT jurisdiction FROM claims WHERE name = ?", name)
    .toArray()[0];
  if (claim) return claim.jurisdiction;
  return sql.exec("SELECT 1 FROM tenants WHERE name = ?", name).toArray().length > 0 ? null : undefined;
}

// Platform-wide kills

/** Every tenant name known at `at` (claimed, or recorded by a store from before claims), with its jurisdiction. */
const TENANTS_KNOWN_AT = `
  SELECT name, jurisdiction FROM claims WHERE claimed_at <= ?1
  UNION SELECT name, NULL FROM tenants WHERE created_at <= ?1 AND name NOT IN (SELECT name FROM claims)`;

/** Its shard count as last recorded (1 before its store recorded any), for the cost of reaching it. */
const SHARDS_OF_NAME =
  "coalesce((SELECT json_extract(t.settings, '$.shards') FROM tenants t WHERE t.name = k.name), 1)";

export interface KnownTenant {
  name: string;
  jurisdiction: Jurisdiction | null;
  shards: number;
}

export function countTenantsKnownAt(sql: SqlStorage, at: number): number {
  return sql.exec<{ n: number }>(`SELECT count(*) AS n FROM (${TENANTS_KNOWN_AT})`, at).one().n;
}

/** Up to `limit` tenants known at `at`, by name after `after`. */
export function tenantsKnownAt(sql: SqlStorage, at: number, after: string, limit: number): KnownTenant[] {
  return sql
    .exec<{ name: string; jurisdiction: Jurisdiction | null; shards: number }>(
      `SELECT k.name, k.jurisdiction, ${SHARDS_OF_NAME} AS shards FROM (${TENANTS_KNOWN_AT}) k WHERE k.name > ?2 ORDER BY k.name LIMIT ?3`,
      at,
      after,
      limit,
    )
    .toArray();
}

export interface PlatformKillRow {
  id: string;
  at: number;
  actor: string;
  tenants: number;
  applied: number;
  revoked: number;
  after: string;
  done_at: number | null;
  undone_at: number | null;
  [column: string]: SqlStorageValue;
}

export function insertPlatformKill(sql: SqlStorage, id: string, actor: string, at: number): void {
  sql.exec(
    "INSERT INTO platform_kills (id, at, actor, tenants) VALUES (?, ?, ?, ?)",
    id,
    at,
    actor,
    countTenantsKnownAt(sql, at),
  );
}

export function readPlatformKill(sql: SqlStorage, id: string): PlatformKillRow | null {
  return sql.exec<PlatformKillRow>("SELECT * FROM platform_kills WHERE id = ?", id).toArray()[0] ?? null;
}

/** Kills still reaching tenants (not done, not undone). */
export function unfinishedPlatformKills(sql: SqlStorage): string[] {
  return sql
    .exec<{ id: string }>("SELECT id FROM platform_kills WHERE done_at IS NULL AND undone_at IS NULL")
    .toArray()
    .map((row) => row.id);
}

/** Records what one batch did: tenants tried up to `after`, those applied and what they ended, those to try again. */
export function recordPlatformBatch(
  sql: SqlStorage,
  id: string,
  after: string | null,
  applied: string[],
  revoked: number,
  retry: string[],
): void {
  if (after !== null) sql.exec("UPDATE platform_kills SET after = ? WHERE id = ?", after, id);
  sql.exec(
    "UPDATE platform_kills SET applied = applied + ?, revoked = revoked + ? WHERE id = ?",
    applied.length,
    revoked,
    id,
  );
  for (const tenant of applied)
    sql.exec("DELETE FROM platform_kill_retries WHERE kill_id = ? AND tenant = ?", id, tenant);
  // Tried last, asked last: tenants that keep failing never starve the others.
  for (const tenant of retry) {
    sql.exec(
      "INSERT INTO platform_kill_retries (kill_id, tenant, tried_at) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET tried_at = excluded.tried_at",
      id,
      tenant,
      Date.now(),
    );
  }
}

export function platformKillRetries(sql: SqlStorage, id: string, limit: number): KnownTenant[] {
  return sql
    .exec<{ name: string; jurisdiction: Jurisdiction | null; shards: number }>(
      `SELECT k.name, k.jurisdiction, ${SHARDS_OF_NAME} AS shards FROM (
         SELECT r.tenant AS name, c.jurisdiction, r.tried_at FROM platform_kill_retries r LEFT JOIN claims c ON c.name = r.tenant WHERE r.kill_id = ?
       ) k ORDER BY k.tried_at LIMIT ?`,
      id,
      limit,
    )
    .toArray();
}

export function markPlatformKillDone(sql: SqlStorage, id: string, now: number): void {
  sql.exec("UPDATE platform_kills SET done_at = ? WHERE id = ?", now, id);
}

export function markPlatformKillUndone(sql: SqlStorage, id: string, now: number): void {
  sql.exec("UPDATE platform_kills SET undone_at = ? WHERE id = ?", now, id);
}

/** Tenants in name order, after `after` when given; `limit` of them. */
export function listTenants(sql: SqlStorage, after: string | undefined, limit: number): DirectoryEntry[] {
  return sql
    .exec<{ name: string; settings: string; created_at: number; updated_at: number }>(
      "SELECT name, settings, created_at, updated_at FROM tenants WHERE name > ? ORDER BY name LIMIT ?",
      after ?? "",
      limit,
    )
    .toArray()
    .map((row) => ({
      tenant: row.name,
      settings: JSON.parse(row.settings) as TenantSettings,
      createdAt: new Date(row.created_at).toISOString(),
      updatedAt: new Date(row.updated_at).toISOString(),
    }));
}
