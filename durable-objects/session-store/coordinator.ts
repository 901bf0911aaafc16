// The coordinator of a kill, and of its undo, over a tenant's stores (the home; the session's
// own store for "my other devices"): each change recorded here (the `changes` table) with the
// moment every store applies and its undo deadline, before any other store is asked; answered
// 2xx once each has it, else a true 503 (the alarm asks again until done); its one audit event
// recorded here once every store has it. Telling the stores: coordination.ts.
import { actorOf, type StoreCaller } from "../../src/core/auth";
import { fail, ok, type Result, SESSION_NOT_FOUND } from "../../src/core/errors";
import { allShards, shardsOfUser } from "../../src/core/placement";
import { shardNamedBy } from "../../src/core/placed-id";
import type { Stub } from "../stub";
import type { KillRequest, ShardApi } from "./api";
import { applyKill, isReauth, type Killed, type KillKind, type KillOrder } from "./kills";
import { insertEvent, type NewEvent } from "./audit-sql";
import type { SessionRecord } from "../../src/core/session";
import type { IdpTarget } from "../../src/core/identity-providers";
import { sessionForChange } from "./sessions";
import { authorized, type Store, type Tenant } from "./tenant";

/** What a coordinator asks of the other stores of its tenant. */
export type CoordinatedStore = Stub<
  Pick<ShardApi, "applyKill" | "applyUndo" | "checkUndo" | "listSessions" | "evictSessions">
>;

/** The store could not reach every store concerned: the change is recorded, and finished by the alarm. */
export const FINISHING_IN_BACKGROUND = fail(
  "shard_unavailable",
  "one of the tenant's stores could not be reached; the change is recorded and will be completed in the background, and repeating it is safe",
);

/** Backoff of a change that keeps missing a store: 5 s doubling, at most 10 minutes apart. */
export const RETRY_FIRST_DELAY_MS = 5_000;
const RETRY_MAX_DELAY_MS = 10 * 60_000;
/**
 * A change still missing a store this long after it was asked is given up, loudly: kill
 * records (what keeps a store from applying a kill twice, or after its undo) are kept 30 days.
 */
export const GIVE_UP_MS = 7 * 24 * 3600_000;

export interface ChangeRow {
  id: string;
  kind: KillKind;
  user_id: string | null;
  session_id: string | null;
  actor: string;
  platform: number;
  at: number;
  undo_until: number;
  /** JSON of the stores the kill concerns; NULL (a kill an earlier release recorded): as the shard history says. */
  shards: string | null;
  /** JSON of the stores the current step has yet to reach; NULL: every one concerned but this. */
  waiting: string | null;
  revoked: number;
  killed_at: number | null;
  undo_at: number | null;
  undo_actor: string | null;
  restored: number;
  undone_at: number | null;
  attempts: number;
  next_at: number | null;
  /** Idp: JSON of the kill's target (kills.KillOrder). */
  target: string | null;
  [column: string]: SqlStorageValue;
}

export function readChange(sql: SqlStorage, id: string): ChangeRow | null {
  return sql.exec<ChangeRow>("SELECT * FROM changes WHERE id = ?", id).toArray()[0] ?? null;
}

/** The stores a kill concerns: a session's own, when its id names it; a user's; else every one. */
function concerned(
  kind: KillKind,
  userId: string | null,
  sessionId: string | null,
  tenant: Pick<Tenant, "name" | "shardHistory">,
): number[] {
  if (kind === "one") {
    const named = shardNamedBy(tenant.name, sessionId!);
    return typeof named === "number" ? [named] : allShards(tenant.shardHistory);
  }
  return kind === "user" || kind === "siblings" || kind === "idp" || kind === "reauth-user"
    ? shardsOfUser(tenant.shardHistory, userId!)
    : allShards(tenant.shardHistory);
}

export function shardsOf(row: ChangeRow, tenant: Tenant): number[] {
  return row.shards === null
    ? concerned(row.kind, row.user_id, row.session_id, tenant)
    : (JSON.parse(row.shards) as number[]);
}

export function waitingOf(row: ChangeRow, tenant: Tenant): number[] {
  return row.waiting === null
    ? shardsOf(row, tenant).filter((shard) => shard !== tenant.shard)
    : (JSON.parse(row.waiting) as number[]);
}

function orderOf(row: ChangeRow): KillOrder {
  const order: KillOrder = {
    killId: row.id,
    kind: row.kind,
    userId: row.user_id,
    sessionId: row.session_id,
    actor: row.actor,
    platform: row.platform === 1,
    at: row.at,
    undoUntil: row.undo_until,
  };
  if (row.target !== null) order.target = JSON.parse(row.target) as IdpTarget;
  return order;
}

/** The stores a change has yet to reach, and what to ask of them: the kill, or its undo. */
export interface Pending {
  step: "kill" | "undo";
  order: KillOrder;
  waiting: number[];
  /** When the change was asked: a change still pending GIVE_UP_MS later is given up. */
  at: number;
}

