// What the SessionStore does, as plain functions of (store, inputs, now). Each runs inside
// one synchronous transaction of the Durable Object, so it commits whole or not at all,
// and no other request interleaves with it. Every change is recorded in the audit log in
// that same transaction. The DO class supplies `now`, the store (its SQL handle and its
// tenant as read before the transaction) and alarms.

import { actorOf, type StoreCaller } from "../../src/core/auth";
import type { SameSite } from "@session-service/client";
import { digestsEqual } from "../../src/core/crypto";
import { fail, INVALID_TOKEN, ok, SESSION_NOT_FOUND, TENANT_NOT_FOUND, type Result } from "../../src/core/errors";
import type { AuditEvent } from "../../src/core/events";
import type { NewSessionInput } from "../../src/core/session-input";
import {
  MAX_SIBLINGS,
  absoluteHistoryAfter,
  expiresAt,
  newSessionExpiry,
  publicSession,
  touched,
  touchIsDue,
  type AbsoluteHistory,
  type ExpiryRules,
  type Session,
  type SessionRecord,
} from "../../src/core/session";
import type { SiblingSession } from "@session-service/client";
import type { Row } from "../../src/core/merge";
import { historyAfter, shardOf, shardsOfUser, type ShardHistory } from "../../src/core/placement";
import { DEFAULT_SETTINGS, mergeSettings, resolveSettings, type SettingsPatch, type StoredSettings, type TenantKeyView, type TenantSettings, type TenantView } from "../../src/core/settings";
import * as db from "./session-store-sql";
import * as hooks from "./webhooks-sql";

/** A session just issued or rotated, with what the front Worker needs for its cookie. */
export type Issued = Result<{ session: Session; sameSite: SameSite }>;

/** The tenant row, parsed: what nearly every operation needs first. */
export interface Tenant {
  name: string;
  /** When this tenant was made: a later tenant of the same name is another one. */
  createdAt: number;
  settings: TenantSettings;
  /** The current timeouts, and what earlier ones left behind (src/core/session.ts). */
  rules: ExpiryRules;
  /** Whether stored expiries are being brought up to date after a change of timeouts. */
  reevaluating: boolean;
  floor: number;
  /** Below this floor no kill can be undone any more: the purge may delete those rows. */
  settledFloor: number;
  /** Whether any user has a revocation floor: without one, reads skip the per-row floor lookup. */
  userFloors: boolean;
  /** Which of the tenant's shards this store is (0: the home, which holds the authoritative settings). */
  shard: number;
  shardHistory: ShardHistory;
  /** At the home: the shard count every shard has heard of, which new sessions use. */
  activeShards: number;
}

/** A store as its operations see it: its SQL, and its tenant as of the transaction's start (null before the first PUT). */
export interface Store {
  sql: SqlStorage;
  tenant: Tenant | null;
}

// Purge and its neighbours: how much work one step, one run or one request may do.

/** Rows deleted or rewritten per statement: small statements, bounded time per transaction. */
export const PURGE_BATCH = 500;
/**
 * Most rows one alarm run handles before it re-arms for right away, so requests to this store
 * wait at most one short run behind a purge (a few milliseconds here), never the whole backlog.
 * Bounded in rows, not time: Date.now() does not advance during synchronous work in Workers.
 */
export const PURGE_ROWS_PER_RUN = 2_000;
/** Sessions expiring close together are purged in one run: the alarm never re-arms sooner than this after a run. */
export const PURGE_COALESCE_MS = 60_000;
/**
 * A kill with an undo window is settled (its rows may be deleted) this long after the window
 * ends, not at once: an undo decided inside the window must still find each store able to
 * restore when the decision reaches it. The home gives up an undo whose judgment by every store
 * took longer than half of this (SessionStore #decideSeenUndo).
 */
export const UNDO_SETTLE_GRACE_MS = 60_000;
/** Audit events are kept this long, and at most this many. */
export const EVENT_RETENTION_DAYS = 30;
export const MAX_EVENTS = 100_000;
const EVENT_RETENTION_MS = EVENT_RETENTION_DAYS * 24 * 3600 * 1000;
/** Rows whose stored expiries a settings change re-evaluates in its own request; the alarm does the rest. */
const REEVALUATE_ROWS_IN_REQUEST = 2_000;

