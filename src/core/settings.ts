// Tenant settings: defaults, validation of a PUT patch, and the merge that PUT performs.
// Pure. A patch is checked field by field, then the merged whole is checked again
// (cross-field rules), so nothing is stored unless every field is in bounds.

import { fail, ok, type Result } from "./errors";
import { isJurisdiction, MAX_SHARDS } from "./placement";
import { DEFAULT_ACR_VALUES, isAcrValues, parseRequirementFields } from "./assurance";
import type { JwtSettings, SettingsPatch, StoredSettings, TenantSettings } from "@session-service/client";

/** Upper bound for both timeouts: 400 days, the longest a browser keeps a cookie. */
export const MAX_TIMEOUT_SECONDS = 34_560_000;
const DEFAULT_IDLE_TIMEOUT_SECONDS = 30 * 60;
const DEFAULT_ABSOLUTE_TIMEOUT_SECONDS = 7 * 24 * 60 * 60;
/** Without an explicit touch interval, sliding writes at most once per tenth of the idle window. */
const DEFAULT_TOUCH_FRACTION = 10;
const MAX_SESSIONS_PER_USER_LIMIT = 10_000;
const MAX_ALLOWED_ORIGINS = 50;
/** JWTs for other services: at most this many audiences, living 60 s to 15 minutes (5 by default). */
const MAX_JWT_AUDIENCES = 20;
const MIN_JWT_TTL_SECONDS = 60;
/** The longest a JWT lives: also how long a retired signing key stays published. */
export const MAX_JWT_TTL_SECONDS = 900;
const DEFAULT_JWT_TTL_SECONDS = 300;
/** An audience as a JWT's `aud` names it: a URI or a name, printable ASCII without spaces. */
const AUDIENCE_PATTERN = /^[\x21-\x7e]{1,256}$/;

export function isAudience(value: unknown): value is string {
  return typeof value === "string" && AUDIENCE_PATTERN.test(value);
}

/** How long a kill can be undone: 15 minutes unless the tenant says otherwise; at most a day. */
const DEFAULT_UNDO_WINDOW_SECONDS = 15 * 60;
const MAX_UNDO_WINDOW_SECONDS = 24 * 60 * 60;
/** An impersonation lives an hour unless the tenant says otherwise: a minute to a working day. */
const DEFAULT_IMPERSONATION_MAX_SECONDS = 3600;
const MIN_IMPERSONATION_SECONDS = 60;
const MAX_IMPERSONATION_SECONDS = 8 * 3600;
/** A bound cookie lives 10 minutes unless the tenant says otherwise (a minute to an hour); its grace, a minute. */
const BOUND_COOKIE_SECONDS = { min: 60, max: 3600, default: 600 };
const BINDING_GRACE_SECONDS = { min: 0, max: 3600, default: 60 };

export type {
  JwtSettings,
  SettingsPatch,
  StoredSettings,
  TenantActivity,
  TenantKeyView,
  TenantSettings,
  TenantView,
} from "@session-service/client";

export const DEFAULT_SETTINGS: StoredSettings = {
  idleTimeoutSeconds: DEFAULT_IDLE_TIMEOUT_SECONDS,
  absoluteTimeoutSeconds: DEFAULT_ABSOLUTE_TIMEOUT_SECONDS,
  touchIntervalSeconds: null,
  maxSessionsPerUser: null,
  allowedOrigins: [],
  sameSite: "Lax",
  undoWindowSeconds: DEFAULT_UNDO_WINDOW_SECONDS,
  shards: 1,
  jurisdiction: null,
  jwt: null,
};

export function resolveSettings(stored: StoredSettings): TenantSettings {
  return {
    ...stored,
    touchIntervalSeconds: touchInterval(stored) ?? Math.floor(stored.idleTimeoutSeconds / DEFAULT_TOUCH_FRACTION),
    undoWindowSeconds: stored.undoWindowSeconds ?? DEFAULT_UNDO_WINDOW_SECONDS,
    shards: stored.shards ?? 1,
    jurisdiction: stored.jurisdiction ?? null,
    jwt: stored.jwt ?? null,
    acrValues: stored.acrValues ?? [...DEFAULT_ACR_VALUES],
    impersonationMaxSeconds: stored.impersonationMaxSeconds ?? DEFAULT_IMPERSONATION_MAX_SECONDS,
    privilegedRequirement: stored.privilegedRequirement ?? null,
    deviceBinding: stored.deviceBinding ?? "off",
    boundCookieSeconds: stored.boundCookieSeconds ?? BOUND_COOKIE_SECONDS.default,
    bindingGraceSeconds: stored.bindingGraceSeconds ?? BINDING_GRACE_SECONDS.default,
    bindingViolation: stored.bindingViolation ?? "record",
  };
}

/**
 * The explicit touch interval, below the idle timeout. A tenant stored before that rule may
 * hold one equal to it, which never slid a session: it is read as one second less.
 */
function touchInterval(stored: StoredSettings): number | null {
  return stored.touchIntervalSeconds === null
    ? null
    : Math.min(stored.touchIntervalSeconds, stored.idleTimeoutSeconds - 1);
}

