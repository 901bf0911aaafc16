// The undo of a kill, decided by the store that coordinated it (coordinator.ts) before any
// store changes anything: the caller may, the kill is this route's, its window is open, and no
// undo was decided before (of two at once, exactly one wins). Recorded, then done on every
// store the kill reached, as its kill was.

import { actorOf, type StoreCaller } from "../../src/core/auth";
import { fail, KILL_NOT_FOUND, ok, type Result } from "../../src/core/errors";
import { allShards } from "../../src/core/placement";
import { ALREADY_UNDONE, applyUndo, type KillSeen, UNDO_WINDOW_PASSED } from "./kills";
import { insertEvent, type NewEvent } from "./audit-sql";
import { authorized, type Store, type Tenant } from "./tenant";
import {
  type ChangeRow,
  FINISHING_IN_BACKGROUND,
  killEvent,
  readChange,
  RETRY_FIRST_DELAY_MS,
  shardsOf,
  waitingOf,
} from "./coordinator";

const UNDO_UNDER_WAY = fail("already_undone", "this kill's undo was already decided; it is finished in the background");

/**
 * The undo of a kill this store coordinated, decided in one transaction: the caller may, the
 * kill is this route's, its window is open now, and no undo was decided before (of two at
 * once, exactly one wins). The decision is recorded before any store changes anything, and
 * this store's part done with it; a kill still reaching stores stops. `known` false: this
 * store never coordinated it (see decideSeenUndo).
 */
export function decideUndo(
  store: Store,
  caller: StoreCaller,
  killId: string,
  platform: boolean,
  now: number,
): Result<{ known: boolean; users: string[] }> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const row = readChange(store.sql, killId);
  if (!row) return ok({ known: false, users: [] });
  if ((row.platform === 1) !== platform) return KILL_NOT_FOUND;
  if (row.undo_at !== null) return row.undone_at !== null ? ALREADY_UNDONE : UNDO_UNDER_WAY;
  if (now >= row.undo_until) return UNDO_WINDOW_PASSED;
  return ok({ known: true, users: undo(store, allowed.tenant, row, actorOf(caller), now) });
}

/**
 * The undo of a kill this store did not coordinate (one of "my other devices" on a grown
 * tenant, or one an earlier release made), once every store judged it at `decidedAt` and one
 * had it (`seen`): recorded as if coordinated here, to be undone on every store.
 */
export function decideSeenUndo(
  store: Store,
  caller: StoreCaller,
  killId: string,
  seen: KillSeen & { platform: boolean },
  decidedAt: number,
  now: number,
): Result<{ users: string[] }> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  if (readChange(store.sql, killId)) return UNDO_UNDER_WAY; // another undo recorded it meanwhile
  store.sql.exec(
    `INSERT INTO changes (id, kind, user_id, actor, platform, at, undo_until, shards, waiting, killed_at)
     VALUES (?, ?, ?, 'system', ?, ?, ?, ?, '[]', ?)`,
    killId,
    seen.kind,
    seen.userId,
    seen.platform ? 1 : 0,
    seen.at,
    seen.undoUntil,
    JSON.stringify(allShards(allowed.tenant.shardHistory)),
    seen.at,
  );
  return ok({
    users: undo(store, allowed.tenant, readChange(store.sql, killId)!, actorOf(caller), Math.max(now, decidedAt)),
  });
}

/** Records the decision, stops the kill where it is, and undoes this store's part. Returns the users whose sessions came back here. */
function undo(store: Store, tenant: Tenant, row: ChangeRow, actor: string, now: number): string[] {
  const { sql } = store;
  if (row.killed_at === null) {
    // Stopped before every store had it: its event says what it ended (stores it never reached get a tombstone).
    sql.exec("UPDATE changes SET killed_at = ? WHERE id = ?", now, row.id);
    if (!(row.kind === "one" && row.user_id === null)) insertEvent(sql, killEvent(row), now);
  }
  const shards = shardsOf(row, tenant);
  const here = shards.includes(tenant.shard) ? applyUndo(store, row.id, now) : ok({ restored: 0, users: [] });
  if (!here.ok) throw new Error(here.error.message);
  const waiting = shards.filter((shard) => shard !== tenant.shard);
  sql.exec(
    "UPDATE changes SET undo_at = ?, undo_actor = ?, waiting = ?, restored = ?, attempts = 0, next_at = ? WHERE id = ?",
    now,
    actor,
    JSON.stringify(waiting),
    here.restored,
    now + RETRY_FIRST_DELAY_MS,
    row.id,
  );
  if (waiting.length === 0) finishUndo(sql, row.id, now);
  return here.users;
}

/** A store's answer to the undo: counted once, and the undo finished when none is left waiting. */
export function undoApplied(store: Store, id: string, shard: number, restored: number, now: number): void {
  const row = store.tenant ? readChange(store.sql, id) : null;
  if (!row || row.undo_at === null) return;
  const waiting = waitingOf(row, store.tenant!);
  if (!waiting.includes(shard)) return;
  const left = waiting.filter((other) => other !== shard);
  store.sql.exec(
    "UPDATE changes SET waiting = ?, restored = restored + ? WHERE id = ?",
    JSON.stringify(left),
    restored,
    id,
  );
  if (left.length === 0) finishUndo(store.sql, id, now);
}

function finishUndo(sql: SqlStorage, id: string, now: number): void {
  const row = readChange(sql, id)!;
  sql.exec("UPDATE changes SET next_at = NULL, attempts = 0, undone_at = ? WHERE id = ?", now, id);
  const event: NewEvent = { type: "kill_undone", actor: row.undo_actor!, count: row.restored, killId: id };
  if (row.user_id !== null && row.kind !== "tenant") event.userId = row.user_id;
  insertEvent(sql, event, now);
}

export function undoAnswer({ sql }: Store, id: string): Result<{ restored: number; killId: string }> {
  const row = readChange(sql, id);
  return row?.undone_at != null ? ok({ restored: row.restored, killId: id }) : FINISHING_IN_BACKGROUND;
}