/** What a kill answers: how many live sessions it ended, and the id that undoes it. */
export type Killed = Result<{ revoked: number; killId: string }>;

/** Superseded secrets remembered per session, for the audit log: enough for any honest race, bounded for a busy rotator. */
export const SUPERSEDED_PER_SESSION = 16;
/** The actor of changes nobody asked for: expiry, eviction by the per-user cap. */
const SYSTEM = "system";
const MS_PER_SECOND = 1000;
/**
 * A tenant key's last use is written at most this often per store: "last used" is exact to the
 * minute, and a key used all day costs one small write a minute, not one a call.
 */
export const KEY_USE_RECORDED_EVERY_MS = 60_000;

/** The tenant as stored now, or null before the first PUT. The DO keeps it between changes. */
export function readTenantState(sql: SqlStorage): Tenant | null {
  const row = db.heldTenant(sql);
  // A tenant being deleted is, to every operation, a tenant that does not exist.
  if (!row || row.erasing) return null;
  const settings = resolveSettings(JSON.parse(row.settings) as StoredSettings);
  return {
    name: row.name,
    createdAt: row.createdAt,
    settings,
    rules: { settings, idleLine: row.idleLine, absoluteHistory: JSON.parse(row.absoluteHistory) as AbsoluteHistory },
    reevaluating: row.reevaluating,
    floor: row.revokedBelowSeq,
    settledFloor: row.settledBelowSeq,
    userFloors: db.hasUserFloors(sql),
    shard: row.shard,
    shardHistory: row.shardHistory,
    activeShards: row.activeShards,
  };
}

/** A store with its tenant read fresh: for callers that keep no copy (tests, one-off reads). */
export function storeOf(sql: SqlStorage): Store {
  return { sql, tenant: readTenantState(sql) };
}

export function live(tenant: Tenant, now: number): db.LiveContext {
  return { now, rules: tenant.rules, tenantFloor: tenant.floor, userFloors: tenant.userFloors };
}


function tenantView(sql: SqlStorage, tenant: Tenant, now: number): TenantView {
  const row = db.readTenant(sql)!;
  return {
    tenant: tenant.name,
    settings: tenant.settings,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    counts: {
      sessions: db.countLiveSessions(sql, live(tenant, now)),
      keys: db.countTenantKeys(sql),
      webhooks: hooks.countWebhooks(sql),
      disabledWebhooks: hooks.countDisabledWebhooks(sql),
    },
  };
}

/**
 * Whether a tenant key (already signature-checked by the front Worker) is one this tenant
 * still holds; other callers pass. Revocation of a key is effective from the next request.
 */
function checkTenantKey(sql: SqlStorage, tenant: Tenant, caller: StoreCaller, now: number): Result {
  if (caller.kind !== "tenant_key") return ok({});
  if (caller.tenant !== tenant.name) return fail("forbidden", "this key belongs to another tenant");
  const stored = db.readTenantKey(sql, caller.keyId);
  if (stored === null || !digestsEqual(stored.secretHash, caller.secretHash)) return fail("unauthorized", "the API key is invalid or revoked");
  // One write a while, not one a call.
  if (stored.lastUsedAt === null || now - stored.lastUsedAt >= KEY_USE_RECORDED_EVERY_MS) db.recordKeyUse(sql, caller.keyId, now);
  return ok({});
}

/** The tenant, if it exists and the caller may act on it. */
export function authorized({ sql, tenant }: Store, caller: StoreCaller, now: number): Result<{ tenant: Tenant }> {
  if (!tenant) return TENANT_NOT_FOUND;
  const allowed = checkTenantKey(sql, tenant, caller, now);
  return allowed.ok ? ok({ tenant }) : allowed;
}

/** Browsers' cross-origin state changes must come from an origin the tenant allows. */
function checkOrigin(tenant: Tenant, origin: string | null): Result {
  if (origin === null || tenant.settings.allowedOrigins.includes(origin)) return ok({});
  return fail("origin_not_allowed", "this origin may not change sessions of this tenant");
}

// Tenant and keys

