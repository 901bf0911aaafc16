// SQL of revocation. Revocation is by floors: every session gets a `seq` that only grows
// (AUTOINCREMENT never reuses one), and killing all sessions of a user or of the tenant records
// "seq below N is dead": one write however many sessions there are; the purge deletes the dead
// rows later, in bounded batches, once the kill can no longer be undone. Kill records serve undo;
// a kill of one session (or of "my other devices") moves its rows to killed_sessions instead.

import type { ExpiryRules } from "../../src/core/session";
import { LiveContext, liveRule, notExpired, rewriteExpiries, USER_FLOOR_OF_ROW, expiryBindings, liveBindings } from "./sessions-sql";

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
  const inForce = sql.exec<{ floor: number }>("UPDATE tenant SET revoked_below_seq = max(revoked_below_seq, ?) WHERE id = 1 RETURNING revoked_below_seq AS floor", floor).one().floor;
  // The floor bound as a value, so the count reads only the rows above it (by key), not the table.
  sql.exec(`UPDATE tenant SET unkilled_rows = (SELECT count(*) FROM sessions s WHERE s.seq >= ? AND s.seq >= ${USER_FLOOR_OF_ROW}) WHERE id = 1`, inForce);
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
 * `tombstone`: a kill this store never had, undone: a copy of it arriving later (finished in the
 * background after the undo) finds it and kills nothing.
 */
export type KillKind = "one" | "siblings" | "user" | "tenant" | "tombstone";

export interface KillRow {
  id: string;
  kind: KillKind;
  user_id: string | null;
  floor: number | null;
  actor: string;
  at: number;
  undo_until: number;
  revoked: number;
  platform: number;
  settled: number;
  undone_at: number | null;
  [column: string]: SqlStorageValue;
}

export interface NewKill {
  id: string;
  kind: KillKind;
  userId?: string;
  floor?: number;
  actor: string;
  revoked: number;
  platform: boolean;
}

/** Records a kill applied here, for undo. Its audit event is its coordinator's (`lead`, which said who recorded it, is 0). */
export function insertKill(sql: SqlStorage, kill: NewKill, now: number, undoUntil: number): void {
  sql.exec(
    "INSERT INTO kills (id, kind, user_id, floor, actor, at, undo_until, revoked, platform, lead) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0)",
    kill.id,
    kill.kind,
    kill.userId ?? null,
    kill.floor ?? null,
    kill.actor,
    now,
    undoUntil,
    kill.revoked,
    kill.platform ? 1 : 0,
  );
}

export function readKill(sql: SqlStorage, id: string): KillRow | null {
  return sql.exec<KillRow>("SELECT * FROM kills WHERE id = ?", id).toArray()[0] ?? null;
}

export function markUndone(sql: SqlStorage, id: string, now: number): void {
  sql.exec("UPDATE kills SET undone_at = ? WHERE id = ?", now, id);
}

/** Records that a kill this store does not have was undone (see KillKind). */
export function insertTombstone(sql: SqlStorage, id: string, now: number): void {
  sql.exec(
    "INSERT INTO kills (id, kind, actor, at, undo_until, revoked, undone_at, lead) VALUES (?, 'tombstone', 'system', ?, ?, 0, ?, 0) ON CONFLICT (id) DO NOTHING",
    id,
    now,
    now,
    now,
  );
}

const KILLED_COLUMNS = "seq, id, user_id, secret_hash, created_at, last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent, data";

/** Moves sessions out of reach, kept for undo under the kill's id: two statements however many (one bound list). */
export function moveToKilled(sql: SqlStorage, seqs: readonly number[], killId: string): void {
  const list = JSON.stringify(seqs);
  sql.exec(`INSERT INTO killed_sessions (${KILLED_COLUMNS}, kill_id) SELECT ${KILLED_COLUMNS}, ? FROM sessions WHERE seq IN (SELECT value FROM json_each(?))`, killId, list);
  sql.exec("DELETE FROM sessions WHERE seq IN (SELECT value FROM json_each(?))", list);
}

