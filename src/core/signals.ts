// What an identity provider's signed signal says, once its signature, issuer and audience are
// verified (jose, in the store): the checks each standard adds, and what the service does.
// Back-channel logout (OpenID Connect Back-Channel Logout 1.0, section 2.6), Security Event
// Tokens (RFC 8417, Shared Signals 1.0, CAEP 1.0, RISC 1.0) and Global Token Revocation.

import type { JWTHeaderParameters, JWTPayload } from "jose";
import type { Result } from "./errors";

export const BACKCHANNEL_LOGOUT_EVENT = "http://schemas.openid.net/event/backchannel-logout";
const CAEP = "https://schemas.openid.net/secevent/caep/event-type/";
const RISC = "https://schemas.openid.net/secevent/risc/event-type/";
const SSF = "https://schemas.openid.net/secevent/ssf/event-type/";

/** What reached one of the receivers, as the front Worker read it. */
export type Signal =
  | { kind: "backchannel-logout"; token: string }
  | { kind: "security-event"; token: string; authorization: string | null }
  /** A Security Event Token a poll of the transmitter brought (its authenticity is the signature alone). */
  | { kind: "polled-event"; token: string }
  | { kind: "global-token-revocation"; token: string | null; body: unknown; endpoint: string };

/** Why a signal was refused: recorded in the audit log (never the token), and answered in each receiver's terms. */
export type Refusal =
  | "unknown_provider"
  | "malformed"
  | "bad_signature"
  | "unknown_key"
  | "keys_unavailable"
  | "invalid_issuer"
  | "invalid_audience"
  | "invalid_claims"
  | "invalid_subject"
  | "replayed"
  | "unauthorized";

export interface Refused {
  refused: Refusal;
  description: string;
}

/**
 * Accepted (`signal` names it) or refused, both answers of a service that did its part; a
 * failure is the service's own (a store unreachable: the provider should send it again).
 */
export type SignalOutcome = Result<{ signal: string } | Refused>;

/** RFC 8935, section 2.4 (and RFC 8936's `setErrs`): what each refusal is called. */
export const SET_ERRORS: Record<Refusal, string> = {
  unknown_provider: "invalid_request",
  malformed: "invalid_request",
  bad_signature: "invalid_key",
  unknown_key: "invalid_key",
  keys_unavailable: "invalid_key",
  invalid_issuer: "invalid_issuer",
  invalid_audience: "invalid_audience",
  invalid_claims: "invalid_request",
  invalid_subject: "invalid_request",
  replayed: "invalid_request",
  unauthorized: "authentication_failed",
};

/** A logout token or a revocation request is fresh for this long after its `iat`. */
export const LOGOUT_TOKEN_MAX_AGE_SECONDS = 300;
/** A Security Event Token may wait at its transmitter (retries, a poll) this long. */
export const SET_MAX_AGE_SECONDS = 86_400;
/** A revocation request's `exp` may be at most this far ahead (the Global Token Revocation draft). */
export const REVOCATION_MAX_LIFETIME_SECONDS = 300;
/** Clocks differ: an `iat` this far in the future is still taken. */
export const CLOCK_SKEW_SECONDS = 60;

/** Why a verified token is refused, in the words the receivers answer with. */
export interface ClaimsRefusal {
  refused: string;
}

/**
 * Whose sessions a signal names: the provider's subject, its session, or both (sessions of that
 * session and subject). `either`: an opaque id that may be a subject or a session (CAEP writes
 * a session-revoked event's session as an opaque subject).
 */
export interface Subject {
  sub: string | null;
  sid: string | null;
  either?: true;
}

/**
 * What the service does: end the sessions linked to the subject (or session) at this
 * provider, end every session of the linked users, make them prove it again, or only record it.
 */
export type Action = "end-linked" | "end-users" | "reauth-users" | "record";

export interface Accepted {
  jti: string;
  /** Until when the jti is remembered: a replay before then is recognized. */
  keepUntilSeconds: number;
  /** For the audit log: `backchannel_logout`, `caep.session-revoked`, ... */
  name: string;
  subject: Subject | null;
  action: Action;
}

function isString(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= 255;
}

function freshIat(payload: JWTPayload, maxAgeSeconds: number, nowSeconds: number): ClaimsRefusal | null {
  const { iat } = payload;
  if (typeof iat !== "number") return { refused: "iat is required" };
  if (iat > nowSeconds + CLOCK_SKEW_SECONDS) return { refused: "iat is in the future" };
  if (iat < nowSeconds - maxAgeSeconds) return { refused: `iat is more than ${maxAgeSeconds} seconds old` };
  return null;
}