export function pendingOf({ sql, tenant }: Store, id: string): Pending | null {
  const row = tenant ? readChange(sql, id) : null;
  if (!row || !tenant || row.next_at === null) return null;
  return {
    step: row.undo_at === null ? "kill" : "undo",
    order: orderOf(row),
    waiting: waitingOf(row, tenant),
    at: row.undo_at ?? row.at,
  };
}

/** Changes whose stores the alarm asks again now. */
export function dueChanges(sql: SqlStorage, now: number): string[] {
  return sql
    .exec<{ id: string }>("SELECT id FROM changes WHERE next_at <= ? ORDER BY next_at", now)
    .toArray()
    .map((row) => row.id);
}

export function nextChangeAt(sql: SqlStorage): number | null {
  // The partial index holds exactly the changes still due: the minimum is read from it, not from every change kept.
  return sql.exec<{ at: number | null }>("SELECT min(next_at) AS at FROM changes WHERE next_at IS NOT NULL").one().at;
}

/** After an attempt that missed a store: the next one, later each time. */
export function postpone(sql: SqlStorage, id: string, now: number): void {
  sql.exec(
    `UPDATE changes SET attempts = attempts + 1, next_at = ? + min(?, ? * (1 << min(attempts, 20))) WHERE id = ? AND next_at IS NOT NULL`,
    now,
    RETRY_MAX_DELAY_MS,
    RETRY_FIRST_DELAY_MS,
    id,
  );
}

/** A change that has missed a store for GIVE_UP_MS: nothing asks again. */
export function giveUp(sql: SqlStorage, id: string): void {
  sql.exec("UPDATE changes SET next_at = NULL, waiting = '[]' WHERE id = ?", id);
}

// Kills

/**
 * An operator's kill, at the tenant's home: recorded, and applied here, in one transaction.
 * `platformAt`: the platform kill's moment (its tenants all apply that one); a platform kill
 * asked again finds its record and goes on from where it is.
 */
export function startKill(
  store: Store,
  caller: StoreCaller,
  killId: string,
  request: KillRequest,
  platformAt: number | null,
  now: number,
): Result<{ sockets: "all" | "none" | { userId: string } | { sessionId: string } }> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const { tenant } = allowed;
  // A session whose id names its store is killed there; every other kill is the home's.
  const own = request.kind === "one" && shardNamedBy(tenant.name, request.sessionId) === tenant.shard;
  if (tenant.shard !== 0 && !own) throw new Error("an operator's kill is coordinated by the tenant's home");
  const sockets =
    request.kind === "tenant" || request.kind === "impersonations"
      ? "all"
      : request.kind === "user"
        ? { userId: request.userId }
        : request.kind === "one"
          ? { sessionId: request.sessionId }
          : "none";
  if (readChange(store.sql, killId)) return ok({ sockets });
  const at = platformAt ?? now;
  const order: KillOrder = {
    killId,
    kind: request.kind,
    userId: request.kind === "user" || request.kind === "reauth-user" ? request.userId : null,
    sessionId: request.kind === "one" ? request.sessionId : null,
    actor: actorOf(caller),
    platform: platformAt !== null,
    at,
    undoUntil: at + tenant.settings.undoWindowSeconds * 1000,
  };
  recordChange(store, tenant, order, now);
  return ok({ sockets });
}

/**
 * At the home, for an identity provider's signal (signals.ts): a kill of a user's sessions it
 * names (idp), of all the user's sessions (user), or "prove it again" (reauth-user), by the
 * provider as actor. A signal received again finds its change recorded and goes on from there.
 */
export function startSignalChange(
  store: Store,
  tenant: Tenant,
  change: { killId: string; kind: "idp" | "user" | "reauth-user"; userId: string; target: IdpTarget; actor: string },
  now: number,
): void {
  if (readChange(store.sql, change.killId)) return;
  const order: KillOrder = {
    killId: change.killId,
    kind: change.kind,
    userId: change.userId,
    sessionId: null,
    actor: change.actor,
    platform: false,
    at: now,
    undoUntil: now + tenant.settings.undoWindowSeconds * 1000,
  };
  if (change.kind === "idp") order.target = change.target;
  recordChange(store, tenant, order, now);
}

/**
 * "Log out my other devices", at the store of the session asking: authenticated (and its origin
 * allowed), recorded, and applied here. An impersonation may not log the user out everywhere.
 */
export function startSiblingsKill(
  store: Store,
  sessionId: string,
  secretHash: ArrayBuffer,
  origin: string | null,
  killId: string,
  now: number,
  boundThumbprint: string | null = null,
): Result<{ record: SessionRecord }> {
  const asking = sessionForChange(store, sessionId, secretHash, origin, now, { thumbprint: boundThumbprint });
  if (!asking.ok) return asking;
  if (asking.record.actor !== null)
    return fail("forbidden", "an impersonation cannot log the user out of their other devices");
  const { tenant, record } = asking;
  const userId = record.userId;
  const order: KillOrder = {
    killId,
    kind: "siblings",
    userId,
    sessionId,
    actor: "session",
    platform: false,
    at: now,
    undoUntil: now + tenant.settings.undoWindowSeconds * 1000,
  };
  recordChange(store, tenant, order, now);
  return ok({ record });
}