/**
 * Moves a kill's sessions back, with their seqs (a floor raised since still covers them), and
 * their stored expiries made anew under the rule as it stands (timeouts may have changed while
 * they were away). Returns their seqs.
 */
export function restoreKilled(sql: SqlStorage, killId: string, rules: ExpiryRules): number[] {
  const seqs = sql
    .exec<{ seq: number }>(`INSERT INTO sessions (${KILLED_COLUMNS}) SELECT ${KILLED_COLUMNS} FROM killed_sessions WHERE kill_id = ? RETURNING seq`, killId)
    .toArray()
    .map((row) => row.seq);
  sql.exec("DELETE FROM killed_sessions WHERE kill_id = ?", killId);
  rewriteExpiries(sql, rules, "seq IN (SELECT value FROM json_each(?))", [JSON.stringify(seqs)]);
  return seqs;
}

/**
 * Lowers the floor a user or tenant kill raised to the highest left by the other kills still
 * in force (never below the settled floor). Returns the floor before and after.
 */
export function lowerFloor(sql: SqlStorage, kill: KillRow): { from: number; to: number } {
  // Settled kills are in the settled floor already (or, for a user whose floor the purge dropped, their rows are gone).
  const others = sql
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
    const row = sql.exec<{ floor: number; settled: number }>("SELECT revoked_below_seq AS floor, settled_below_seq AS settled FROM tenant WHERE id = 1").one();
    [from, to] = [row.floor, Math.max(row.settled, others)];
    sql.exec("UPDATE tenant SET revoked_below_seq = ? WHERE id = 1", to);
  } else {
    const row = sql
      .exec<{ floor: number; settled: number }>("SELECT revoked_below_seq AS floor, settled_below_seq AS settled FROM user_revocations WHERE user_id = ?", kill.user_id)
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
  return sql.exec<{ user_id: string }>("SELECT DISTINCT user_id FROM sessions WHERE seq >= ? AND seq < ?", from, to).toArray().map((row) => row.user_id);
}

/** Live sessions among these seqs. */
export function countLiveAmong(sql: SqlStorage, live: LiveContext, seqs: readonly number[]): number {
  return sql
    .exec<{ n: number }>(`SELECT count(*) AS n FROM sessions s WHERE s.seq IN (SELECT value FROM json_each(?)) AND ${liveRule(live)}`, JSON.stringify(seqs), ...liveBindings(live))
    .one().n;
}

/** Live sessions between two seqs, optionally of one user. */
export function countLiveBetween(sql: SqlStorage, live: LiveContext, from: number, to: number, userId: string | null): number {
  const user = userId === null ? "" : "s.user_id = ? AND ";
  const bindings = userId === null ? [] : [userId];
  return sql
    .exec<{ n: number }>(`SELECT count(*) AS n FROM sessions s WHERE ${user}s.seq >= ? AND s.seq < ? AND ${liveRule(live)}`, ...bindings, from, to, ...liveBindings(live))
    .one().n;
}

/**
 * Settles up to `batch` kills whose undo window has passed: a floor joins the settled floors,
 * moved rows are deleted, and so are rows another kill moved that the settled floor covers
 * (ended for good by it, whatever becomes of that other kill). Returns how many it settled.
 */
export function settleKills(sql: SqlStorage, now: number, graceMs: number, batch: number): number {
  const due = sql.exec<KillRow>(`SELECT * FROM kills WHERE settled = 0 AND undone_at IS NULL AND ${SETTLES_AT} <= ?2 LIMIT ?3`, graceMs, now, batch).toArray();
  for (const kill of due) {
    if (kill.kind === "tenant") {
      sql.exec("UPDATE tenant SET settled_below_seq = max(settled_below_seq, ?) WHERE id = 1", kill.floor);
      sql.exec("DELETE FROM killed_sessions WHERE seq < ?", kill.floor);
    } else if (kill.kind === "user") {
      sql.exec("UPDATE user_revocations SET settled_below_seq = max(settled_below_seq, ?) WHERE user_id = ?", kill.floor, kill.user_id);
      sql.exec("DELETE FROM killed_sessions WHERE user_id = ? AND seq < ?", kill.user_id, kill.floor);
    } else {
      sql.exec("DELETE FROM killed_sessions WHERE kill_id = ?", kill.id);
    }
    sql.exec("UPDATE kills SET settled = 1 WHERE id = ?", kill.id);
  }
  return due.length;
}

