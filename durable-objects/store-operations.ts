// What the SessionStore does, as plain functions of (sql, inputs, now). Each runs inside
// one synchronous transaction of the Durable Object, so it commits whole or not at all,
// and no other request interleaves with it. Every change is recorded in the audit log in
// that same transaction. The DO class only supplies `now`, the SQL handle and alarms.

import type { StoreCaller } from "../src/auth";
import type { SameSite } from "../src/cookie";
import { digestsEqual } from "../src/crypto";
import { fail, INVALID_TOKEN, isFailure, SESSION_NOT_FOUND, TENANT_NOT_FOUND, type Failure, type Result } from "../src/errors";
import type { AuditEvent } from "../src/events";
import type { NewSessionInput } from "../src/session-input";
import { expiresAt, newSessionExpiry, publicSession, touched, touchIsDue, type ExpiryRules, type Session, type SessionRecord } from "../src/session";
import { DEFAULT_SETTINGS, mergeSettings, resolveSettings, type SettingsPatch, type StoredSettings, type TenantSettings, type TenantView } from "../src/settings";
import * as db from "./session-store-sql";

/** A session just issued or rotated, with what the front Worker needs for its cookie. */
export type Issued = Result<{ session: Session; sameSite: SameSite }>;

/** A page of a newest-first listing; `nextBefore` is the seq to continue below, if any. */
export interface Page<T> {
  items: T[];
  nextBefore: number | null;
}

interface Tenant {
  name: string;
  settings: TenantSettings;
  /** The current timeouts with the lines earlier ones drew (src/session.ts). */
  rules: ExpiryRules;
  /** Whether stored expiries are being brought up to date after a change of timeouts. */
  reevaluating: boolean;
  floor: number;
  /** Whether any user has a revocation floor: without one, reads skip the per-row floor lookup. */
  userFloors: boolean;
}

const MS_PER_SECOND = 1000;
/** Rows whose stored expiries a settings change re-evaluates in its own request; the alarm does the rest. */
const REEVALUATE_ROWS_IN_REQUEST = 2_000;
/**
 * Sessions that had expired, but were not purged yet, that a kill ends with their own
 * `expired` event before it covers the rest. The purge keeps up within a minute, so this
 * many is more than a backlog holds; beyond it, an expired session is covered by the kill.
 */
const EXPIRED_ENDED_BY_KILL = 2_000;

/** Superseded secrets remembered per session: enough for any honest race, bounded for a busy rotator. */
export const SUPERSEDED_PER_SESSION = 16;
/** Self-service listings show at most this many of a user's sessions, newest first. */
const MAX_SIBLINGS = 1000;
/** The actor of changes nobody asked for: expiry, eviction by the per-user cap. */
const SYSTEM = "system";

/**
 * The tenant row, parsed, kept per store (keyed by its SQL handle) so the hot path reads one
 * row, not three. Only this store writes its storage, and every write of the tenant row or of
 * the user floors goes through `forgetTenant`, as does any transaction that fails; so the copy
 * is never stale.
 */
const tenants = new WeakMap<SqlStorage, Tenant>();

export function forgetTenant(sql: SqlStorage): void {
  tenants.delete(sql);
}

function loadTenant(sql: SqlStorage): Tenant | null {
  const cached = tenants.get(sql);
  if (cached) return cached;
  const row = db.hasSchema(sql) ? db.readTenant(sql) : null;
  if (!row) return null;
  const settings = resolveSettings(JSON.parse(row.settings) as StoredSettings);
  const tenant = {
    name: row.name,
    settings,
    rules: { settings, idleLine: row.idleLine, absoluteLine: row.absoluteLine },
    reevaluating: row.reevaluating,
    floor: row.revokedBelowSeq,
    userFloors: db.hasUserFloors(sql),
  };
  tenants.set(sql, tenant);
  return tenant;
}

function live(tenant: Tenant, now: number): db.LiveContext {
  return { now, rules: tenant.rules, tenantFloor: tenant.floor, userFloors: tenant.userFloors };
}