export function putTenant(
  storage: DurableObjectStorage,
  name: string,
  patch: SettingsPatch,
  actor: string,
  now: number,
): Result<{ tenant: TenantView; created: boolean }> {
  const sql = storage.sql;
  const existing = db.heldTenant(sql);
  if (existing && existing.name !== name) throw new Error("a store holds exactly one tenant");
  if (existing?.erasing) return TENANT_DELETING;
  const before = existing ? (JSON.parse(existing.settings) as StoredSettings) : null;
  const previous = existing ? readTenantState(sql) : null;
  if (existing && existing.shard !== 0) throw new Error("settings are written at the tenant's home shard");
  const merged = mergeSettings(before ?? DEFAULT_SETTINGS, patch, existing !== null);
  if (!merged.ok) return merged;
  const shards = historyAfter(previous?.shardHistory ?? [{ count: 1, since: now }], merged.settings.shards ?? 1, now);
  // The schema is made by the first PUT, so a call naming an unknown tenant writes nothing.
  db.migrate(storage);
  db.writeTenant(sql, name, JSON.stringify(merged.settings), shards, now);
  if (before && previous && (before.idleTimeoutSeconds !== merged.settings.idleTimeoutSeconds || before.absoluteTimeoutSeconds !== merged.settings.absoluteTimeoutSeconds)) {
    // What ended under the timeouts in force until now stays ended; what they bound stays bound (src/core/session.ts).
    const oldAbsoluteMs = before.absoluteTimeoutSeconds * MS_PER_SECOND;
    const history = absoluteHistoryAfter(previous.rules.absoluteHistory, oldAbsoluteMs, merged.settings.absoluteTimeoutSeconds * MS_PER_SECOND, now);
    db.recordTimeoutChange(sql, now - before.idleTimeoutSeconds * MS_PER_SECOND, history);
  }
  // Against the stored settings as a no-op PUT would merge them: a setting added by a later release is no change.
  const changed = before ? changedSettings(mergeSettings(before, {}, true), merged.settings) : [];
  if (!before) db.insertEvent(sql, { type: "tenant_created", actor }, now);
  else if (changed.length > 0) db.insertEvent(sql, { type: "settings_changed", actor, fields: changed }, now);
  const tenant = readTenantState(sql)!;
  reevaluateSome(sql, tenant);
  return ok({ tenant: tenantView(sql, tenant, now), created: existing === null }); // the pass changes nothing the view shows
}

/** The names of the settings whose value differs, in a stable order. */
function changedSettings(baseline: Result<{ settings: StoredSettings }>, after: StoredSettings): string[] {
  if (!baseline.ok) return [];
  const before = baseline.settings;
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return names.filter((name) => JSON.stringify(before[name as keyof StoredSettings]) !== JSON.stringify(after[name as keyof StoredSettings]));
}

const TENANT_DELETING = fail("tenant_deleting", "the tenant is being deleted; once that is done, its name can be used again");

/**
 * At the home: marks the tenant as being deleted (SessionStore.eraseTenant). Repeating it
 * during the deletion is allowed, so a caller that got 503 can finish the job.
 */
export function markErasing(sql: SqlStorage, actor: string, now: number): Result {
  const row = db.heldTenant(sql);
  if (!row) return TENANT_NOT_FOUND;
  if (row.shard !== 0) throw new Error("a tenant is deleted at its home shard");
  db.insertErasure(sql, actor, now);
  return ok({});
}

export function getTenant(store: Store, caller: StoreCaller, now: number): Result<{ tenant: TenantView }> {
  const allowed = authorized(store, caller, now);
  return allowed.ok ? ok({ tenant: tenantView(store.sql, allowed.tenant, now) }) : allowed;
}

/** The shard's part of a tenant's activity: its events counted into buckets, and its live sessions now. */
export function activity(store: Store, caller: StoreCaller, since: number, bucketMs: number, now: number): Result<{ counts: { bucket: number; type: string; n: number }[]; live: number }> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  return ok({ counts: db.countEventsByBucket(store.sql, since, bucketMs), live: db.countLiveSessions(store.sql, live(allowed.tenant, now)) });
}

