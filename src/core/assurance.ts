// Session assurance: how and when the user proved who they are (authTime, amr, acr), what a
// validation may require of it, a step-up that only ever raises it, and the RFC 9470 challenge
// a shortfall answers. Pure: `now` (ms) is an argument; the tenant's levels come with it.

import { type Failure, fail, ok, type Result } from "./errors";
import type {
  Actor,
  AssuranceRequirement,
  ElevateRequest,
  PrivilegedRequirement,
  ValidateOptions,
} from "@session-service/client";

export type { Actor, AssuranceRequirement, ElevateRequest, ValidateOptions } from "@session-service/client";
// The challenge is written by the client package's code, so a consumer answers as the service does.
export { stepUpChallenge } from "@session-service/client";

/** A tenant's levels when it names none: NIST SP 800-63B's authenticator assurance levels, lowest first. */
export const DEFAULT_ACR_VALUES: readonly string[] = ["aal1", "aal2", "aal3"];
/** RFC 8176's grammar for method values, as the contract bounds it. */
const AMR_PATTERN = /^[a-z0-9_-]{1,32}$/;
const MAX_AMR = 10;
/** A level is written inside a quoted header parameter: printable ASCII but the quote and the backslash. */
const ACR_PATTERN = /^[\x21\x23-\x5b\x5d-\x7e]{1,128}$/;
const MAX_ACR_VALUES = 10;
/** A back end's clock may run a little ahead of ours: an authTime this far in the future is read as now. */
export const CLOCK_SKEW_MS = 30_000;
const MAX_ACTOR_ID_CHARS = 256;
const MAX_ACTOR_REASON_CHARS = 512;
const PRINTABLE = /^[^\p{Cc}\p{Cf}\p{Zl}\p{Zp}]+$/u;

/** What a session knows of its authentication, as stored: times in ms. */
export interface Assurance {
  authTime: number;
  amr: string[];
  /** One of the tenant's levels, or null: the lowest (whatever the tenant's list becomes). */
  acr: string | null;
  actor: Actor | null;
}

export function isAcrValue(value: unknown): value is string {
  return typeof value === "string" && ACR_PATTERN.test(value);
}

/** `acrValues`: 1 to 10 distinct levels, lowest first. */
export function isAcrValues(value: unknown): value is string[] {
  return (
    Array.isArray(value) &&
    value.length >= 1 &&
    value.length <= MAX_ACR_VALUES &&
    value.every(isAcrValue) &&
    new Set(value).size === value.length
  );
}

/** A list of 1 to 10 RFC 8176 method values, each once. */
function parseAmr(value: unknown, field: string): Result<{ amr: string[] }> {
  if (
    !Array.isArray(value) ||
    value.length < 1 ||
    value.length > MAX_AMR ||
    !value.every((method) => typeof method === "string" && AMR_PATTERN.test(method))
  ) {
    return fail(
      "bad_request",
      `${field} must be a list of 1 to ${MAX_AMR} values like "pwd" or "otp" (RFC 8176)`,
      field,
    );
  }
  return ok({ amr: [...new Set(value as string[])] });
}

/** Seconds since the epoch, as a whole number, not in the future (beyond clock skew): as ms, at most now. */
function parseAuthTime(value: unknown, now: number, field: string): Result<{ authTime: number }> {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value * 1000 > now + CLOCK_SKEW_MS) {
    return fail("bad_request", `${field} must be whole seconds since the epoch, not in the future`, field);
  }
  return ok({ authTime: Math.min(value * 1000, now) });
}

