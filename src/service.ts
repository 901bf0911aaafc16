// The operations both doors share: HTTP routes and the RPC entrypoint call these and
// nothing else. Here the configuration is checked, a caller is authorized for a tenant, a
// token is verified and pinned to the tenant its consumer expects (a forgery, or another
// tenant's token, never reaches a Durable Object), the store is called, and tokens are signed.

import { checkReach, isTenantKeyId, mintTenantKey, type Reach, type StoreCaller } from "./auth";
import type { Killed, SiblingSession } from "./client";
import { loadConfig, type Config } from "./config";
import { sessionCookie } from "./cookie";
import { fail, INVALID_TOKEN, KILL_NOT_FOUND, ok, SESSION_NOT_FOUND, type Result } from "./errors";
import { isKillId, isTenantName } from "./identifiers";
import { randomBase64url } from "./crypto";
import type { AuditEvent } from "./events";
import { liveRequest } from "./live";
import { decodeCursor, decodeNameCursor, encodeCursor, encodeNameCursor, parseLimit } from "./pagination";
import type { IssuedSession, Session } from "./session";
import { isUserId, parseCreateSessionInput } from "./session-input";
import { parseSettingsPatch, type TenantView } from "./settings";
import type { ListQuery } from "../durable-objects/session-store";
import type { Page } from "../durable-objects/store-operations";
import type { DirectoryEntry } from "../durable-objects/tenant-directory-sql";
import { callDirectory, callStore, type StoreStub } from "./store";
import { hashSecret, isSessionId, newSecret, newSessionId, signToken, verifyToken, type ParsedToken } from "./token";

/** Reads (and validation, whose only write is an idempotent touch) may be retried. */
const READ = { idempotent: true };

/** The expected tenant of a token operation over HTTP without `Session-Tenant`: any tenant. */
export const ANY_TENANT: unique symbol = Symbol("any tenant");

const BAD_TENANT = fail("bad_request", "tenant must match ^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", "tenant");

/**
 * Runs an operation on a tenant once the configuration is sound, the name well formed and the
 * caller allowed this reach. A tenant key's revocation is checked by the store, in the operation.
 */
async function onTenant<T extends object>(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  reach: Reach,
  operation: (name: string, config: Config) => Promise<Result<T>>,
): Promise<Result<T>> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  if (!isTenantName(tenant)) return BAD_TENANT;
  const allowed = checkReach(caller, tenant, reach);
  return allowed.ok ? operation(tenant, config.config) : allowed;
}

interface VerifiedToken extends ParsedToken {
  secretHash: ArrayBuffer;
}

/**
 * Runs an operation with a verified token of the expected tenant. A token that is not ours,
 * or is another tenant's, ends here as `invalid`: no Durable Object of either tenant is called.
 */
async function withToken<T extends object>(
  env: Env,
  expectedTenant: unknown,
  token: unknown,
  operation: (token: VerifiedToken, config: Config) => Promise<Result<T>>,
  invalid: Result<T> = INVALID_TOKEN,
): Promise<Result<T>> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  if (expectedTenant !== ANY_TENANT && !isTenantName(expectedTenant)) return BAD_TENANT;
  const parsed = typeof token === "string" ? verifyToken(config.config.signingKeys, token) : null;
  if (!parsed) return invalid;
  if (expectedTenant !== ANY_TENANT && parsed.tenant !== expectedTenant) return INVALID_TOKEN;
  return operation({ ...parsed, secretHash: hashSecret(parsed.secret) }, config.config);
}

/** A fresh secret and its signed token, made before any store write so signing cannot fail after one. */
function newCredential(config: Config, tenant: string, sessionId: string) {
  const secret = newSecret();
  return { token: signToken(config.signingKeys, tenant, sessionId, secret), secretHash: hashSecret(secret) };
}

function issued(config: Config, token: string, result: Result<{ session: Session; sameSite: "Lax" | "Strict" }>): Result<IssuedSession> {
  if (!result.ok) return result;
  return ok({ session: result.session, token, setCookie: sessionCookie(config.cookieName, token, result.sameSite) });
}

// Tenants and keys

const TENANTS_SCOPE = "tenants";

/** Every tenant of the platform, by name (platform admin only), from the tenant directory. */
export async function listTenants(env: Env, caller: StoreCaller, query: unknown): Promise<Result<{ tenants: DirectoryEntry[]; nextCursor: string | null }>> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  const allowed = checkReach(caller, undefined, "admin");
  if (!allowed.ok) return allowed;
  const checked = listOptions(query, ["limit", "cursor"]);
  if (!checked.ok) return checked;
  const keys = config.config.signingKeys;
  const cursor = decodeNameCursor(keys, TENANTS_SCOPE, checked.options.cursor);
  if (!cursor.ok) return cursor;
  const listed = await callDirectory(env, (directory) => directory.list(cursor.after, checked.limit), READ);
  if (!listed.ok) return listed;
  const last = listed.tenants[listed.tenants.length - 1];
  return ok({ tenants: listed.tenants, nextCursor: listed.more && last ? encodeNameCursor(keys, TENANTS_SCOPE, last.tenant) : null });
}

