// A session as stored and as shown, and the expiry and sliding rules. Pure: `now`
// (milliseconds) is an argument of each decision, so tests control time without sleeping.
// Expiry uses the tenant's current settings too, so tightening a timeout takes effect at once;
// the store's SQL applies the same rule when it picks live rows (LIVE in session-store-sql.ts).

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

/** Expiry instants of a new session; `ttlSeconds` may only shorten the absolute lifetime. */
export function newSessionExpiry(settings: TenantSettings, now: number, ttlSeconds?: number) {
  const absoluteSeconds = Math.min(ttlSeconds ?? settings.absoluteTimeoutSeconds, settings.absoluteTimeoutSeconds);
  return {
    idleExpiresAt: now + settings.idleTimeoutSeconds * MS_PER_SECOND,
    absoluteExpiresAt: now + absoluteSeconds * MS_PER_SECOND,
  };
}

function idleExpiry(record: SessionRecord, settings: TenantSettings): number {
  return Math.min(record.idleExpiresAt, record.lastSeenAt + settings.idleTimeoutSeconds * MS_PER_SECOND);
}

function absoluteExpiry(record: SessionRecord, settings: TenantSettings): number {
  return Math.min(record.absoluteExpiresAt, record.createdAt + settings.absoluteTimeoutSeconds * MS_PER_SECOND);
}

/** The instant the session stops working unless used again: min(idle expiry, absolute expiry). */
export function expiresAt(record: SessionRecord, settings: TenantSettings): number {
  return Math.min(idleExpiry(record, settings), absoluteExpiry(record, settings));
}

/**
 * Whether using the session now should write a new idle expiry. Only once a touch interval
 * has passed since the last write, so steady traffic is almost all reads.
 */
export function touchIsDue(record: SessionRecord, settings: TenantSettings, now: number): boolean {
  return now - record.lastSeenAt >= settings.touchIntervalSeconds * MS_PER_SECOND;
}

/** The record after a use at `now`: idle window restarted, absolute expiry untouched. */
export function touched(record: SessionRecord, settings: TenantSettings, now: number): SessionRecord {
  return { ...record, lastSeenAt: now, idleExpiresAt: now + settings.idleTimeoutSeconds * MS_PER_SECOND };
}

export function publicSession(tenant: string, record: SessionRecord, settings: TenantSettings): Session {
  return {
    id: record.id,
    tenant,
    userId: record.userId,
    createdAt: new Date(record.createdAt).toISOString(),
    lastSeenAt: new Date(record.lastSeenAt).toISOString(),
    expiresAt: new Date(expiresAt(record, settings)).toISOString(),
    absoluteExpiresAt: new Date(absoluteExpiry(record, settings)).toISOString(),
    ip: record.ip,
    userAgent: record.userAgent,
    data: JSON.parse(record.data) as SessionData,
  };
}
