// Kills and their undo, each one call to the tenant's home, which coordinates it over the
// tenant's stores; and the platform's kill, run by the directory.

import type { Killed } from "@session-service/client";
import { actorOf, type StoreCaller } from "../../core/auth";
import { fail, KILL_NOT_FOUND, ok, SESSION_NOT_FOUND, type Result } from "../../core/errors";
import { isKillId } from "../../core/identifiers";
import { logInfo } from "../../core/log";
import { storeNamedBy, targetOf, type Located } from "../locate";
import { newPlacedId } from "../../core/placed-id";
import type { StoreTarget } from "../../core/placement";
import type { PlatformKill } from "../../../durable-objects/tenant-directory/api";
import type { ReauthRequest } from "../../../durable-objects/session-store/api";
import { callDirectory, callHome, callStore, type HomeStub, type StoreStub } from "../../../durable-objects/stubs";
import { isSessionId } from "../../core/token";

import { READ, checkUserId, newKillId, onPlatform, onTenant } from "./doors";

/**
 * Runs a kill or an undo at the store that coordinates it over the tenant's stores (the home,
 * or a session's own store: durable-objects/session-store/coordinator.ts): it records the
 * change before any store changes anything, so its 503 is true (the change is finished in the
 * background). A store that cannot be reached cannot say whether it recorded the change: the
 * caller is told to repeat it.
 */
function atStore<T extends object>(
  env: Env,
  target: StoreTarget,
  call: (store: StoreStub) => Promise<Result<T>>,
): Promise<Result<T>> {
  return callStore(env, target, call).catch(() => COORDINATOR_UNREACHABLE);
}

/** At the tenant's home, which coordinates every kill but that of one session whose id names its store. */
function atHome<T extends object>(
  env: Env,
  at: Located,
  call: (home: HomeStub) => Promise<Result<T>>,
): Promise<Result<T>> {
  return callHome(env, at, call).catch(() => COORDINATOR_UNREACHABLE);
}

const COORDINATOR_UNREACHABLE = fail(
  "shard_unavailable",
  "the tenant's store could not be reached, so the change may not have been made; repeat it (repeating is safe)",
);

/**
 * One session by its public id: the store the id names kills it, under a kill id naming that
 * store (its undo asks that store alone). An id from before names no store: the home finds it.
 */
export function revokeSession(env: Env, caller: StoreCaller, tenant: unknown, id: unknown): Promise<Result<Killed>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    if (typeof id !== "string" || !isSessionId(id)) return SESSION_NOT_FOUND;
    const named = await storeNamedBy(env, at, id);
    if (!named.ok) return named;
    const { shard } = named;
    if (shard === null) return SESSION_NOT_FOUND;
    if (shard === "any")
      return atHome(env, at, (home) => home.kill(caller, newKillId(), { kind: "one", sessionId: id }));
    const killId = newPlacedId(at.tenant, shard);
    return atStore(env, targetOf(named.located, shard), (store) => store.killSession(caller, killId, id));
  });
}

export function revokeUser(env: Env, caller: StoreCaller, tenant: unknown, userId: unknown): Promise<Result<Killed>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    const user = checkUserId(userId);
    if (!user.ok) return user;
    return atHome(env, at, (home) => home.kill(caller, newKillId(), { kind: "user", userId: userId as string }));
  });
}

export function revokeTenant(env: Env, caller: StoreCaller, tenant: unknown): Promise<Result<Killed>> {
  return onTenant(env, caller, tenant, "tenant", (at) =>
    atHome(env, at, (home) => home.kill(caller, newKillId(), { kind: "tenant" })),
  );
}

/** Every impersonation of the tenant, on every store: undoable as any kill. */
export function revokeImpersonations(env: Env, caller: StoreCaller, tenant: unknown): Promise<Result<Killed>> {
  return onTenant(env, caller, tenant, "tenant", (at) =>
    atHome(env, at, (home) => home.kill(caller, newKillId(), { kind: "impersonations" })),
  );
}

/**
 * "Prove it again", for one user's sessions (`userId`) or every session of the tenant: from the
 * floor on, a session authenticated before it meets no requirement until a step-up. Nobody is
 * logged out. Coordinated, and undone, as a kill is: `reauthId` is the kill id that undoes it.
 */
export function reauthenticate(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  userId?: unknown,
): Promise<Result<{ floor: string; reauthId: string }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    if (userId !== undefined) {
      const user = checkUserId(userId);
      if (!user.ok) return user;
    }
    const request: ReauthRequest =
      userId === undefined ? { kind: "reauth-tenant" } : { kind: "reauth-user", userId: userId as string };
    const done = await atHome(env, at, (home) => home.reauthenticate(caller, newKillId(), request));
    return done.ok ? ok({ floor: new Date(done.floor).toISOString(), reauthId: done.reauthId }) : done;
  });
}

/**
 * Undoes a kill of this tenant, all or nothing (a platform kill is undone by the platform's own
 * route): what every store restored, added up. Unknown to every store: 404.
 */
export function undoKill(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  killId: unknown,
): Promise<Result<{ restored: number; killId: string }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    if (!isKillId(killId)) return KILL_NOT_FOUND;
    // The store that coordinated the kill decides its undo: the one its id names, or the home.
    const named = await storeNamedBy(env, at, killId);
    if (!named.ok) return named;
    const { shard } = named;
    if (shard === null) return KILL_NOT_FOUND;
    return atStore(env, targetOf(named.located, shard === "any" ? 0 : shard), (store) =>
      store.undo(caller, killId, false),
    );
  });
}

// The platform (admin only)

/** The directory object that coordinates platform kills. */
const COORDINATOR = 0;

/**
 * Kills every session of every tenant known now (sessions created after are spared). The
 * directory works through the tenants for a few seconds: `kill.done` says whether it reached
 * them all; if not, it goes on in the background (GET /v1/kills/:killId).
 */
export function killPlatform(env: Env, caller: StoreCaller): Promise<Result<{ kill: PlatformKill }>> {
  return onPlatform(env, caller, async () => {
    const killId = newKillId();
    // Logged before it starts: a kill under way is an operator's action whatever its answer.
    logInfo({ event: "operator.platform_kill", actor: actorOf(caller), killId });
    return callDirectory(env, COORDINATOR, (directory) => directory.startPlatformKill(killId, actorOf(caller)));
  });
}

export function platformKill(env: Env, caller: StoreCaller, killId: unknown): Promise<Result<{ kill: PlatformKill }>> {
  return onPlatform(env, caller, async () =>
    isKillId(killId)
      ? callDirectory(env, COORDINATOR, (directory) => directory.platformKill(killId), READ)
      : KILL_NOT_FOUND,
  );
}

export function undoPlatformKill(
  env: Env,
  caller: StoreCaller,
  killId: unknown,
): Promise<Result<{ restored: number; skipped: number; killId: string }>> {
  return onPlatform(env, caller, async () => {
    if (!isKillId(killId)) return KILL_NOT_FOUND;
    const undone = await callDirectory(env, COORDINATOR, (directory) => directory.undoPlatformKill(killId));
    if (undone.ok)
      logInfo({ event: "operator.platform_kill_undone", actor: actorOf(caller), killId, count: undone.restored });
    return undone;
  });
}