export function putTenant(env: Env, caller: StoreCaller, tenant: unknown, body: unknown): Promise<Result<{ tenant: TenantView; created: boolean }>> {
  return onTenant(env, caller, tenant, "admin", async (name) => {
    const parsed = parseSettingsPatch(body);
    return parsed.ok ? callStore(env, name, (store) => store.putTenant(name, parsed.patch)) : parsed;
  });
}

export function getTenant(env: Env, caller: StoreCaller, tenant: unknown): Promise<Result<{ tenant: TenantView }>> {
  return onTenant(env, caller, tenant, "tenant", (name) => callStore(env, name, (store) => store.getTenant(caller), READ));
}

export function createTenantKey(env: Env, caller: StoreCaller, tenant: unknown): Promise<Result<{ id: string; key: string }>> {
  return onTenant(env, caller, tenant, "admin", async (name, config) => {
    const minted = mintTenantKey(config.signingKeys, name);
    const added = await callStore(env, name, (store) => store.addTenantKey(minted.id, minted.secretHash));
    return added.ok ? ok({ id: minted.id, key: minted.key }) : added;
  });
}

export function revokeTenantKey(env: Env, caller: StoreCaller, tenant: unknown, keyId: unknown): Promise<Result<{ revoked: number }>> {
  return onTenant(env, caller, tenant, "admin", async (name) => {
    if (typeof keyId !== "string" || !isTenantKeyId(keyId)) return fail("key_not_found", "no such key");
    return callStore(env, name, (store) => store.removeTenantKey(keyId));
  });
}

// Sessions: created and used by their holder

export function createSession(env: Env, caller: StoreCaller, tenant: unknown, body: unknown): Promise<Result<IssuedSession>> {
  return onTenant(env, caller, tenant, "tenant", async (name, config) => {
    const parsed = parseCreateSessionInput(body);
    if (!parsed.ok) return parsed;
    const id = newSessionId();
    const { token, secretHash } = newCredential(config, name, id);
    const created = await callStore(env, name, (store) => store.createSession(caller, id, secretHash, parsed.input));
    return issued(config, token, created);
  });
}

export function validate(env: Env, expectedTenant: unknown, token: unknown): Promise<Result<{ session: Session }>> {
  return withToken(env, expectedTenant, token, (t) => callStore(env, t.tenant, (store) => store.validateSession(t.sessionId, t.secretHash), READ));
}

/**
 * `origin`: the browser origin this state change came from, when the front Worker found
 * one that the tenant must allow; null when no such check applies (bearer, RPC, same origin).
 */
export function rotate(env: Env, expectedTenant: unknown, token: unknown, origin: string | null): Promise<Result<IssuedSession>> {
  return withToken(env, expectedTenant, token, async (t, config) => {
    const next = newCredential(config, t.tenant, t.sessionId);
    const rotated = await callStore(env, t.tenant, (store) => store.rotateSession(t.sessionId, t.secretHash, next.secretHash, origin));
    return issued(config, next.token, rotated);
  });
}

/**
 * Logout. Idempotent: a token that no longer works (or never did) is already logged out; a
 * token that rotation superseded still ends the session it names (it can only reduce access).
 */
export function logout(env: Env, expectedTenant: unknown, token: unknown, origin: string | null): Promise<Result> {
  return withToken(env, expectedTenant, token, (t) => callStore(env, t.tenant, (store) => store.logout(t.sessionId, t.secretHash, origin)), ok({}));
}

// Seeing and killing sessions (operators)

function checkUserId(userId: unknown): Result {
  return isUserId(userId) ? ok({}) : fail("bad_request", "userId must be 1 to 256 characters without control, bidirectional or invisible characters", "userId");
}

/** Checks a listing's options; `fields` are the ones this listing accepts. */
/** A listing's options as an object of known fields only (HTTP query or RPC argument), with its limit checked. */
function listOptions(query: unknown, fields: readonly string[]): Result<{ options: Record<string, unknown>; limit: number }> {
  if (query === undefined) query = {};
  if (typeof query !== "object" || query === null || Array.isArray(query)) return fail("bad_request", "options must be an object");
  const options = query as Record<string, unknown>;
  const unknown = Object.keys(options).find((field) => !fields.includes(field));
  if (unknown !== undefined) return fail("bad_request", `unknown option ${JSON.stringify(unknown.slice(0, 64))}`, unknown.slice(0, 64));
  const limit = parseLimit(options.limit);
  return limit.ok ? ok({ options, limit: limit.limit }) : limit;
}

function parseListQuery(config: Config, scope: string, query: unknown, fields: readonly string[]) {
  const checked = listOptions(query, fields);
  if (!checked.ok) return checked;
  const { options } = checked;
  const user = options.userId === undefined ? ok({}) : checkUserId(options.userId);
  if (!user.ok) return user;
  const keys = config.signingKeys;
  const fullScope = `${scope}\n${(options.userId as string | undefined) ?? ""}`;
  const cursor = decodeCursor(keys, fullScope, options.cursor);
  if (!cursor.ok) return cursor;
  return ok({
    userId: options.userId as string | undefined,
    limit: checked.limit,
    beforeSeq: cursor.beforeSeq,
    nextCursor: (seq: number | null) => (seq === null ? null : encodeCursor(keys, fullScope, seq)),
  });
}

