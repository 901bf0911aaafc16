// What the SessionStore does, as plain functions of (sql, inputs, now). Each runs inside
// one synchronous transaction of the Durable Object, so it commits whole or not at all,
// and no other request interleaves with it. The DO class only supplies `now` and the SQL handle.

import type { StoreCaller } from "../src/auth";
import { digestsEqual } from "../src/crypto";
import { fail, type Failure, type Result } from "../src/errors";
import type { SameSite } from "../src/cookie";
import type { NewSessionInput } from "../src/session-input";
import {
  isLive,
  newSessionExpiry,
  publicSession,
  touched,
  touchIsDue,
  type Session,
  type SessionRecord,
} from "../src/session";
import { DEFAULT_SETTINGS, mergeSettings, resolveSettings, type SettingsPatch, type StoredSettings, type TenantSettings, type TenantView } from "../src/settings";
import * as db from "./session-store-sql";

/** A session just issued or rotated, with what the front Worker needs for its cookie. */
export type Issued = Result<{ session: Session; sameSite: SameSite }>;

interface Tenant {
  name: string;
  settings: TenantSettings;
}

const INVALID_TOKEN = fail("invalid_token", "the session token is invalid, expired or revoked");
const TENANT_NOT_FOUND = fail("tenant_not_found", "no such tenant");

function loadTenant(sql: SqlStorage): Tenant | null {
  const row = db.hasSchema(sql) ? db.readTenant(sql) : null;
  return row ? { name: row.name, settings: resolveSettings(JSON.parse(row.settings) as StoredSettings) } : null;
}

function tenantView(sql: SqlStorage, now: number): TenantView {
  const row = db.readTenant(sql)!;
  return {
    tenant: row.name,
    settings: resolveSettings(JSON.parse(row.settings) as StoredSettings),
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    counts: { sessions: db.countUnexpiredSessions(sql, now), keys: db.countTenantKeys(sql) },
  };
}

/** Null when the caller may act on this tenant; a tenant key must exist here and match. */
function refuseCaller(sql: SqlStorage, tenant: Tenant, caller: StoreCaller): Failure | null {
  if (caller.kind !== "tenant_key") return null;
  if (caller.tenant !== tenant.name) return fail("forbidden", "this key belongs to another tenant");
  return tenantKeyMatches(sql, caller.keyId, caller.secretHash) ? null : fail("unauthorized", "the API key is invalid or revoked");
}

export function tenantKeyMatches(sql: SqlStorage, keyId: string, secretHash: ArrayBuffer): boolean {
  if (!db.hasSchema(sql)) return false;
  const stored = db.readTenantKeyHash(sql, keyId);
  return stored !== null && digestsEqual(stored, secretHash);
}

/** Browsers' cross-origin state changes must come from an origin the tenant allows. */
function refuseOrigin(tenant: Tenant, origin: string | null): Failure | null {
  if (origin === null || tenant.settings.allowedOrigins.includes(origin)) return null;
  return fail("origin_not_allowed", "this origin may not change sessions of this tenant");
}

// Tenant

export function putTenant(
  storage: DurableObjectStorage,
  name: string,
  patch: SettingsPatch,
  now: number,
): Result<{ tenant: TenantView; created: boolean }> {
  const sql = storage.sql;
  const existing = db.hasSchema(sql) ? db.readTenant(sql) : null;
  if (existing && existing.name !== name) throw new Error("a store holds exactly one tenant");
  const merged = mergeSettings(existing ? (JSON.parse(existing.settings) as StoredSettings) : DEFAULT_SETTINGS, patch);
  if (!merged.ok) return merged;
  // The schema is made by the first PUT, so a call naming an unknown tenant writes nothing.
  db.migrate(storage);
  db.writeTenant(sql, name, JSON.stringify(merged.settings), now);
  return { ok: true, tenant: tenantView(sql, now), created: existing === null };
}

export function getTenant(sql: SqlStorage, caller: StoreCaller, now: number): Result<{ tenant: TenantView }> {
  const tenant = loadTenant(sql);
  if (!tenant) return TENANT_NOT_FOUND;
  return refuseCaller(sql, tenant, caller) ?? { ok: true, tenant: tenantView(sql, now) };
}

export function addTenantKey(sql: SqlStorage, keyId: string, secretHash: ArrayBuffer, now: number): Result {
  if (!loadTenant(sql)) return TENANT_NOT_FOUND;
  db.insertTenantKey(sql, keyId, secretHash, now);
  return { ok: true };
}

