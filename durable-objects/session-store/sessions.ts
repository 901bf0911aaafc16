// Sessions: created, validated and slid, rotated, logged out, listed; the per-user cap. Each
// runs in one transaction with its audit event. The secrets rotation replaced: superseded.ts.

import { shardOf, shardsOfUser } from "../../src/core/placement";
import { assuranceOfNew, type ValidateOptions } from "../../src/core/assurance";
import {
  assuranceColumns,
  expiresAt,
  impersonatorOf,
  newSessionExpiry,
  publicSession,
  type Session,
  type SessionRecord,
  touched,
  touchIsDue,
} from "../../src/core/session";
import { actorOf, type StoreCaller } from "../../src/core/auth";
import type { SameSite } from "@session-service/client";
import { digestsEqual } from "../../src/core/crypto";
import { fail, INVALID_TOKEN, ok, type Result, TENANT_NOT_FOUND } from "../../src/core/errors";
import type { NewSessionInput } from "../../src/core/session-input";
import { assured, meetsRequirement, tenantRequirement } from "./assurance";
import { insertEvent } from "./audit-sql";
import { linkSession } from "./identity-providers";
import { type BindingCheck, bindingRefusal } from "./binding-check";
import { issueChallenge } from "./binding-sql";
import { deleteRestorable } from "./kills-sql";
import {
  deleteSession,
  insertSession,
  liveSessionsOfUserLeastRecentFirst,
  type PurgedSession,
  readLiveSession,
  writeSessionSecret,
  writeSessionTouch,
} from "./sessions-sql";
import { insertSupersededSecret } from "./superseded-sql";
import { supersededSecretUsed } from "./superseded";
import { authorized, checkOrigin, live, type Store, SYSTEM, type Tenant } from "./tenant";

/** A session just issued or rotated, with what the front Worker needs for its cookie. */
export type Issued = Result<{ session: Session; sameSite: SameSite }>;

/** Superseded secrets remembered per session, for the audit log: enough for any honest race, bounded for a busy rotator. */
export const SUPERSEDED_PER_SESSION = 16;

/**
 * Whether a new session of this user, placed by the front Worker under `count` shards, belongs
 * on this store. The home takes only the count every shard has heard of; another shard, any
 * count it has ever used (a front Worker may not have heard of a newer one yet).
 */
function checkPlacement(tenant: Tenant, userId: string, count: number): Result {
  const known =
    tenant.shard === 0 ? count === tenant.activeShards : tenant.shardHistory.some((era) => era.count === count);
  if (known && shardOf(userId, count) === tenant.shard) return ok({});
  return fail("placement_changed", "the tenant's shard count changed; ask its home again");
}

/**
 * A session created. `capElsewhere`: the per-user cap, when the user's other sessions may be on
 * other shards too (the tenant grew since some were created): the store then keeps the user
 * within it across those shards (coordinator.capAcrossStores); null when this store alone could.
 * `challenge`: device binding's first challenge, for the registration header (null: not offered).
 */
export type Created = Result<{
  session: Session;
  sameSite: SameSite;
  capElsewhere: number | null;
  challenge: string | null;
}>;

export function createSession(
  store: Store,
  caller: StoreCaller,
  id: string,
  secretHash: ArrayBuffer,
  input: NewSessionInput,
  count: number,
  now: number,
): Created {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const { sql } = store;
  const { tenant } = allowed;
  const placed = checkPlacement(tenant, input.userId, count);
  if (!placed.ok) return placed;
  if (input.ttlSeconds !== undefined && input.ttlSeconds > tenant.settings.absoluteTimeoutSeconds) {
    return fail(
      "bad_request",
      `ttlSeconds must not exceed the tenant's absolute timeout (${tenant.settings.absoluteTimeoutSeconds})`,
      "ttlSeconds",
    );
  }
  const { settings } = tenant;
  const told = assuranceOfNew(input.assurance, settings.acrValues, now - settings.absoluteTimeoutSeconds * 1000, now);
  if (!told.ok) return told;
  const { assurance } = told;
  const expiry = newSessionExpiry(settings, now, input.ttlSeconds);
  // An impersonation never outlives the tenant's limit, however it is used.
  if (assurance.actor !== null)
    expiry.absoluteExpiresAt = Math.min(expiry.absoluteExpiresAt, now + settings.impersonationMaxSeconds * 1000);
  // At the home, the link a provider's signal finds the session by is made in this transaction
  // (another shard had the home make it first: linkAtHome).
  if (input.idp !== undefined && tenant.shard === 0) {
    const linked = linkSession(store, input.idp, input.userId, expiry.absoluteExpiresAt);
    if (!linked.ok) return linked;
  }
  const fields = {
    id,
    userId: input.userId,
    createdAt: now,
    lastSeenAt: now,
    ...expiry,
    ip: input.ip,
    userAgent: input.userAgent,
    data: input.data,
    ...assuranceColumns(assurance),
    idp: input.idp === undefined ? null : JSON.stringify(input.idp),
    bindingThumbprint: null,
    boundAt: null,
    lastProofAt: null,
  };
  const record: SessionRecord = { seq: insertSession(sql, fields, secretHash), ...fields };
  insertEvent(
    sql,
    { type: "created", actor: actorOf(caller), sessionId: id, userId: input.userId, ...impersonatorOf(record) },
    now,
  );
  evictBeyondCap(sql, tenant, input.userId, now);
  const cap = tenant.settings.maxSessionsPerUser;
  const capElsewhere = cap !== null && shardsOfUser(tenant.shardHistory, input.userId).length > 1 ? cap : null;
  const challenge = tenant.settings.deviceBinding === "offer" ? issueChallenge(sql, id, now) : null;
  return ok({
    session: publicSession(tenant.name, record, tenant.rules),
    sameSite: tenant.settings.sameSite,
    capElsewhere,
    challenge,
  });
}

