// The per-tenant emergency lever, for the platform admin: a tenant's token keys read, retired
// (every session token of the tenant minted so far refused at the front Worker, in one call to
// the KeyRing and none to a store) and restored within the tenant's undo window.

import { actorOf, type StoreCaller } from "../../core/auth";
import { ok, type Result } from "../../core/errors";
import { logInfo } from "../../core/log";
import type { TokenKeysChanged, TokenKeysView } from "../../../durable-objects/key-ring/token-generations";
import { callHome, keyRing } from "../../../durable-objects/stubs";
import { knownGenerations } from "../token-generations";
import { askHome, locate, type Located } from "../locate";
import { onTenant } from "./doors";

/**
 * Whether the tenant exists, from the directory (no store call), or from its home when the
 * directory has no record of it (a tenant from before the directory, or none).
 */
async function exists(env: Env, at: Located): Promise<Result> {
  const found = await locate(env, at.tenant);
  if (!found.ok || found.known) return found;
  return askHome(env, at);
}

/** The tenant's undo window, read at its home (which also says whether the tenant exists). */
async function undoWindowMs(env: Env, caller: StoreCaller, at: Located): Promise<Result<{ windowMs: number }>> {
  const read = await callHome(env, at, (home) => home.getTenant(caller));
  return read.ok ? ok({ windowMs: read.tenant.settings.undoWindowSeconds * 1000 }) : read;
}

/** A change the KeyRing made: kept by this isolate at once, logged with its actor, answered. */
function applied(
  env: Env,
  caller: StoreCaller,
  event: string,
  changed: Result<TokenKeysChanged>,
): Result<{ keys: TokenKeysView }> {
  if (!changed.ok) return changed;
  knownGenerations(env).learn(changed.change);
  logInfo({ event, actor: actorOf(caller), ...changed.keys });
  return ok({ keys: changed.keys });
}

/** The tenant's token keys: its generation, its floor, its last retirement and whether it can still be restored. */
export function getTokenKeys(env: Env, caller: StoreCaller, tenant: unknown): Promise<Result<{ keys: TokenKeysView }>> {
  return onTenant(env, caller, tenant, "admin", async (at) => {
    const window = await undoWindowMs(env, caller, at);
    if (!window.ok) return window;
    return (await keyRing(env).tokenKeys(at.tenant, window.windowMs)) as Result<{ keys: TokenKeysView }>;
  });
}

/**
 * Retires every session token of the tenant minted so far, in one call to the KeyRing and none
 * to a store: the lever that works when the tenant's stores cannot be reached.
 */
export function retireTokenKeys(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
): Promise<Result<{ keys: TokenKeysView }>> {
  return onTenant(env, caller, tenant, "admin", async (at) => {
    const known = await exists(env, at);
    if (!known.ok) return known;
    const retired = (await keyRing(env).retireTokenKeys(at.tenant, actorOf(caller))) as Result<TokenKeysChanged>;
    return applied(env, caller, "operator.token_keys_retired", retired);
  });
}

/** Accepts again the tokens the tenant's last retirement refused, within the tenant's undo window (read at its home). */
export function restoreTokenKeys(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
): Promise<Result<{ keys: TokenKeysView }>> {
  return onTenant(env, caller, tenant, "admin", async (at) => {
    const window = await undoWindowMs(env, caller, at);
    if (!window.ok) return window;
    const restored = (await keyRing(env).restoreTokenKeys(at.tenant, window.windowMs)) as Result<TokenKeysChanged>;
    return applied(env, caller, "operator.token_keys_restored", restored);
  });
}
