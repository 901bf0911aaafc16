// A session as stored and as shown, and the expiry and sliding rules. Pure: `now`
// (milliseconds) is an argument of each decision, so tests control time without sleeping.
// The store's SQL applies the same rule when it picks live rows (LIVE in session-store-sql.ts).
//
// The rule (docs/EXPIRY.md says it for users): a session lives while it was last seen within
// the tenant's current idle timeout, was created within its current absolute timeout and
// within its own absolute expiry (set at creation, never extended), and it did not end under
// earlier settings. That last part is two "lines" kept with the tenant: each change of a
// timeout draws `now - old timeout`, and every session last seen (or created) at or before a
// line had already ended when the line was drawn. So an end is final whatever settings come
// later, a loosened timeout applies at once to every session still alive, and a tightened one
// ends sessions at once: all from two numbers, with no per-session write at the change.

import type { TenantSettings } from "./settings";

/** One row of the sessions table, times in epoch milliseconds. */
export interface SessionRecord {
  /** Issue order within the tenant: only grows, never reused. Revocation floors compare it. */
  seq: number;
  id: string;
  userId: string;
  createdAt: number;
  lastSeenAt: number;
  idleExpiresAt: number;
  absoluteExpiresAt: number;
  ip: string | null;
  userAgent: string | null;
  /** The caller's JSON object, serialized. */
  data: string;
}

/**
 * A session's `data`: a JSON object (checked when stored). Typed one level deep on purpose:
 * a recursive JSON type sends RPC's type mapping (Stubify) into unbounded instantiation.
 */
export type SessionData = { [key: string]: string | number | boolean | null | object };

/** A session as the API shows it. Carries no secret: safe to list to admins. */
export interface Session {
  id: string;
  tenant: string;
  userId: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  absoluteExpiresAt: string;
  ip: string | null;
  userAgent: string | null;
  data: SessionData;
}

/** A session with the credential just issued for it: only create and rotate return this. */
export interface IssuedSession {
  session: Session;
  token: string;
  /** The `Set-Cookie` value a caller forwards to the browser. */
  setCookie: string;
}

const MS_PER_SECOND = 1000;

/** What expiry depends on besides the session itself: the current timeouts, and the lines earlier ones drew. */
export interface ExpiryRules {
  settings: TenantSettings;
  /** Sessions last seen at or before this instant ended under an earlier idle timeout. */
  idleLine: number;
  /** Sessions created at or before this instant ended under an earlier absolute timeout. */
  absoluteLine: number;
}

/** Revocation floors: sessions whose `seq` is below either were killed. */
export interface Floors {
  tenant: number;
  user: number;
}

/** Expiry instants of a new session; `ttlSeconds` may only shorten the absolute lifetime. */
export function newSessionExpiry(settings: TenantSettings, now: number, ttlSeconds?: number) {
  const absoluteSeconds = Math.min(ttlSeconds ?? settings.absoluteTimeoutSeconds, settings.absoluteTimeoutSeconds);
  return {
    idleExpiresAt: now + settings.idleTimeoutSeconds * MS_PER_SECOND,
    absoluteExpiresAt: now + absoluteSeconds * MS_PER_SECOND,
  };
}

/** What the expiries of a session that ended under earlier settings read as: long past (the instant is not kept). */
const ENDED_EARLIER = 0;

function idleExpiry(record: SessionRecord, rules: ExpiryRules): number {
  if (record.lastSeenAt <= rules.idleLine) return ENDED_EARLIER;
  return record.lastSeenAt + rules.settings.idleTimeoutSeconds * MS_PER_SECOND;
}

function absoluteExpiry(record: SessionRecord, rules: ExpiryRules): number {
  if (record.createdAt <= rules.absoluteLine) return ENDED_EARLIER;
  return Math.min(record.absoluteExpiresAt, record.createdAt + rules.settings.absoluteTimeoutSeconds * MS_PER_SECOND);
}

/**
 * The instant the session stops working unless used again: min(idle expiry, absolute expiry).
 * For a session that ended under earlier settings, ENDED_EARLIER.
 */
export function expiresAt(record: SessionRecord, rules: ExpiryRules): number {
  return Math.min(idleExpiry(record, rules), absoluteExpiry(record, rules));
}

/** The whole LIVE rule for one session: above both revocation floors, and not expired. */
export function isLive(record: SessionRecord, floors: Floors, rules: ExpiryRules, now: number): boolean {
  return record.seq >= floors.tenant && record.seq >= floors.user && expiresAt(record, rules) > now;
}

/**
 * Whether using the session now should write. Once a touch interval has passed since the last
 * write, so steady traffic is almost all reads; and at once when the stored idle expiry is
 * sooner than the current timeout gives (the timeout was raised since): the stored expiry is
 * what the purge goes by, so it must not lag behind the rule.
 */
export function touchIsDue(record: SessionRecord, settings: TenantSettings, now: number): boolean {
  const idleMs = settings.idleTimeoutSeconds * MS_PER_SECOND;
  return now - record.lastSeenAt >= settings.touchIntervalSeconds * MS_PER_SECOND || record.idleExpiresAt < record.lastSeenAt + idleMs;
}

/** The record after a use at `now`: idle window restarted, absolute expiry untouched. */
export function touched(record: SessionRecord, settings: TenantSettings, now: number): SessionRecord {
  return { ...record, lastSeenAt: now, idleExpiresAt: now + settings.idleTimeoutSeconds * MS_PER_SECOND };
}

export function publicSession(tenant: string, record: SessionRecord, rules: ExpiryRules): Session {
  return {
    id: record.id,
    tenant,
    userId: record.userId,
    createdAt: new Date(record.createdAt).toISOString(),
    lastSeenAt: new Date(record.lastSeenAt).toISOString(),
    expiresAt: new Date(expiresAt(record, rules)).toISOString(),
    absoluteExpiresAt: new Date(absoluteExpiry(record, rules)).toISOString(),
    ip: record.ip,
    userAgent: record.userAgent,
    data: JSON.parse(record.data) as SessionData,
  };
}
