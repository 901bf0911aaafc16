// Kills and their undo on one store, as plain functions of (store, inputs, now) run in one
// transaction. A kill that spans a tenant's stores is decided by its coordinator
// (coordinator.ts): it chooses the kill's moment and undo deadline once, and every store
// applies that order here, however late; the coordinator records the kill's one audit event.

import { fail, KILL_NOT_FOUND, ok, type Result, TENANT_NOT_FOUND } from "../../src/core/errors";
import type { StoreCaller } from "../../src/core/auth";
import { insertKill, insertTombstone, markUndone, moveToKilled, readKill, restoreKilled } from "./kills-sql";
import {
  countLiveAmong,
  countLiveBetween,
  lowerFloor,
  raiseTenantFloor,
  raiseUserFloor,
  unkilledRows,
  usersBetween,
} from "./floors-sql";
import { lowerReauthFloor, raiseReauthFloor } from "./reauth-sql";
import { endExpired, evictBeyondCap } from "./sessions";
import {
  deleteExpiredUnkilled,
  liveImpersonations,
  liveLinkedSessions,
  otherLiveSessionsOfUser,
  readLiveSession,
  usersOfSeqs,
} from "./sessions-sql";
import { countLiveSessions } from "./listings-sql";
import { authorized, live, readTenantState, type Store, type Tenant } from "./tenant";
import { insertEvent } from "./audit-sql";
import type { IdpTarget } from "../../src/core/identity-providers";

/**
 * Sessions that had expired, but were not purged yet, that a kill ends with their own
 * `expired` event before it covers the rest. The purge keeps up within a minute, so this
 * many is more than a backlog holds; beyond it, an expired session is covered by the kill.
 */
const EXPIRED_ENDED_BY_KILL = 2_000;

/**
 * `reauth-user` and `reauth-tenant` end no session: they raise a re-authentication floor
 * (reauth-sql.ts), coordinated, recorded and undone as kills are.
 */
export type KillKind =
  | "one"
  | "user"
  | "tenant"
  | "siblings"
  | "impersonations"
  | "idp"
  | "reauth-user"
  | "reauth-tenant";

export function isReauth(kind: string): kind is "reauth-user" | "reauth-tenant" {
  return kind === "reauth-user" || kind === "reauth-tenant";
}

/** A kill as its coordinator orders it of every store it concerns. */
export interface KillOrder {
  killId: string;
  kind: KillKind;
  /** Whose sessions (user, siblings); for one, null until a store finds the session. */
  userId: string | null;
  /** One: the session to end. Siblings: the session asking, which stays. */
  sessionId: string | null;
  actor: string;
  /** The platform's kill of every tenant: undone only by the platform. */
  platform: boolean;
  /** The kill's moment, chosen once by its coordinator: sessions created after it are spared. */
  at: number;
  /** Its undo deadline, chosen with it. */
  undoUntil: number;
  /** Idp: the user's sessions an identity provider's signal names. */
  target?: IdpTarget;
}

/** What one store ended of a kill, and (a kill of one session) whose session it was. */
export type Applied = Result<{ revoked: number; userId: string | null }>;

/**
 * Applies a kill here. A store that already has it (applied, or undone before it came: a
 * tombstone) answers what it did then, and kills nothing more. A kill of one session this
 * store does not hold is no kill here: nothing is recorded.
 */
export function applyKill(store: Store, order: KillOrder, now: number): Applied {
  const { sql, tenant } = store;
  if (!tenant) return TENANT_NOT_FOUND;
  const before = readKill(sql, order.killId);
  if (before) return ok({ revoked: before.revoked, userId: before.kind === "one" ? before.user_id : null });
  const ended = isReauth(order.kind)
    ? raiseReauth(sql, order)
    : order.kind === "one"
      ? endOne(sql, tenant, order, now)
      : order.kind === "siblings"
        ? endSiblings(sql, tenant, order, now)
        : order.kind === "impersonations"
          ? endImpersonations(sql, tenant, order, now)
          : order.kind === "idp"
            ? endLinked(sql, tenant, order, now)
            : endAll(sql, tenant, order, now);
  if (ended === null) return ok({ revoked: 0, userId: null });
  insertKill(
    sql,
    {
      id: order.killId,
      kind: order.kind,
      userId: ended.userId ?? undefined,
      floor: ended.floor ?? undefined,
      actor: order.actor,
      revoked: ended.revoked,
      platform: order.platform,
    },
    now,
    order.undoUntil,
  );
  return ok({ revoked: ended.revoked, userId: order.kind === "one" ? ended.userId : null });
}

