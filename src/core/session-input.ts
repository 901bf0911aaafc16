// Validation of what a caller may store in a new session. Pure, shared by HTTP and RPC:
// RPC values arrive as structured clones, so nothing here assumes the input came from JSON.

import { fail, ok, type Result } from "./errors";
import { CONTROL_CHARACTERS, DECEPTIVE_CHARACTERS } from "./identifiers";
import { type AssuranceInput, parseAssuranceInput } from "./assurance";
import { type IdpLink, parseIdpLink } from "./identity-providers";

const MAX_USER_ID_CHARS = 256;
/** The caller's data is at most 4 KiB once serialized. */
export const MAX_DATA_BYTES = 4096;
const MAX_DATA_DEPTH = 32;
const MAX_USER_AGENT_CHARS = 512;
const MIN_TTL_SECONDS = 60;
const MAX_TTL_SECONDS = 34_560_000;
const LONE_SURROGATE = /\p{Cs}/u;
const IPV4 = /^(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const IPV6_CHARACTERS = /^(?=.*:)[0-9A-Fa-f:.]{2,45}$/;

export interface NewSessionInput {
  userId: string;
  /** Serialized JSON object. */
  data: string;
  ttlSeconds?: number;
  ip: string | null;
  userAgent: string | null;
  /** How the user authenticated, as told: the store checks it against the tenant's levels. */
  assurance: AssuranceInput;
  /** The identity provider that authenticated the user: the home checks it is registered. */
  idp?: IdpLink;
}

export type { CreateSessionRequest } from "@session-service/client";

const FIELDS = new Set([
  "userId",
  "data",
  "ttlSeconds",
  "ip",
  "userAgent",
  "authTime",
  "amr",
  "acr",
  "actor",
  "idp",
  "bindingPath",
]);
/** A path of the app's site: what a structured-field string may hold unescaped, no quotes or backslashes. */
const BINDING_PATH_PATTERN = /^\/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]{0,255}$/;

export function isUserId(value: unknown): value is string {
  return (
    typeof value === "string" &&
    value.length >= 1 &&
    value.length <= MAX_USER_ID_CHARS &&
    !CONTROL_CHARACTERS.test(value) &&
    !DECEPTIVE_CHARACTERS.test(value) &&
    !LONE_SURROGATE.test(value)
  );
}

/** An IPv6 address as RFC 4291 writes it (compressed, or with an IPv4 tail); the URL parser is the strict judge. */
function isIpv6(value: string): boolean {
  if (!IPV6_CHARACTERS.test(value)) return false;
  try {
    return new URL(`http://[${value}]/`).hostname.length > 2;
  } catch {
    return false;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** JSON values only: no functions, stubs, dates, maps, NaN or Infinity; bounded depth. */
function isPlainJson(value: unknown, depth: number): boolean {
  if (depth > MAX_DATA_DEPTH) return false;
  if (value === null || typeof value === "boolean") return true;
  if (typeof value === "string") return !LONE_SURROGATE.test(value);
  if (typeof value === "number") return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => isPlainJson(item, depth + 1));
  if (isPlainObject(value)) return Object.values(value).every((item) => isPlainJson(item, depth + 1));
  return false;
}

/**
 * A new session as asked, and `bindingPath`: where the app answers device binding's
 * registration (its registration header names it), or null for the service's own path.
 */
export function parseCreateSessionInput(body: unknown): Result<{ input: NewSessionInput; bindingPath: string | null }> {
  if (!isPlainObject(body)) return fail("bad_request", "the body must be a JSON object");
  for (const field of Object.keys(body)) {
    if (!FIELDS.has(field))
      return fail("bad_request", `unknown field ${JSON.stringify(field.slice(0, 64))}`, field.slice(0, 64));
  }
  const { userId, data = {}, ttlSeconds, ip = null, userAgent = null } = body;
  if (!isUserId(userId)) {
    return fail(
      "bad_request",
      `userId must be a string of 1 to ${MAX_USER_ID_CHARS} characters without control, bidirectional or invisible characters`,
      "userId",
    );
  }
  if (!isPlainObject(data) || !isPlainJson(data, 0)) return fail("bad_request", "data must be a JSON object", "data");
  const serialized = JSON.stringify(data);
  if (new TextEncoder().encode(serialized).byteLength > MAX_DATA_BYTES) {
    return fail("bad_request", `data must be at most ${MAX_DATA_BYTES} bytes once serialized`, "data");
  }
  if (
    ttlSeconds !== undefined &&
    !(
      typeof ttlSeconds === "number" &&
      Number.isSafeInteger(ttlSeconds) &&
      ttlSeconds >= MIN_TTL_SECONDS &&
      ttlSeconds <= MAX_TTL_SECONDS
    )
  ) {
    return fail(
      "bad_request",
      `ttlSeconds must be an integer from ${MIN_TTL_SECONDS} to ${MAX_TTL_SECONDS}`,
      "ttlSeconds",
    );
  }
  if (ip !== null && !(typeof ip === "string" && (IPV4.test(ip) || isIpv6(ip)))) {
    return fail("bad_request", "ip must be an IPv4 or IPv6 address, or null", "ip");
  }
  if (
    userAgent !== null &&
    !(
      typeof userAgent === "string" &&
      userAgent.length <= MAX_USER_AGENT_CHARS &&
      !CONTROL_CHARACTERS.test(userAgent) &&
      !LONE_SURROGATE.test(userAgent)
    )
  ) {
    return fail(
      "bad_request",
      `userAgent must be a string of at most ${MAX_USER_AGENT_CHARS} characters, or null`,
      "userAgent",
    );
  }
  const assurance = parseAssuranceInput(body);
  if (!assurance.ok) return assurance;
  const idp = body.idp === undefined ? null : parseIdpLink(body.idp);
  if (idp !== null && !idp.ok) return idp;
  const { bindingPath = null } = body;
  if (bindingPath !== null && !(typeof bindingPath === "string" && BINDING_PATH_PATTERN.test(bindingPath)))
    return fail(
      "bad_request",
      "bindingPath must be a path of your site (starting with /, at most 256 characters)",
      "bindingPath",
    );
  const input: NewSessionInput = { userId, data: serialized, ip, userAgent, assurance: assurance.assurance };
  if (idp !== null) input.idp = idp.link;
  if (ttlSeconds !== undefined) input.ttlSeconds = ttlSeconds;
  return ok({ input, bindingPath });
}