function isIntegerIn(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min && value <= max;
}

/** A host as an origin names it: DNS labels (punycode for the rest), an IPv4 or a bracketed IPv6 address. */
const ORIGIN_HOST =
  /^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*|\[[0-9a-f:.]+\])$/;

/**
 * `https://host[:port]` exactly as the browser sends it in `Origin`: no path, no trailing
 * slash, and no wildcard (`https://*.example.com` would be compared as text and never match,
 * so it is refused rather than silently useless).
 */
function isOrigin(value: unknown): value is string {
  if (typeof value !== "string" || value.length > 2048) return false;
  try {
    const url = new URL(value);
    return (
      (url.protocol === "https:" || url.protocol === "http:") && url.origin === value && ORIGIN_HOST.test(url.hostname)
    );
  } catch {
    return false;
  }
}

/** Checks the shape and bounds of each field of a PUT body. Unknown fields are refused by name. */
export function parseSettingsPatch(body: unknown): Result<{ patch: SettingsPatch }> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return fail("bad_request", "the body must be a JSON object of settings");
  }
  const input = body as Record<string, unknown>;
  const patch: SettingsPatch = {};
  for (const field of Object.keys(input)) {
    const value = input[field];
    switch (field) {
      case "idleTimeoutSeconds":
      case "absoluteTimeoutSeconds":
        if (!isIntegerIn(value, 1, MAX_TIMEOUT_SECONDS)) {
          return fail("bad_request", `${field} must be an integer from 1 to ${MAX_TIMEOUT_SECONDS}`, field);
        }
        patch[field] = value;
        break;
      case "touchIntervalSeconds":
        if (!isIntegerIn(value, 0, MAX_TIMEOUT_SECONDS)) {
          return fail("bad_request", "touchIntervalSeconds must be an integer from 0 to below the idle timeout", field);
        }
        patch.touchIntervalSeconds = value;
        break;
      case "maxSessionsPerUser":
        if (value !== null && !isIntegerIn(value, 1, MAX_SESSIONS_PER_USER_LIMIT)) {
          return fail(
            "bad_request",
            `maxSessionsPerUser must be null or an integer from 1 to ${MAX_SESSIONS_PER_USER_LIMIT}`,
            field,
          );
        }
        patch.maxSessionsPerUser = value;
        break;
      case "allowedOrigins":
        if (!Array.isArray(value) || value.length > MAX_ALLOWED_ORIGINS || !value.every(isOrigin)) {
          return fail(
            "bad_request",
            `allowedOrigins must be a list of at most ${MAX_ALLOWED_ORIGINS} origins like https://app.example.com`,
            field,
          );
        }
        patch.allowedOrigins = [...new Set(value)];
        break;
      case "undoWindowSeconds":
        if (!isIntegerIn(value, 0, MAX_UNDO_WINDOW_SECONDS)) {
          return fail(
            "bad_request",
            `undoWindowSeconds must be an integer from 0 (kills cannot be undone) to ${MAX_UNDO_WINDOW_SECONDS}`,
            field,
          );
        }
        patch.undoWindowSeconds = value;
        break;
      case "shards":
        if (!isIntegerIn(value, 1, MAX_SHARDS))
          return fail("bad_request", `shards must be an integer from 1 to ${MAX_SHARDS}`, field);
        patch.shards = value;
        break;
      case "jurisdiction":
        if (value !== null && !isJurisdiction(value))
          return fail("bad_request", 'jurisdiction must be "eu", "fedramp" or null', field);
        patch.jurisdiction = value;
        break;
      case "jwt": {
        const jwt = parseJwtSettings(value);
        if (!jwt.ok) return jwt;
        patch.jwt = jwt.jwt;
        break;
      }
      case "acrValues":
        if (!isAcrValues(value)) {
          return fail(
            "bad_request",
            "acrValues must be 1 to 10 distinct levels, lowest first, each of printable characters without spaces, quotes or backslashes",
            field,
          );
        }
        patch.acrValues = value;
        break;
      case "impersonationMaxSeconds":
        if (!isIntegerIn(value, MIN_IMPERSONATION_SECONDS, MAX_IMPERSONATION_SECONDS)) {
          return fail(
            "bad_request",
            `impersonationMaxSeconds must be an integer from ${MIN_IMPERSONATION_SECONDS} to ${MAX_IMPERSONATION_SECONDS}`,
            field,
          );
        }
        patch.impersonationMaxSeconds = value;
        break;
      case "privilegedRequirement": {
        const shape =
          "privilegedRequirement must be null or { maxAuthAgeSeconds?, minAcr?, amr? } with at least one of them";
        if (value === null) {
          patch.privilegedRequirement = null;
          break;
        }
        if (typeof value !== "object" || Array.isArray(value)) return fail("bad_request", shape, field);
        const parsed = parseRequirementFields(value as Record<string, unknown>);
        if (!parsed.ok) return fail("bad_request", parsed.error.message, `${field}.${parsed.error.field}`);
        if (Object.keys(parsed.requirement).length === 0) return fail("bad_request", shape, field);
        patch.privilegedRequirement = parsed.requirement;
        break;
      }
      case "deviceBinding":
        if (value !== "off" && value !== "offer")
          return fail("bad_request", 'deviceBinding must be "off" or "offer"', field);
        patch.deviceBinding = value;
        break;
      case "bindingViolation":
        if (value !== "record" && value !== "kill")
          return fail("bad_request", 'bindingViolation must be "record" or "kill"', field);
        patch.bindingViolation = value;
        break;
      case "boundCookieSeconds":
      case "bindingGraceSeconds": {
        const bounds = field === "boundCookieSeconds" ? BOUND_COOKIE_SECONDS : BINDING_GRACE_SECONDS;
        if (!isIntegerIn(value, bounds.min, bounds.max))
          return fail("bad_request", `${field} must be an integer from ${bounds.min} to ${bounds.max}`, field);
        patch[field] = value;
        break;
      }
      case "sameSite":
        if (value !== "Lax" && value !== "Strict") return fail("bad_request", "sameSite must be Lax or Strict", field);
        patch.sameSite = value;
        break;
      default:
        return fail("bad_request", `unknown setting ${JSON.stringify(field.slice(0, 64))}`, field.slice(0, 64));
    }
  }
  return ok({ patch });
}

