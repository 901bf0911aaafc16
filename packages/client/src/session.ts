// A consumer Worker's two session calls on a request: is there a live session of my tenant,
// and log it out. Each reads the token by the service's own rules (credential.ts).

import { clearedSessionCookie, DEFAULT_COOKIE_NAME } from "./cookie.js";
import { sessionCredential } from "./credential.js";
import type { Result, Session, SessionServiceApi } from "./types.js";

/** What the helpers need of the binding: the two methods they call. */
type Sessions = Pick<SessionServiceApi, "validate" | "destroy">;

export interface CookieOptions {
  /** The session cookie's name, as the service is configured (default `__Host-session`). */
  cookieName?: string;
}

/**
 * The request's session, validated (and slid) by the service, pinned to `tenant`: a token of
 * any other tenant is no session here. With no token the answer is `invalid_token` too.
 * `clearCookie` is set when the request carried a session cookie that is dead: forward it as
 * `Set-Cookie` so the browser forgets it. Other failures (overload...) clear nothing.
 */
export async function validateRequest(sessions: Sessions, tenant: string, request: Request, options: CookieOptions = {}): Promise<Result<{ session: Session }> & { clearCookie?: string }> {
  const cookieName = options.cookieName ?? DEFAULT_COOKIE_NAME;
  const { token, via } = sessionCredential(request, cookieName);
  if (token === null) return { ok: false, error: { code: "invalid_token", message: "no session token" } };
  const result = await sessions.validate(tenant, token);
  if (!result.ok && result.error.code === "invalid_token" && via === "cookie") return { ...result, clearCookie: clearedSessionCookie(cookieName) };
  return result;
}

/**
 * Logs out the request's session (idempotent: none, or one already ended, is fine) and gives
 * the `Set-Cookie` that clears the cookie. A failure of the service (overload...) is passed
 * on: the session may still be live, so the caller should say so rather than pretend.
 */
export async function endSession(sessions: Sessions, tenant: string, request: Request, options: CookieOptions = {}): Promise<Result<{ setCookie: string }>> {
  const cookieName = options.cookieName ?? DEFAULT_COOKIE_NAME;
  const { token } = sessionCredential(request, cookieName);
  if (token !== null) {
    const destroyed = await sessions.destroy(tenant, token);
    if (!destroyed.ok && destroyed.error.code !== "invalid_token") return destroyed;
  }
  return { ok: true, setCookie: clearedSessionCookie(cookieName) };
}
