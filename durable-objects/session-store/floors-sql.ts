// SQL of revocation floors: every session gets a `seq` that only grows (AUTOINCREMENT never
// reuses one), and killing all sessions of a user or of the tenant records "seq below N is
// dead": one write however many sessions there are. The purge deletes the dead rows later, in
// bounded batches, once no kill of them can be undone (the settled floors).

import { type LiveContext, liveRule, USER_FLOOR_OF_ROW, liveBindings } from "./sessions-sql";
import type { KillRow } from "./kills-sql";

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
  const inForce = sql
    .exec<{ floor: number }>(
      "UPDATE tenant SET revoked_below_seq = max(revoked_below_seq, ?) WHERE id = 1 RETURNING revoked_below_seq AS floor",
      floor,
    )
    .one().floor;
  // The floor bound as a value, so the count reads only the rows above it (by key), not the table.
  sql.exec(
    `UPDATE tenant SET unkilled_rows = (SELECT count(*) FROM sessions s WHERE s.seq >= ? AND s.seq >= ${USER_FLOOR_OF_ROW}) WHERE id = 1`,
    inForce,
  );
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

/**
 * Lowers the floor a user or tenant kill raised to the highest left by the other kills still
 * in force (never below the settled floor). Returns the floor before and after.
 */
export function lowerFloor(sql: SqlStorage, kill: KillRow): { from: number; to: number } {
  // Settled kills are in the settled floor already (or, for a user whose floor the purge dropped, their rows are gone).
  const others =
    sql
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
    const row = sql
      .exec<{ floor: number; settled: number }>(
        "SELECT revoked_below_seq AS floor, settled_below_seq AS settled FROM tenant WHERE id = 1",
      )
      .one();
    [from, to] = [row.floor, Math.max(row.settled, others)];
    sql.exec("UPDATE tenant SET revoked_below_seq = ? WHERE id = 1", to);
  } else {
    const row = sql
      .exec<{ floor: number; settled: number }>(
        "SELECT revoked_below_seq AS floor, settled_below_seq AS settled FROM user_revocations WHERE user_id = ?",
        kill.user_id,
      )
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
  return sql
    .exec<{ user_id: string }>("SELECT DISTINCT user_id FROM sessions WHERE seq >= ? AND seq < ?", from, to)
    .toArray()
    .map((row) => row.user_id);
}

/** Live sessions among these seqs. */
export function countLiveAmong(sql: SqlStorage, live: LiveContext, seqs: readonly number[]): number {
  return sql
    .exec<{ n: number }>(
      `SELECT count(*) AS n FROM sessions s WHERE s.seq IN (SELECT value FROM json_each(?)) AND ${liveRule(live)}`,
      JSON.stringify(seqs),
      ...liveBindings(live),
    )
    .one().n;
}

/** Live sessions between two seqs, optionally of one user. */
export function countLiveBetween(
  sql: SqlStorage,
  live: LiveContext,
  from: number,
  to: number,
  userId: string | null,
): number {
  const user = userId === null ? "" : "s.user_id = ? AND ";
  const bindings = userId === null ? [] : [userId];
  return sql
    .exec<{ n: number }>(
      `SELECT count(*) AS n FROM sessions s WHERE ${user}s.seq >= ? AND s.seq < ? AND ${liveRule(live)}`,
      ...bindings,
      from,
      to,
      ...liveBindings(live),
    )
    .one().n;
}

/** Deletes up to `batch` sessions below the settled tenant floor; returns how many. */
export function deleteBelowTenantFloor(sql: SqlStorage, settledFloor: number, batch: number): number {
  return sql
    .exec(
      "DELETE FROM sessions WHERE seq IN (SELECT seq FROM sessions WHERE seq < ? LIMIT ?) RETURNING seq",
      settledFloor,
      batch,
    )
    .toArray().length;
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
      .exec<{ user_id: string; settled_below_seq: number }>(
        "SELECT user_id, settled_below_seq FROM user_revocations WHERE settled_below_seq >= revoked_below_seq LIMIT 1",
      )
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

/** Whether any session is below a settled floor: rows the purge may delete now. */
export function hasRevokedRows(sql: SqlStorage, settledTenantFloor: number): boolean {
  const belowTenant = sql.exec("SELECT 1 FROM sessions WHERE seq < ? LIMIT 1", settledTenantFloor).toArray().length > 0;
  return (
    belowTenant ||
    sql.exec("SELECT 1 FROM user_revocations WHERE settled_below_seq >= revoked_below_seq LIMIT 1").toArray().length > 0
  );
}

/** A user's floor in force (0: none). */
export function userFloor(sql: SqlStorage, userId: string): number {
  return (
    sql
      .exec<{ floor: number }>("SELECT revoked_below_seq AS floor FROM user_revocations WHERE user_id = ?", userId)
      .toArray()[0]?.floor ?? 0
  );
}