interface Ended {
  revoked: number;
  userId: string | null;
  floor: number | null;
}

/** Re-authentication at the change's moment: sessions authenticated before it meet no requirement. Ends none. */
function raiseReauth(sql: SqlStorage, order: KillOrder): Ended {
  const userId = order.kind === "reauth-user" ? order.userId! : null;
  raiseReauthFloor(sql, userId, order.at);
  return { revoked: 0, userId, floor: order.at };
}

function endOne(sql: SqlStorage, tenant: Tenant, order: KillOrder, now: number): Ended | null {
  const stored = readLiveSession(sql, live(tenant, now), order.sessionId!);
  if (!stored) return null;
  moveToKilled(sql, [stored.record.seq], order.killId);
  return { revoked: 1, userId: stored.record.userId, floor: null };
}

/** The user's live sessions created by the kill's moment, but the one asking, moved aside for undo. */
function endSiblings(sql: SqlStorage, tenant: Tenant, order: KillOrder, now: number): Ended {
  const asking = order.sessionId === null ? null : readLiveSession(sql, live(tenant, now), order.sessionId);
  const seqs = otherLiveSessionsOfUser(sql, live(tenant, now), order.userId!, asking?.record.seq ?? -1, order.at);
  moveToKilled(sql, seqs, order.killId);
  return { revoked: seqs.length, userId: order.userId, floor: null };
}

/** Every live impersonation created by the kill's moment, moved aside for undo. */
function endImpersonations(sql: SqlStorage, tenant: Tenant, order: KillOrder, now: number): Ended {
  const seqs = liveImpersonations(sql, live(tenant, now), order.at);
  moveToKilled(sql, seqs, order.killId);
  return { revoked: seqs.length, userId: null, floor: null };
}

/**
 * The user's live sessions a provider's signal names, created by the kill's moment, moved aside
 * for undo. Each has its own event (the session ended, as a logout's does), naming the provider.
 */
function endLinked(sql: SqlStorage, tenant: Tenant, order: KillOrder, now: number): Ended {
  const target = order.target!;
  const ended = liveLinkedSessions(sql, live(tenant, now), order.userId!, target, order.at);
  moveToKilled(
    sql,
    ended.map((session) => session.seq),
    order.killId,
  );
  for (const session of ended)
    insertEvent(
      sql,
      {
        type: "revoked",
        reason: "idp",
        actor: order.actor,
        sessionId: session.id,
        userId: order.userId!,
        killId: order.killId,
        provider: target.provider,
      },
      now,
    );
  return { revoked: ended.length, userId: order.userId, floor: null };
}

/**
 * A user or tenant kill: one write (a floor) however many sessions; the purge deletes the rows
 * once the kill can no longer be undone. Expired sessions not purged yet are ended first, with
 * their own `expired` events (their end was expiry, not this kill). The count is exact without
 * reading the rows for a tenant kill: once the expired ones are ended, every row killed by
 * nothing is a live session, and the store keeps how many there are; only while stored
 * expiries lag the rule, or a backlog of expired rows exceeds what a kill ends, are live rows counted.
 */
function endAll(sql: SqlStorage, tenant: Tenant, order: KillOrder, now: number): Ended {
  const userId = order.kind === "user" ? order.userId! : null;
  const expired = deleteExpiredUnkilled(sql, live(tenant, now), userId, EXPIRED_ENDED_BY_KILL);
  endExpired(sql, expired, now);
  const exactWithoutScan = userId === null && !tenant.reevaluating && expired.length < EXPIRED_ENDED_BY_KILL;
  const count = (state: Tenant) =>
    exactWithoutScan ? unkilledRows(sql) : countLiveSessions(sql, live(state, now), userId ?? undefined);
  const liveBefore = count(tenant);
  const floor = userId === null ? raiseTenantFloor(sql, order.at) : raiseUserFloor(sql, tenant.floor, userId, order.at);
  return { revoked: liveBefore - count(readTenantState(sql)!), userId, floor };
}

