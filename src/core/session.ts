// A session as stored and as shown, and the expiry and sliding rules. Pure: `now`
// (milliseconds) is an argument of each decision, so tests control time without sleeping.
// The expiry rule (docs/EXPIRY.md says it for users; idle half: `idleExpiry`, absolute half: `absoluteExpiry`)
// works from what the tenant keeps, with no write per session when settings change. The store's SQL
// applies the same rule when it picks live rows (LIVE in durable-objects/session-store/sessions-sql.ts).

import { MAX_TIMEOUT_SECONDS, type TenantSettings } from "./settings";
import type { Actor, IdpLink, Session, SessionData } from "@session-service/client";
import { acrShown, type Assurance } from "./assurance";

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
  /** When the user last proved who they are. */
  authTime: number;
  /** RFC 8176 methods, a JSON array; null: none told. */
  amr: string | null;
  /** The level reached; null: the tenant's lowest. */
  acr: string | null;
  /** An impersonation's actor, JSON `{ id, reason }`; null: the user themself. */
  actor: string | null;
  /** The identity provider's link, JSON `{ provider, sub, sid? }`; null: none. */
  idp: string | null;
  /** Device binding: the bound key's thumbprint (null: not bound), when it was bound, and last proved. */
  bindingThumbprint: string | null;
  boundAt: number | null;
  lastProofAt: number | null;
}

/** What the record knows of its authentication, parsed. */
export function assuranceOf(record: SessionRecord): Assurance {
  return {
    authTime: record.authTime,
    amr: record.amr === null ? [] : (JSON.parse(record.amr) as string[]),
    acr: record.acr,
    actor: record.actor === null ? null : (JSON.parse(record.actor) as Actor),
  };
}

/** Who acts in this session when it is an impersonation, for the events about it. */
export function impersonatorOf(record: SessionRecord): { impersonator?: string } {
  return record.actor === null ? {} : { impersonator: (JSON.parse(record.actor) as Actor).id };
}

/** An assurance as the record's columns keep it. */
export function assuranceColumns(assurance: Assurance): Pick<SessionRecord, "authTime" | "amr" | "acr" | "actor"> {
  return {
    authTime: assurance.authTime,
    amr: assurance.amr.length === 0 ? null : JSON.stringify(assurance.amr),
    acr: assurance.acr,
    actor: assurance.actor === null ? null : JSON.stringify(assurance.actor),
  };
}

export type { IssuedSession, Session, SessionData } from "@session-service/client";

const MS_PER_SECOND = 1000;

/**
 * Absolute timeouts of past periods: `[end, ms]`, the period that ended at `end` had `ms`. Kept
 * only where they still bind (below every later one and the current), so `ms` rises with `end`.
 */
export type AbsoluteHistory = readonly (readonly [end: number, ms: number])[];

/** What expiry depends on besides the session itself: the current timeouts, and what earlier ones left. */
export interface ExpiryRules {
  settings: TenantSettings;
  /** Sessions last seen at or before this instant ended under an earlier idle timeout. */
  idleLine: number;
  absoluteHistory: AbsoluteHistory;
}

/** "My other sessions" shows at most this many of a user's sessions, newest first. */
export const MAX_SIBLINGS = 1000;

/** Past periods kept at most: a bound on the SQL that applies them (two bindings each). */
export const MAX_ABSOLUTE_HISTORY = 16;
/** A period that ended longer ago than the longest timeout binds no live session. */
const LONGEST_TIMEOUT_MS = MAX_TIMEOUT_SECONDS * MS_PER_SECOND;

/**
 * The absolute history after the timeout changed from `oldMs` to `newMs` at `now`. Periods
 * that no longer bind are dropped: ended too long ago, or not below a later timeout. Beyond
 * MAX_ABSOLUTE_HISTORY, the two oldest merge into the stricter (a session may then end early,
 * never late).
 */
