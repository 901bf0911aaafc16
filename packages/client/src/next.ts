// Next.js (App Router): middleware that refuses cross-origin state changes before any page or
// action runs, and server helpers for server components, server actions and route handlers:
// the request's session (validated by the service, pinned to a tenant), `requireSession`, and
// the session cookie set or cleared through Next's cookies. `next` is an optional peer
// dependency: only this entry point needs it.

import { cookies } from "next/headers";
import { redirect } from "next/navigation";
import { boundCookieName } from "./binding.js";
import { DEFAULT_COOKIE_NAME, sessionCookieParts } from "./cookie.js";
import { crossOriginRefusal } from "./cross-origin.js";
import { statusOf } from "./errors.js";
import type { Session, SessionServiceBinding, ValidateOptions } from "./types.js";

export interface NextSessionOptions {
  /** The service binding, looked up per request (`() => getCloudflareContext().env.SESSIONS`). */
  sessions: () => SessionServiceBinding | Promise<SessionServiceBinding>;
  /** The tenant whose sessions this app takes: a session of any other tenant is no session here. */
  tenant: string;
  /** The session cookie's name, as the service is configured (default `__Host-session`). */
  cookieName?: string;
}

/**
 * `export const middleware = originMiddleware()` in `middleware.ts`: a state change (POST, PUT,
 * PATCH, DELETE: forms, server actions, route handlers) from another origin is 403 before
 * anything runs. List origins of your own site that may send them in `trustedOrigins`.
 */
export function originMiddleware(trustedOrigins: readonly string[] = []): (request: Request) => Response | undefined {
  return (request) => crossOriginRefusal(request, trustedOrigins) ?? undefined;
}

/**
 * The request's live session, or null (none, ended, another tenant's), in a server component,
 * action or route handler. With `require`, a live session short of it is null too. A failure of
 * the service (overload...) throws: it is never taken for "logged out".
 */
export async function getSession(options: NextSessionOptions, require?: ValidateOptions): Promise<Session | null> {
  const jar = await cookies();
  const name = options.cookieName ?? DEFAULT_COOKIE_NAME;
  const token = jar.get(name)?.value;
  if (!token) return null;
  const boundCookie = jar.get(boundCookieName(name))?.value;
  const asked = boundCookie ? { ...require, boundCookie } : require;
  const sessions = await options.sessions();
  const result = asked
    ? await sessions.validate(options.tenant, token, asked)
    : await sessions.validate(options.tenant, token);
  if (result.ok) return result.session;
  if (result.error.code === "invalid_token" || result.error.code === "step_up_required") return null;
  throw new Error(
    `the session service answered ${statusOf(result.error.code)} ${result.error.code}: ${result.error.message}`,
  );
}

/** The request's live session; without one, a redirect to `loginPath` (default `/login`). */
export async function requireSession(options: NextSessionOptions & { loginPath?: string }): Promise<Session> {
  return (await getSession(options)) ?? redirect(options.loginPath ?? "/login");
}

/**
 * Sets the session cookie through Next's cookies (in a server action or route handler):
 * `setCookie` is the answer of createSession, rotate or elevate, as the service wrote it.
 */
export async function setSessionCookie(setCookie: string): Promise<void> {
  const { name, value, options } = sessionCookieParts(setCookie);
  (await cookies()).set(name, value, options);
}