function parseActor(value: unknown): Result<{ actor: Actor }> {
  const shape = `actor must be { "id": 1 to ${MAX_ACTOR_ID_CHARS} characters, "reason": 1 to ${MAX_ACTOR_REASON_CHARS} characters }`;
  if (typeof value !== "object" || value === null || Array.isArray(value)) return fail("bad_request", shape, "actor");
  const { id, reason, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return fail("bad_request", shape, "actor");
  if (typeof id !== "string" || id.length > MAX_ACTOR_ID_CHARS || !PRINTABLE.test(id))
    return fail("bad_request", shape, "actor.id");
  if (typeof reason !== "string" || reason.length > MAX_ACTOR_REASON_CHARS || !PRINTABLE.test(reason))
    return fail("bad_request", shape, "actor.reason");
  return ok({ actor: { id, reason } });
}

/** What a new session is told of its authentication, before the tenant's rules are applied (`assuranceOfNew`). */
export interface AssuranceInput {
  authTime?: number;
  amr?: string[];
  acr?: string;
  actor?: Actor;
}

/** The shape of the assurance fields of a create body (any may be absent). */
export function parseAssuranceInput(body: Record<string, unknown>): Result<{ assurance: AssuranceInput }> {
  const assurance: AssuranceInput = {};
  if (body.authTime !== undefined) {
    if (typeof body.authTime !== "number" || !Number.isSafeInteger(body.authTime) || body.authTime < 0)
      return fail("bad_request", "authTime must be whole seconds since the epoch", "authTime");
    assurance.authTime = body.authTime;
  }
  if (body.amr !== undefined) {
    const amr = parseAmr(body.amr, "amr");
    if (!amr.ok) return amr;
    assurance.amr = amr.amr;
  }
  if (body.acr !== undefined) {
    if (!isAcrValue(body.acr)) return fail("bad_request", "acr must be one of the tenant's acrValues", "acr");
    assurance.acr = body.acr;
  }
  if (body.actor !== undefined) {
    const actor = parseActor(body.actor);
    if (!actor.ok) return actor;
    // Whoever acts for the user proved nothing of the user: an impersonation claims no authentication.
    const claimed = (["authTime", "amr", "acr"] as const).find((field) => assurance[field] !== undefined);
    if (claimed !== undefined)
      return fail(
        "bad_request",
        `an impersonation (actor) carries no ${claimed}: it proves nothing of the user`,
        claimed,
      );
    assurance.actor = actor.actor;
  }
  return ok({ assurance });
}

/** A new session's assurance under the tenant's levels: authTime not before `notBefore` (now less the absolute timeout). */
export function assuranceOfNew(
  input: AssuranceInput,
  acrValues: readonly string[],
  notBefore: number,
  now: number,
): Result<{ assurance: Assurance }> {
  let authTime = now;
  if (input.authTime !== undefined) {
    const parsed = parseAuthTime(input.authTime, now, "authTime");
    if (!parsed.ok) return parsed;
    if (parsed.authTime < notBefore)
      return fail("bad_request", "authTime must not be before now less the tenant's absolute timeout", "authTime");
    authTime = parsed.authTime;
  }
  if (input.acr !== undefined && !acrValues.includes(input.acr)) return unlistedAcr(acrValues);
  return ok({
    assurance: { authTime, amr: input.amr ?? [], acr: input.acr ?? null, actor: input.actor ?? null },
  });
}

/** A level the tenant does not list: the caller's error, whichever door it came by. */
function unlistedAcr(acrValues: readonly string[]) {
  return fail("bad_request", `acr must be one of the tenant's acrValues: ${acrValues.join(", ")}`, "acr");
}

/** A level's rank among the tenant's; a level the tenant no longer lists ranks below all. */
function rankOf(acr: string | null, acrValues: readonly string[]): number {
  return acr === null ? 0 : acrValues.indexOf(acr);
}

/** The level a session shows: its own, or the tenant's lowest. */
export function acrShown(acr: string | null, acrValues: readonly string[]): string {
  return acr ?? acrValues[0]!;
}

/** The shape of an elevation (HTTP body beside the token, or RPC argument). */
export function parseElevateRequest(value: unknown): Result<{ request: ElevateRequest }> {
  if (value === undefined) return ok({ request: {} });
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return fail("bad_request", "the elevation must be an object: { acr?, amr?, authTime? }");
  const { acr, amr, authTime, ...rest } = value as Record<string, unknown>;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined)
    return fail("bad_request", `unknown field ${JSON.stringify(unknown.slice(0, 64))}`, unknown.slice(0, 64));
  const parsed = parseAssuranceInput({ acr, amr, authTime });
  if (!parsed.ok) return parsed;
  const { actor: _none, ...request } = parsed.assurance;
  return ok({ request });
}

/**
 * The session after a step-up: authTime the one given (default now), methods added, the level
 * the one given. Never lower: an earlier authTime or a lower level is `cannot_lower_assurance`.
 * An impersonation is never raised: whoever acts for the user cannot prove to be them.
 */