function recordChange(store: Store, tenant: Tenant, order: KillOrder, now: number): void {
  const shards = concerned(order.kind, order.userId, order.sessionId, tenant);
  const here = shards.includes(tenant.shard) ? applyKill(store, order, now) : ok({ revoked: 0, userId: null });
  if (!here.ok) throw new Error(here.error.message); // the tenant was read in this transaction: applying cannot fail
  // A session found here is on no other store.
  const waiting = order.kind === "one" && here.userId !== null ? [] : shards.filter((shard) => shard !== tenant.shard);
  store.sql.exec(
    `INSERT INTO changes (id, kind, user_id, session_id, actor, platform, at, undo_until, shards, waiting, revoked, next_at, target)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    order.killId,
    order.kind,
    order.userId ?? here.userId,
    order.sessionId,
    order.actor,
    order.platform ? 1 : 0,
    order.at,
    order.undoUntil,
    JSON.stringify(shards),
    JSON.stringify(waiting),
    here.revoked,
    now + RETRY_FIRST_DELAY_MS, // if this object stops before every store answered, its alarm goes on
    order.target === undefined ? null : JSON.stringify(order.target),
  );
  if (waiting.length === 0) finishKill(store.sql, order.killId, now);
}

/** A store's answer to the kill: counted once, and the kill finished when none is left waiting. */
export function killApplied(
  store: Store,
  id: string,
  shard: number,
  applied: { revoked: number; userId: string | null },
  now: number,
): void {
  const row = store.tenant ? readChange(store.sql, id) : null;
  if (!row || row.undo_at !== null) return;
  const waiting = waitingOf(row, store.tenant!);
  if (!waiting.includes(shard)) return; // counted already (the alarm and a request may ask at once)
  const left = row.kind === "one" && applied.userId !== null ? [] : waiting.filter((other) => other !== shard);
  store.sql.exec(
    "UPDATE changes SET waiting = ?, revoked = revoked + ?, user_id = coalesce(user_id, ?) WHERE id = ?",
    JSON.stringify(left),
    applied.revoked,
    applied.userId,
    id,
  );
  if (left.length === 0) finishKill(store.sql, id, now);
}

/** Every store has the kill: its one event, with the true total. A kill of one session no store held leaves nothing behind. */
function finishKill(sql: SqlStorage, id: string, now: number): void {
  const row = readChange(sql, id)!;
  sql.exec("UPDATE changes SET next_at = NULL, attempts = 0, killed_at = coalesce(killed_at, ?) WHERE id = ?", now, id);
  if (row.killed_at !== null) return; // its event was recorded (by the release that started it)
  if (row.kind === "one" && row.user_id === null) {
    sql.exec("DELETE FROM changes WHERE id = ?", id);
    return;
  }
  // A provider's signal: each store recorded an event per session it ended (kills.endLinked).
  if (row.kind !== "idp") insertEvent(sql, killEvent(row), now);
}

export function killEvent(row: ChangeRow): NewEvent {
  if (isReauth(row.kind)) {
    const event: NewEvent = {
      type: "reauth_required",
      reason: row.kind.slice("reauth-".length),
      actor: row.actor,
      killId: row.id,
    };
    if (row.user_id !== null) event.userId = row.user_id;
    return event;
  }
  const event: NewEvent = {
    type: "revoked",
    reason: row.platform === 1 ? "platform" : row.kind,
    actor: row.actor,
    killId: row.id,
  };
  if (row.kind !== "one") event.count = row.revoked;
  if (row.session_id !== null) event.sessionId = row.session_id;
  if (row.user_id !== null) event.userId = row.user_id;
  return event;
}

/** When a re-authentication recorded here took effect: its floor. */
export function reauthFloorOfChange(sql: SqlStorage, id: string): number | null {
  return readChange(sql, id)?.at ?? null;
}

/** What the kill's caller is told: the total once every store has it; 404 for one session no store held; else a true 503. */
export function killAnswer({ sql }: Store, id: string): Killed {
  const row = readChange(sql, id);
  if (!row) return SESSION_NOT_FOUND; // a kill of one session that no store held, forgotten
  return row.killed_at !== null ? ok({ revoked: row.revoked, killId: id }) : FINISHING_IN_BACKGROUND;
}

/** Deletes up to `batch` records of changes coordinated here (coordinator.ts) older than `before` that nothing waits on: kept as long as kill records. */
export function deleteOldChanges(sql: SqlStorage, before: number, batch: number): number {
  return sql
    .exec(
      "DELETE FROM changes WHERE id IN (SELECT id FROM changes WHERE at < ? AND next_at IS NULL LIMIT ?) RETURNING id",
      before,
      batch,
    )
    .toArray().length;
}
