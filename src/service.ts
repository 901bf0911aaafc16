// The operations both doors share: HTTP routes and the RPC entrypoint call these and
// nothing else. Here a token is verified (a forgery never reaches a Durable Object),
// a caller is authorized for a tenant, the store is called, and tokens are minted and signed.

import type { StoreCaller } from "./auth";
import { isTenantKeyId, mintTenantKey } from "./auth";
import { DEFAULT_COOKIE_NAME, isCookieName, sessionCookie } from "./cookie";
import { fail, type Failure, type Result } from "./errors";
import { isTenantName } from "./identifiers";
import type { AuditEvent } from "./events";
import { liveRequest } from "./live";
import { decodeCursor, encodeCursor, parseLimit } from "./pagination";
import type { IssuedSession, Session } from "./session";
import { isUserId, parseCreateSessionInput } from "./session-input";
import { parseSettingsPatch, type TenantView } from "./settings";
import { callStore } from "./store";
import { hashSecret, isSessionId, newSecret, newSessionId, signingKeys, signToken, verifyToken, type ParsedToken } from "./token";

const INVALID_TOKEN = fail("invalid_token", "the session token is invalid, expired or revoked");
/** Reads (and validation, whose only write is an idempotent touch) may be retried. */
const READ = { idempotent: true };
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
  const valid = await callStore(env, caller.tenant, (store) => store.checkTenantKey(caller.keyId, caller.secretHash), READ);
  if (valid !== true) return typeof valid === "object" ? valid : UNAUTHORIZED;
  return fail("forbidden", reach === "admin" ? "this operation needs the platform admin key" : "this key belongs to another tenant");
}

/** The tenant's name once it is well formed and `caller` may act on it with this reach. */
async function access(env: Env, caller: StoreCaller, tenant: unknown, reach: "admin" | "tenant"): Promise<Result<{ name: string }>> {
  const badName = checkTenantName(tenant);
  if (badName) return badName;
  const name = tenant as string;
  return (await refuseCaller(env, name, caller, reach)) ?? { ok: true, name };
}

function issue(env: Env, tenant: string, secret: string, issued: Result<{ session: Session; sameSite: "Lax" | "Strict" }>): Result<IssuedSession> {
  if (!issued.ok) return issued;
  const token = signToken(signingKeys(env.SESSION_SIGNING_KEYS), tenant, issued.session.id, secret);
  return { ok: true, session: issued.session, token, setCookie: sessionCookie(sessionCookieName(env), token, issued.sameSite) };
}

// Tenants and keys

export async function putTenant(env: Env, caller: StoreCaller, tenant: unknown, body: unknown): Promise<Result<{ tenant: TenantView; created: boolean }>> {
  const allowed = await access(env, caller, tenant, "admin");
  if (!allowed.ok) return allowed;
  const { name } = allowed;
  const parsed = parseSettingsPatch(body);
  if (!parsed.ok) return parsed;
  return callStore(env, name, (store) => store.putTenant(name, parsed.patch));
}

export async function getTenant(env: Env, caller: StoreCaller, tenant: unknown): Promise<Result<{ tenant: TenantView }>> {
  const allowed = await access(env, caller, tenant, "tenant");
  if (!allowed.ok) return allowed;
  const { name } = allowed;
  return callStore(env, name, (store) => store.getTenant(caller), READ);
}

export async function createTenantKey(env: Env, caller: StoreCaller, tenant: string): Promise<Result<{ id: string; key: string }>> {
  const allowed = await access(env, caller, tenant, "admin");
  if (!allowed.ok) return allowed;
  const minted = mintTenantKey(tenant);
  const added = await callStore(env, tenant, (store) => store.addTenantKey(minted.id, minted.secretHash));
  return added.ok ? { ok: true, id: minted.id, key: minted.key } : added;
}

export async function revokeTenantKey(env: Env, caller: StoreCaller, tenant: string, keyId: string): Promise<Result<{ revoked: number }>> {
  const allowed = await access(env, caller, tenant, "admin");
  if (!allowed.ok) return allowed;
  if (!isTenantKeyId(keyId)) return fail("key_not_found", "no such key");
  return callStore(env, tenant, (store) => store.removeTenantKey(keyId));
}

// Sessions