/** Who did it, as the audit log says: never a credential, only a kind and a public id. */
export function actorOf(caller: StoreCaller): string {
  return caller.kind === "tenant_key" ? `tenant_key:${caller.keyId}` : caller.kind;
}

function tenantView(sql: SqlStorage, tenant: Tenant, now: number): TenantView {
  const row = db.readTenant(sql)!;
  return {
    tenant: tenant.name,
    settings: tenant.settings,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    counts: { sessions: db.countLiveSessions(sql, live(tenant, now)), keys: db.countTenantKeys(sql) },
  };
}

/** Null when the caller may act on this tenant; a tenant key must exist here and match. */
function refuseCaller(sql: SqlStorage, tenant: Tenant, caller: StoreCaller): Failure | null {
  if (caller.kind !== "tenant_key") return null;
  if (caller.tenant !== tenant.name) return fail("forbidden", "this key belongs to another tenant");
  return tenantKeyMatches(sql, caller.keyId, caller.secretHash) ? null : fail("unauthorized", "the API key is invalid or revoked");
}

function tenantKeyMatches(sql: SqlStorage, keyId: string, secretHash: ArrayBuffer): boolean {
  if (!db.hasSchema(sql)) return false;
  const stored = db.readTenantKeyHash(sql, keyId);
  return stored !== null && digestsEqual(stored, secretHash);
}

/** The tenant, if it exists and the caller may act on it; else the failure to report. */
function authorized(sql: SqlStorage, caller: StoreCaller): Tenant | Failure {
  const tenant = loadTenant(sql);
  if (!tenant) return TENANT_NOT_FOUND;
  return refuseCaller(sql, tenant, caller) ?? tenant;
}

/** Browsers' cross-origin state changes must come from an origin the tenant allows. */
function refuseOrigin(tenant: Tenant, origin: string | null): Failure | null {
  if (origin === null || tenant.settings.allowedOrigins.includes(origin)) return null;
  return fail("origin_not_allowed", "this origin may not change sessions of this tenant");
}

// Tenant and keys

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
  const before = existing ? (JSON.parse(existing.settings) as StoredSettings) : null;
  if (before && (before.idleTimeoutSeconds !== merged.settings.idleTimeoutSeconds || before.absoluteTimeoutSeconds !== merged.settings.absoluteTimeoutSeconds)) {
    // Whatever had ended under the timeouts in force until now stays ended (src/session.ts).
    db.drawExpiryLines(sql, now - before.idleTimeoutSeconds * MS_PER_SECOND, now - before.absoluteTimeoutSeconds * MS_PER_SECOND);
  }
  forgetTenant(sql);
  // A small tenant's stored expiries are brought up to date right here; a large one's, by the alarm.
  for (let done = 0; done < REEVALUATE_ROWS_IN_REQUEST; ) {
    const step = reevaluateStep(sql);
    if (step === 0) break;
    done += step;
  }
  return { ok: true, tenant: tenantView(sql, loadTenant(sql)!, now), created: existing === null };
}

/** One batch of the re-evaluation of stored expiries a change of timeouts started; 0 when none is pending. */
function reevaluateStep(sql: SqlStorage): number {
  const tenant = loadTenant(sql);
  if (!tenant?.reevaluating) return 0;
  const { idleTimeoutSeconds, absoluteTimeoutSeconds } = tenant.settings;
  const rewritten = db.reevaluateExpiries(sql, idleTimeoutSeconds * MS_PER_SECOND, absoluteTimeoutSeconds * MS_PER_SECOND, PURGE_BATCH);
  forgetTenant(sql);
  return rewritten;
}

/** Whether the store has a re-evaluation of stored expiries still to finish (the alarm's work). */
export function isReevaluating(sql: SqlStorage): boolean {
  return loadTenant(sql)?.reevaluating ?? false;
}