export function elevated(
  current: Assurance,
  request: ElevateRequest,
  acrValues: readonly string[],
  now: number,
): Result<{ assurance: Assurance }> {
  if (current.actor !== null)
    return fail("impersonation_cannot_elevate", "an impersonation cannot be elevated: only the user can step up");
  let authTime = now;
  if (request.authTime !== undefined) {
    const parsed = parseAuthTime(request.authTime, now, "authTime");
    if (!parsed.ok) return parsed;
    // Whole seconds: the session's own authTime, in ms, may lie within the second given.
    if (parsed.authTime < Math.floor(current.authTime / 1000) * 1000)
      return fail("cannot_lower_assurance", "authTime must not be before the session's own", "authTime");
    authTime = parsed.authTime;
  }
  const acr = request.acr ?? current.acr;
  if (request.acr !== undefined) {
    if (!acrValues.includes(request.acr)) return unlistedAcr(acrValues);
    if (rankOf(request.acr, acrValues) < rankOf(current.acr, acrValues))
      return fail("cannot_lower_assurance", "acr must not be below the session's own", "acr");
  }
  const amr = [...new Set([...current.amr, ...(request.amr ?? [])])].slice(-MAX_AMR);
  return ok({ assurance: { authTime: Math.max(authTime, current.authTime), amr, acr, actor: null } });
}

/** The shape of a validation's requirement (RPC options; HTTP's query is read into it). */
export function parseRequirement(value: unknown): Result<{ requirement: ValidateOptions | null }> {
  if (value === undefined || value === null) return ok({ requirement: null });
  if (typeof value !== "object" || Array.isArray(value))
    return fail("bad_request", "the requirement must be an object: { maxAuthAgeSeconds?, minAcr?, amr? }");
  const { privileged, ...rest } = value as Record<string, unknown>;
  if (privileged !== undefined && typeof privileged !== "boolean")
    return fail("bad_request", "privileged must be true or false", "privileged");
  const parsed = parseRequirementFields(rest);
  if (!parsed.ok) return parsed;
  const requirement: ValidateOptions = { ...parsed.requirement, ...(privileged === true && { privileged: true }) };
  return ok({ requirement: Object.keys(requirement).length > 0 ? requirement : null });
}

/** `{ maxAuthAgeSeconds?, minAcr?, amr? }`, each checked; nothing else. */
export function parseRequirementFields(value: Record<string, unknown>): Result<{ requirement: ValidateOptions }> {
  const { maxAuthAgeSeconds, minAcr, amr, ...rest } = value;
  const unknown = Object.keys(rest)[0];
  if (unknown !== undefined)
    return fail("bad_request", `unknown requirement ${JSON.stringify(unknown.slice(0, 64))}`, unknown.slice(0, 64));
  const requirement: ValidateOptions = {};
  if (maxAuthAgeSeconds !== undefined) {
    if (typeof maxAuthAgeSeconds !== "number" || !Number.isSafeInteger(maxAuthAgeSeconds) || maxAuthAgeSeconds < 0)
      return fail("bad_request", "maxAuthAgeSeconds must be a whole number of seconds", "maxAuthAgeSeconds");
    requirement.maxAuthAgeSeconds = maxAuthAgeSeconds;
  }
  if (minAcr !== undefined) {
    if (!isAcrValue(minAcr)) return fail("bad_request", "minAcr must be one of the tenant's acrValues", "minAcr");
    requirement.minAcr = minAcr;
  }
  if (amr !== undefined) {
    const parsed = parseAmr(amr, "amr");
    if (!parsed.ok) return parsed;
    requirement.amr = parsed.amr;
  }
  return ok({ requirement });
}

/**
 * What a validation requires once `privileged` is read as the tenant's own requirement: the
 * stricter of the two on each point (the shorter age, the higher level, every method of both).
 */
export function resolvedRequirement(
  asked: ValidateOptions,
  privileged: PrivilegedRequirement | null,
  acrValues: readonly string[],
): Result<{ requirement: ValidateOptions }> {
  const { privileged: wanted, ...own } = asked;
  if (own.minAcr !== undefined && !acrValues.includes(own.minAcr)) return unlistedAcr(acrValues);
  if (!wanted) return ok({ requirement: own });
  if (privileged === null)
    return fail("bad_request", "this tenant sets no privilegedRequirement to ask for", "privileged");
  const ages = [own.maxAuthAgeSeconds, privileged.maxAuthAgeSeconds].filter((age) => age !== undefined);
  const levels = [own.minAcr, privileged.minAcr].filter((level) => level !== undefined);
  const methods = [...new Set([...(own.amr ?? []), ...(privileged.amr ?? [])])];
  return ok({
    requirement: {
      ...(ages.length > 0 && { maxAuthAgeSeconds: Math.min(...ages) }),
      ...(levels.length > 0 && { minAcr: levels.sort((a, b) => rankOf(b, acrValues) - rankOf(a, acrValues))[0]! }),
      ...(methods.length > 0 && { amr: methods }),
    },
  });
}

