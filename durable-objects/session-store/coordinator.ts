// The coordinator of a kill, and of its undo, over a tenant's stores: the tenant's home for an
// operator's kill (one session, a user, the tenant, the tenant's part of the platform's kill)
// and every undo; the session's own store for "log out my other devices". A change is first
// recorded here (the `changes` table), with the moment every store applies and the undo
// deadline, in the transaction that applies this store's own part; then every other store
// concerned is told; then the caller is answered: 2xx once each committed, else 503 that is
// true, since the alarm asks the stores still waiting again, with backoff, until done. The one
// audit event of the change is recorded here once every store has it, with the true total.

import { actorOf, type StoreCaller } from "../../src/core/auth";
import { fail, KILL_NOT_FOUND, ok, type Result, SESSION_NOT_FOUND } from "../../src/core/errors";
import { allShards, type ShardHistory, shardsOfUser } from "../../src/core/placement";
import { leastRecentBeyondCap } from "../../src/core/session";
import type { Stub } from "../stub";
import type { KillRequest, ShardApi } from "./api";
import { ALREADY_UNDONE, applyKill, applyUndo, Killed, type KillKind, type KillOrder, type KillSeen, UNDO_WINDOW_PASSED } from "./kills";
import { insertEvent, NewEvent } from "./audit-sql";
import { authorized, Store, Tenant } from "./tenant";

/** What a coordinator asks of the other stores of its tenant. */
export type CoordinatedStore = Stub<Pick<ShardApi, "applyKill" | "applyUndo" | "checkUndo" | "listSessions" | "evictSessions">>;

/** The store could not reach every store concerned: the change is recorded, and finished by the alarm. */
export const FINISHING_IN_BACKGROUND = fail(
  "shard_unavailable",
  "one of the tenant's stores could not be reached; the change is recorded and will be completed in the background, and repeating it is safe",
);

/** Backoff of a change that keeps missing a store: 5 s doubling, at most 10 minutes apart. */
const RETRY_FIRST_DELAY_MS = 5_000;
const RETRY_MAX_DELAY_MS = 10 * 60_000;
/**
 * A change still missing a store this long after it was asked is given up, loudly: kill
 * records (what keeps a store from applying a kill twice, or after its undo) are kept 30 days.
 */
export const GIVE_UP_MS = 7 * 24 * 3600_000;

interface ChangeRow {
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
  [column: string]: SqlStorageValue;
}

function readChange(sql: SqlStorage, id: string): ChangeRow | null {
  return sql.exec<ChangeRow>("SELECT * FROM changes WHERE id = ?", id).toArray()[0] ?? null;
}

function concerned(kind: KillKind, userId: string | null, history: ShardHistory): number[] {
  return kind === "user" || kind === "siblings" ? shardsOfUser(history, userId!) : allShards(history);
}

function shardsOf(row: ChangeRow, tenant: Tenant): number[] {
  return row.shards === null ? concerned(row.kind, row.user_id, tenant.shardHistory) : (JSON.parse(row.shards) as number[]);
}

function waitingOf(row: ChangeRow, tenant: Tenant): number[] {
  return row.waiting === null ? shardsOf(row, tenant).filter((shard) => shard !== tenant.shard) : (JSON.parse(row.waiting) as number[]);
}

function orderOf(row: ChangeRow): KillOrder {
  return {
    killId: row.id,
    kind: row.kind,
    userId: row.user_id,
    sessionId: row.session_id,
    actor: row.actor,
    platform: row.platform === 1,
    at: row.at,
    undoUntil: row.undo_until,
  };
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
  return { step: row.undo_at === null ? "kill" : "undo", order: orderOf(row), waiting: waitingOf(row, tenant), at: row.undo_at ?? row.at };
}

/** Changes whose stores the alarm asks again now. */
export function dueChanges(sql: SqlStorage, now: number): string[] {
  return sql.exec<{ id: string }>("SELECT id FROM changes WHERE next_at <= ? ORDER BY next_at", now).toArray().map((row) => row.id);
}

export function nextChangeAt(sql: SqlStorage): number | null {
  return sql.exec<{ at: number | null }>("SELECT min(next_at) AS at FROM changes").one().at;
}

