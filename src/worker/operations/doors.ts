// What every operation of the two doors (HTTP routes, RPC) goes through: the configuration
// checked, the caller authorized for the tenant, the tenant located, a token verified and
// pinned to the tenant its consumer expects (a forgery, or another tenant's token, never
// reaches a Durable Object), and the answers of several shards read as one.

import { checkReach, type Reach, type StoreCaller } from "../../core/auth";
import { loadConfig, type Config } from "../../core/config";
import { sessionCookie } from "@session-service/client";
import { randomBase64url } from "../../core/crypto";
import { fail, INVALID_TOKEN, ok, type Result } from "../../core/errors";
import { isTenantName } from "../../core/identifiers";
import { forgetLocation, locate, onShards, type Located, type ShardAnswer } from "../locate";
import { parseLimit } from "../pagination";
import { allShards, type ShardHistory, type StoreTarget } from "../../core/placement";
import type { IssuedSession, Session } from "../../core/session";
import { isUserId } from "../../core/session-input";
import type { StoreStub } from "../../../durable-objects/stubs";
import { hashSecret, newSecret, signToken, verifyToken, type ParsedToken } from "../../core/token";
import { readBoundCookie, registrationHeader } from "../../core/binding";
import { isRetired, mintingGeneration, tokenGenerations } from "../token-generations";

/** Reads (and validation, whose only write is an idempotent touch) may be retried. */
export const READ = { idempotent: true };
/** A listing: a read whose answers say which shards exist (no call to the home for it). */
export const LISTING = { idempotent: true, historyIn: (page: { history: ShardHistory }) => page.history };

/** The expected tenant of a token operation over HTTP without `Session-Tenant`: any tenant. */
export const ANY_TENANT: unique symbol = Symbol("any tenant");

export const BAD_TENANT = fail("bad_request", "tenant must match ^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", "tenant");
export const JURISDICTION_IMMUTABLE = fail(
  "jurisdiction_immutable",
  "a tenant's jurisdiction is fixed when it is created",
  "jurisdiction",
);
export const SHARD_UNAVAILABLE = fail(
  "shard_unavailable",
  "one of the tenant's stores could not be reached; the change will be completed in the background, and repeating it is safe",
);

/**
 * Runs an operation on a tenant once the configuration is sound, the name well formed, the
 * caller allowed this reach and the tenant located. A tenant key's revocation is checked by
 * the store, in the operation.
 */
export async function onTenant<T extends object>(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  reach: Reach,
  operation: (at: Located, config: Config) => Promise<Result<T>>,
): Promise<Result<T>> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  if (!isTenantName(tenant)) return BAD_TENANT;
  const allowed = checkReach(caller, tenant, reach);
  if (!allowed.ok) return allowed;
  const located = await locate(env, tenant);
  if (!located.ok) return located;
  const result = await operation(located.located, config.config);
  if (result.ok || result.error.code !== "tenant_not_found" || !located.known) return result;
  // Where this isolate (or the directory) thought it was, the tenant is not: deleted, and
  // perhaps made again elsewhere or with fewer shards. Asked again once, where the directory
  // says now: a fresh placement goes by the home first, which refuses again if it is still gone.
  forgetLocation(tenant);
  if (!located.remembered) return result;
  const again = await locate(env, tenant);
  return again.ok ? operation(again.located, config.config) : again;
}

export interface VerifiedToken extends ParsedToken {
  secretHash: ArrayBuffer;
  /** The generation a token of this tenant is minted under now (rotation and step-up mint one). */
  mintingGeneration: number;
}

/**
 * Runs an operation with a verified token of the expected tenant. A token that is not ours,
 * is another tenant's, or was retired with its tenant's token keys (token-generations.ts)
 * ends here as `invalid`: no store of either tenant is called. `retiredToo`: for an operation
 * that only takes access away (logout), a retired token still runs it, so that a restore of
 * its tenant's tokens cannot bring back a session its user ended.
 */
export async function withToken<T extends object>(
  env: Env,
  expectedTenant: unknown,
  token: unknown,
  operation: (token: VerifiedToken, config: Config) => Promise<Result<T>>,
  { invalid = INVALID_TOKEN, retiredToo = false }: { invalid?: Result<T>; retiredToo?: boolean } = {},
): Promise<Result<T>> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  if (expectedTenant !== ANY_TENANT && !isTenantName(expectedTenant)) return BAD_TENANT;
  const parsed = typeof token === "string" ? verifyToken(config.config.signingKeys, token) : null;
  if (!parsed) return invalid;
  if (expectedTenant !== ANY_TENANT && parsed.tenant !== expectedTenant) return INVALID_TOKEN;
  const known = await tokenGenerations(env);
  if (!known.ok) return known;
  if (!retiredToo && isRetired(known.generations, parsed.tenant, parsed.generation)) return INVALID_TOKEN;
  // Never below the token's own: this isolate may not have heard of a retirement yet.
  const minting = Math.max(parsed.generation, mintingGeneration(known.generations, parsed.tenant));
  return operation({ ...parsed, secretHash: hashSecret(parsed.secret), mintingGeneration: minting }, config.config);
}

/**
 * What a request's bound cookie names for this token's session (device binding), or null: its
 * signature, session and expiry are checked here; the session's store compares the key.
 */