export function removeTenantKey(sql: SqlStorage, keyId: string): Result<{ revoked: number }> {
  if (!loadTenant(sql)) return TENANT_NOT_FOUND;
  const revoked = db.deleteTenantKey(sql, keyId);
  return revoked === 0 ? fail("key_not_found", "no such key") : { ok: true, revoked };
}

// Sessions

export function createSession(
  sql: SqlStorage,
  caller: StoreCaller,
  id: string,
  secretHash: ArrayBuffer,
  input: NewSessionInput,
  now: number,
): Issued {
  const tenant = loadTenant(sql);
  if (!tenant) return TENANT_NOT_FOUND;
  const refused = refuseCaller(sql, tenant, caller);
  if (refused) return refused;
  if (input.ttlSeconds !== undefined && input.ttlSeconds > tenant.settings.absoluteTimeoutSeconds) {
    return fail("bad_request", `ttlSeconds must not exceed the tenant's absolute timeout (${tenant.settings.absoluteTimeoutSeconds})`, "ttlSeconds");
  }
  const record: SessionRecord = {
    id,
    userId: input.userId,
    createdAt: now,
    lastSeenAt: now,
    ...newSessionExpiry(tenant.settings, now, input.ttlSeconds),
    ip: input.ip,
    userAgent: input.userAgent,
    data: input.data,
  };
  db.insertSession(sql, record, secretHash);
  evictBeyondCap(sql, tenant, input.userId);
  return { ok: true, session: publicSession(tenant.name, record, tenant.settings), sameSite: tenant.settings.sameSite };
}

/** Keeps at most `maxSessionsPerUser` sessions of a user by dropping the least recently seen. */
function evictBeyondCap(sql: SqlStorage, tenant: Tenant, userId: string): void {
  const cap = tenant.settings.maxSessionsPerUser;
  if (cap === null) return;
  const ids = db.sessionIdsOfUserLeastRecentFirst(sql, userId);
  for (const id of ids.slice(0, Math.max(0, ids.length - cap))) db.deleteSession(sql, id);
}

/** The live session this id and secret name, or the failure to report. Drops it if expired. */
function authenticate(sql: SqlStorage, tenant: Tenant, id: string, secretHash: ArrayBuffer, now: number): Failure | SessionRecord {
  const stored = db.readSession(sql, id);
  if (!stored || !digestsEqual(stored.secretHash, secretHash)) return INVALID_TOKEN;
  if (!isLive(stored.record, tenant.settings, now)) {
    db.deleteSession(sql, id);
    return INVALID_TOKEN;
  }
  return stored.record;
}

function isFailure(value: Failure | SessionRecord): value is Failure {
  return "ok" in value;
}

/** Validates and slides: writes only when a touch interval has passed since the last write. */
export function validateSession(sql: SqlStorage, id: string, secretHash: ArrayBuffer, now: number): Result<{ session: Session }> {
  const tenant = loadTenant(sql);
  if (!tenant) return INVALID_TOKEN;
  let record = authenticate(sql, tenant, id, secretHash, now);
  if (isFailure(record)) return record;
  if (touchIsDue(record, tenant.settings, now)) {
    record = touched(record, tenant.settings, now);
    db.writeSessionTouch(sql, record);
  }
  return { ok: true, session: publicSession(tenant.name, record, tenant.settings) };
}

/** Swaps the secret: the old token fails from this commit on, the session id stays. */
export function rotateSession(
  sql: SqlStorage,
  id: string,
  oldSecretHash: ArrayBuffer,
  newSecretHash: ArrayBuffer,
  origin: string | null,
  now: number,
): Issued {
  const tenant = loadTenant(sql);
  if (!tenant) return INVALID_TOKEN;
  const record = authenticate(sql, tenant, id, oldSecretHash, now);
  if (isFailure(record)) return record;
  const refused = refuseOrigin(tenant, origin);
  if (refused) return refused;
  const rotated = touched(record, tenant.settings, now);
  db.writeSessionSecret(sql, rotated, newSecretHash);
  return { ok: true, session: publicSession(tenant.name, rotated, tenant.settings), sameSite: tenant.settings.sameSite };
}

/** Logout. Idempotent: a session already gone (or never issued) is success. */
export function destroySession(sql: SqlStorage, id: string, secretHash: ArrayBuffer, origin: string | null, now: number): Result {
  const tenant = loadTenant(sql);
  if (!tenant) return { ok: true };
  const record = authenticate(sql, tenant, id, secretHash, now);
  if (isFailure(record)) return { ok: true };
  const refused = refuseOrigin(tenant, origin);
  if (refused) return refused;
  db.deleteSession(sql, id);
  return { ok: true };
}
