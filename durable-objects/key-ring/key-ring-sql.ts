// The KeyRing's schema, and the SQL of the JWT signing keys, each with its public JWK and its
// private key sealed (src/core/sealing.ts). A key's state follows from times alone (see
// key-ring.ts), so no alarm has to move it from one state to the next. The SQL of the tenants'
// session token generations: token-generations.ts.

import { applyMigrations } from "../migrations";

const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE signing_keys (
       kid TEXT PRIMARY KEY,
       created_at INTEGER NOT NULL,
       signs_from INTEGER NOT NULL,
       public_jwk TEXT NOT NULL,
       sealed_private BLOB NOT NULL,
       iv BLOB NOT NULL
     ) WITHOUT ROWID`,
  ],
  [
    // One row per tenant whose session token keys were ever retired (token-generations.ts).
    `CREATE TABLE token_generations (
       tenant TEXT PRIMARY KEY,
       generation INTEGER NOT NULL,
       floor INTEGER NOT NULL,
       restore_floor INTEGER,
       retired_at INTEGER NOT NULL,
       retired_by TEXT NOT NULL,
       changed INTEGER NOT NULL
     ) WITHOUT ROWID`,
    "CREATE INDEX token_generations_by_change ON token_generations (changed)",
    // Names this list's history: a copy from another (a reset ring) is dropped, not patched.
    "CREATE TABLE token_generations_epoch (epoch TEXT NOT NULL)",
    "INSERT INTO token_generations_epoch (epoch) VALUES (lower(hex(randomblob(16))))",
  ],
];

export function migrate(storage: DurableObjectStorage): void {
  applyMigrations(storage, MIGRATIONS);
}

export interface KeyRow {
  kid: string;
  created_at: number;
  signs_from: number;
  public_jwk: string;
  sealed_private: ArrayBuffer;
  iv: ArrayBuffer;
  [column: string]: SqlStorageValue;
}

/** Every key, in the order they sign: by the instant they start, then by creation. */
export function keysInOrder(sql: SqlStorage): KeyRow[] {
  return sql.exec<KeyRow>("SELECT * FROM signing_keys ORDER BY signs_from, created_at").toArray();
}

export function insertKey(sql: SqlStorage, key: Omit<KeyRow, "kid"> & { kid: string }): void {
  sql.exec(
    "INSERT INTO signing_keys (kid, created_at, signs_from, public_jwk, sealed_private, iv) VALUES (?, ?, ?, ?, ?, ?)",
    key.kid,
    key.created_at,
    key.signs_from,
    key.public_jwk,
    key.sealed_private,
    key.iv,
  );
}

export function deleteKey(sql: SqlStorage, kid: string): void {
  sql.exec("DELETE FROM signing_keys WHERE kid = ?", kid);
}