/** `jwt`: null, or `{ audiences: [1 to 20 distinct audiences], ttlSeconds?: 60 to 900 }`. */
function parseJwtSettings(value: unknown): Result<{ jwt: JwtSettings | null }> {
  if (value === null) return ok({ jwt: null });
  const shape = `jwt must be null or { "audiences": [1 to ${MAX_JWT_AUDIENCES} audiences], "ttlSeconds": ${MIN_JWT_TTL_SECONDS} to ${MAX_JWT_TTL_SECONDS} }`;
  if (typeof value !== "object" || Array.isArray(value)) return fail("bad_request", shape, "jwt");
  const { audiences, ttlSeconds = DEFAULT_JWT_TTL_SECONDS, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return fail("bad_request", shape, "jwt");
  if (!Array.isArray(audiences) || audiences.length < 1 || audiences.length > MAX_JWT_AUDIENCES)
    return fail("bad_request", shape, "jwt.audiences");
  if (!audiences.every(isAudience) || new Set(audiences).size !== audiences.length) {
    return fail(
      "bad_request",
      "each audience must be 1 to 256 printable characters without spaces, and listed once",
      "jwt.audiences",
    );
  }
  if (!isIntegerIn(ttlSeconds, MIN_JWT_TTL_SECONDS, MAX_JWT_TTL_SECONDS))
    return fail("bad_request", shape, "jwt.ttlSeconds");
  return ok({ jwt: { audiences: audiences as string[], ttlSeconds } });
}

/**
 * Applies a checked patch and enforces the rules between fields, and those between the
 * current settings and the patch (`existing`: the tenant exists, so its placement is set).
 */
export function mergeSettings(
  current: StoredSettings,
  patch: SettingsPatch,
  existing: boolean,
): Result<{ settings: StoredSettings }> {
  const settings: StoredSettings = { ...current, touchIntervalSeconds: touchInterval(current), ...patch };
  if (existing && patch.jurisdiction !== undefined && patch.jurisdiction !== (current.jurisdiction ?? null)) {
    return fail("jurisdiction_immutable", "a tenant's jurisdiction is fixed when it is created", "jurisdiction");
  }
  if (patch.shards !== undefined && patch.shards < (current.shards ?? 1)) {
    return fail("shards_cannot_shrink", `shards can grow, never shrink (it is ${current.shards ?? 1})`, "shards");
  }
  if (settings.absoluteTimeoutSeconds < settings.idleTimeoutSeconds) {
    const field = "absoluteTimeoutSeconds" in patch ? "absoluteTimeoutSeconds" : "idleTimeoutSeconds";
    return fail("bad_request", "absoluteTimeoutSeconds must not be below idleTimeoutSeconds", field);
  }
  // The privileged level must be one of the tenant's levels, as they are after this change.
  const privilegedAcr = settings.privilegedRequirement?.minAcr;
  if (privilegedAcr !== undefined && !(settings.acrValues ?? DEFAULT_ACR_VALUES).includes(privilegedAcr)) {
    const field = "acrValues" in patch ? "acrValues" : "privilegedRequirement.minAcr";
    return fail("bad_request", "privilegedRequirement.minAcr must be one of the tenant's acrValues", field);
  }
  // A touch interval as long as the idle timeout would slide a session only once it had expired.
  if (settings.touchIntervalSeconds !== null && settings.touchIntervalSeconds >= settings.idleTimeoutSeconds) {
    const field = "touchIntervalSeconds" in patch ? "touchIntervalSeconds" : "idleTimeoutSeconds";
    return fail("bad_request", "touchIntervalSeconds must be below idleTimeoutSeconds", field);
  }
  return ok({ settings });
}