export function listTenantKeys(store: Store, caller: StoreCaller, now: number): Result<{ keys: TenantKeyView[] }> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const keys = db.readTenantKeys(store.sql).map((key) => ({
    id: key.id,
    createdAt: new Date(key.createdAt).toISOString(),
    lastUsedAt: key.lastUsedAt === null ? null : new Date(key.lastUsedAt).toISOString(),
  }));
  return ok({ keys });
}

export function addTenantKey({ sql, tenant }: Store, keyId: string, secretHash: ArrayBuffer, actor: string, now: number): Result {
  if (!tenant) return TENANT_NOT_FOUND;
  db.insertTenantKey(sql, keyId, secretHash, now);
  db.bumpCopyVersion(sql);
  db.insertEvent(sql, { type: "key_created", actor, keyId }, now);
  return ok({});
}

/**
 * Who removed a key or webhook that the home took back because a store could not be told of
 * it (`takenBack`): the service itself, not the operator who asked for it.
 */
export const TAKEN_BACK = { actor: SYSTEM, reason: "not_copied" } as const;

export function removeTenantKey({ sql, tenant }: Store, keyId: string, actor: string, now: number, takenBack = false): Result {
  if (!tenant) return TENANT_NOT_FOUND;
  if (db.deleteTenantKey(sql, keyId) === 0) return fail("key_not_found", "no such key");
  db.bumpCopyVersion(sql);
  db.insertEvent(sql, { type: "key_revoked", keyId, ...(takenBack ? TAKEN_BACK : { actor }) }, now);
  return ok({});
}

/** Where the tenant's sessions go, as its home knows it: new sessions use `count` shards. */
export interface Placement {
  count: number;
  history: ShardHistory;
}

export function placement({ tenant }: Store): Result<{ placement: Placement }> {
  if (!tenant) return TENANT_NOT_FOUND;
  return ok({ placement: { count: tenant.activeShards, history: tenant.shardHistory } });
}

/**
 * Takes the home's copy of the tenant on another shard, and brings the stored expiries of a
 * small shard up to date at once (a large one's, by the alarm), as a PUT does at the home.
 */
export function applyCopy(storage: DurableObjectStorage, copy: db.TenantCopy, shard: number): Result<{ taken: boolean; dropped: { webhookId: string; dropped: number }[] }> {
  db.migrate(storage);
  const { taken, timeoutsChanged, dropped } = db.writeCopy(storage.sql, copy, shard);
  if (timeoutsChanged) reevaluateSome(storage.sql, readTenantState(storage.sql)!);
  return ok({ taken, dropped });
}

/** A small store's stored expiries are brought up to date right away; a large one's, by the alarm. */
function reevaluateSome(sql: SqlStorage, tenant: Tenant): void {
  for (let done = 0, step = 1; step > 0 && done < REEVALUATE_ROWS_IN_REQUEST; done += step) step = db.reevaluateExpiries(sql, tenant.rules, PURGE_BATCH);
}

/**
 * Whether a new session of this user, placed by the front Worker under `count` shards, belongs
 * on this store. The home takes only the count every shard has heard of; another shard, any
 * count it has ever used (a front Worker may not have heard of a newer one yet).
 */
function checkPlacement(tenant: Tenant, userId: string, count: number): Result {
  const known = tenant.shard === 0 ? count === tenant.activeShards : tenant.shardHistory.some((era) => era.count === count);
  if (known && shardOf(userId, count) === tenant.shard) return ok({});
  return fail("placement_changed", "the tenant's shard count changed; ask its home again");
}

// Sessions: created and used

/**
 * A session created. `capElsewhere`: the per-user cap, when the user's other sessions may be on
 * other shards too (the tenant grew since some were created): the store then keeps the user
 * within it across those shards (coordinator.capAcrossStores); null when this store alone could.
 */
export type Created = Result<{ session: Session; sameSite: SameSite; capElsewhere: number | null }>;

export function createSession(store: Store, caller: StoreCaller, id: string, secretHash: ArrayBuffer, input: NewSessionInput, count: number, now: number): Created {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const { sql } = store;
  const { tenant } = allowed;
  const placed = checkPlacement(tenant, input.userId, count);
  if (!placed.ok) return placed;
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
  const cap = tenant.settings.maxSessionsPerUser;
  const capElsewhere = cap !== null && shardsOfUser(tenant.shardHistory, input.userId).length > 1 ? cap : null;
  return ok({ session: publicSession(tenant.name, record, tenant.rules), sameSite: tenant.settings.sameSite, capElsewhere });
}

