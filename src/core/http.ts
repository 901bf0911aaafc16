// Glue between HTTP and the shared operations: who is calling, which session token came
// with the request, and how a Result becomes a Response. Routes use these; none of the
// pure modules do.

import { bearerCredential } from "@session-service/client";
import { stepUpChallenge } from "./assurance";
import { identifyCaller, checkReach, type Reach, type StoreCaller } from "./auth";
import { ADMIN_KEY_NOT_CONFIGURED, loadConfig } from "./config";
import { fail, ok, statusOf, UNAUTHORIZED, type ApiError, type Result } from "./errors";

/** Seconds a client should wait after an `overloaded` answer before trying again. */
const OVERLOADED_RETRY_AFTER_SECONDS = 1;

export type Params = Record<string, string>;
export type Handler = (request: Request, env: Env, params: Params) => Promise<Response>;

/**
 * The admin or tenant-key caller of an API route, or why not. Decided from the credential
 * alone (a forged tenant key is 401 here, whatever tenant it names), before any body is read.
 */
export function apiCaller(request: Request, env: Env): Result<{ caller: StoreCaller }> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  const credential = bearerCredential(request);
  const caller = credential === null ? null : identifyCaller(credential, config.config);
  if (caller === "admin_unset") return ADMIN_KEY_NOT_CONFIGURED;
  return caller ? ok({ caller }) : UNAUTHORIZED;
}

/** A handler for routes that need an API key, given the caller it was established for. */
export type CallerHandler = (request: Request, env: Env, params: Params, caller: StoreCaller) => Promise<Response>;

/**
 * An API-key route on `params.tenant`: the caller is established and its reach checked first
 * (401 or 403), before the handler reads anything of the request.
 */
export function apiRoute(reach: Reach, handler: CallerHandler): Handler {
  return async (request, env, params) => {
    const caller = apiCaller(request, env);
    if (!caller.ok) return errorResponse(caller.error);
    const allowed = checkReach(caller.caller, params.tenant, reach);
    return allowed.ok ? handler(request, env, params, caller.caller) : errorResponse(allowed.error);
  };
}

/**
 * Every API response is private and never cached: it may carry a token or session data.
 * Headers are given whole to the constructor: each later `headers.set` is a call into the runtime.
 */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    // Never cached, unless the caller says otherwise (the JWKS, which is public).
    headers: {
      "Cache-Control": "no-store",
      ...headers,
      "Content-Type": "application/json; charset=utf-8",
      "X-Content-Type-Options": "nosniff",
    },
  });
}

export function errorResponse(error: ApiError, headers: Record<string, string> = {}): Response {
  const retry: Record<string, string> =
    statusOf(error.code) === 503 && error.code !== "not_configured"
      ? { "Retry-After": String(OVERLOADED_RETRY_AFTER_SECONDS) }
      : {};
  // A step-up's 401 says what to do as RFC 9470 writes it, for clients that read only headers.
  const challenge: Record<string, string> =
    error.code === "step_up_required" && error.required
      ? { "WWW-Authenticate": stepUpChallenge(error.required, error.message) }
      : {};
  return jsonResponse(statusOf(error.code), { error }, { ...headers, ...retry, ...challenge });
}

/** A Result as a response: the failure's status, or `status` with the success fields. */
export function respond<T extends object>(
  result: Result<T>,
  status = 200,
  headers: Record<string, string> = {},
): Response {
  if (!result.ok) return errorResponse(result.error, headers);
  const { ok: _ok, ...body } = result;
  return jsonResponse(status, body, headers);
}

/** The query string as an object of single values; a repeated name is a 400, not a guess. */
export function queryOf(request: Request): Result<{ query: Record<string, string> }> {
  const query: Record<string, string> = Object.create(null) as Record<string, string>;
  // Only the query is read, and only when there is one: validation is the hot path.
  const { url } = request;
  const hash = url.indexOf("#");
  const end = hash === -1 ? url.length : hash;
  const start = url.indexOf("?");
  if (start === -1 || start > end) return ok({ query });
  for (const [name, value] of formPairs(url.slice(start + 1, end))) {
    if (name in query)
      return fail("bad_request", `the query names ${JSON.stringify(name.slice(0, 64))} twice`, name.slice(0, 64));
    query[name] = value;
  }
  return ok({ query });
}

/**
 * A query as application/x-www-form-urlencoded reads it (`+` a space, %-escapes UTF-8), as
 * URLSearchParams does. Split by hand for well-formed escapes, which are all a client sends:
 * the profile of validation with a requirement put URLSearchParams and its iterator at about
 * 5 of the 10 µs the requirement added (bench/runs/2026-12-06-assurance.md). Anything
 * malformed is left to URLSearchParams, whose lenient reading is the standard's.
 */
function formPairs(search: string): [string, string][] {
  const pairs: [string, string][] = [];
  for (const part of search.split("&")) {
    if (part === "") continue;
    const eq = part.indexOf("=");
    const [name, value] = eq === -1 ? [part, ""] : [part.slice(0, eq), part.slice(eq + 1)];
    try {
      pairs.push([decodeURIComponent(name.replaceAll("+", " ")), decodeURIComponent(value.replaceAll("+", " "))]);
    } catch {
      return [...new URLSearchParams(search)];
    }
  }
  return pairs;
}

/** A path segment as the text it encodes; malformed %-escapes are a 400 naming `field`. */
export function decodePathSegment(segment: string, field: string): Result<{ value: string }> {
  try {
    return ok({ value: decodeURIComponent(segment) });
  } catch {
    return fail("bad_request", `${field} is not validly %-encoded`, field);
  }
}
