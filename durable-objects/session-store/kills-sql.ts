// SQL of kill records, kept for undo, and of the sessions a kill of one session (or of "my
// other devices") moved aside; settling a kill once its undo window has passed. Floors, which
// a kill of a user or of the tenant raises: floors-sql.ts.

import type { ExpiryRules } from "../../src/core/session";
import { settleReauthFloor } from "./reauth-sql";
import { rewriteExpiries } from "./expiry-sql";
import { type LiveContext, notExpired, USER_FLOOR_OF_ROW, expiryBindings } from "./sessions-sql";

// SQL of revocation. Revocation is by floors: every session gets a `seq` that only grows
// (AUTOINCREMENT never reuses one), and killing all sessions of a user or of the tenant records
// "seq below N is dead": one write however many sessions there are; the purge deletes the dead
// rows later, in bounded batches, once the kill can no longer be undone. Kill records serve undo;
// a kill of one session (or of "my other devices") moves its rows to killed_sessions instead.

/**
 * `tombstone`: a kill this store never had, undone: a copy of it arriving later (finished in the
 * background after the undo) finds it and kills nothing.
 */
export type KillKind =
  | "one"
  | "siblings"
  | "impersonations"
  | "idp"
  | "user"
  | "tenant"
  | "reauth-user"
  | "reauth-tenant"
  | "tombstone";

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

const KILLED_COLUMNS =
  "seq, id, user_id, secret_hash, created_at, last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent, data, auth_time, amr, acr, actor, idp, binding_thumbprint, binding_key, bound_at, last_proof_at";

/** Moves sessions out of reach, kept for undo under the kill's id: two statements however many (one bound list). */
export function moveToKilled(sql: SqlStorage, seqs: readonly number[], killId: string): void {
  const list = JSON.stringify(seqs);
  sql.exec(
    `INSERT INTO killed_sessions (${KILLED_COLUMNS}, kill_id) SELECT ${KILLED_COLUMNS}, ? FROM sessions WHERE seq IN (SELECT value FROM json_each(?))`,
    killId,
    list,
  );
  sql.exec("DELETE FROM sessions WHERE seq IN (SELECT value FROM json_each(?))", list);
}

/**
 * Moves a kill's sessions back, with their seqs (a floor raised since still covers them), and
 * their stored expiries made anew under the rule as it stands (timeouts may have changed while
 * they were away). Returns their seqs.
 */
export function restoreKilled(sql: SqlStorage, killId: string, rules: ExpiryRules): number[] {
  const seqs = sql
    .exec<{ seq: number }>(
      `INSERT INTO sessions (${KILLED_COLUMNS}) SELECT ${KILLED_COLUMNS} FROM killed_sessions WHERE kill_id = ? RETURNING seq`,
      killId,
    )
    .toArray()
    .map((row) => row.seq);
  sql.exec("DELETE FROM killed_sessions WHERE kill_id = ?", killId);
  rewriteExpiries(sql, rules, "seq IN (SELECT value FROM json_each(?))", [JSON.stringify(seqs)]);
  return seqs;
}

/**
 * Settles up to `batch` kills whose undo window has passed: a floor joins the settled floors,
 * moved rows are deleted, and so are rows another kill moved that the settled floor covers
 * (ended for good by it, whatever becomes of that other kill). Returns how many it settled.
 */
export function settleKills(sql: SqlStorage, now: number, batch: number): number {
  const due = sql
    .exec<KillRow>(
      `SELECT * FROM kills WHERE settled = 0 AND undone_at IS NULL AND ${SETTLES_AT} <= ? LIMIT ?`,
      now,
      batch,
    )
    .toArray();
  for (const kill of due) {
    if (kill.kind === "tenant") {
      sql.exec("UPDATE tenant SET settled_below_seq = max(settled_below_seq, ?) WHERE id = 1", kill.floor);
      sql.exec("DELETE FROM killed_sessions WHERE seq < ?", kill.floor);
    } else if (kill.kind === "user") {
      sql.exec(
        "UPDATE user_revocations SET settled_below_seq = max(settled_below_seq, ?) WHERE user_id = ?",
        kill.floor,
        kill.user_id,
      );
      sql.exec("DELETE FROM killed_sessions WHERE user_id = ? AND seq < ?", kill.user_id, kill.floor);
    } else if (kill.kind === "reauth-user" || kill.kind === "reauth-tenant") {
      settleReauthFloor(sql, kill);
    } else {
      sql.exec("DELETE FROM killed_sessions WHERE kill_id = ?", kill.id);
    }
    sql.exec("UPDATE kills SET settled = 1 WHERE id = ?", kill.id);
  }
  return due.length;
}

/** When the next kill's undo window passes, or null. */
export function nextKillToSettle(sql: SqlStorage): number | null {
  return sql
    .exec<{ at: number | null }>(`SELECT min(${SETTLES_AT}) AS at FROM kills WHERE settled = 0 AND undone_at IS NULL`)
    .one().at;
}

/**
 * A kill with an undo window is settled (its rows may be deleted) this long after the window
 * ends, not at once: an undo decided inside the window must still find each store able to
 * restore when the decision reaches it. The home gives up an undo whose judgment by every store
 * took longer than half of this (SessionStore #decideSeenUndo).
 */
export const UNDO_SETTLE_GRACE_MS = 60_000;

/**
 * When a kill settles: its window's end, and the grace after it if the window was ever open
 * here (it ends after the kill reached this store). Exactly the expression of the index
 * `kills_settling` (schema.ts): the next settlement is then found without reading every kill.
 */
export const SETTLES_AT = `(undo_until + CASE WHEN undo_until > at THEN ${UNDO_SETTLE_GRACE_MS} ELSE 0 END)`;

/** Deletes up to `batch` kill records older than `before`: past any undo window, kept only to answer "too late". */
export function deleteOldKills(sql: SqlStorage, before: number, batch: number): number {
  return sql
    .exec(
      "DELETE FROM kills WHERE id IN (SELECT id FROM kills WHERE at < ? AND (settled = 1 OR undone_at IS NOT NULL) LIMIT ?) RETURNING id",
      before,
      batch,
    )
    .toArray().length;
}

/**
 * Deletes the session with this public id if a kill ended it and undo could still bring it
 * back (below a floor in force and not expired, or moved by a kill): a logout with its token
 * ends it for good. Returns its user, or null when there was none.
 */
export function deleteRestorable(sql: SqlStorage, live: LiveContext, id: string): string | null {
  const moved = sql
    .exec<{ user_id: string }>("DELETE FROM killed_sessions WHERE id = ? RETURNING user_id", id)
    .toArray()[0];
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