/**
 * A logout token, section 2.6 after the signature, `iss`, `aud` and `exp`: `iat` recent, `typ`
 * (when present) a logout token's, the logout event, `sub` and/or `sid`, no `nonce` (an ID token
 * is not a logout token), a `jti`. A generic `typ: JWT` is taken (some providers send it); any
 * other explicit type is another kind of token and refused.
 */
export function logoutTokenClaims(
  header: JWTHeaderParameters,
  payload: JWTPayload,
  nowSeconds: number,
): Accepted | ClaimsRefusal {
  const typ = header.typ?.toLowerCase();
  if (typ !== undefined && !["logout+jwt", "application/logout+jwt", "jwt"].includes(typ))
    return { refused: `typ ${JSON.stringify(header.typ)} is not a logout token's` };
  const stale = freshIat(payload, LOGOUT_TOKEN_MAX_AGE_SECONDS, nowSeconds);
  if (stale) return stale;
  const events = payload.events as Record<string, unknown> | undefined;
  const event = typeof events === "object" && events !== null ? events[BACKCHANNEL_LOGOUT_EVENT] : undefined;
  if (typeof event !== "object" || event === null || Array.isArray(event))
    return { refused: `events must hold ${BACKCHANNEL_LOGOUT_EVENT} with an object` };
  if ("nonce" in payload) return { refused: "a logout token must not carry a nonce" };
  if (!isString(payload.jti)) return { refused: "jti is required" };
  const sub = payload.sub === undefined ? null : payload.sub;
  const sid = payload.sid === undefined ? null : payload.sid;
  if ((sub !== null && !isString(sub)) || (sid !== null && !isString(sid)))
    return { refused: "sub and sid must be strings" };
  if (sub === null && sid === null) return { refused: "sub or sid is required" };
  const keepUntil = Math.max(payload.iat! + LOGOUT_TOKEN_MAX_AGE_SECONDS, payload.exp ?? 0) + CLOCK_SKEW_SECONDS;
  return {
    jti: payload.jti,
    keepUntilSeconds: keepUntil,
    name: "backchannel_logout",
    subject: { sub, sid },
    // A session id ends those sessions; a subject alone, every session of that user from this provider.
    action: "end-linked",
  };
}

/**
 * A Security Event Token (RFC 8417 and Shared Signals 1.0) after the signature, `iss` and `aud`:
 * explicitly typed, recent, a `jti`, and exactly one event, read for what it asks.
 */
export function securityEventClaims(
  header: JWTHeaderParameters,
  payload: JWTPayload,
  issuer: string,
  nowSeconds: number,
): Accepted | ClaimsRefusal {
  const typ = header.typ?.toLowerCase();
  if (typ !== "secevent+jwt" && typ !== "application/secevent+jwt") return { refused: "typ must be secevent+jwt" };
  const stale = freshIat(payload, SET_MAX_AGE_SECONDS, nowSeconds);
  if (stale) return stale;
  if (!isString(payload.jti)) return { refused: "jti is required" };
  const events = payload.events;
  if (typeof events !== "object" || events === null || Array.isArray(events))
    return { refused: "events must be an object" };
  const types = Object.keys(events);
  if (types.length !== 1) return { refused: "a Security Event Token must carry exactly one event" };
  const type = types[0]!;
  const event = (events as Record<string, unknown>)[type];
  if (typeof event !== "object" || event === null || Array.isArray(event))
    return { refused: "the event must be an object" };
  const body = event as Record<string, unknown>;
  // SSF puts the subject in `sub_id`; older transmitters put it in the event.
  const named =
    subjectOf(payload.sub_id, issuer) ??
    subjectOf(body.subject, issuer) ??
    (isString(payload.sid) ? { sub: null, sid: payload.sid } : null);
  const action = named === null ? "record" : actionOf(type, body);
  // An opaque id may be a provider session only where a session is what the event ends.
  const subject = named === null || action === "end-linked" ? named : userOnly(named);
  return {
    jti: payload.jti,
    keepUntilSeconds: payload.iat! + SET_MAX_AGE_SECONDS + CLOCK_SKEW_SECONDS,
    name: eventName(type),
    subject,
    action,
  };
}

