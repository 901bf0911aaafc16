// SQL of re-authentication floors: "everyone (of this user, or of the tenant) proves it again",
// without logging anyone out. One row however many sessions: a session authenticated before
// the floor in force meets no requirement (assurance.ts). Kept like kill floors: raised by a
// coordinated change, lowered by its undo, never below what settled changes left.

/** A change of a re-authentication floor as the kills table records it (kills-sql.ts). */
interface ReauthChange {
  id: string;
  kind: string;
  user_id: string | null;
  floor: number | null;
}

/** Raises the floor of a user (or, `userId` null, of the tenant) to `at`, never lowering it. */
export function raiseReauthFloor(sql: SqlStorage, userId: string | null, at: number): void {
  if (userId === null) sql.exec("UPDATE tenant SET reauth_floor = max(reauth_floor, ?) WHERE id = 1", at);
  else
    sql.exec(
      `INSERT INTO user_reauth (user_id, floor) VALUES (?, ?)
       ON CONFLICT (user_id) DO UPDATE SET floor = max(floor, excluded.floor)`,
      userId,
      at,
    );
}

/** Lowers the floor an undone change raised to the highest the others in force left, never below the settled one. */
export function lowerReauthFloor(sql: SqlStorage, change: ReauthChange): void {
  const others =
    sql
      .exec<{ floor: number | null }>(
        "SELECT max(floor) AS floor FROM kills WHERE kind = ? AND id != ? AND undone_at IS NULL AND user_id IS ?",
        change.kind,
        change.id,
        change.user_id,
      )
      .one().floor ?? 0;
  if (change.user_id === null) sql.exec("UPDATE tenant SET reauth_floor = max(reauth_settled, ?) WHERE id = 1", others);
  else {
    sql.exec("UPDATE user_reauth SET floor = max(settled, ?) WHERE user_id = ?", others, change.user_id);
    // A floor back to nothing goes, so that requirements stop looking for one.
    sql.exec("DELETE FROM user_reauth WHERE user_id = ? AND floor = 0", change.user_id);
  }
}

/** A change past its undo window: its floor is for good (kill records go after 30 days, floors never). */
export function settleReauthFloor(sql: SqlStorage, change: ReauthChange): void {
  if (change.user_id === null)
    sql.exec("UPDATE tenant SET reauth_settled = max(reauth_settled, ?) WHERE id = 1", change.floor);
  else sql.exec("UPDATE user_reauth SET settled = max(settled, ?) WHERE user_id = ?", change.floor, change.user_id);
}

/**
 * At the home: the floors in force, to copy to every shard. The changes it coordinated and that
 * were not undone (kept 30 days), and its own tenant floor, which it always holds.
 */
export function reauthInForce(sql: SqlStorage): { userId: string | null; at: number }[] {
  const changes = sql
    .exec<{ user_id: string | null; at: number }>(
      "SELECT user_id, at FROM changes WHERE kind IN ('reauth-user', 'reauth-tenant') AND undone_at IS NULL AND undo_at IS NULL",
    )
    .toArray()
    .map((row) => ({ userId: row.user_id, at: row.at }));
  const tenant = sql.exec<{ floor: number }>("SELECT reauth_floor AS floor FROM tenant WHERE id = 1").one().floor;
  return tenant > 0 ? [...changes, { userId: null, at: tenant }] : changes;
}

/** A user's own floor (0: none). */
export function userReauthFloor(sql: SqlStorage, userId: string): number {
  return (
    sql.exec<{ floor: number }>("SELECT floor FROM user_reauth WHERE user_id = ?", userId).toArray()[0]?.floor ?? 0
  );
}
