// How this store coordinates the kills and undos it recorded (coordinator.ts): it reaches the
// other stores of its tenant (itself too, as any other), tells them of a change before its
// answer, asks the ones it missed again from the alarm, and keeps users within their cap over
// their stores afterwards.

import type { StoreCaller } from "../../src/core/auth";
import { fail, KILL_NOT_FOUND, ok, type Result } from "../../src/core/errors";
import { logError } from "../../src/core/log";
import { allShards, shardsOfUser } from "../../src/core/placement";
import { leastRecentBeyondCap } from "../../src/core/session";
import { askEach } from "../stub";
import { storeFor } from "../stubs";
import * as coordinator from "./coordinator";
import * as undo from "./undo";
import type { StoreHost } from "./host";
import type { KillRequest, ReauthRequest } from "./api";
import { applyKill, applyUndo, type Applied, type Killed, type KillOrder, type KillSeen } from "./kills";
import { sessionTag, userTag } from "./sockets";
import { nextPurgeAt, UNDO_SETTLE_GRACE_MS } from "./purge";
import type { Store, Tenant } from "./tenant";

/** An undo judged while a store could not be reached: nothing changed anywhere. */
const UNDO_UNREACHABLE = fail(
  "shard_unavailable",
  "one of the tenant's stores could not be reached, so nothing was undone; repeat the undo",
);

/** This store as a coordinator sees it: its transactions, and the other stores of its tenant (`self` for its own shard). */
function asCoordinator(host: StoreHost, self: coordinator.CoordinatedStore): CoordinatorHost {
  return {
    change: (operation) => host.change(operation),
    reach: (shard) => {
      const tenant = host.store().tenant;
      if (!tenant) throw new Error("the tenant is gone");
      if (shard === tenant.shard) return self;
      const store = storeFor(host.env, { tenant: tenant.name, shard, jurisdiction: tenant.settings.jurisdiction });
      if (!store.ok) throw new Error(store.error.message);
      return store.stub;
    },
  };
}

/** Keeps users within their cap over their stores, once a create or an undo brought sessions; a failure is logged, never thrown. */
export async function capAcrossStores(
  host: StoreHost,
  self: coordinator.CoordinatedStore,
  users: string[],
  keepId: string | null = null,
): Promise<void> {
  const tenant = host.store().tenant;
  if (!tenant || users.length === 0) return;
  await capAcrossUsersStores(asCoordinator(host, self), tenant, users, keepId).catch((error: unknown) =>
    logError({ event: "cap_unfinished", tenant: tenant.name, message: String(error) }),
  );
}

/** From the alarm: asks again the stores each due change is waiting on; one missing a store too long is given up, loudly. */
export async function advanceChanges(host: StoreHost, self: coordinator.CoordinatedStore): Promise<void> {
  const sql = host.ctx.storage.sql;
  const tenant = host.store().tenant;
  if (!tenant) return;
  for (const id of coordinator.dueChanges(sql, Date.now())) {
    const pending = host.transaction((store) => coordinator.pendingOf(store, id));
    if (pending && Date.now() - pending.at > coordinator.GIVE_UP_MS) {
      logError({ event: "change_abandoned", tenant: tenant.name, message: id });
      host.change(() => coordinator.giveUp(sql, id));
      continue;
    }
    const { users, missed } = await fanOut(asCoordinator(host, self), id);
    if (missed.length > 0)
      logError({
        event: "change_unfinished",
        tenant: tenant.name,
        count: missed.length,
        message: `${id}: ${String(missed[0])}`,
      });
    await capAcrossStores(host, self, users);
  }
}

/**
 * The undo of a kill this home did not coordinate: every store judges it at one moment first,
 * changing nothing; only when none refuses and one has it is the decision recorded here. The
 * users whose sessions came back here, or the answer when nothing was decided.
 */
export async function decideSeenUndo(
  host: StoreHost,
  self: coordinator.CoordinatedStore,
  caller: StoreCaller,
  killId: string,
  platform: boolean,
): Promise<string[] | Result<{ restored: number; killId: string }>> {
  const tenant = host.store().tenant!;
  const decidedAt = Date.now();
  const reach = asCoordinator(host, self).reach;
  const judged = await askEach(allShards(tenant.shardHistory), async (shard) =>
    reach(shard).checkUndo(caller, killId, platform, decidedAt),
  );
  let seen: KillSeen | null = null;
  for (const answer of judged) {
    if ("unreachable" in answer) return UNDO_UNREACHABLE;
    const { result } = answer;
    if (result.ok) seen ??= result.kill;
    // A shard without the tenant's copy yet holds none of its kills.
    else if (answer.shard === 0 || result.error.code !== "tenant_not_found") return result;
  }
  if (seen === null) return KILL_NOT_FOUND;
  // Late enough that a store might settle the kill before its undo reaches it: nothing was done.
  if (Date.now() - decidedAt > UNDO_SETTLE_GRACE_MS / 2) return UNDO_UNREACHABLE;
  const decided = host.change((store, now) =>
    undo.decideSeenUndo(store, caller, killId, { ...seen, platform }, decidedAt, now),
  );
  return decided.ok ? decided.users : decided;
}