/** When the next kill's undo window passes, or null. */
export function nextKillToSettle(sql: SqlStorage, graceMs: number): number | null {
  return sql.exec<{ at: number | null }>(`SELECT min(${SETTLES_AT}) AS at FROM kills WHERE settled = 0 AND undone_at IS NULL`, graceMs).one().at;
}

/** When a kill settles: its window's end, and a grace (?1) after it if the window was ever open here (it ends after the kill reached this store). */
const SETTLES_AT = "(undo_until + CASE WHEN undo_until > at THEN ?1 ELSE 0 END)";

/** Deletes up to `batch` kill records older than `before`: past any undo window, kept only to answer "too late". */
export function deleteOldKills(sql: SqlStorage, before: number, batch: number): number {
  return sql.exec("DELETE FROM kills WHERE id IN (SELECT id FROM kills WHERE at < ? AND (settled = 1 OR undone_at IS NOT NULL) LIMIT ?) RETURNING id", before, batch).toArray()
    .length;
}

/**
 * Deletes the session with this public id if a kill ended it and undo could still bring it
 * back (below a floor in force and not expired, or moved by a kill): a logout with its token
 * ends it for good. Returns its user, or null when there was none.
 */
export function deleteRestorable(sql: SqlStorage, live: LiveContext, id: string): string | null {
  const moved = sql.exec<{ user_id: string }>("DELETE FROM killed_sessions WHERE id = ? RETURNING user_id", id).toArray()[0];
  const below = sql
    .exec<{ user_id: string }>(
      `DELETE FROM sessions WHERE seq IN (
         SELECT s.seq FROM sessions s WHERE s.id = ? AND NOT (s.seq >= ? AND s.seq >= ${USER_FLOOR_OF_ROW}) AND ${notExpired(live)}
       ) RETURNING user_id`,
      id,
      live.tenantFloor,
      ...expiryBindings(live),
    )
    .toArray()[0];
  return (moved ?? below)?.user_id ?? null;
}

/** Deletes up to `batch` sessions below the settled tenant floor; returns how many. */
export function deleteBelowTenantFloor(sql: SqlStorage, settledFloor: number, batch: number): number {
  return sql.exec("DELETE FROM sessions WHERE seq IN (SELECT seq FROM sessions WHERE seq < ? LIMIT ?) RETURNING seq", settledFloor, batch).toArray().length;
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
      .exec<{ user_id: string; settled_below_seq: number }>("SELECT user_id, settled_below_seq FROM user_revocations WHERE settled_below_seq >= revoked_below_seq LIMIT 1")
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

export function hasUserFloors(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM user_revocations LIMIT 1").toArray().length > 0;
}

/** Whether any session is below a settled floor: rows the purge may delete now. */
export function hasRevokedRows(sql: SqlStorage, settledTenantFloor: number): boolean {
  const belowTenant = sql.exec("SELECT 1 FROM sessions WHERE seq < ? LIMIT 1", settledTenantFloor).toArray().length > 0;
  return belowTenant || sql.exec("SELECT 1 FROM user_revocations WHERE settled_below_seq >= revoked_below_seq LIMIT 1").toArray().length > 0;
}

/** A user's floor in force (0: none). */
export function userFloor(sql: SqlStorage, userId: string): number {
  return sql.exec<{ floor: number }>("SELECT revoked_below_seq AS floor FROM user_revocations WHERE user_id = ?", userId).toArray()[0]?.floor ?? 0;
}