/** Evicts these sessions, if still live (the per-user cap over several shards): one `evicted` event each. Returns how many. */
export function evictSessions({ sql, tenant }: Store, ids: readonly string[], now: number): Result<{ evicted: number }> {
  if (!tenant) return TENANT_NOT_FOUND;
  let evicted = 0;
  for (const id of ids) {
    const stored = db.readLiveSession(sql, live(tenant, now), id);
    if (!stored) continue;
    db.deleteSession(sql, stored.record.seq);
    db.insertEvent(sql, { type: "revoked", reason: "evicted", actor: SYSTEM, sessionId: id, userId: stored.record.userId }, now);
    evicted += 1;
  }
  return ok({ evicted });
}

/**
 * Keeps at most `maxSessionsPerUser` live sessions of a user by dropping the least recently
 * seen (by last recorded use: within one touch interval the order is approximate).
 */
export function evictBeyondCap(sql: SqlStorage, tenant: Tenant, userId: string, now: number): void {
  const cap = tenant.settings.maxSessionsPerUser;
  if (cap === null) return;
  const sessions = db.liveSessionsOfUserLeastRecentFirst(sql, live(tenant, now), userId);
  for (const record of sessions.slice(0, Math.max(0, sessions.length - cap))) {
    db.deleteSession(sql, record.seq);
    db.insertEvent(sql, { type: "revoked", reason: "evicted", actor: SYSTEM, sessionId: record.id, userId }, now);
  }
}

/** The live session this id and secret name, with its tenant. Read by public id, compared in constant time. */
function authenticate({ sql, tenant }: Store, id: string, secretHash: ArrayBuffer, now: number): Result<{ tenant: Tenant; record: SessionRecord }> {
  if (!tenant) return INVALID_TOKEN;
  const stored = db.readLiveSession(sql, live(tenant, now), id);
  if (!stored || !digestsEqual(stored.secretHash, secretHash)) return INVALID_TOKEN;
  return ok({ tenant, record: stored.record });
}

/** Authenticates and slides: writes only when a touch is due (src/core/session.ts says when). */
function use(store: Store, id: string, secretHash: ArrayBuffer, now: number): Result<{ tenant: Tenant; record: SessionRecord }> {
  const found = authenticate(store, id, secretHash, now);
  if (!found.ok || !touchIsDue(found.record, found.tenant.settings, now)) return found;
  const record = touched(found.record, found.tenant.settings, now);
  db.writeSessionTouch(store.sql, record);
  return ok({ tenant: found.tenant, record });
}

/** The tenant and live session of a self-service state change, once the origin is allowed. */
export function sessionForChange(store: Store, id: string, secretHash: ArrayBuffer, origin: string | null, now: number): Result<{ tenant: Tenant; record: SessionRecord }> {
  const found = authenticate(store, id, secretHash, now);
  if (!found.ok) return found;
  const allowed = checkOrigin(found.tenant, origin);
  return allowed.ok ? found : allowed;
}

export function validateSession(store: Store, id: string, secretHash: ArrayBuffer, now: number): Result<{ session: Session }> {
  const used = use(store, id, secretHash, now);
  return used.ok ? ok({ session: publicSession(used.tenant.name, used.record, used.tenant.rules) }) : used;
}

/** Swaps the secret: the old token fails from this commit on, the session id stays. */
export function rotateSession(store: Store, id: string, oldSecretHash: ArrayBuffer, newSecretHash: ArrayBuffer, origin: string | null, now: number): Issued {
  const found = sessionForChange(store, id, oldSecretHash, origin, now);
  if (!found.ok) return found;
  const { sql } = store;
  const { tenant, record } = found;
  const rotated = touched(record, tenant.settings, now);
  db.writeSessionSecret(sql, rotated, newSecretHash);
  db.insertSupersededSecret(sql, record, oldSecretHash, SUPERSEDED_PER_SESSION);
  db.insertEvent(sql, { type: "rotated", actor: "session", sessionId: id, userId: record.userId }, now);
  return ok({ session: publicSession(tenant.name, rotated, tenant.rules), sameSite: tenant.settings.sameSite });
}

