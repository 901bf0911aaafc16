// The operations both doors share: HTTP routes and the RPC entrypoint call these and
// nothing else. Here a token is verified (a forgery never reaches a Durable Object),
// a caller is authorized for a tenant, the store is called, and tokens are minted and signed.

import type { StoreCaller } from "./auth";
import { isTenantKeyId, mintTenantKey } from "./auth";
import { DEFAULT_COOKIE_NAME, isCookieName, sessionCookie } from "./cookie";
import { fail, type Failure, type Result } from "./errors";
import { isTenantName } from "./identifiers";
import type { IssuedSession, Session } from "./session";
import { parseCreateSessionInput } from "./session-input";
import { parseSettingsPatch, type TenantView } from "./settings";
import { callStore } from "./store";
import { hashSecret, newSecret, newSessionId, signingKeys, signToken, verifyToken, type ParsedToken } from "./token";

const INVALID_TOKEN = fail("invalid_token", "the session token is invalid, expired or revoked");
const UNAUTHORIZED = fail("unauthorized", "a valid API key is required: Authorization: Bearer <key>");

export function sessionCookieName(env: Env): string {
  const name = env.SESSION_COOKIE_NAME || DEFAULT_COOKIE_NAME;
  if (!isCookieName(name)) throw new Error("SESSION_COOKIE_NAME is not a valid cookie name");
  return name;
}

function checkTenantName(tenant: unknown): Failure | null {
  return isTenantName(tenant) ? null : fail("bad_request", "tenant must match ^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", "tenant");
}

/**
 * Null when `caller` may run an operation of the given reach on `tenant`. A tenant key
 * on its own tenant is checked later by that tenant's store, inside the operation itself;
 * one aimed elsewhere is checked by its own store so a valid key gets 403, a bad one 401.
 */
async function refuseCaller(env: Env, tenant: string, caller: StoreCaller, reach: "admin" | "tenant"): Promise<Failure | null> {
  if (caller.kind !== "tenant_key") return null;
  if (reach === "tenant" && caller.tenant === tenant) return null;
  const valid = await callStore(env, caller.tenant, (store) => store.checkTenantKey(caller.keyId, caller.secretHash));
  if (valid !== true) return typeof valid === "object" ? valid : UNAUTHORIZED;
  return fail("forbidden", reach === "admin" ? "this operation needs the platform admin key" : "this key belongs to another tenant");
}

async function issue(env: Env, tenant: string, secret: string, issued: Result<{ session: Session; sameSite: "Lax" | "Strict" }>): Promise<Result<IssuedSession>> {
  if (!issued.ok) return issued;
  const token = await signToken(await signingKeys(env.SESSION_SIGNING_KEYS), tenant, issued.session.id, secret);
  return { ok: true, session: issued.session, token, setCookie: sessionCookie(sessionCookieName(env), token, issued.sameSite) };
}

// Tenants and keys

export async function putTenant(env: Env, caller: StoreCaller, tenant: unknown, body: unknown): Promise<Result<{ tenant: TenantView; created: boolean }>> {
  const badName = checkTenantName(tenant);
  if (badName) return badName;
  const name = tenant as string;
  const refused = await refuseCaller(env, name, caller, "admin");
  if (refused) return refused;
  const parsed = parseSettingsPatch(body);
  if (!parsed.ok) return parsed;
  return callStore(env, name, (store) => store.putTenant(name, parsed.patch));
}

export async function getTenant(env: Env, caller: StoreCaller, tenant: unknown): Promise<Result<{ tenant: TenantView }>> {
  const badName = checkTenantName(tenant);
  if (badName) return badName;
  const name = tenant as string;
  const refused = await refuseCaller(env, name, caller, "tenant");
  if (refused) return refused;
  return callStore(env, name, (store) => store.getTenant(caller));
}

export async function createTenantKey(env: Env, caller: StoreCaller, tenant: string): Promise<Result<{ id: string; key: string }>> {
  const badName = checkTenantName(tenant);
  if (badName) return badName;
  const refused = await refuseCaller(env, tenant, caller, "admin");
  if (refused) return refused;
  const minted = await mintTenantKey(tenant);
  const added = await callStore(env, tenant, (store) => store.addTenantKey(minted.id, minted.secretHash));
  return added.ok ? { ok: true, id: minted.id, key: minted.key } : added;
}

export async function revokeTenantKey(env: Env, caller: StoreCaller, tenant: string, keyId: string): Promise<Result<{ revoked: number }>> {
  const badName = checkTenantName(tenant);
  if (badName) return badName;
  const refused = await refuseCaller(env, tenant, caller, "admin");
  if (refused) return refused;
  if (!isTenantKeyId(keyId)) return fail("key_not_found", "no such key");
  return callStore(env, tenant, (store) => store.removeTenantKey(keyId));
}

// Sessions

export async function createSession(env: Env, caller: StoreCaller, tenant: unknown, body: unknown): Promise<Result<IssuedSession>> {
  const badName = checkTenantName(tenant);
  if (badName) return badName;
  const name = tenant as string;
  const refused = await refuseCaller(env, name, caller, "tenant");
  if (refused) return refused;
  const parsed = parseCreateSessionInput(body);
  if (!parsed.ok) return parsed;
  const id = newSessionId();
  const secret = newSecret();
  const secretHash = await hashSecret(secret);
  const created = await callStore(env, name, (store) => store.createSession(caller, id, secretHash, parsed.input));
  return issue(env, name, secret, created);
}

/** The verified token, or null. Signature failures end here, before any Durable Object. */
async function readToken(env: Env, token: unknown): Promise<ParsedToken | null> {
  if (typeof token !== "string") return null;
  return verifyToken(await signingKeys(env.SESSION_SIGNING_KEYS), token);
}

export async function validate(env: Env, token: unknown): Promise<Result<{ session: Session }>> {
  const parsed = await readToken(env, token);
  if (!parsed) return INVALID_TOKEN;
  const secretHash = await hashSecret(parsed.secret);
  return callStore(env, parsed.tenant, (store) => store.validateSession(parsed.sessionId, secretHash));
}

/**
 * `origin`: the browser origin this state change came from, when the front Worker found
 * one that the tenant must allow; null when no such check applies (bearer, RPC, same origin).
 */
export async function rotate(env: Env, token: unknown, origin: string | null): Promise<Result<IssuedSession>> {
  const parsed = await readToken(env, token);
  if (!parsed) return INVALID_TOKEN;
  const secret = newSecret();
  const [oldHash, newHash] = await Promise.all([hashSecret(parsed.secret), hashSecret(secret)]);
  const rotated = await callStore(env, parsed.tenant, (store) => store.rotateSession(parsed.sessionId, oldHash, newHash, origin));
  return issue(env, parsed.tenant, secret, rotated);
}

/** Logout. Idempotent: a token that no longer works (or never did) is already logged out. */
export async function destroy(env: Env, token: unknown, origin: string | null): Promise<Result> {
  const parsed = await readToken(env, token);
  if (!parsed) return { ok: true };
  const secretHash = await hashSecret(parsed.secret);
  return callStore(env, parsed.tenant, (store) => store.destroySession(parsed.sessionId, secretHash, origin));
}
