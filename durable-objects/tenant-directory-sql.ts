// All SQL of the TenantDirectory: its schema, ordered migrations and typed queries. One row per
// tenant, written by the tenant's own store whenever its settings change (so the directory is
// a copy; each SessionStore stays the authority on its tenant).

import type { Jurisdiction } from "../src/placement";
import type { TenantSettings } from "../src/settings";
import { applyMigrations } from "./migrations";

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

/** Records a tenant, or its newer settings. A copy older than the one held is ignored. */
export function recordTenant(sql: SqlStorage, name: string, settings: TenantSettings, createdAt: number, updatedAt: number): void {
  sql.exec(
    `INSERT INTO tenants (name, settings, created_at, updated_at) VALUES (?, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at
     WHERE excluded.updated_at >= tenants.updated_at`,
    name,
    JSON.stringify(settings),
    createdAt,
    updatedAt,
  );
}

/**
 * Claims a tenant name in a jurisdiction (null: none), unless it was claimed already. Returns
 * the jurisdiction the name has: the earlier claim's, if any.
 */
export function claimName(sql: SqlStorage, name: string, jurisdiction: Jurisdiction | null, now: number): Jurisdiction | null {
  sql.exec("INSERT INTO claims (name, jurisdiction, claimed_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING", name, jurisdiction, now);
  return sql.exec<{ jurisdiction: Jurisdiction | null }>("SELECT jurisdiction FROM claims WHERE name = ?", name).one().jurisdiction;
}

/**
 * The jurisdiction of a known tenant (claimed, or recorded by its store: tenants from before
 * claims existed are in none), or undefined for a name the directory has never heard of.
 */
export function jurisdictionOf(sql: SqlStorage, name: string): Jurisdiction | null | undefined {
  const claim = sql.exec<{ jurisdiction: Jurisdiction | null }>("SELECT jurisdiction FROM claims WHERE name = ?", name).toArray()[0];
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
