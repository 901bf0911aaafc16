// Glue between HTTP and the shared operations: who is calling, which session token came
// with the request, and how a Result becomes a Response. Routes use these; none of the
// pure modules do.

import { bearerCredential, identifyCaller, type StoreCaller } from "./auth";
import { readCookie } from "./cookie";
import { errorResponse, fail, isFailure, jsonResponse, type Failure, type Result } from "./errors";
import { sessionCookieName } from "./service";

export type Params = Record<string, string>;
export type Handler = (request: Request, env: Env, params: Params) => Promise<Response>;

/** The admin or tenant-key caller of an API route, or why not. */
export function apiCaller(request: Request, env: Env): StoreCaller | Failure {
  const credential = bearerCredential(request);
  const caller = credential === null ? null : identifyCaller(credential, env.ADMIN_API_KEY);
  return caller ?? fail("unauthorized", "a valid API key is required: Authorization: Bearer <key>");
}

/** A handler for routes that need an API key, given the caller it was established for. */
export type CallerHandler = (request: Request, env: Env, params: Params, caller: StoreCaller) => Promise<Response>;

/** An API-key route: the admin or tenant-key caller is established first, or the answer is 401. */
export function apiRoute(handler: CallerHandler): Handler {
  return async (request, env, params) => {
    const caller = apiCaller(request, env);
    return isFailure(caller) ? errorResponse(caller.error) : handler(request, env, params, caller);
  };
}

export interface SessionCredential {
  token: string | null;
  /** Cookie-carried tokens need the cross-origin check on state changes; bearer tokens do not. */
  via: "bearer" | "cookie";
}

/**
 * The session token of a self-service request: from `Authorization: Bearer` when that
 * header is present (and then only if spelled exactly), else from the session cookie.
 * Never from the query string.
 */
export function sessionCredential(request: Request, env: Env): SessionCredential {
  if (request.headers.has("Authorization")) return { token: bearerCredential(request), via: "bearer" };
  return { token: readCookie(request.headers.get("Cookie"), sessionCookieName(env)), via: "cookie" };
}

/** A Result as a response: the failure's status, or `status` with the success fields. */
export function respond<T extends object>(result: Result<T>, status = 200, headers: Record<string, string> = {}): Response {
  if (!result.ok) return errorResponse(result.error, headers);
  const { ok: _ok, ...body } = result;
  return jsonResponse(status, body, headers);
}

/** The query string as an object of single values; a repeated name is a 400, not a guess. */
export function queryOf(request: Request): Result<{ query: Record<string, string> }> {
  const query: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [name, value] of new URL(request.url).searchParams) {
    if (name in query) return fail("bad_request", `the query names ${JSON.stringify(name.slice(0, 64))} twice`, name.slice(0, 64));
    query[name] = value;
  }
  return { ok: true, query };
}

/** A path segment as the text it encodes; malformed %-escapes are a 400 naming `field`. */
export function decodePathSegment(segment: string, field: string): Result<{ value: string }> {
  try {
    return { ok: true, value: decodeURIComponent(segment) };
  } catch {
    return fail("bad_request", `${field} is not validly %-encoded`, field);
  }
}