/** A kill as this store recorded it, for an undo decided without its coordinator's record (see coordinator.ts). */
export interface KillSeen {
  kind: KillKind;
  userId: string | null;
  at: number;
  undoUntil: number;
}

/**
 * What this store says of an undo before anything changes: a refusal (the caller may not, the
 * kill is not this route's, the window passed at `decidedAt`, already undone), or the kill as
 * recorded here (null: this store does not have it). Writes nothing but a tenant key's use.
 */
export function checkUndo(
  store: Store,
  caller: StoreCaller,
  killId: string,
  platform: boolean,
  decidedAt: number,
  now: number,
): Result<{ kill: KillSeen | null }> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const kill = readKill(store.sql, killId);
  if (!kill) return ok({ kill: null });
  if (kill.undone_at !== null) return ALREADY_UNDONE;
  if ((kill.platform === 1) !== platform) return KILL_NOT_FOUND;
  if (kill.settled === 1 || decidedAt >= kill.undo_until) return UNDO_WINDOW_PASSED;
  return ok({ kill: { kind: kill.kind as KillKind, userId: kill.user_id, at: kill.at, undoUntil: kill.undo_until } });
}

export const ALREADY_UNDONE = fail("already_undone", "this kill was already undone");
export const UNDO_WINDOW_PASSED = fail(
  "undo_window_passed",
  "this kill can no longer be undone: its undo window has passed",
);

/**
 * Undoes a kill here, as its coordinator decided: moves its sessions back (their stored
 * expiries made anew under today's timeouts), or lowers its floor to the highest another kill
 * in force left. Sessions that ended another way meanwhile (logout, expiry, eviction, a later
 * kill that covers them) stay ended; a kill this store already settled restores nothing.
 * A store that never had the kill keeps a tombstone, so the kill arriving later does nothing.
 * Restored sessions count against `maxSessionsPerUser` here; `users` are those whose sessions
 * came back, for the coordinator to keep within it over their other stores.
 */
export function applyUndo(store: Store, killId: string, now: number): Result<{ restored: number; users: string[] }> {
  const { sql, tenant } = store;
  if (!tenant) return TENANT_NOT_FOUND;
  const kill = readKill(sql, killId);
  if (!kill) {
    insertTombstone(sql, killId, now);
    return ok({ restored: 0, users: [] });
  }
  if (kill.undone_at !== null || kill.settled === 1) return ok({ restored: 0, users: [] });
  if (isReauth(kill.kind)) {
    lowerReauthFloor(sql, kill);
    markUndone(sql, killId, now);
    return ok({ restored: 0, users: [] });
  }
  const moved =
    kill.kind === "one" || kill.kind === "siblings" || kill.kind === "impersonations" || kill.kind === "idp";
  const seqs = moved ? restoreKilled(sql, killId, tenant.rules) : [];
  const { from, to } = moved ? { from: 0, to: 0 } : lowerFloor(sql, kill);
  const after = readTenantState(sql)!; // the floors as the undo left them
  const restored = moved
    ? countLiveAmong(sql, live(after, now), seqs)
    : to < from
      ? countLiveBetween(sql, live(after, now), to, from, kill.user_id)
      : 0;
  markUndone(sql, killId, now);
  // Only a cap makes the users of the restored rows matter.
  const capped = after.settings.maxSessionsPerUser !== null && restored > 0;
  const users = !capped
    ? []
    : kill.kind === "impersonations"
      ? usersOfSeqs(sql, seqs)
      : moved
        ? [kill.user_id!]
        : to < from
          ? usersBetween(sql, to, from, kill.user_id)
          : [];
  for (const userId of users) evictBeyondCap(sql, after, userId, now);
  // Only a tenant that grew may have a user's sessions on several stores.
  return ok({ restored, users: after.shardHistory.length > 1 ? users : [] });
}

/** What a kill answers: how many live sessions it ended, and the id that undoes it. */
export type Killed = Result<{ revoked: number; killId: string }>;