function eventName(type: string): string {
  for (const [prefix, name] of [
    [CAEP, "caep"],
    [RISC, "risc"],
    [SSF, "ssf"],
  ] as const) {
    if (type.startsWith(prefix)) return `${name}.${type.slice(prefix.length)}`;
  }
  return type.slice(0, 200);
}

const ENDS_THE_USER = new Set([
  `${CAEP}credential-change`,
  `${RISC}account-disabled`,
  `${RISC}account-purged`,
  `${RISC}sessions-revoked`,
  `${RISC}credential-compromise`,
]);

function actionOf(type: string, event: Record<string, unknown>): Action {
  if (type === `${CAEP}session-revoked`) return "end-linked";
  if (ENDS_THE_USER.has(type)) return "end-users";
  // A lowered level: the sessions no longer meet what they met. A raised one changes nothing here.
  if (type === `${CAEP}assurance-level-change`)
    return event.change_direction === "increase" ? "record" : "reauth-users";
  return "record";
}

/**
 * The subject of a Subject Identifier (RFC 9493): `iss_sub` of this issuer, `opaque` (the
 * provider's user or session), or `complex` with a `user` and a `session` (its `opaque` id is
 * the provider's session id). Any other format names nobody the service can find.
 */
export function subjectOf(value: unknown, issuer: string): Subject | null {
  if (typeof value !== "object" || value === null) return null;
  const id = value as Record<string, unknown>;
  if (id.format === "iss_sub") return id.iss === issuer && isString(id.sub) ? { sub: id.sub, sid: null } : null;
  if (id.format === "opaque") return isString(id.id) ? { sub: id.id, sid: id.id, either: true } : null;
  if (id.format === "complex") {
    // A user this service cannot read (another issuer's, an email) makes the whole subject unreadable:
    // its session alone must not stand for it.
    const user = id.user === undefined ? null : subjectOf(id.user, issuer);
    if (id.user !== undefined && user === null) return null;
    const session = id.session as Record<string, unknown> | undefined;
    const sid = session?.format === "opaque" && isString(session.id) ? session.id : null;
    if (sid === null) return user === null ? null : userOnly(user);
    return { sub: user?.sub ?? null, sid };
  }
  return null;
}

/** An opaque id read as the provider's subject only: for what ends a user, never one that may be a session's. */
function userOnly(subject: Subject): Subject {
  return subject.either ? { sub: subject.sub, sid: null } : subject;
}

/**
 * A Global Token Revocation request's bearer JWT after its signature, `iss`, and an `aud` naming
 * this endpoint's URL: a `jti` (remembered until it expires), an `exp` at most
 * REVOCATION_MAX_LIFETIME_SECONDS ahead, and nothing of an ID token (`nonce`, `at_hash`,
 * `c_hash`): a user's own token must never be taken for the provider's request.
 */
export function revocationRequestClaims(
  payload: JWTPayload,
  nowSeconds: number,
): { jti: string; keepUntilSeconds: number } | ClaimsRefusal {
  if (typeof payload.exp !== "number") return { refused: "exp is required" };
  if (payload.exp > nowSeconds + REVOCATION_MAX_LIFETIME_SECONDS + CLOCK_SKEW_SECONDS)
    return { refused: `exp must be at most ${REVOCATION_MAX_LIFETIME_SECONDS} seconds ahead` };
  if (!isString(payload.jti)) return { refused: "jti is required" };
  if ("nonce" in payload || "at_hash" in payload || "c_hash" in payload)
    return { refused: "an ID token is not a revocation request" };
  return { jti: payload.jti, keepUntilSeconds: payload.exp + CLOCK_SKEW_SECONDS };
}

/** The user a Global Token Revocation body names: `sub_id` of format `iss_sub` (this issuer) or `opaque`. */
export function revocationSubject(body: unknown, issuer: string): Subject | ClaimsRefusal {
  const subId = typeof body === "object" && body !== null ? (body as { sub_id?: unknown }).sub_id : undefined;
  if (typeof subId !== "object" || subId === null)
    return { refused: 'the body must be { "sub_id": { "format": ... } }' };
  const format = (subId as { format?: unknown }).format;
  if (format !== "iss_sub" && format !== "opaque")
    return { refused: `sub_id format ${JSON.stringify(format)} is not supported: use iss_sub or opaque` };
  const subject = subjectOf(subId, issuer);
  return subject === null ? { refused: "sub_id must name a subject of this provider's issuer" } : userOnly(subject);
}