/** After an attempt that missed a store: the next one, later each time. */
export function postpone(sql: SqlStorage, id: string, now: number): void {
  sql.exec(`UPDATE changes SET attempts = attempts + 1, next_at = ? + min(?, ? * (1 << min(attempts, 20))) WHERE id = ? AND next_at IS NOT NULL`, now, RETRY_MAX_DELAY_MS, RETRY_FIRST_DELAY_MS, id);
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
export function startKill(store: Store, caller: StoreCaller, killId: string, request: KillRequest, platformAt: number | null, now: number): Result<{ sockets: "all" | { userId: string } | { sessionId: string } }> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const { tenant } = allowed;
  if (tenant.shard !== 0) throw new Error("an operator's kill is coordinated by the tenant's home");
  const sockets = request.kind === "tenant" ? "all" : request.kind === "user" ? { userId: request.userId } : { sessionId: request.sessionId };
  if (readChange(store.sql, killId)) return ok({ sockets });
  const at = platformAt ?? now;
  const order: KillOrder = {
    killId,
    kind: request.kind,
    userId: request.kind === "user" ? request.userId : null,
    sessionId: request.kind === "one" ? request.sessionId : null,
    actor: actorOf(caller),
    platform: platformAt !== null,
    at,
    undoUntil: at + tenant.settings.undoWindowSeconds * 1000,
  };
  record(store, tenant, order, now);
  return ok({ sockets });
}

/** "Log out my other devices", at the store of the session asking (already authenticated): recorded, and applied here. */
export function startSiblingsKill(store: Store, tenant: Tenant, userId: string, sessionId: string, killId: string, now: number): void {
  const order: KillOrder = { killId, kind: "siblings", userId, sessionId, actor: "session", platform: false, at: now, undoUntil: now + tenant.settings.undoWindowSeconds * 1000 };
  record(store, tenant, order, now);
}

