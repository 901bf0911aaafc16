// The SQL of platform kills (their schema is in tenant-directory-sql.ts's migrations). At the
// coordinator (directory shard 0): `platform_kills`, one row per kill, and
// `platform_kill_parts`, its part on each directory object. At every directory object:
// `kill_parts`, its own part's durable progress over the tenants it knew when the kill was
// asked, by name (`after` is the last name tried), and `kill_part_retries`, those to ask again.

import type { Jurisdiction } from "../../src/core/placement";

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

// The coordinator's record of each kill

export interface PlatformKillRow {
  id: string;
  at: number;
  actor: string;
  /** Figures of a finished kill (summed from its parts); while it runs, the parts say. */
  tenants: number;
  applied: number;
  revoked: number;
  shards: number;
  shards_applied: number;
  done_at: number | null;
  undone_at: number | null;
  [column: string]: SqlStorageValue;
}

export function insertPlatformKill(sql: SqlStorage, id: string, actor: string, at: number, parts: number): void {
  sql.exec("INSERT INTO platform_kills (id, at, actor, tenants) VALUES (?, ?, ?, 0)", id, at, actor);
  for (let shard = 0; shard < parts; shard++)
    sql.exec("INSERT INTO platform_kill_parts (kill_id, shard) VALUES (?, ?)", id, shard);
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

/** A part's figures: as it reported them, or as it answers when asked. */
export interface PartFigures {
  tenants: number;
  shards: number;
  applied: number;
  shardsApplied: number;
  revoked: number;
  /** Every tenant of the part was asked once: those left wait to be asked again. */
  tried: boolean;
  done: boolean;
}

export interface PartRow {
  shard: number;
  started: number;
  tried: number;
  done: number;
  tenants: number;
  shards: number;
  applied: number;
  shards_applied: number;
  revoked: number;
  [column: string]: SqlStorageValue;
}

export function partsOf(sql: SqlStorage, id: string): PartRow[] {
  return sql.exec<PartRow>("SELECT * FROM platform_kill_parts WHERE kill_id = ? ORDER BY shard", id).toArray();
}

/** A part's word on its progress: its figures kept; once every part is done, the kill is, with their sums. */
export function recordPartReport(sql: SqlStorage, id: string, shard: number, figures: PartFigures, now: number): void {
  sql.exec(
    // Figures only grow: a word overtaken by a later one (the alarm's question and a part's own report) changes nothing.
    `UPDATE platform_kill_parts SET started = 1, tried = max(tried, ?), done = max(done, ?), tenants = ?, shards = ?,
       applied = max(applied, ?), shards_applied = max(shards_applied, ?), revoked = max(revoked, ?)
     WHERE kill_id = ? AND shard = ?`,
    figures.tried || figures.done ? 1 : 0,
    figures.done ? 1 : 0,
    figures.tenants,
    figures.shards,
    figures.applied,
    figures.shardsApplied,
    figures.revoked,
    id,
    shard,
  );
  const left = sql
    .exec<{ n: number }>("SELECT count(*) AS n FROM platform_kill_parts WHERE kill_id = ? AND done = 0", id)
    .one().n;
  if (left > 0) return;
  sql.exec(
    `UPDATE platform_kills SET done_at = coalesce(done_at, ?2),
       tenants = (SELECT sum(tenants) FROM platform_kill_parts WHERE kill_id = ?1),
       shards = (SELECT sum(shards) FROM platform_kill_parts WHERE kill_id = ?1),
       applied = (SELECT sum(applied) FROM platform_kill_parts WHERE kill_id = ?1),
       shards_applied = (SELECT sum(shards_applied) FROM platform_kill_parts WHERE kill_id = ?1),
       revoked = (SELECT sum(revoked) FROM platform_kill_parts WHERE kill_id = ?1)
     WHERE id = ?1`,
    id,
    now,
  );
}

/** Whether every part is done or has asked each of its tenants once (the rest wait to be asked again). */
export function everyPartTried(sql: SqlStorage, id: string): boolean {
  return (
    sql
      .exec<{ n: number }>(
        "SELECT count(*) AS n FROM platform_kill_parts WHERE kill_id = ? AND done = 0 AND tried = 0",
        id,
      )
      .one().n === 0
  );
}

export function markPlatformKillDone(sql: SqlStorage, id: string, now: number): void {
  sql.exec("UPDATE platform_kills SET done_at = coalesce(done_at, ?) WHERE id = ?", now, id);
}

export function markPlatformKillUndone(sql: SqlStorage, id: string, now: number): void {
  sql.exec("UPDATE platform_kills SET undone_at = ? WHERE id = ?", now, id);
}

// This object's part of a kill

export interface KillPartRow {
  kill_id: string;
  at: number;
  tenants: number;
  shards: number;
  applied: number;
  shards_applied: number;
  revoked: number;
  after: string;
  tried_at: number | null;
  done_at: number | null;
  stopped_at: number | null;
  [column: string]: SqlStorageValue;
}

/** Records this object's part of a kill asked at `at` (once: a part asked again is left as it is). */
export function insertKillPart(sql: SqlStorage, id: string, at: number): void {
  const known = sql
    .exec<{ tenants: number; shards: number | null }>(
      `SELECT count(*) AS tenants, sum(${SHARDS_OF_NAME}) AS shards FROM (${TENANTS_KNOWN_AT}) k`,
      at,
    )
    .one();
  sql.exec(
    "INSERT INTO kill_parts (kill_id, at, tenants, shards) VALUES (?, ?, ?, ?) ON CONFLICT (kill_id) DO NOTHING",
    id,
    at,
    known.tenants,
    known.shards ?? 0,
  );
}

export function readKillPart(sql: SqlStorage, id: string): KillPartRow | null {
  return sql.exec<KillPartRow>("SELECT * FROM kill_parts WHERE kill_id = ?", id).toArray()[0] ?? null;
}

export function figuresOf(part: KillPartRow): PartFigures {
  return {
    tenants: part.tenants,
    shards: part.shards,
    applied: part.applied,
    shardsApplied: part.shards_applied,
    revoked: part.revoked,
    tried: part.tried_at !== null,
    done: part.done_at !== null || part.stopped_at !== null,
  };
}

/** Parts still reaching tenants (not done, not stopped). */
export function unfinishedKillParts(sql: SqlStorage): string[] {
  return sql
    .exec<{ kill_id: string }>("SELECT kill_id FROM kill_parts WHERE done_at IS NULL AND stopped_at IS NULL")
    .toArray()
    .map((row) => row.kill_id);
}

/** Records what one batch did: tenants tried up to `after`, those applied and what they ended, those to try again. */
export function recordPartBatch(
  sql: SqlStorage,
  id: string,
  after: string | null,
  applied: KnownTenant[],
  revoked: number,
  retry: string[],
  now: number,
): void {
  if (after !== null) sql.exec("UPDATE kill_parts SET after = ? WHERE kill_id = ?", after, id);
  sql.exec(
    "UPDATE kill_parts SET applied = applied + ?, shards_applied = shards_applied + ?, revoked = revoked + ? WHERE kill_id = ?",
    applied.length,
    applied.reduce((sum, tenant) => sum + tenant.shards, 0),
    revoked,
    id,
  );
  for (const tenant of applied)
    sql.exec("DELETE FROM kill_part_retries WHERE kill_id = ? AND tenant = ?", id, tenant.name);
  // Tried last, asked last: tenants that keep failing never starve the others.
  for (const tenant of retry)
    sql.exec(
      "INSERT INTO kill_part_retries (kill_id, tenant, tried_at) VALUES (?, ?, ?) ON CONFLICT DO UPDATE SET tried_at = excluded.tried_at",
      id,
      tenant,
      now,
    );
}

export function killPartRetries(sql: SqlStorage, id: string, limit: number): KnownTenant[] {
  return sql
    .exec<{ name: string; jurisdiction: Jurisdiction | null; shards: number }>(
      `SELECT k.name, k.jurisdiction, ${SHARDS_OF_NAME} AS shards FROM (
         SELECT r.tenant AS name, c.jurisdiction, r.tried_at FROM kill_part_retries r LEFT JOIN claims c ON c.name = r.tenant WHERE r.kill_id = ?
       ) k ORDER BY k.tried_at LIMIT ?`,
      id,
      limit,
    )
    .toArray();
}

export function markKillPartTried(sql: SqlStorage, id: string, now: number): void {
  sql.exec("UPDATE kill_parts SET tried_at = coalesce(tried_at, ?) WHERE kill_id = ?", now, id);
}

export function markKillPartDone(sql: SqlStorage, id: string, now: number): void {
  sql.exec("UPDATE kill_parts SET done_at = coalesce(done_at, ?) WHERE kill_id = ?", now, id);
}

/** An undo stops the part where it is. */
export function stopKillPart(sql: SqlStorage, id: string, now: number): void {
  sql.exec("UPDATE kill_parts SET stopped_at = coalesce(stopped_at, ?) WHERE kill_id = ?", now, id);
}