/** The superseded secret of this session that `secretHash` is, if any. Read by public id, compared in constant time. */
function supersededSecret({ sql, tenant }: Store, id: string, secretHash: ArrayBuffer): db.SupersededSecret | null {
  if (!tenant) return null;
  return db.supersededSecrets(sql, id).find((superseded) => digestsEqual(superseded.secretHash, secretHash)) ?? null;
}

/** Whether a refused token was one that rotation replaced and whose use is not recorded yet. */
export function supersededUseUnrecorded(store: Store, id: string, secretHash: ArrayBuffer): boolean {
  return supersededSecret(store, id, secretHash)?.reported === false;
}

/**
 * Whether `secretHash` is one that rotation replaced on this session. The first use of each
 * such secret is recorded (`superseded_token_used`): an old token in use after a rotation is
 * what a stolen one looks like.
 */
export function supersededSecretUsed(store: Store, id: string, secretHash: ArrayBuffer, now: number): boolean {
  const match = supersededSecret(store, id, secretHash);
  if (!match) return false;
  if (!match.reported) {
    db.markSupersededReported(store.sql, match.seq);
    db.insertEvent(store.sql, { type: "superseded_token_used", actor: "session", sessionId: id, userId: match.userId }, now);
  }
  return true;
}

/**
 * Logout. Idempotent: a session already gone (or never issued) is success. Any token we signed
 * for this session ends it, even one that rotation has since replaced (a signed token naming
 * the session was only ever issued to a holder of it): logging out can only reduce access, so
 * a thief's rotations, however many, cannot outlive the victim's logout. Using a replaced
 * token is recorded (`superseded_token_used`).
 */
export function logout(store: Store, id: string, secretHash: ArrayBuffer, origin: string | null, now: number): Result {
  const { sql, tenant } = store;
  if (!tenant) return ok({});
  const stored = db.readLiveSession(sql, live(tenant, now), id);
  if (!stored) return endRestorable(store, id, origin, now);
  const allowed = checkOrigin(tenant, origin);
  if (!allowed.ok) return allowed;
  const userId = stored.record.userId;
  if (!digestsEqual(stored.secretHash, secretHash) && !supersededSecretUsed(store, id, secretHash, now)) {
    // Replaced so many rotations ago that its digest is no longer kept: still ours, still recorded.
    db.insertEvent(sql, { type: "superseded_token_used", actor: "session", sessionId: id, userId }, now);
  }
  db.deleteSession(sql, stored.record.seq);
  db.insertEvent(sql, { type: "revoked", reason: "logout", actor: "session", sessionId: id, userId }, now);
  return ok({});
}

/** Logout of a killed session that undo could still bring back: it stays ended for good. */
function endRestorable({ sql, tenant }: Store, id: string, origin: string | null, now: number): Result {
  const allowed = checkOrigin(tenant!, origin);
  if (!allowed.ok) return allowed;
  const userId = db.deleteRestorable(sql, live(tenant!, now), id);
  if (userId !== null) db.insertEvent(sql, { type: "revoked", reason: "logout", actor: "session", sessionId: id, userId }, now);
  return ok({});
}

// JWTs for other services

/**
 * A session validated and slid for a JWT (minting is a use of the session, and a state change
 * a browser may ask for: origin-checked like rotation), with how long a JWT of `audience` may
 * live. An audience the tenant does not list, or a tenant that issues none, is a 400.
 */
export function sessionForJwt(store: Store, id: string, secretHash: ArrayBuffer, audience: string, origin: string | null, now: number): Result<{ session: Session; ttlSeconds: number }> {
  if (!store.tenant) return INVALID_TOKEN;
  const allowed = checkOrigin(store.tenant, origin);
  if (!allowed.ok) return allowed;
  const used = use(store, id, secretHash, now);
  if (!used.ok) return used;
  const jwt = used.tenant.settings.jwt;
  if (!jwt) return fail("bad_request", "this tenant issues no JWTs (its jwt setting is null)", "audience");
  if (!jwt.audiences.includes(audience)) return fail("bad_request", "audience must be one of the tenant's jwt.audiences", "audience");
  return ok({ session: publicSession(used.tenant.name, used.record, used.tenant.rules), ttlSeconds: jwt.ttlSeconds });
}