function record(store: Store, tenant: Tenant, order: KillOrder, now: number): void {
  const shards = concerned(order.kind, order.userId, tenant.shardHistory);
  const here = shards.includes(tenant.shard) ? applyKill(store, order, now) : ok({ revoked: 0, userId: null });
  if (!here.ok) throw new Error(here.error.message); // the tenant was read in this transaction: applying cannot fail
  // A session found here is on no other store.
  const waiting = order.kind === "one" && here.userId !== null ? [] : shards.filter((shard) => shard !== tenant.shard);
  store.sql.exec(
    `INSERT INTO changes (id, kind, user_id, session_id, actor, platform, at, undo_until, shards, waiting, revoked, next_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
  );
  if (waiting.length === 0) finishKill(store.sql, order.killId, now);
}

/** A store's answer to the kill: counted once, and the kill finished when none is left waiting. */
export function killApplied(store: Store, id: string, shard: number, applied: { revoked: number; userId: string | null }, now: number): void {
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
  insertEvent(sql, killEvent(row), now);
}

function killEvent(row: ChangeRow): NewEvent {
  const event: NewEvent = { type: "revoked", reason: row.platform === 1 ? "platform" : row.kind, actor: row.actor, killId: row.id };
  if (row.kind !== "one") event.count = row.revoked;
  if (row.session_id !== null) event.sessionId = row.session_id;
  if (row.user_id !== null) event.userId = row.user_id;
  return event;
}

/** What the kill's caller is told: the total once every store has it; 404 for one session no store held; else a true 503. */
export function killAnswer({ sql }: Store, id: string): Killed {
  const row = readChange(sql, id);
  if (!row) return SESSION_NOT_FOUND; // a kill of one session that no store held, forgotten
  return row.killed_at !== null ? ok({ revoked: row.revoked, killId: id }) : FINISHING_IN_BACKGROUND;
}

// Undo

const UNDO_UNDER_WAY = fail("already_undone", "this kill's undo was already decided; it is finished in the background");

/**
 * The undo of a kill this store coordinated, decided in one transaction: the caller may, the
 * kill is this route's, its window is open now, and no undo was decided before (of two at
 * once, exactly one wins). The decision is recorded before any store changes anything, and
 * this store's part done with it; a kill still reaching stores stops. `known` false: this
 * store never coordinated it (see decideSeenUndo).
 */
export function decideUndo(store: Store, caller: StoreCaller, killId: string, platform: boolean, now: number): Result<{ known: boolean; users: string[] }> {
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
export function decideSeenUndo(store: Store, caller: StoreCaller, killId: string, seen: KillSeen & { platform: boolean }, decidedAt: number, now: number): Result<{ users: string[] }> {
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
  return ok({ users: undo(store, allowed.tenant, readChange(store.sql, killId)!, actorOf(caller), Math.max(now, decidedAt)) });
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
  store.sql.exec("UPDATE changes SET waiting = ?, restored = restored + ? WHERE id = ?", JSON.stringify(left), restored, id);
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

// Fan-out

/** How a coordinator reaches the other stores of its tenant, and runs a transaction on its own. */
export interface Host {
  change<T>(operation: (store: Store, now: number) => T): T;
  /** The store of `shard`; throws when it cannot be reached. */
  reach(shard: number): CoordinatedStore;
}

/**
 * Asks every store the change is waiting on, side by side, and records each answer as it comes.
 * Returns the users whose sessions an undo brought back (for the cap over their stores) and
 * whether a store was missed (the change is then postponed: the alarm asks again).
 */
export async function fanOut(host: Host, id: string): Promise<{ users: string[]; missed: unknown[] }> {
  const pending = host.change((store) => pendingOf(store, id));
  if (!pending || pending.waiting.length === 0) return { users: [], missed: [] };
  const users: string[] = [];
  const outcomes = await Promise.allSettled(
    pending.waiting.map(async (shard) => {
      const store = host.reach(shard);
      if (pending.step === "kill") {
        const applied = holdsNothing<{ revoked: number; userId: string | null }>(await store.applyKill(pending.order), { revoked: 0, userId: null });
        host.change((home, now) => killApplied(home, id, shard, applied, now));
      } else {
        const undone = holdsNothing(await store.applyUndo(id), { restored: 0, users: [] });
        users.push(...undone.users);
        host.change((home, now) => undoApplied(home, id, shard, undone.restored, now));
      }
    }),
  );
  const missed = outcomes.flatMap((outcome) => (outcome.status === "rejected" ? [outcome.reason as unknown] : []));
  if (missed.length > 0) host.change((store, now) => postpone(store.sql, id, now));
  return { users, missed };
}

/** A store's answer as a value; a store without the tenant's copy yet holds none of its sessions. Other refusals throw: asked again later. */
function holdsNothing<T extends object>(answer: Result<T>, nothing: T): T {
  if (answer.ok) return answer;
  if (answer.error.code === "tenant_not_found") return nothing;
  throw new Error(`${answer.error.code}: ${answer.error.message}`);
}

/**
 * Keeps each user within `maxSessionsPerUser` over every store that may hold their sessions
 * (a user whose sessions span shard counts), once a create or an undo brought one or more: the
 * least recently seen beyond the cap are evicted, never `keepId` (the session just made).
 * Best effort, after the change rather than in its transaction: each store already kept its own part within it.
 */
export async function capAcrossStores(host: Host, tenant: Tenant, users: string[], keepId: string | null = null): Promise<void> {
  const cap = tenant.settings.maxSessionsPerUser;
  if (cap === null) return;
  for (const userId of new Set(users)) {
    const shards = shardsOfUser(tenant.shardHistory, userId);
    if (shards.length < 2) continue;
    const pages = await Promise.all(
      shards.map(async (shard) => {
        const page = await host.reach(shard).listSessions({ kind: "admin" }, { userId, limit: cap + 1 });
        return page.ok ? page.rows.map((row) => ({ shard, session: row.item })) : [];
      }),
    );
    const beyond = leastRecentBeyondCap(pages.flat(), cap, keepId);
    await Promise.all([...Map.groupBy(beyond, (entry) => entry.shard)].map(([shard, entries]) => host.reach(shard).evictSessions(entries.map((entry) => entry.session.id))));
  }
}

/** Deletes up to `batch` records of changes coordinated here (coordinator.ts) older than `before` that nothing waits on: kept as long as kill records. */
export function deleteOldChanges(sql: SqlStorage, before: number, batch: number): number {
  return sql.exec("DELETE FROM changes WHERE id IN (SELECT id FROM changes WHERE at < ? AND next_at IS NULL LIMIT ?) RETURNING id", before, batch).toArray().length;
}