/** One page of a listing: the options checked, the store asked, the next cursor signed for this very listing. */
function listPage<Item>(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  query: unknown,
  listing: "sessions" | "events",
  read: (store: StoreStub, page: ListQuery) => Promise<Result<{ page: Page<Item> }>>,
): Promise<Result<{ items: Item[]; nextCursor: string | null }>> {
  return onTenant(env, caller, tenant, "tenant", async (name, config) => {
    const fields = listing === "sessions" ? ["userId", "limit", "cursor"] : ["limit", "cursor"];
    const options = parseListQuery(config, `${listing}\n${name}`, query, fields);
    if (!options.ok) return options;
    const { userId, limit, beforeSeq } = options;
    const listed = await callStore(env, name, (store) => read(store, { userId, limit, beforeSeq }), READ);
    return listed.ok ? ok({ items: listed.page.items, nextCursor: options.nextCursor(listed.page.nextBefore) }) : listed;
  });
}

export async function listSessions(env: Env, caller: StoreCaller, tenant: unknown, query: unknown): Promise<Result<{ sessions: Session[]; nextCursor: string | null }>> {
  const page = await listPage(env, caller, tenant, query, "sessions", (store, q) => store.listSessions(caller, q));
  return page.ok ? ok({ sessions: page.items, nextCursor: page.nextCursor }) : page;
}

export function getSession(env: Env, caller: StoreCaller, tenant: unknown, id: unknown): Promise<Result<{ session: Session }>> {
  return onTenant(env, caller, tenant, "tenant", async (name) => {
    if (typeof id !== "string" || !isSessionId(id)) return SESSION_NOT_FOUND;
    return callStore(env, name, (store) => store.getSession(caller, id), READ);
  });
}

/** A kill's id: made here, so that every store a kill reaches records it under the same one. */
function newKillId(): string {
  return randomBase64url(16);
}

export function revokeSession(env: Env, caller: StoreCaller, tenant: unknown, id: unknown): Promise<Result<Killed>> {
  return onTenant(env, caller, tenant, "tenant", async (name) => {
    if (typeof id !== "string" || !isSessionId(id)) return SESSION_NOT_FOUND;
    return callStore(env, name, (store) => store.revokeSession(caller, id, newKillId()));
  });
}

export function revokeUser(env: Env, caller: StoreCaller, tenant: unknown, userId: unknown): Promise<Result<Killed>> {
  return onTenant(env, caller, tenant, "tenant", async (name) => {
    const user = checkUserId(userId);
    return user.ok ? callStore(env, name, (store) => store.revokeUser(caller, userId as string, newKillId())) : user;
  });
}

export function revokeTenant(env: Env, caller: StoreCaller, tenant: unknown): Promise<Result<Killed>> {
  return onTenant(env, caller, tenant, "tenant", (name) => callStore(env, name, (store) => store.revokeTenant(caller, newKillId(), false)));
}

/** Undoes a kill of this tenant (a platform kill is undone by the platform's own route). */
export function undoKill(env: Env, caller: StoreCaller, tenant: unknown, killId: unknown): Promise<Result<{ restored: number; killId: string }>> {
  return onTenant(env, caller, tenant, "tenant", async (name) => {
    if (!isKillId(killId)) return KILL_NOT_FOUND;
    return callStore(env, name, (store) => store.undoKill(caller, killId, false));
  });
}

export async function listEvents(env: Env, caller: StoreCaller, tenant: unknown, query: unknown): Promise<Result<{ events: AuditEvent[]; nextCursor: string | null }>> {
  const page = await listPage(env, caller, tenant, query, "events", (store, q) => store.listEvents(caller, q));
  return page.ok ? ok({ events: page.items, nextCursor: page.nextCursor }) : page;
}

// The same user's other sessions (self-service)

export function listSiblings(env: Env, expectedTenant: unknown, token: unknown): Promise<Result<{ sessions: SiblingSession[] }>> {
  return withToken(env, expectedTenant, token, (t) => callStore(env, t.tenant, (store) => store.listSiblings(t.sessionId, t.secretHash), READ));
}

export function revokeSiblings(env: Env, expectedTenant: unknown, token: unknown, origin: string | null): Promise<Result<Killed>> {
  return withToken(env, expectedTenant, token, (t) => callStore(env, t.tenant, (store) => store.revokeSiblings(t.sessionId, t.secretHash, origin, newKillId())));
}

/**
 * Opens the live revocation socket: the token is verified here, then the upgrade is handed to
 * the tenant's store, which checks the session and origin and keeps the socket.
 */
export function openLive(env: Env, expectedTenant: unknown, token: unknown, origin: string | null): Promise<Result<{ response: Response }>> {
  return withToken(env, expectedTenant, token, (t) =>
    callStore(env, t.tenant, async (store) => ok({ response: await store.fetch(liveRequest(t.sessionId, t.secretHash, origin)) })),
  );
}