export async function createSession(env: Env, caller: StoreCaller, tenant: unknown, body: unknown): Promise<Result<IssuedSession>> {
  const allowed = await access(env, caller, tenant, "tenant");
  if (!allowed.ok) return allowed;
  const { name } = allowed;
  const parsed = parseCreateSessionInput(body);
  if (!parsed.ok) return parsed;
  const id = newSessionId();
  const secret = newSecret();
  const secretHash = hashSecret(secret);
  const created = await callStore(env, name, (store) => store.createSession(caller, id, secretHash, parsed.input));
  return issue(env, name, secret, created);
}

/** The verified token, or null. Signature failures end here, before any Durable Object. */
function readToken(env: Env, token: unknown): ParsedToken | null {
  if (typeof token !== "string") return null;
  return verifyToken(signingKeys(env.SESSION_SIGNING_KEYS), token);
}

export async function validate(env: Env, token: unknown): Promise<Result<{ session: Session }>> {
  const parsed = readToken(env, token);
  if (!parsed) return INVALID_TOKEN;
  const secretHash = hashSecret(parsed.secret);
  return callStore(env, parsed.tenant, (store) => store.validateSession(parsed.sessionId, secretHash), READ);
}

/**
 * `origin`: the browser origin this state change came from, when the front Worker found
 * one that the tenant must allow; null when no such check applies (bearer, RPC, same origin).
 */
export async function rotate(env: Env, token: unknown, origin: string | null): Promise<Result<IssuedSession>> {
  const parsed = readToken(env, token);
  if (!parsed) return INVALID_TOKEN;
  const secret = newSecret();
  const oldHash = hashSecret(parsed.secret);
  const newHash = hashSecret(secret);
  const rotated = await callStore(env, parsed.tenant, (store) => store.rotateSession(parsed.sessionId, oldHash, newHash, origin));
  return issue(env, parsed.tenant, secret, rotated);
}

/** Logout. Idempotent: a token that no longer works (or never did) is already logged out. */
export async function destroy(env: Env, token: unknown, origin: string | null): Promise<Result> {
  const parsed = readToken(env, token);
  if (!parsed) return { ok: true };
  const secretHash = hashSecret(parsed.secret);
  return callStore(env, parsed.tenant, (store) => store.destroySession(parsed.sessionId, secretHash, origin));
}

// Seeing and killing sessions (operators)

const SESSION_NOT_FOUND = fail("session_not_found", "no such live session");

function checkUserId(userId: unknown): Failure | null {
  return isUserId(userId) ? null : fail("bad_request", "userId must be 1 to 256 characters without control characters", "userId");
}

/** Checks a listing's options; `fields` are the ones this listing accepts. */
function parseListQuery(env: Env, scope: string, query: unknown, fields: readonly string[]) {
  if (query === undefined) query = {};
  if (typeof query !== "object" || query === null || Array.isArray(query)) return fail("bad_request", "options must be an object");
  const options = query as Record<string, unknown>;
  const unknown = Object.keys(options).find((field) => !fields.includes(field));
  if (unknown !== undefined) return fail("bad_request", `unknown option ${JSON.stringify(unknown.slice(0, 64))}`, unknown.slice(0, 64));
  if (options.userId !== undefined) {
    const badUser = checkUserId(options.userId);
    if (badUser) return badUser;
  }
  const limit = parseLimit(options.limit);
  if (!limit.ok) return limit;
  const keys = signingKeys(env.SESSION_SIGNING_KEYS);
  const fullScope = `${scope}\n${(options.userId as string | undefined) ?? ""}`;
  const cursor = decodeCursor(keys, fullScope, options.cursor);
  if (!cursor.ok) return cursor;
  return {
    ok: true as const,
    userId: options.userId as string | undefined,
    limit: limit.limit,
    beforeSeq: cursor.beforeSeq,
    nextCursor: (seq: number | null) => (seq === null ? null : encodeCursor(keys, fullScope, seq)),
  };
}

