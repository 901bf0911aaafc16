// A consumer Worker's two session calls on a request: is there a live session of my tenant,
// and log it out. The token comes from the session cookie, read by the service's own rules
// (cookie.ts); a bearer token too only when asked, since a consumer's `Authorization`
// header is often its own (basic auth, its API keys) and must never reach the service.

import { boundCookieName } from "./binding.js";
import { clearedSessionCookie, DEFAULT_COOKIE_NAME, readCookie } from "./cookie.js";
import { sessionCredential, type SessionCredential } from "./credential.js";
import { requirementOf, stepUpResponse } from "./step-up.js";
import type { Killed, Result, Session, SessionServiceApi, ValidateOptions } from "./types.js";

/** What the helpers need of the binding: the two methods they call. */
type Sessions = Pick<SessionServiceApi, "validate" | "destroy">;

export interface TokenOptions {
  /** The session cookie's name, as the service is configured (default `__Host-session`). */
  cookieName?: string;
  /** Take `Authorization: Bearer <session token>` too (and then before the cookie); default false. */
  bearer?: boolean;
}

export interface ValidateRequestOptions extends TokenOptions {
  /**
   * More than a live session: a recent authentication, a level, methods. A live session short
   * of it is `step_up_required` (answer it with `stepUpResponse`), not a logout: its cookie stays.
   */
  require?: ValidateOptions;
}

/** The request's session token as these helpers take it (see TokenOptions). */
export function requestToken(request: Request, options: TokenOptions = {}): SessionCredential {
  const cookieName = options.cookieName ?? DEFAULT_COOKIE_NAME;
  if (options.bearer) return sessionCredential(request, cookieName);
  return { token: readCookie(request.headers.get("Cookie"), cookieName), via: "cookie" };
}

/**
 * The request's bound cookie (device binding), as the service's calls with a token take it:
 * `{ boundCookie }`, or `{}` when the request has none. Spread it into the options of
 * `validate`, `elevate`, `rotate`, `mintJwt`, `listSiblings` and `revokeSiblings`: a bound
 * session's token opens nothing without it.
 */
export function boundCookieOf(request: Request, options: TokenOptions = {}): { boundCookie?: string } {
  const boundCookie = readCookie(
    request.headers.get("Cookie"),
    boundCookieName(options.cookieName ?? DEFAULT_COOKIE_NAME),
  );
  return boundCookie === null ? {} : { boundCookie };
}

/**
 * The request's session, validated (and slid) by the service, pinned to `tenant`: a token of
 * any other tenant is no session here. With no token the answer is `invalid_token` too.
 * `clearCookie` is set when the request's session cookie is no live session of `tenant`
 * (ended, or another tenant's): forward it as `Set-Cookie` so the browser forgets it. Other
 * failures (overload...) clear nothing. Two limits: a misspelt `tenant` makes every cookie
 * "another tenant's", and a request still carrying a token that a rotation replaced a moment
 * ago clears the new cookie too (the browser then signs in again).
 */
export async function validateRequest(
  sessions: Sessions,
  tenant: string,
  request: Request,
  options: ValidateRequestOptions = {},
): Promise<Result<{ session: Session }> & { clearCookie?: string }> {
  const cookieName = options.cookieName ?? DEFAULT_COOKIE_NAME;
  const { token, via } = requestToken(request, options);
  if (token === null) return { ok: false, error: { code: "invalid_token", message: "no session token" } };
  // A device-bound session needs its bound cookie too: passed through as the browser sent it.
  const bound = boundCookieOf(request, options);
  const asked = bound.boundCookie === undefined ? options.require : { ...options.require, ...bound };
  const result = asked ? await sessions.validate(tenant, token, asked) : await sessions.validate(tenant, token);
  if (!result.ok && result.error.code === "invalid_token" && via === "cookie")
    return { ...result, clearCookie: clearedSessionCookie(cookieName) };
  return result;
}

export interface AssuranceRequest extends TokenOptions, ValidateOptions {
  /** The app's re-authentication page (a path): see stepUpResponse. */
  reauthenticate?: string;
}

/**
 * The request's session, which must also meet a requirement (a recent authentication, a level,
 * methods): validateRequest with `require`. A live session short of it comes with `stepUp`,
 * the answer to send (stepUpResponse: the re-authentication page for a page load, else RFC
 * 9470's 401); it stays logged in. No live session: as validateRequest says.
 */
export async function requireAssurance(
  sessions: Sessions,
  tenant: string,
  request: Request,
  options: AssuranceRequest,
): Promise<Result<{ session: Session }> & { clearCookie?: string; stepUp?: Response }> {
  const result = await validateRequest(sessions, tenant, request, { ...options, require: requirementOf(options) });
  if (result.ok || result.error.code !== "step_up_required") return result;
  return { ...result, stepUp: stepUpResponse(request, result.error, options.reauthenticate) };
}

/**
 * Logs out the request's session (idempotent: none, or one already ended, is fine) and gives
 * the `Set-Cookie` that clears the cookie. A failure of the service (overload...) is passed
 * on: the session may still be live, so the caller should say so rather than pretend.
 */
export async function endSession(
  sessions: Sessions,
  tenant: string,
  request: Request,
  options: TokenOptions = {},
): Promise<Result<{ setCookie: string }>> {
  const cookieName = options.cookieName ?? DEFAULT_COOKIE_NAME;
  const { token } = requestToken(request, options);
  if (token !== null) {
    const destroyed = await sessions.destroy(tenant, token);
    if (!destroyed.ok && destroyed.error.code !== "invalid_token") return destroyed;
  }
  return { ok: true, setCookie: clearedSessionCookie(cookieName) };
}

/** No token on the request: what the calls below answer without asking the service. */
const NO_TOKEN = { ok: false, error: { code: "invalid_token", message: "no session token" } } as const;

/**
 * "Log out my other devices" for the request's session: every other session of its user ends
 * (their open pages hear it at once); this one stays.
 */
export function endOtherSessions(
  sessions: Pick<SessionServiceApi, "revokeSiblings">,
  tenant: string,
  request: Request,
  options: TokenOptions = {},
): Promise<Result<Killed>> {
  const { token } = requestToken(request, options);
  if (token === null) return Promise.resolve(NO_TOKEN);
  return sessions.revokeSiblings(tenant, token, boundCookieOf(request, options));
}

/**
 * A short-lived JWT naming the request's session's user, for `audience` (one the tenant lists
 * in its `jwt.audiences` setting), to call another service with.
 */
export function mintJwt(
  sessions: Pick<SessionServiceApi, "mintJwt">,
  tenant: string,
  request: Request,
  audience: string,
  options: TokenOptions = {},
): Promise<Result<{ jwt: string; expiresAt: string }>> {
  const { token } = requestToken(request, options);
  if (token === null) return Promise.resolve(NO_TOKEN);
  return sessions.mintJwt(tenant, token, audience, boundCookieOf(request, options));
}