// Live sockets

/** Opening a live socket is a use of the session: origin-checked, authenticated, slid. */
export function openLive(store: Store, id: string, secretHash: ArrayBuffer, origin: string | null, now: number): Result<{ session: Session }> {
  if (!store.tenant) return INVALID_TOKEN;
  const allowed = checkOrigin(store.tenant, origin);
  return allowed.ok ? validateSession(store, id, secretHash, now) : allowed;
}

/** When the session this id and secret name stops working, or null if it already has. */
export function liveUntil(store: Store, id: string, secretHash: ArrayBuffer, now: number): number | null {
  const found = authenticate(store, id, secretHash, now);
  return found.ok ? expiresAt(found.record, found.tenant.rules) : null;
}

// Sessions: seen and killed by operators

/**
 * One store's part of a listing, with the shard history (which stores hold the rest) and when
 * the tenant was made (a cursor is good for this tenant only, not a later one of its name).
 */
export interface Listed<Item> {
  rows: Row<Item>[];
  history: ShardHistory;
  tenantCreatedAt: number;
}

export function listSessions(
  store: Store,
  caller: StoreCaller,
  options: { userId?: string | undefined; userPrefix?: string | undefined; before?: db.Position | undefined; limit: number },
  now: number,
): Result<Listed<Session>> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const { tenant } = allowed;
  const rows = db.listLiveSessions(store.sql, live(tenant, now), options);
  return ok({ rows: rows.map((r) => ({ time: r.createdAt, seq: r.seq, item: publicSession(tenant.name, r, tenant.rules) })), history: tenant.shardHistory, tenantCreatedAt: tenant.createdAt });
}

export function getSession(store: Store, caller: StoreCaller, id: string, now: number): Result<{ session: Session }> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const { tenant } = allowed;
  const stored = db.readLiveSession(store.sql, live(tenant, now), id);
  return stored ? ok({ session: publicSession(tenant.name, stored.record, tenant.rules) }) : SESSION_NOT_FOUND;
}

/**
 * The user's live sessions, newest first, the presenting one marked. Slides it like validate.
 * Also says which user, and the shard history: the user's other shards hold the rest.
 */
export function listSiblings(store: Store, id: string, secretHash: ArrayBuffer, now: number): Result<{ sessions: SiblingSession[]; userId: string; history: ShardHistory }> {
  const used = use(store, id, secretHash, now);
  if (!used.ok) return used;
  const { tenant, record: current } = used;
  const records = db.listLiveSessions(store.sql, live(tenant, now), { userId: current.userId, limit: MAX_SIBLINGS });
  // The session asking is always shown, even when it is older than the newest MAX_SIBLINGS.
  if (!records.some((r) => r.seq === current.seq)) records.splice(MAX_SIBLINGS - 1, records.length, current);
  const sessions = records.map((r) => ({ ...publicSession(tenant.name, r, tenant.rules), current: r.seq === current.seq }));
  return ok({ sessions, userId: current.userId, history: tenant.shardHistory });
}

export function listEvents(store: Store, caller: StoreCaller, options: { before?: db.Position | undefined; limit: number }, now: number): Result<Listed<AuditEvent>> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const rows = db.listEvents(store.sql, options).map((row) => ({ time: row.at, seq: row.seq, item: toAuditEvent(row) }));
  return ok({ rows, history: allowed.tenant.shardHistory, tenantCreatedAt: allowed.tenant.createdAt });
}

/** Audit events of operators' actions on the tenant, as against changes of sessions. */
export const OPERATOR_EVENT_TYPES: ReadonlySet<string> = new Set(["tenant_created", "settings_changed", "key_created", "key_revoked", "webhook_created", "webhook_deleted"]);

/** The log line's name of an audit event: `operator.key_created`, `session.revoked`. */
export function logEventName(type: string): string {
  return `${OPERATOR_EVENT_TYPES.has(type) ? "operator" : "session"}.${type}`;
}