export function boundThumbprint(config: Config, t: ParsedToken, boundCookie: string | null): string | null {
  if (boundCookie === null) return null;
  return readBoundCookie(config.signingKeys, boundCookie, t.tenant, t.sessionId, Date.now())?.thumbprint ?? null;
}

/**
 * A fresh secret and its signed token, under the tenant's token generation, made before any
 * store write so signing cannot fail after one.
 */
export function newCredential(config: Config, target: StoreTarget, sessionId: string, generation: number) {
  const secret = newSecret();
  return {
    token: signToken(config.signingKeys, target, sessionId, secret, generation),
    secretHash: hashSecret(secret),
  };
}

/** The registration path of device binding on the service's own API (its refresh path: `${BINDING_PATH}/refresh`). */
export const BINDING_PATH = "/v1/session/binding";

export function issued(
  config: Config,
  token: string,
  result: Result<{ session: Session; sameSite: "Lax" | "Strict" }>,
): Result<IssuedSession> {
  if (!result.ok) return result;
  return ok({ session: result.session, token, setCookie: sessionCookie(config.cookieName, token, result.sameSite) });
}

/**
 * A new session's answer: with `registration`, the `Secure-Session-Registration` value naming
 * `bindingPath` (or the service's own) and the session's first challenge, or null when its
 * tenant does not offer device binding.
 */
export function issuedNew(
  config: Config,
  token: string,
  result: Result<{ session: Session; sameSite: "Lax" | "Strict"; challenge: string | null }>,
  bindingPath: string | null,
): Result<IssuedSession> {
  const answer = issued(config, token, result);
  if (!answer.ok || !result.ok) return answer;
  const { challenge } = result;
  return ok({ ...answer, registration: challenge && registrationHeader(bindingPath ?? BINDING_PATH, challenge) });
}

/** Answers that say a store could not do the work now (it may later): as good as unreachable. */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set(["overloaded", "shard_unavailable", "jurisdiction_unavailable"]);

export function couldNotAnswer<T extends object>(answer: ShardAnswer<T>): boolean {
  return "unreachable" in answer || (!answer.result.ok && UNREACHABLE_CODES.has(answer.result.error.code));
}

/** The answers of every shard that answered, or the failure that decides the whole: the home's first, then any other but "no copy yet". */
export function answered<T extends object>(
  answers: ShardAnswer<T>[],
): Result<{ results: { shard: number; value: T }[]; unreachable: number[] }> {
  const results: { shard: number; value: T }[] = [];
  const unreachable: number[] = [];
  let failure: Result<T> | null = null;
  for (const answer of [...answers].sort((a, b) => a.shard - b.shard)) {
    if (couldNotAnswer(answer)) unreachable.push(answer.shard);
    else if ("unreachable" in answer) continue;
    else if (answer.result.ok) results.push({ shard: answer.shard, value: answer.result });
    // A shard other than the home without the tenant's copy yet holds none of its sessions.
    else if (answer.shard !== 0 && answer.result.error.code === "tenant_not_found") continue;
    else failure ??= answer.result;
  }
  return failure && !failure.ok ? failure : ok({ results, unreachable });
}

/**
 * A read every shard of the tenant must answer (503 otherwise, rather than an answer short of
 * some shard): the home's answer, and every shard's, the home's among them.
 */
export async function readEveryShard<T extends object>(
  env: Env,
  at: Located,
  read: (store: StoreStub) => Promise<Result<T>>,
): Promise<Result<{ home: T; all: T[] }>> {
  const ran = await onShards(env, at, allShards, read, READ);
  if (!ran.ok) return ran;
  const answers = answered(ran.answers);
  if (!answers.ok) return answers;
  const home = answers.results.find((answer) => answer.shard === 0);
  if (!home || answers.unreachable.length > 0 || !ran.placed) return SHARD_UNAVAILABLE;
  return ok({ home: home.value, all: answers.results.map((answer) => answer.value) });
}

export function checkUserId(userId: unknown): Result {
  return isUserId(userId)
    ? ok({})
    : fail(
        "bad_request",
        "userId must be 1 to 256 characters without control, bidirectional or invisible characters",
        "userId",
      );
}

/** A listing's options as an object of known fields only (HTTP query or RPC argument), with its limit checked. */
export function listOptions(
  query: unknown,
  fields: readonly string[],
): Result<{ options: Record<string, unknown>; limit: number }> {
  if (query === undefined) query = {};
  if (typeof query !== "object" || query === null || Array.isArray(query))
    return fail("bad_request", "options must be an object");
  const options = query as Record<string, unknown>;
  const unknown = Object.keys(options).find((field) => !fields.includes(field));
  if (unknown !== undefined)
    return fail("bad_request", `unknown option ${JSON.stringify(unknown.slice(0, 64))}`, unknown.slice(0, 64));
  const limit = parseLimit(options.limit);
  return limit.ok ? ok({ options, limit: limit.limit }) : limit;
}

export function onPlatform<T extends object>(
  env: Env,
  caller: StoreCaller,
  operation: () => Promise<Result<T>>,
): Promise<Result<T>> {
  const config = loadConfig(env);
  if (!config.ok) return Promise.resolve(config);
  const allowed = checkReach(caller, undefined, "admin");
  return allowed.ok ? operation() : Promise.resolve(allowed);
}

/** A kill's id: made here, so that every store a kill reaches records it under the same one. */
export function newKillId(): string {
  return randomBase64url(16);
}