export async function listSessions(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  query: unknown,
): Promise<Result<{ sessions: Session[]; nextCursor: string | null }>> {
  const allowed = await access(env, caller, tenant, "tenant");
  if (!allowed.ok) return allowed;
  const { name } = allowed;
  const options = parseListQuery(env, `sessions\n${name}`, query, ["userId", "limit", "cursor"]);
  if (!options.ok) return options;
  const { userId, limit, beforeSeq } = options;
  const listed = await callStore(env, name, (store) => store.listSessions(caller, { userId, limit, beforeSeq }), READ);
  if (!listed.ok) return listed;
  return { ok: true, sessions: listed.page.items, nextCursor: options.nextCursor(listed.page.nextBefore) };
}

export async function getSession(env: Env, caller: StoreCaller, tenant: unknown, id: unknown): Promise<Result<{ session: Session }>> {
  const allowed = await access(env, caller, tenant, "tenant");
  if (!allowed.ok) return allowed;
  const { name } = allowed;
  if (typeof id !== "string" || !isSessionId(id)) return SESSION_NOT_FOUND;
  return callStore(env, name, (store) => store.getSession(caller, id), READ);
}

export async function revokeSession(env: Env, caller: StoreCaller, tenant: unknown, id: unknown): Promise<Result<{ revoked: number }>> {
  const allowed = await access(env, caller, tenant, "tenant");
  if (!allowed.ok) return allowed;
  const { name } = allowed;
  if (typeof id !== "string" || !isSessionId(id)) return SESSION_NOT_FOUND;
  return callStore(env, name, (store) => store.revokeSession(caller, id));
}

export async function revokeUser(env: Env, caller: StoreCaller, tenant: unknown, userId: unknown): Promise<Result<{ revoked: number }>> {
  const allowed = await access(env, caller, tenant, "tenant");
  if (!allowed.ok) return allowed;
  const { name } = allowed;
  const badUser = checkUserId(userId);
  if (badUser) return badUser;
  return callStore(env, name, (store) => store.revokeUser(caller, userId as string));
}

export async function revokeTenant(env: Env, caller: StoreCaller, tenant: unknown): Promise<Result<{ revoked: number }>> {
  const allowed = await access(env, caller, tenant, "tenant");
  if (!allowed.ok) return allowed;
  const { name } = allowed;
  return callStore(env, name, (store) => store.revokeTenant(caller));
}

export async function listEvents(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  query: unknown,
): Promise<Result<{ events: AuditEvent[]; nextCursor: string | null }>> {
  const allowed = await access(env, caller, tenant, "tenant");
  if (!allowed.ok) return allowed;
  const { name } = allowed;
  const options = parseListQuery(env, `events\n${name}`, query, ["limit", "cursor"]);
  if (!options.ok) return options;
  const { limit, beforeSeq } = options;
  const listed = await callStore(env, name, (store) => store.listEvents(caller, { limit, beforeSeq }), READ);
  if (!listed.ok) return listed;
  return { ok: true, events: listed.page.items, nextCursor: options.nextCursor(listed.page.nextBefore) };
}

// The same user's other sessions (self-service)

export type SiblingSession = Session & { current: boolean };

export async function listSiblings(env: Env, token: unknown): Promise<Result<{ sessions: SiblingSession[] }>> {
  const parsed = readToken(env, token);
  if (!parsed) return INVALID_TOKEN;
  const secretHash = hashSecret(parsed.secret);
  return callStore(env, parsed.tenant, (store) => store.listSiblings(parsed.sessionId, secretHash), READ);
}

export async function revokeSiblings(env: Env, token: unknown, origin: string | null): Promise<Result<{ revoked: number }>> {
  const parsed = readToken(env, token);
  if (!parsed) return INVALID_TOKEN;
  const secretHash = hashSecret(parsed.secret);
  return callStore(env, parsed.tenant, (store) => store.revokeSiblings(parsed.sessionId, secretHash, origin));
}

/**
 * Opens the live revocation socket: the token is verified here, then the upgrade is handed to
 * the tenant's store, which checks the session and origin and keeps the socket.
 */
export async function openLive(env: Env, token: unknown, origin: string | null): Promise<Result<{ response: Response }>> {
  const parsed = readToken(env, token);
  if (!parsed) return INVALID_TOKEN;
  const secretHash = hashSecret(parsed.secret);
  const response = await callStore(env, parsed.tenant, (store) => store.fetch(liveRequest(parsed.sessionId, secretHash, origin)));
  return response instanceof Response ? { ok: true, response } : response;
}
