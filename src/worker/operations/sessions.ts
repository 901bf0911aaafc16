// Sessions, created and used by their holder: a token names its store, so each is one call.

import { parseElevateRequest, parseRequirement } from "../../core/assurance";
import { checkReach, type StoreCaller } from "../../core/auth";
import { publicUrlOf, SEALING_NOT_CONFIGURED } from "../../core/config";
import { mintJwt as signJwt } from "../../../durable-objects/key-ring/jwt";
import { fail, ok, type Result } from "../../core/errors";
import { askHome, placementIsOld, targetOf } from "../locate";
import { shardOf } from "../../core/placement";
import type { IssuedSession, Session } from "../../core/session";
import { parseCreateSessionInput } from "../../core/session-input";
import { isAudience } from "../../core/settings";
import { callStore } from "../../../durable-objects/stubs";
import { newPlacedId } from "../../core/placed-id";
import { mintingGeneration, tokenGenerations } from "../token-generations";

import { READ, boundThumbprint, issued, issuedNew, newCredential, onTenant, withToken } from "./doors";

/**
 * Creates a session on its user's shard under the shard count this isolate knows. The home
 * refuses a count it no longer uses (and another shard, one it never used): the placement is
 * then asked of the home, and the session placed again, once.
 */
export function createSession(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  body: unknown,
): Promise<Result<IssuedSession>> {
  return onTenant(env, caller, tenant, "tenant", async (at, config) => {
    const parsed = parseCreateSessionInput(body);
    if (!parsed.ok) return parsed;
    const { input, bindingPath } = parsed;
    const known = await tokenGenerations(env);
    if (!known.ok) return known;
    const generation = mintingGeneration(known.generations, at.tenant);
    let located = at;
    if (placementIsOld(located)) {
      const home = await askHome(env, located);
      if (!home.ok) return home;
      located = home.located;
    }
    for (let attempt = 1; ; attempt++) {
      const target = targetOf(located, shardOf(input.userId, located.count));
      const id = newPlacedId(located.tenant, target.shard); // names its shard: the routes by id ask that one store
      const { token, secretHash } = newCredential(config, target, id, generation);
      const created = await callStore(env, target, (store) =>
        store.createSession(caller, id, secretHash, input, located.count),
      );
      if (created.ok || created.error.code !== "placement_changed" || attempt === 2)
        return issuedNew(config, token, created, bindingPath);
      const home = await askHome(env, located);
      if (!home.ok) return home;
      located = home.located;
    }
  });
}

/** Validates and slides; with a requirement (RPC options, or HTTP's query read into them), a session short of it is `step_up_required`. */
export function validate(
  env: Env,
  expectedTenant: unknown,
  token: unknown,
  options?: unknown,
  boundCookie: string | null = null,
): Promise<Result<{ session: Session }>> {
  return withToken(env, expectedTenant, token, async (t, config) => {
    const parsed = parseRequirement(options);
    if (!parsed.ok) return parsed;
    const { requirement } = parsed;
    const bound = boundThumbprint(config, t, boundCookie);
    return callStore(
      env,
      t,
      (store) =>
        requirement === null && bound === null
          ? store.validateSession(t.sessionId, t.secretHash)
          : store.validateSession(t.sessionId, t.secretHash, requirement, bound),
      READ,
    );
  });
}

/**
 * A step-up the app's back end reports once it re-authenticated the user: the session of
 * `token` (of `tenant`) raised and given a new token. The caller needs the tenant's reach.
 */
export function elevate(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  token: unknown,
  request: unknown,
  boundCookie: string | null = null,
): Promise<Result<IssuedSession>> {
  return withToken(env, tenant, token, async (t, config) => {
    const allowed = checkReach(caller, t.tenant, "tenant");
    if (!allowed.ok) return allowed;
    const parsed = parseElevateRequest(request);
    if (!parsed.ok) return parsed;
    const next = newCredential(config, t, t.sessionId, t.mintingGeneration);
    const bound = boundThumbprint(config, t, boundCookie);
    const raised = await callStore(env, t, (store) =>
      store.elevateSession(caller, t.sessionId, t.secretHash, next.secretHash, parsed.request, bound),
    );
    return issued(config, next.token, raised);
  });
}

/**
 * `origin`: the browser origin this state change came from, when the front Worker found
 * one that the tenant must allow; null when no such check applies (bearer, RPC, same origin).
 */
export function rotate(
  env: Env,
  expectedTenant: unknown,
  token: unknown,
  origin: string | null,
  boundCookie: string | null = null,
): Promise<Result<IssuedSession>> {
  return withToken(env, expectedTenant, token, async (t, config) => {
    const next = newCredential(config, t, t.sessionId, t.mintingGeneration);
    const bound = boundThumbprint(config, t, boundCookie);
    const rotated = await callStore(env, t, (store) =>
      store.rotateSession(t.sessionId, t.secretHash, next.secretHash, origin, bound),
    );
    return issued(config, next.token, rotated);
  });
}

/**
 * Logout. Idempotent: a token that no longer works (or never did) is already logged out; a
 * token that rotation superseded, or that its tenant's lever retired, still ends the session it
 * names (it can only reduce access).
 */
export function logout(env: Env, expectedTenant: unknown, token: unknown, origin: string | null): Promise<Result> {
  return withToken(
    env,
    expectedTenant,
    token,
    (t) => callStore(env, t, (store) => store.logout(t.sessionId, t.secretHash, origin)),
    { invalid: ok({}), retiredToo: true },
  );
}

/** The audience a JWT is asked for: read (over HTTP, from the body) only once the token is verified. */
export type AudienceReader = () => Promise<Result<{ audience: unknown }>>;

/**
 * A short-lived JWT for another service, minted only once the session's store has validated
 * (and slid) the session: an ended session mints nothing, at once. The token is verified and
 * the configuration checked before `readAudience` runs, so an anonymous or forged caller never
 * has its body read. `requestUrl`: the HTTP request's own URL (a loopback one stands in for an
 * unset PUBLIC_URL), null over RPC.
 */
export function mintJwt(
  env: Env,
  expectedTenant: unknown,
  token: unknown,
  readAudience: AudienceReader,
  origin: string | null,
  requestUrl: string | null,
  boundCookie: string | null = null,
): Promise<Result<{ jwt: string; expiresAt: string }>> {
  return withToken(env, expectedTenant, token, async (t, config) => {
    if (!config.sealing) return SEALING_NOT_CONFIGURED;
    const at = publicUrlOf(env, requestUrl);
    if (!at.ok) return at;
    const asked = await readAudience();
    if (!asked.ok) return asked;
    const { audience } = asked;
    if (!isAudience(audience))
      return fail("bad_request", "audience must be 1 to 256 printable characters without spaces", "audience");
    const found = await callStore(
      env,
      t,
      (store) =>
        store.sessionForJwt(t.sessionId, t.secretHash, audience, origin, boundThumbprint(config, t, boundCookie)),
      READ,
    );
    return found.ok ? signJwt(env, at.publicUrl, found.session, found.assured, audience, found.ttlSeconds) : found;
  });
}
