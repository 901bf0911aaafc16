// Ordered, append-only schema migrations for a Durable Object's SQLite, shared by every class:
// each list entry runs once, in one transaction with the bump of `schema_version`, so running
// them again (every start does) changes nothing.

/** True once any migration has run. */
export function hasSchema(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'").toArray().length > 0;
}

export function schemaVersion(sql: SqlStorage): number {
  if (!hasSchema(sql)) return 0;
  return sql.exec<{ version: number }>("SELECT version FROM schema_version").one().version;
}

/** Brings the schema to the end of `migrations`. Idempotent: safe on every start. */
export function applyMigrations(storage: DurableObjectStorage, migrations: readonly (readonly string[])[]): void {
  const sql = storage.sql;
  // An object already at the latest version (every start but its first after a release) only reads.
  if (schemaVersion(sql) >= migrations.length) return;
  storage.transactionSync(() => {
    sql.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    sql.exec("INSERT INTO schema_version (version) SELECT 0 WHERE NOT EXISTS (SELECT 1 FROM schema_version)");
  });
  for (let version = schemaVersion(sql); version < migrations.length; version++) {
    storage.transactionSync(() => {
      for (const statement of migrations[version]!) sql.exec(statement);
      sql.exec("UPDATE schema_version SET version = ?", version + 1);
    });
  }
}
