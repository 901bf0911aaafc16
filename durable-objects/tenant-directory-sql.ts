// All SQL of the TenantDirectory: its schema, ordered migrations and typed queries. One row per
// tenant, written by the tenant's own store whenever its settings change (so the directory is
// a copy; each SessionStore stays the authority on its tenant).

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