export function toAuditEvent(row: db.EventRow): AuditEvent {
  const event: AuditEvent = { at: new Date(row.at).toISOString(), type: row.type as AuditEvent["type"], actor: row.actor };
  if (row.reason !== null) event.reason = row.reason;
  if (row.session_id !== null) event.sessionId = row.session_id;
  if (row.user_id !== null) event.userId = row.user_id;
  if (row.count !== null) event.count = row.count;
  if (row.kill_id !== null) event.killId = row.kill_id;
  if (row.webhook_id !== null) event.webhookId = row.webhook_id;
  if (row.key_id !== null) event.keyId = row.key_id;
  if (row.fields !== null) event.fields = JSON.parse(row.fields) as string[];
  return event;
}

// Purge, run by the alarm

/**
 * One bounded step of cleanup: the re-evaluation of stored expiries after a change of
 * timeouts, then kills whose undo window passed (settled), then rows under a settled floor,
 * then expired sessions (with an `expired` event each, unless a kill had ended them), then
 * superseded secrets past their session's life, then old events, kill records and the records
 * of kills coordinated here.
 * Returns the rows it handled; 0 means done. Idempotent: running it again, or after a
 * failed run, finds only what is left.
 */
export function purgeStep({ sql, tenant }: Store, now: number): number {
  if (!tenant) return 0;
  // Stored expiries first: the purge goes by them, so they must follow the current rule.
  const reevaluated = tenant.reevaluating ? db.reevaluateExpiries(sql, tenant.rules, PURGE_BATCH) : 0;
  if (reevaluated > 0) return reevaluated;
  // A step that settles kills moves the settled floors: the next step reads them afresh.
  const settled = db.settleKills(sql, now, UNDO_SETTLE_GRACE_MS, PURGE_BATCH);
  if (settled > 0) return settled;
  // Killed rows before expired ones, and without events: the kill's own event is their end.
  const belowTenant = db.deleteBelowTenantFloor(sql, tenant.settledFloor, PURGE_BATCH);
  if (belowTenant > 0) return belowTenant;
  const belowUser = tenant.userFloors ? db.deleteBelowUserFloors(sql, PURGE_BATCH) : 0;
  if (belowUser > 0) return belowUser;
  // An expired session that a kill had ended (undo could not bring it back alive) goes silently.
  const expired = db.deleteExpiredSessions(sql, now, PURGE_BATCH);
  const userFloor = (userId: string) => (tenant.userFloors ? db.userFloor(sql, userId) : 0);
  endExpired(sql, expired.filter((session) => session.seq >= tenant.floor && session.seq >= userFloor(session.userId)), now);
  if (expired.length > 0) return expired.length;
  const superseded = db.deleteExpiredSupersededSecrets(sql, now, PURGE_BATCH);
  if (superseded > 0) return superseded;
  const kills = db.deleteOldKills(sql, now - EVENT_RETENTION_MS, PURGE_BATCH);
  if (kills > 0) return kills;
  const changes = db.deleteOldChanges(sql, now - EVENT_RETENTION_MS, PURGE_BATCH);
  if (changes > 0) return changes;
  return db.deleteOldEvents(sql, now - EVENT_RETENTION_MS, MAX_EVENTS, PURGE_BATCH);
}

/** Records the end of sessions deleted because they expired: one `expired` event each. */
export function endExpired(sql: SqlStorage, sessions: db.PurgedSession[], now: number): void {
  for (const session of sessions) db.insertEvent(sql, { type: "expired", actor: SYSTEM, sessionId: session.id, userId: session.userId }, now);
}

/** When the purge should next run, or null when there is nothing it will ever have to do. */
export function nextPurgeAt({ sql, tenant }: Store, now: number): number | null {
  if (!tenant) return null;
  if (tenant.reevaluating || db.hasRevokedRows(sql, tenant.settledFloor)) return now;
  const oldestEvent = db.oldestEventAt(sql);
  const eventsDueAt = oldestEvent === null ? null : oldestEvent + EVENT_RETENTION_MS;
  const times = [db.earliestExpiry(sql), db.earliestSupersededExpiry(sql), db.nextKillToSettle(sql, UNDO_SETTLE_GRACE_MS), eventsDueAt].filter((at): at is number => at !== null);
  return times.length === 0 ? null : Math.max(now, Math.min(...times));
}