const QUERY_NAME: Record<string, string> = { maxAuthAgeSeconds: "maxAuthAge", minAcr: "acr" };

/**
 * A requirement over HTTP: `?maxAuthAge=SECONDS&acr=LEVEL&amr=otp,hwk&privileged=true`, each optional. Other
 * parameters are left alone, as they always were on this route (a cache-buster, say).
 */
export function requirementOfQuery(query: Record<string, string>): Result<{ requirement: ValidateOptions | null }> {
  const value: Record<string, unknown> = {};
  if (query.maxAuthAge !== undefined)
    value.maxAuthAgeSeconds = /^\d{1,15}$/.test(query.maxAuthAge) ? Number(query.maxAuthAge) : Number.NaN;
  if (query.acr !== undefined) value.minAcr = query.acr;
  if (query.amr !== undefined) value.amr = query.amr.split(",");
  if (query.privileged !== undefined)
    value.privileged = query.privileged === "true" ? true : query.privileged === "false" ? false : query.privileged;
  const parsed = parseRequirement(value);
  if (parsed.ok || parsed.error.field === undefined) return parsed;
  // Named as the query names them.
  const field = QUERY_NAME[parsed.error.field] ?? parsed.error.field;
  return fail("bad_request", parsed.error.message.replace(parsed.error.field, field), field);
}

/**
 * What the session lacks of `requirement`, or null when it meets it. Authentication before
 * `reauthFloor` (an operator's "prove it again") meets no requirement: the floor asks for an
 * authentication after it. A level the tenant does not list is the caller's error.
 */
export function shortfall(
  assurance: Assurance,
  requirement: ValidateOptions,
  acrValues: readonly string[],
  reauthFloor: number,
  now: number,
): Result<{ required: AssuranceRequirement | null }> {
  if (requirement.minAcr !== undefined && !acrValues.includes(requirement.minAcr)) return unlistedAcr(acrValues);
  if (assurance.actor !== null) return IMPERSONATION_MEETS_NO_REQUIREMENT;
  const required: AssuranceRequirement = {};
  const ageMs = now - assurance.authTime;
  if (requirement.maxAuthAgeSeconds !== undefined && ageMs > requirement.maxAuthAgeSeconds * 1000)
    required.maxAuthAgeSeconds = requirement.maxAuthAgeSeconds;
  if (assurance.authTime < reauthFloor) {
    // Never negative: the floor's moment was chosen by another object, whose clock may run ahead.
    const sinceFloorSeconds = Math.max(0, Math.floor((now - reauthFloor) / 1000));
    required.maxAuthAgeSeconds = Math.min(required.maxAuthAgeSeconds ?? sinceFloorSeconds, sinceFloorSeconds);
  }
  if (requirement.minAcr !== undefined && rankOf(assurance.acr, acrValues) < rankOf(requirement.minAcr, acrValues))
    required.acr = requirement.minAcr;
  const missing = requirement.amr?.filter((method) => !assurance.amr.includes(method)) ?? [];
  if (missing.length > 0) required.amr = missing;
  return ok({ required: Object.keys(required).length > 0 ? required : null });
}

/** An impersonation cannot step up (elevate refuses it), so no requirement can be met by one. */
const IMPERSONATION_MEETS_NO_REQUIREMENT = fail(
  "impersonation_cannot_elevate",
  "an impersonation meets no step-up requirement: only the user can prove who they are",
);

/** Whether a session's authentication may be vouched for (in a JWT): the user's own, and since any floor. */
export function isAssured(assurance: Assurance, reauthFloor: number): boolean {
  return assurance.actor === null && assurance.authTime >= reauthFloor;
}

/** The failure of a live session that falls short: what it lacks, in words and as `required`. */
export function stepUpRequired(required: AssuranceRequirement): Failure {
  const wanted = [
    required.maxAuthAgeSeconds !== undefined && `an authentication within the last ${required.maxAuthAgeSeconds} s`,
    required.acr !== undefined && `assurance level ${required.acr}`,
    required.amr !== undefined && `the methods ${required.amr.join(", ")}`,
  ].filter(Boolean);
  const message = `the user must authenticate again: this needs ${wanted.join("; ")}`;
  return { ok: false, error: { code: "step_up_required", message, required } };
}
