// SQL of the tenant row (settings, floors, shard history, registration), its keys, and the
// mark of a deletion under way. Secrets appear only as SHA-256 digests; times are epoch ms.

import { hasSchema } from "../migrations";
import type { ShardHistory } from "../../src/core/placement";
import type { AbsoluteHistory } from "../../src/core/session";

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
  /** Whether any user has a revocation floor (floors-sql.ts). */
  userFloors: boolean;
  /** The tenant's re-authentication floor, and whether any user has one (reauth-sql.ts). */
  reauthFloor: number;
  userReauthFloors: boolean;
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
      user_floors: number;
      reauth_floor: number;
      user_reauth: number;
    }>(
      // One statement for everything a request needs of the tenant: it is read again after every change.
      `SELECT name, settings, created_at, updated_at, revoked_below_seq, settled_below_seq, idle_line, absolute_history, reevaluate_next_seq,
         shard, shard_history, active_shards, EXISTS (SELECT 1 FROM erasure) AS erasing,
         EXISTS (SELECT 1 FROM user_revocations) AS user_floors, reauth_floor, EXISTS (SELECT 1 FROM user_reauth) AS user_reauth
       FROM tenant WHERE id = 1`,
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
        userFloors: row.user_floors === 1,
        reauthFloor: row.reauth_floor,
        userReauthFloors: row.user_reauth === 1,
      }
    : null;
}

/** A deletion under way at this home: who asked, and how often the other shards were tried. */
export interface Erasure {
  tenant: TenantRow;
  actor: string;
  attempts: number;
}

export function readErasure(sql: SqlStorage): Erasure | null {
  if (!hasSchema(sql)) return null;
  const row = sql
    .exec<{ actor: string; attempts: number }>("SELECT actor, attempts FROM erasure WHERE id = 1")
    .toArray()[0];
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
  const pending =
    hasSchema(sql) && sql.exec("SELECT 1 FROM tenant WHERE id = 1 AND registry_pending = 1").toArray().length > 0;
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
 * Writes the tenant's settings at its home; the directory then has to hear of them
 * (`registry_pending`), and the other shards too (`copy_version`). `updated_at` only grows,
 * even for two writes in one millisecond: it is the version the directory keeps the newest of.
 */
export function writeTenant(
  sql: SqlStorage,
  name: string,
  settings: string,
  shardHistory: ShardHistory,
  now: number,
): void {
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

/** A change of keys: the shards must hear of it too. */
export function bumpCopyVersion(sql: SqlStorage): void {
  sql.exec("UPDATE tenant SET copy_version = copy_version + 1 WHERE id = 1");
}

/** A key's digest, and when its last use here was recorded. */
export function readTenantKey(
  sql: SqlStorage,
  keyId: string,
): { secretHash: ArrayBuffer; lastUsedAt: number | null } | null {
  const row = sql
    .exec<{ secret_hash: ArrayBuffer; last_used_at: number | null }>(
      "SELECT secret_hash, last_used_at FROM tenant_keys WHERE id = ?",
      keyId,
    )
    .toArray()[0];
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
    .exec<{ id: string; created_at: number; last_used_at: number | null }>(
      "SELECT id, created_at, last_used_at FROM tenant_keys ORDER BY created_at DESC, id",
    )
    .toArray()
    .map((row) => ({ id: row.id, createdAt: row.created_at, lastUsedAt: row.last_used_at }));
}

export function countTenantKeys(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT count(*) AS n FROM tenant_keys").one().n;
}