/**
 * Tells the other stores of a change recorded here, then answers as the record says. The alarm
 * is armed before any store is asked (a restart mid-way finishes it), and after, for what is left.
 */
export async function finish<T extends object>(
  host: StoreHost,
  self: coordinator.CoordinatedStore,
  killId: string,
  answer: (store: Store) => Result<T>,
  users: string[] = [],
): Promise<Result<T>> {
  await host.scheduler.wake("changes", coordinator.nextChangeAt(host.ctx.storage.sql));
  const fanned = await fanOut(asCoordinator(host, self), killId);
  await capAcrossStores(host, self, [...users, ...fanned.users]);
  await host.scheduler.wake("changes", coordinator.nextChangeAt(host.ctx.storage.sql));
  // The purge settles a kill once its undo window passes (or at once, without one).
  await host.scheduler.wake("purge", nextPurgeAt(host.store(), Date.now()));
  return host.transaction((store) => answer(store));
}

/** At the tenant's home: a kill recorded and applied here, then told to every other store concerned; its answer. */
export async function coordinateKill(
  host: StoreHost,
  self: coordinator.CoordinatedStore,
  caller: StoreCaller,
  killId: string,
  request: KillRequest,
  platformAt: number | null,
): Promise<Killed> {
  const started = host.change((store, now) => coordinator.startKill(store, caller, killId, request, platformAt, now));
  if (!started.ok) return started;
  const { sockets } = started;
  if (sockets !== "none")
    host.closeDeadSockets(
      sockets === "all" ? undefined : "userId" in sockets ? userTag(sockets.userId) : sessionTag(sockets.sessionId),
      "revoked",
    );
  return finish(host, self, killId, (store) => coordinator.killAnswer(store, killId));
}

/** "Log out my other devices", at the store of the session asking, which coordinates it over the user's other stores. */
export async function coordinateSiblingsKill(
  host: StoreHost,
  self: coordinator.CoordinatedStore,
  id: string,
  secretHash: ArrayBuffer,
  origin: string | null,
  killId: string,
  boundThumbprint: string | null,
): Promise<Killed> {
  const found = host.change((store, now) =>
    coordinator.startSiblingsKill(store, id, secretHash, origin, killId, now, boundThumbprint),
  );
  if (!found.ok) return found;
  host.closeDeadSockets(userTag(found.record.userId), "revoked"); // that user's sockets only
  return finish(host, self, killId, (store) => coordinator.killAnswer(store, killId));
}

/**
 * At the tenant's home: "prove it again" for a user or the tenant, coordinated as a kill (it ends
 * no session): the floor is the change's moment, chosen once, and the id undoes it.
 */
export async function coordinateReauth(
  host: StoreHost,
  self: coordinator.CoordinatedStore,
  caller: StoreCaller,
  reauthId: string,
  request: ReauthRequest,
): Promise<Result<{ floor: number; reauthId: string }>> {
  const done = await coordinateKill(host, self, caller, reauthId, request, null);
  if (!done.ok) return done;
  return ok({ floor: coordinator.reauthFloorOfChange(host.ctx.storage.sql, reauthId)!, reauthId });
}

/**
 * At the tenant's home: an undo decided here first (coordinator.decideUndo), then done on every
 * store the kill reached. A kill this home did not coordinate is first judged by every store.
 */
export async function coordinateUndo(
  host: StoreHost,
  self: coordinator.CoordinatedStore,
  caller: StoreCaller,
  killId: string,
  platform: boolean,
): Promise<Result<{ restored: number; killId: string }>> {
  const decided = host.change((store, now) => undo.decideUndo(store, caller, killId, platform, now));
  if (!decided.ok) return decided;
  // Only the home looks for a kill it did not coordinate: a kill whose id names another store is that store's.
  if (!decided.known && host.store().tenant?.shard !== 0) return KILL_NOT_FOUND;
  const users = decided.known ? decided.users : await decideSeenUndo(host, self, caller, killId, platform);
  if (!Array.isArray(users)) return users;
  if (host.store().tenant?.settings.maxSessionsPerUser !== null) host.closeDeadSockets(undefined, "revoked"); // evicted by the cap
  return finish(host, self, killId, (store) => undo.undoAnswer(store, killId), users);
}