export function getTenant(sql: SqlStorage, caller: StoreCaller, now: number): Result<{ tenant: TenantView }> {
  const tenant = authorized(sql, caller);
  return isFailure(tenant) ? tenant : { ok: true, tenant: tenantView(sql, tenant, now) };
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

// Sessions: created and used

export function createSession(
  sql: SqlStorage,
  caller: StoreCaller,
  id: string,
  secretHash: ArrayBuffer,
  input: NewSessionInput,
  now: number,
): Issued {
  const tenant = authorized(sql, caller);
  if (isFailure(tenant)) return tenant;
  if (input.ttlSeconds !== undefined && input.ttlSeconds > tenant.settings.absoluteTimeoutSeconds) {
    return fail("bad_request", `ttlSeconds must not exceed the tenant's absolute timeout (${tenant.settings.absoluteTimeoutSeconds})`, "ttlSeconds");
  }
  const fields = {
    id,
    userId: input.userId,
    createdAt: now,
    lastSeenAt: now,
    ...newSessionExpiry(tenant.settings, now, input.ttlSeconds),
    ip: input.ip,
    userAgent: input.userAgent,
    data: input.data,
  };
  const record: SessionRecord = { seq: db.insertSession(sql, fields, secretHash), ...fields };
  db.insertEvent(sql, { type: "created", actor: actorOf(caller), sessionId: id, userId: input.userId }, now);
  evictBeyondCap(sql, tenant, input.userId, now);
  return { ok: true, session: publicSession(tenant.name, record, tenant.rules), sameSite: tenant.settings.sameSite };
}

/** Keeps at most `maxSessionsPerUser` live sessions of a user by dropping the least recently seen. */
function evictBeyondCap(sql: SqlStorage, tenant: Tenant, userId: string, now: number): void {
  const cap = tenant.settings.maxSessionsPerUser;
  if (cap === null) return;
  const sessions = db.liveSessionsOfUserLeastRecentFirst(sql, live(tenant, now), userId);
  for (const record of sessions.slice(0, Math.max(0, sessions.length - cap))) {
    db.deleteSession(sql, record.seq);
    db.insertEvent(sql, { type: "revoked", reason: "evicted", actor: SYSTEM, sessionId: record.id, userId }, now);
  }
}

/** The live session this id and secret name, or the failure to report. */
function authenticate(sql: SqlStorage, tenant: Tenant, id: string, secretHash: ArrayBuffer, now: number): SessionRecord | Failure {
  const stored = db.readLiveSession(sql, live(tenant, now), id);
  if (!stored || !digestsEqual(stored.secretHash, secretHash)) return INVALID_TOKEN;
  return stored.record;
}

/** Validates and slides: writes only when a touch interval has passed since the last write. */
function use(sql: SqlStorage, tenant: Tenant, id: string, secretHash: ArrayBuffer, now: number): SessionRecord | Failure {
  const record = authenticate(sql, tenant, id, secretHash, now);
  if (isFailure(record) || !touchIsDue(record, tenant.settings, now)) return record;
  const slid = touched(record, tenant.settings, now);
  db.writeSessionTouch(sql, slid);
  return slid;
}

/** The tenant and live session of a self-service state change, once the origin is allowed. */
function sessionForChange(
  sql: SqlStorage,
  id: string,
  secretHash: ArrayBuffer,
  origin: string | null,
  now: number,
): { tenant: Tenant; record: SessionRecord } | Failure {
  const tenant = loadTenant(sql);
  if (!tenant) return INVALID_TOKEN;
  const record = authenticate(sql, tenant, id, secretHash, now);
  if (isFailure(record)) return record;
  return refuseOrigin(tenant, origin) ?? { tenant, record };
}

export function validateSession(sql: SqlStorage, id: string, secretHash: ArrayBuffer, now: number): Result<{ session: Session }> {
  const tenant = loadTenant(sql);
  if (!tenant) return INVALID_TOKEN;
  const record = use(sql, tenant, id, secretHash, now);
  return isFailure(record) ? record : { ok: true, session: publicSession(tenant.name, record, tenant.rules) };
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
  const found = sessionForChange(sql, id, oldSecretHash, origin, now);
  if (isFailure(found)) return found;
  const { tenant, record } = found;
  const rotated = touched(record, tenant.settings, now);
  db.writeSessionSecret(sql, rotated, newSecretHash);
  db.insertSupersededSecret(sql, record, oldSecretHash, SUPERSEDED_PER_SESSION);
  db.insertEvent(sql, { type: "rotated", actor: "session", sessionId: id, userId: record.userId }, now);
  return { ok: true, session: publicSession(tenant.name, rotated, tenant.rules), sameSite: tenant.settings.sameSite };
}

/**
 * Whether `secretHash` is one that rotation replaced on this session. The first use of each
 * such secret is recorded (`superseded_token_used`): an old token in use after a rotation is
 * what a stolen one looks like. Read by public id and compared in constant time.
 */
export function supersededSecretUsed(sql: SqlStorage, id: string, secretHash: ArrayBuffer, now: number): boolean {
  if (!db.hasSchema(sql)) return false;
  const match = db.supersededSecrets(sql, id).find((superseded) => digestsEqual(superseded.secretHash, secretHash));
  if (!match) return false;
  if (!match.reported) {
    db.markSupersededReported(sql, match.seq);
    db.insertEvent(sql, { type: "superseded_token_used", actor: "session", sessionId: id, userId: match.userId }, now);
  }
  return true;
}

/**
 * Logout. Idempotent: a session already gone (or never issued) is success. A token that
 * rotation superseded still ends the session it names: logging out can only reduce access,
 * and so a thief's rotation cannot outlive the victim's logout.
 */
export function logout(sql: SqlStorage, id: string, secretHash: ArrayBuffer, origin: string | null, now: number): Result {
  const tenant = loadTenant(sql);
  if (!tenant) return { ok: true };
  const stored = db.readLiveSession(sql, live(tenant, now), id);
  if (!stored) return { ok: true };
  if (!digestsEqual(stored.secretHash, secretHash) && !supersededSecretUsed(sql, id, secretHash, now)) return { ok: true };
  const refused = refuseOrigin(tenant, origin);
  if (refused) return refused;
  db.deleteSession(sql, stored.record.seq);
  db.insertEvent(sql, { type: "revoked", reason: "logout", actor: "session", sessionId: id, userId: stored.record.userId }, now);
  return { ok: true };
}

// Live sockets

/** Opening a live socket is a use of the session: authenticated, origin-checked, slid. */
export function openLive(sql: SqlStorage, id: string, secretHash: ArrayBuffer, origin: string | null, now: number): Result<{ session: Session }> {
  const tenant = loadTenant(sql);
  if (!tenant) return INVALID_TOKEN;
  const refused = refuseOrigin(tenant, origin);
  if (refused) return refused;
  const record = use(sql, tenant, id, secretHash, now);
  return isFailure(record) ? record : { ok: true, session: publicSession(tenant.name, record, tenant.rules) };
}

/** When the session this id and secret name stops working, or null if it already has. */
export function liveUntil(sql: SqlStorage, id: string, secretHash: ArrayBuffer, now: number): number | null {
  const tenant = loadTenant(sql);
  if (!tenant) return null;
  const record = authenticate(sql, tenant, id, secretHash, now);
  return isFailure(record) ? null : expiresAt(record, tenant.rules);
}

// Sessions: seen and killed by operators

export function listSessions(
  sql: SqlStorage,
  caller: StoreCaller,
  options: { userId?: string | undefined; beforeSeq?: number | undefined; limit: number },
  now: number,
): Result<{ page: Page<Session> }> {
  const tenant = authorized(sql, caller);
  if (isFailure(tenant)) return tenant;
  const rows = db.listLiveSessions(sql, live(tenant, now), { ...options, limit: options.limit + 1 });
  const items = rows.slice(0, options.limit);
  const nextBefore = rows.length > options.limit ? items[items.length - 1]!.seq : null;
  return { ok: true, page: { items: items.map((r) => publicSession(tenant.name, r, tenant.rules)), nextBefore } };
}

export function getSession(sql: SqlStorage, caller: StoreCaller, id: string, now: number): Result<{ session: Session }> {
  const tenant = authorized(sql, caller);
  if (isFailure(tenant)) return tenant;
  const stored = db.readLiveSession(sql, live(tenant, now), id);
  return stored ? { ok: true, session: publicSession(tenant.name, stored.record, tenant.rules) } : SESSION_NOT_FOUND;
}

export function revokeSession(sql: SqlStorage, caller: StoreCaller, id: string, now: number): Result<{ revoked: number }> {
  const tenant = authorized(sql, caller);
  if (isFailure(tenant)) return tenant;
  const stored = db.readLiveSession(sql, live(tenant, now), id);
  if (!stored) return SESSION_NOT_FOUND;
  db.deleteSession(sql, stored.record.seq);
  db.insertEvent(sql, { type: "revoked", reason: "one", actor: actorOf(caller), sessionId: id, userId: stored.record.userId }, now);
  return { ok: true, revoked: 1 };
}

/** Kills every session of a user with one write (a floor); the alarm deletes the rows later. */
export function revokeUser(sql: SqlStorage, caller: StoreCaller, userId: string, now: number): Result<{ revoked: number }> {
  const tenant = authorized(sql, caller);
  if (isFailure(tenant)) return tenant;
  endExpired(sql, db.deleteExpiredUnkilled(sql, live(tenant, now), userId, EXPIRED_ENDED_BY_KILL), now);
  const revoked = db.countLiveSessions(sql, live(tenant, now), userId);
  db.raiseUserFloor(sql, userId);
  forgetTenant(sql);
  db.insertEvent(sql, { type: "revoked", reason: "user", actor: actorOf(caller), userId, count: revoked }, now);
  return { ok: true, revoked };
}

/** Kills every session of the tenant with one write (a floor); the alarm deletes the rows later. */
export function revokeTenant(sql: SqlStorage, caller: StoreCaller, now: number): Result<{ revoked: number }> {
  const tenant = authorized(sql, caller);
  if (isFailure(tenant)) return tenant;
  endExpired(sql, db.deleteExpiredUnkilled(sql, live(tenant, now), null, EXPIRED_ENDED_BY_KILL), now);
  const revoked = db.countLiveSessions(sql, live(tenant, now));
  db.raiseTenantFloor(sql);
  forgetTenant(sql);
  db.insertEvent(sql, { type: "revoked", reason: "tenant", actor: actorOf(caller), count: revoked }, now);
  return { ok: true, revoked };
}

/** The user's live sessions, newest first, the presenting one marked. Slides it like validate. */
export function listSiblings(sql: SqlStorage, id: string, secretHash: ArrayBuffer, now: number): Result<{ sessions: (Session & { current: boolean })[] }> {
  const tenant = loadTenant(sql);
  if (!tenant) return INVALID_TOKEN;
  const current = use(sql, tenant, id, secretHash, now);
  if (isFailure(current)) return current;
  const records = db.listLiveSessions(sql, live(tenant, now), { userId: current.userId, limit: MAX_SIBLINGS });
  // The session asking is always shown, even when it is older than the newest MAX_SIBLINGS.
  if (!records.some((r) => r.seq === current.seq)) records.splice(MAX_SIBLINGS - 1, records.length, current);
  const sessions = records.map((r) => ({ ...publicSession(tenant.name, r, tenant.rules), current: r.seq === current.seq }));
  return { ok: true, sessions };
}

/**
 * "Log out my other devices": every other session of the same user, never the current one.
 * Also says which user, so the store can close that user's sockets and no one else's.
 */
export function revokeSiblings(
  sql: SqlStorage,
  id: string,
  secretHash: ArrayBuffer,
  origin: string | null,
  now: number,
): Result<{ revoked: number; userId: string }> {
  const found = sessionForChange(sql, id, secretHash, origin, now);
  if (isFailure(found)) return found;
  const { tenant, record: current } = found;
  const revoked = db.deleteOtherLiveSessionsOfUser(sql, live(tenant, now), current.userId, current.seq);
  db.insertEvent(sql, { type: "revoked", reason: "siblings", actor: "session", sessionId: id, userId: current.userId, count: revoked }, now);
  return { ok: true, revoked, userId: current.userId };
}

export function listEvents(
  sql: SqlStorage,
  caller: StoreCaller,
  options: { beforeSeq?: number | undefined; limit: number },
): Result<{ page: Page<AuditEvent> }> {
  const tenant = authorized(sql, caller);
  if (isFailure(tenant)) return tenant;
  const rows = db.listEvents(sql, { ...options, limit: options.limit + 1 });
  const items = rows.slice(0, options.limit);
  const nextBefore = rows.length > options.limit ? items[items.length - 1]!.seq : null;
  return { ok: true, page: { items: items.map(toAuditEvent), nextBefore } };
}

export function toAuditEvent(row: db.EventRow): AuditEvent {
  const event: AuditEvent = { at: new Date(row.at).toISOString(), type: row.type as AuditEvent["type"], actor: row.actor };
  if (row.reason !== null) event.reason = row.reason;
  if (row.session_id !== null) event.sessionId = row.session_id;
  if (row.user_id !== null) event.userId = row.user_id;
  if (row.count !== null) event.count = row.count;
  return event;
}

/** The tenant's name, for log lines; null before the tenant exists. */
export function tenantName(sql: SqlStorage): string | null {
  return loadTenant(sql)?.name ?? null;
}

// Purge, run by the alarm

/** Audit events are kept this long, and at most this many. */
export const EVENT_RETENTION_DAYS = 30;
export const MAX_EVENTS = 100_000;
const EVENT_RETENTION_MS = EVENT_RETENTION_DAYS * 24 * 3600 * 1000;
/** Rows deleted per statement: small statements, bounded time per transaction. */
export const PURGE_BATCH = 500;

/**
 * One bounded step of cleanup: the re-evaluation of stored expiries after a change of
 * timeouts, then rows under a revocation floor, then expired sessions (with an `expired`
 * event each), then superseded secrets past their session's life, then old events. Returns the rows it deleted; 0 means done.
 * Idempotent: running it again, or after a failed run, finds only what is left.
 */
export function purgeStep(sql: SqlStorage, now: number): number {
  const tenant = loadTenant(sql);
  if (!tenant) return 0;
  // Stored expiries first: the purge goes by them, so they must follow the current rule.
  const reevaluated = reevaluateStep(sql);
  if (reevaluated > 0) return reevaluated;
  // Killed rows before expired ones, and without events: the kill's own event is their end.
  const belowTenant = db.deleteBelowTenantFloor(sql, tenant.floor, PURGE_BATCH);
  if (belowTenant > 0) return belowTenant;
  if (tenant.userFloors) {
    const belowUser = db.deleteBelowUserFloors(sql, PURGE_BATCH);
    forgetTenant(sql); // floors may be gone now
    if (belowUser > 0) return belowUser;
  }
  const expired = db.deleteExpiredSessions(sql, now, PURGE_BATCH);
  endExpired(sql, expired, now);
  if (expired.length > 0) return expired.length;
  const superseded = db.deleteExpiredSupersededSecrets(sql, now, PURGE_BATCH);
  if (superseded > 0) return superseded;
  return db.deleteOldEvents(sql, now - EVENT_RETENTION_MS, MAX_EVENTS, PURGE_BATCH);
}

/** Records the end of sessions deleted because they expired: one `expired` event each. */
function endExpired(sql: SqlStorage, sessions: db.PurgedSession[], now: number): void {
  for (const session of sessions) db.insertEvent(sql, { type: "expired", actor: SYSTEM, sessionId: session.id, userId: session.userId }, now);
}

/** When the purge should next run, or null when there is nothing it will ever have to do. */
export function nextPurgeAt(sql: SqlStorage, now: number): number | null {
  const tenant = loadTenant(sql);
  if (!tenant) return null;
  if (tenant.reevaluating || db.hasRevokedRows(sql, tenant.floor)) return now;
  const oldestEvent = db.oldestEventAt(sql);
  const eventsDueAt = oldestEvent === null ? null : oldestEvent + EVENT_RETENTION_MS;
  const times = [db.earliestExpiry(sql), db.earliestSupersededExpiry(sql), eventsDueAt].filter((at): at is number => at !== null);
  return times.length === 0 ? null : Math.max(now, Math.min(...times));
}
