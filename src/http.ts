// Glue between HTTP and the shared operations: who is calling, which session token came
// with the request, and how a Result becomes a Response. Routes use these; none of the
// pure modules do.

import { bearerCredential, identifyCaller, type StoreCaller } from "./auth";
import { readCookie } from "./cookie";
import { errorResponse, fail, jsonResponse, type Failure, type Result } from "./errors";
import { sessionCookieName } from "./service";

export type Params = Record<string, string>;
export type Handler = (request: Request, env: Env, params: Params) => Promise<Response>;

/** The admin or tenant-key caller of an API route, or why not. */
export async function apiCaller(request: Request, env: Env): Promise<StoreCaller | Failure> {
  const credential = bearerCredential(request);
  const caller = credential === null ? null : await identifyCaller(credential, env.ADMIN_API_KEY);
  return caller ?? fail("unauthorized", "a valid API key is required: Authorization: Bearer <key>");
}

export function isFailure(value: object): value is Failure {
  return "ok" in value && value.ok === false;
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
export function respond<T extends object>(result: Result<T>, status = 200, headers: HeadersInit = {}): Response {
  if (!result.ok) return errorResponse(result.error, headers);
  const { ok: _ok, ...body } = result;
  return jsonResponse(status, body, headers);
}