/** On a store a kill concerns: applies its coordinator's order here, and tells the sockets of what it ended. */
export async function applyKillHere(host: StoreHost, order: KillOrder): Promise<Applied> {
  const applied = host.change((store, now) => applyKill(store, order, now));
  if (!applied.ok || applied.revoked === 0) return applied;
  host.closeDeadSockets(
    order.kind === "tenant" || order.kind === "impersonations"
      ? undefined
      : order.kind === "one"
        ? sessionTag(order.sessionId!)
        : userTag(order.userId!),
    "revoked",
  );
  await host.scheduler.wake("purge", nextPurgeAt(host.store(), Date.now()));
  return applied;
}

/** On a store a kill reached: undoes it as its coordinator decided; sessions the cap evicted have their sockets told. */
export async function applyUndoHere(
  host: StoreHost,
  killId: string,
): Promise<Result<{ restored: number; users: string[] }>> {
  const undone = host.change((store, now) => applyUndo(store, killId, now));
  if (undone.ok && undone.restored > 0 && host.store().tenant?.settings.maxSessionsPerUser !== null)
    host.closeDeadSockets(undefined, "revoked");
  await host.scheduler.wake("purge", nextPurgeAt(host.store(), Date.now()));
  return undone;
}

/** How a coordinator reaches the other stores of its tenant, and runs a transaction on its own. */
interface CoordinatorHost {
  change<T>(operation: (store: Store, now: number) => T): T;
  /** The store of `shard`; throws when it cannot be named (askEach makes that an unreachable answer). */
  reach(shard: number): coordinator.CoordinatedStore;
}

/**
 * Asks every store the change is waiting on, side by side, and records each answer as it comes.
 * Returns the users whose sessions an undo brought back (for the cap over their stores) and
 * whether a store was missed (the change is then postponed: the alarm asks again).
 */
async function fanOut(host: CoordinatorHost, id: string): Promise<{ users: string[]; missed: unknown[] }> {
  const pending = host.change((store) => coordinator.pendingOf(store, id));
  if (!pending || pending.waiting.length === 0) return { users: [], missed: [] };
  const users: string[] = [];
  const answers = await askEach(pending.waiting, async (shard): Promise<Result> => {
    const store = host.reach(shard);
    if (pending.step === "kill") {
      const applied = heldNothing<{ revoked: number; userId: string | null }>(await store.applyKill(pending.order), {
        revoked: 0,
        userId: null,
      });
      if (applied.ok) host.change((home, now) => coordinator.killApplied(home, id, shard, applied, now));
      return applied;
    }
    const undone = heldNothing(await store.applyUndo(id), { restored: 0, users: [] });
    if (undone.ok) {
      users.push(...undone.users);
      host.change((home, now) => undo.undoApplied(home, id, shard, undone.restored, now));
    }
    return undone;
  });
  // Unreachable, or a refusal other than "no copy yet": asked again later.
  const missed = answers.flatMap((answer) =>
    "unreachable" in answer ? [answer.unreachable] : answer.result.ok ? [] : [answer.result.error],
  );
  if (missed.length > 0) host.change((store, now) => coordinator.postpone(store.sql, id, now));
  return { users, missed };
}

/** A store without the tenant's copy yet holds none of its sessions: as good as `nothing` done there. */
function heldNothing<T extends object>(answer: Result<T>, nothing: T): Result<T> {
  return !answer.ok && answer.error.code === "tenant_not_found" ? ok(nothing) : answer;
}

/**
 * Keeps each user within `maxSessionsPerUser` over every store that may hold their sessions
 * (a user whose sessions span shard counts), once a create or an undo brought one or more: the
 * least recently seen beyond the cap are evicted, never `keepId` (the session just made).
 * Best effort, after the change rather than in its transaction: each store already kept its own part within it.
 */
async function capAcrossUsersStores(
  host: CoordinatorHost,
  tenant: Tenant,
  users: string[],
  keepId: string | null = null,
): Promise<void> {
  const cap = tenant.settings.maxSessionsPerUser;
  if (cap === null) return;
  for (const userId of new Set(users)) {
    const shards = shardsOfUser(tenant.shardHistory, userId);
    if (shards.length < 2) continue;
    const pages = await Promise.all(
      shards.map(async (shard) => {
        const page = await host.reach(shard).listSessions({ kind: "admin" }, { userId, limit: cap + 1 });
        // Impersonations are no device of the user's: the cap counts only the user's own.
        return page.ok
          ? page.rows.flatMap((row) => (row.item.actor === null ? [{ shard, session: row.item }] : []))
          : [];
      }),
    );
    const beyond = leastRecentBeyondCap(pages.flat(), cap, keepId);
    await Promise.all(
      [...Map.groupBy(beyond, (entry) => entry.shard)].map(([shard, entries]) =>
        host.reach(shard).evictSessions(entries.map((entry) => entry.session.id)),
      ),
    );
  }
}
