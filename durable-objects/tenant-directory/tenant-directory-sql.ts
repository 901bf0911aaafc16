// All SQL of the TenantDirectory: its schema, ordered migrations and typed queries. One row per
// tenant, written by the tenant's own store whenever its settings change (so the directory is
// a copy; each SessionStore stays the authority on its tenant).

import { DIRECTORY_SHARDS, type Jurisdiction } from "../../src/core/placement";
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
  [
    // The directory spread over DIRECTORY_SHARDS objects (platform-kill-sql.ts has the rest).
    // This object's part of each platform kill: the tenants it knew when the kill was asked
    // (`tried_at`: when every one had been asked once).
    `CREATE TABLE kill_parts (
       kill_id TEXT PRIMARY KEY,
       at INTEGER NOT NULL,
       tenants INTEGER NOT NULL,
       shards INTEGER NOT NULL,
       applied INTEGER NOT NULL DEFAULT 0,
       shards_applied INTEGER NOT NULL DEFAULT 0,
       revoked INTEGER NOT NULL DEFAULT 0,
       after TEXT NOT NULL DEFAULT '',
       tried_at INTEGER,
       done_at INTEGER,
       stopped_at INTEGER
     ) WITHOUT ROWID`,
    `CREATE TABLE kill_part_retries (
       kill_id TEXT NOT NULL,
       tenant TEXT NOT NULL,
       tried_at INTEGER NOT NULL,
       PRIMARY KEY (kill_id, tenant)
     ) WITHOUT ROWID`,
    // At the coordinator (shard 0): each part of each platform kill, started or not, and its
    // figures as it last told them (`tried`: every tenant of the part was asked once).
    `CREATE TABLE platform_kill_parts (
       kill_id TEXT NOT NULL,
       shard INTEGER NOT NULL,
       started INTEGER NOT NULL DEFAULT 0,
       tried INTEGER NOT NULL DEFAULT 0,
       done INTEGER NOT NULL DEFAULT 0,
       tenants INTEGER NOT NULL DEFAULT 0,
       shards INTEGER NOT NULL DEFAULT 0,
       applied INTEGER NOT NULL DEFAULT 0,
       shards_applied INTEGER NOT NULL DEFAULT 0,
       revoked INTEGER NOT NULL DEFAULT 0,
       PRIMARY KEY (kill_id, shard)
     ) WITHOUT ROWID`,
    "ALTER TABLE platform_kills ADD COLUMN shards INTEGER NOT NULL DEFAULT 0",
    "ALTER TABLE platform_kills ADD COLUMN shards_applied INTEGER NOT NULL DEFAULT 0",
    // A kill the one directory had not finished goes on as a tree, from its start (a tenant
    // asked again answers without killing twice).
    `INSERT INTO platform_kill_parts (kill_id, shard)
       SELECT k.id, s.value FROM platform_kills k, json_each('[${Array.from({ length: DIRECTORY_SHARDS }, (_, i) => i).join(",")}]') s
       WHERE k.done_at IS NULL AND k.undone_at IS NULL`,
    // Flags of this object: `legacy_moved`, at every object, once shard 0 moved out the names
    // it kept before the directory was spread (legacy-move.ts).
    `CREATE TABLE directory_state (
       key TEXT PRIMARY KEY,
       value TEXT NOT NULL
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

// Names kept before the directory was spread (legacy-move.ts)

/** Everything an object keeps of one name. */
export interface HeldName {
  name: string;
  claim: { jurisdiction: Jurisdiction | null; claimedAt: number } | null;
  tenant: { settings: string; createdAt: number; updatedAt: number } | null;
  deleted: { createdAt: number; deletedAt: number; actor: string }[];
}

export function heldName(sql: SqlStorage, name: string): HeldName | null {
  const claim = sql
    .exec<{ jurisdiction: Jurisdiction | null; claimed_at: number }>(
      "SELECT jurisdiction, claimed_at FROM claims WHERE name = ?",
      name,
    )
    .toArray()[0];
  const tenant = sql
    .exec<{ settings: string; created_at: number; updated_at: number }>(
      "SELECT settings, created_at, updated_at FROM tenants WHERE name = ?",
      name,
    )
    .toArray()[0];
  const deleted = sql
    .exec<{ created_at: number; deleted_at: number; actor: string }>(
      "SELECT created_at, deleted_at, actor FROM deleted_tenants WHERE name = ?",
      name,
    )
    .toArray();
  if (!claim && !tenant && deleted.length === 0) return null;
  return {
    name,
    claim: claim ? { jurisdiction: claim.jurisdiction, claimedAt: claim.claimed_at } : null,
    tenant: tenant ? { settings: tenant.settings, createdAt: tenant.created_at, updatedAt: tenant.updated_at } : null,
    deleted: deleted.map((row) => ({ createdAt: row.created_at, deletedAt: row.deleted_at, actor: row.actor })),
  };
}

/**
 * Keeps a name moved here: its deletions, then its claim and entry unless this object has its
 * own (newer: written here since) or a deletion of it since the claim.
 */
export function adoptName(sql: SqlStorage, held: HeldName): void {
  for (const deletion of held.deleted)
    sql.exec(
      "INSERT INTO deleted_tenants (name, created_at, deleted_at, actor) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
      held.name,
      deletion.createdAt,
      deletion.deletedAt,
      deletion.actor,
    );
  const deletedSince = sql
    .exec<{ at: number | null }>("SELECT max(deleted_at) AS at FROM deleted_tenants WHERE name = ?", held.name)
    .one().at;
  if (held.claim && (deletedSince === null || deletedSince < held.claim.claimedAt))
    sql.exec(
      "INSERT INTO claims (name, jurisdiction, claimed_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING",
      held.name,
      held.claim.jurisdiction,
      held.claim.claimedAt,
    );
  if (held.tenant)
    recordTenant(
      sql,
      held.name,
      JSON.parse(held.tenant.settings) as TenantSettings,
      held.tenant.createdAt,
      held.tenant.updatedAt,
    );
}

/** Forgets every row of a name moved elsewhere. */
export function dropName(sql: SqlStorage, name: string): void {
  for (const table of ["claims", "tenants", "deleted_tenants"]) sql.exec(`DELETE FROM ${table} WHERE name = ?`, name);
}

/** Names of any row (claimed, recorded, deleted), in order after `after`. */
export function namesAfter(sql: SqlStorage, after: string, limit: number): string[] {
  return sql
    .exec<{ name: string }>(
      `SELECT name FROM (SELECT name FROM claims UNION SELECT name FROM tenants UNION SELECT name FROM deleted_tenants)
       WHERE name > ? ORDER BY name LIMIT ?`,
      after,
      limit,
    )
    .toArray()
    .map((row) => row.name);
}

export function readState(sql: SqlStorage, key: string): string | null {
  return (
    sql.exec<{ value: string }>("SELECT value FROM directory_state WHERE key = ?", key).toArray()[0]?.value ?? null
  );
}

export function writeState(sql: SqlStorage, key: string, value: string): void {
  sql.exec(
    "INSERT INTO directory_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    key,
    value,
  );
}