export function absoluteHistoryAfter(
  history: AbsoluteHistory,
  oldMs: number,
  newMs: number,
  now: number,
): AbsoluteHistory {
  const periods = [...history, [now, oldMs] as const].filter(([end]) => end > now - LONGEST_TIMEOUT_MS);
  const binding: (readonly [number, number])[] = [];
  let laterMin = newMs;
  for (let i = periods.length - 1; i >= 0; i--) {
    const [end, ms] = periods[i]!;
    if (ms < laterMin) {
      binding.unshift([end, ms]);
      laterMin = ms;
    }
  }
  while (binding.length > MAX_ABSOLUTE_HISTORY) {
    const [first, second] = [binding.shift()!, binding.shift()!];
    binding.unshift([second[0], first[1]]);
  }
  return binding;
}

/** The absolute timeout (ms) that binds a session created at `createdAt`: the least in force at any time since. */
export function absoluteLimitMs(createdAt: number, rules: ExpiryRules): number {
  for (const [end, ms] of rules.absoluteHistory) if (createdAt < end) return ms; // ms rises with end: the first is the least
  return rules.settings.absoluteTimeoutSeconds * MS_PER_SECOND;
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

/** What the idle expiry of a session that ended under an earlier idle timeout reads as: long past (the instant is not kept). */
const ENDED_EARLIER = 0;

/**
 * Idle: the session was last seen within the current idle timeout, and after the "idle line".
 * Each change of the idle timeout draws the line at `now - old timeout`: every session last
 * seen at or before it had ended by then. So an end is final, and a loosened idle timeout
 * applies at once to every session still alive.
 */
function idleExpiry(record: SessionRecord, rules: ExpiryRules): number {
  if (record.lastSeenAt <= rules.idleLine) return ENDED_EARLIER;
  return record.lastSeenAt + rules.settings.idleTimeoutSeconds * MS_PER_SECOND;
}

/**
 * Absolute: the session's own expiry (set at creation, from the timeout then or its
 * `ttlSeconds`) and `created + every absolute timeout in force at any time since it was
 * created`. The tenant keeps the timeouts of past periods (`absoluteHistory`); so a tightened
 * absolute timeout binds every session alive under it for good, and a loosened one applies
 * to sessions created after it.
 */
function absoluteExpiry(record: SessionRecord, rules: ExpiryRules): number {
  return Math.min(record.absoluteExpiresAt, record.createdAt + absoluteLimitMs(record.createdAt, rules));
}

/**
 * The instant the session stops working unless used again: min(idle expiry, absolute expiry).
 * For a session that ended under an earlier idle timeout, ENDED_EARLIER.
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
  return (
    now - record.lastSeenAt >= settings.touchIntervalSeconds * MS_PER_SECOND ||
    record.idleExpiresAt < record.lastSeenAt + idleMs
  );
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
    authTime: new Date(record.authTime).toISOString(),
    amr: record.amr === null ? [] : (JSON.parse(record.amr) as string[]),
    acr: acrShown(record.acr, rules.settings.acrValues),
    actor: record.actor === null ? null : (JSON.parse(record.actor) as Actor),
    idp: record.idp === null ? null : (JSON.parse(record.idp) as IdpLink),
    bound: record.bindingThumbprint !== null,
    boundAt: record.boundAt === null ? null : new Date(record.boundAt).toISOString(),
    lastProofAt: record.lastProofAt === null ? null : new Date(record.lastProofAt).toISOString(),
  };
}

/**
 * The sessions to evict to keep a user within `cap` over several stores: the least recently
 * seen beyond it (never `keepId`, the session just made).
 */
export function leastRecentBeyondCap<Entry extends { session: Session }>(
  entries: Entry[],
  cap: number,
  keepId: string | null,
): Entry[] {
  const all = [...entries].sort(
    (a, b) =>
      a.session.lastSeenAt.localeCompare(b.session.lastSeenAt) ||
      a.session.createdAt.localeCompare(b.session.createdAt),
  );
  return all.filter((entry) => entry.session.id !== keepId).slice(0, Math.max(0, all.length - cap));
}