/** Evicts these sessions, if still live (the per-user cap over several shards): one `evicted` event each. Returns how many. */
export function evictSessions(
  { sql, tenant }: Store,
  ids: readonly string[],
  now: number,
): Result<{ evicted: number }> {
  if (!tenant) return TENANT_NOT_FOUND;
  let evicted = 0;
  for (const id of ids) {
    const stored = readLiveSession(sql, live(tenant, now), id);
    if (!stored) continue;
    deleteSession(sql, stored.record.seq);
    insertEvent(
      sql,
      { type: "revoked", reason: "evicted", actor: SYSTEM, sessionId: id, userId: stored.record.userId },
      now,
    );
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
  const sessions = liveSessionsOfUserLeastRecentFirst(sql, live(tenant, now), userId);
  for (const record of sessions.slice(0, Math.max(0, sessions.length - cap))) {
    deleteSession(sql, record.seq);
    insertEvent(sql, { type: "revoked", reason: "evicted", actor: SYSTEM, sessionId: record.id, userId }, now);
  }
}

/**
 * The live session this id and secret name, with its tenant. Read by public id, compared in
 * constant time; a bound session, only with its bound cookie (src/core/binding.ts).
 */
function authenticate(
  { sql, tenant }: Store,
  id: string,
  secretHash: ArrayBuffer,
  now: number,
  binding: BindingCheck,
): Result<{ tenant: Tenant; record: SessionRecord }> {
  if (!tenant) return INVALID_TOKEN;
  const stored = readLiveSession(sql, live(tenant, now), id);
  if (!stored || !digestsEqual(stored.secretHash, secretHash)) return INVALID_TOKEN;
  return bindingRefusal(stored.record, binding, now) ?? ok({ tenant, record: stored.record });
}

/** Authenticates and slides: writes only when a touch is due (src/core/session.ts says when). */
export function useSession(
  store: Store,
  id: string,
  secretHash: ArrayBuffer,
  now: number,
  binding: BindingCheck,
): Result<{ tenant: Tenant; record: SessionRecord }> {
  const found = authenticate(store, id, secretHash, now, binding);
  if (!found.ok || !touchIsDue(found.record, found.tenant.settings, now)) return found;
  const record = touched(found.record, found.tenant.settings, now);
  writeSessionTouch(store.sql, record);
  return ok({ tenant: found.tenant, record });
}

/** The tenant and live session of a self-service state change, once the origin is allowed. */
export function sessionForChange(
  store: Store,
  id: string,
  secretHash: ArrayBuffer,
  origin: string | null,
  now: number,
  binding: BindingCheck,
): Result<{ tenant: Tenant; record: SessionRecord }> {
  const found = authenticate(store, id, secretHash, now, binding);
  if (!found.ok) return found;
  const allowed = checkOrigin(found.tenant, origin);
  return allowed.ok ? found : allowed;
}

/**
 * Validates and slides; with a requirement, a live session that falls short is `step_up_required`.
 * `boundThumbprint`: what the request's bound cookie (checked by the front Worker) names.
 */
export function validateSession(
  store: Store,
  id: string,
  secretHash: ArrayBuffer,
  requirement: ValidateOptions | null,
  now: number,
  boundThumbprint: string | null = null,
): Result<{ session: Session }> {
  // A requirement the tenant cannot read is a 400 before anything is used (and slid).
  const asked = requirement === null || !store.tenant ? null : tenantRequirement(store.tenant, requirement);
  if (asked && !asked.ok) return asked;
  const used = useSession(store, id, secretHash, now, { thumbprint: boundThumbprint });
  if (!used.ok) return used;
  if (asked) {
    const met = meetsRequirement(store, used.tenant, used.record, asked.requirement, now);
    if (!met.ok) return met;
  }
  return ok({ session: publicSession(used.tenant.name, used.record, used.tenant.rules) });
}

/** Swaps the secret: the old token fails from this commit on, the session id stays. */
export function rotateSession(
  store: Store,
  id: string,
  oldSecretHash: ArrayBuffer,
  newSecretHash: ArrayBuffer,
  origin: string | null,
  now: number,
  boundThumbprint: string | null = null,
): Issued {
  const found = sessionForChange(store, id, oldSecretHash, origin, now, { thumbprint: boundThumbprint });
  if (!found.ok) return found;
  const { sql } = store;
  const { tenant, record } = found;
  const rotated = touched(record, tenant.settings, now);
  writeSessionSecret(sql, rotated, newSecretHash);
  insertSupersededSecret(sql, record, oldSecretHash, SUPERSEDED_PER_SESSION);
  insertEvent(
    sql,
    { type: "rotated", actor: "session", sessionId: id, userId: record.userId, ...impersonatorOf(record) },
    now,
  );
  return ok({ session: publicSession(tenant.name, rotated, tenant.rules), sameSite: tenant.settings.sameSite });
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
  const stored = readLiveSession(sql, live(tenant, now), id);
  if (!stored) return endRestorable(store, id, origin, now);
  const allowed = checkOrigin(tenant, origin);
  if (!allowed.ok) return allowed;
  const userId = stored.record.userId;
  if (!digestsEqual(stored.secretHash, secretHash) && !supersededSecretUsed(store, id, secretHash, now)) {
    // Replaced so many rotations ago that its digest is no longer kept: still ours, still recorded.
    insertEvent(sql, { type: "superseded_token_used", actor: "session", sessionId: id, userId }, now);
  }
  deleteSession(sql, stored.record.seq);
  const impersonator = impersonatorOf(stored.record);
  insertEvent(
    sql,
    { type: "revoked", reason: "logout", actor: "session", sessionId: id, userId, ...impersonator },
    now,
  );
  return ok({});
}

/** Logout of a killed session that undo could still bring back: it stays ended for good. */
function endRestorable({ sql, tenant }: Store, id: string, origin: string | null, now: number): Result {
  const allowed = checkOrigin(tenant!, origin);
  if (!allowed.ok) return allowed;
  const userId = deleteRestorable(sql, live(tenant!, now), id);
  if (userId !== null)
    insertEvent(sql, { type: "revoked", reason: "logout", actor: "session", sessionId: id, userId }, now);
  return ok({});
}

/**
 * A session validated and slid for a JWT (minting is a use of the session, and a state change
 * a browser may ask for: origin-checked like rotation), with how long a JWT of `audience` may
 * live. An audience the tenant does not list, or a tenant that issues none, is a 400.
 */
export function sessionForJwt(
  store: Store,
  id: string,
  secretHash: ArrayBuffer,
  audience: string,
  origin: string | null,
  now: number,
  boundThumbprint: string | null = null,
): Result<{ session: Session; ttlSeconds: number; assured: boolean }> {
  if (!store.tenant) return INVALID_TOKEN;
  const allowed = checkOrigin(store.tenant, origin);
  if (!allowed.ok) return allowed;
  const used = useSession(store, id, secretHash, now, { thumbprint: boundThumbprint });
  if (!used.ok) return used;
  const jwt = used.tenant.settings.jwt;
  if (!jwt) return fail("bad_request", "this tenant issues no JWTs (its jwt setting is null)", "audience");
  if (!jwt.audiences.includes(audience))
    return fail("bad_request", "audience must be one of the tenant's jwt.audiences", "audience");
  return ok({
    session: publicSession(used.tenant.name, used.record, used.tenant.rules),
    ttlSeconds: jwt.ttlSeconds,
    assured: assured(store, used.tenant, used.record),
  });
}

/** Opening a live socket is a use of the session: origin-checked, authenticated, slid. */
export function openLive(
  store: Store,
  id: string,
  secretHash: ArrayBuffer,
  origin: string | null,
  now: number,
  boundThumbprint: string | null,
): Result<{ session: Session }> {
  if (!store.tenant) return INVALID_TOKEN;
  const allowed = checkOrigin(store.tenant, origin);
  return allowed.ok ? validateSession(store, id, secretHash, null, now, boundThumbprint) : allowed;
}

/** When the session this id and secret name stops working, or null if it already has. */
export function liveUntil(store: Store, id: string, secretHash: ArrayBuffer, now: number): number | null {
  // The socket was opened with its bound cookie, if bound: how long it lives is the session's alone.
  const found = authenticate(store, id, secretHash, now, "exempt");
  return found.ok ? expiresAt(found.record, found.tenant.rules) : null;
}

/** Records the end of sessions deleted because they expired: one `expired` event each. */
export function endExpired(sql: SqlStorage, sessions: PurgedSession[], now: number): void {
  for (const session of sessions)
    insertEvent(sql, { type: "expired", actor: SYSTEM, sessionId: session.id, userId: session.userId }, now);
}
