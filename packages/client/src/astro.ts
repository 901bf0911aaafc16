// Astro (server output): middleware that puts the request's session on `Astro.locals.session`,
// validated by the service and pinned to a tenant, after the cross-origin check of state
// changes. `astro` is an optional peer dependency: only this entry point needs it.
//
// Declare the local in your `src/env.d.ts`:
//   declare namespace App { interface Locals { session: import("@session-service/client").Session | null } }

import type { MiddlewareHandler } from "astro";
import { DEFAULT_COOKIE_NAME } from "./cookie.js";
import { crossOriginAllowed } from "./cross-origin.js";
import { statusOf } from "./errors.js";
import { type TokenOptions, validateRequest } from "./session.js";
import type { SessionServiceBinding } from "./types.js";

export interface AstroSessionOptions extends TokenOptions {
  sessions: SessionServiceBinding;
  /** The tenant whose sessions this app takes: a session of any other tenant is no session here. */
  tenant: string;
  /** Origins of your site besides the request's own that may send state changes with the cookie. */
  trustedOrigins?: readonly string[];
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * `export const onRequest = sessionMiddleware({ sessions: env.SESSIONS, tenant: "acme" })` in
 * `src/middleware.ts`. Every request gets `locals.session`: the live session, or null (none,
 * ended, another tenant's: a dead cookie is then cleared on the answer). A page behind the
 * session redirects when it is null. A cross-origin state change is 403 before anything runs;
 * a failure of the service (overload...) is answered as such, never taken for "logged out".
 */
export function sessionMiddleware(options: AstroSessionOptions): MiddlewareHandler {
  return async (context, next) => {
    const { request } = context;
    if (!SAFE_METHODS.has(request.method) && !crossOriginAllowed(request, options.trustedOrigins))
      return Response.json(
        { error: { code: "origin_not_allowed", message: "cross-origin requests may not change a cookie session" } },
        { status: 403 },
      );
    const result = await validateRequest(options.sessions, options.tenant, request, options);
    if (!result.ok && result.error.code !== "invalid_token") {
      const status = statusOf(result.error.code);
      return Response.json({ error: result.error }, { status, headers: status === 503 ? { "Retry-After": "1" } : {} });
    }
    (context.locals as { session: unknown }).session = result.ok ? result.session : null;
    const response = await next();
    if (result.ok || result.clearCookie === undefined) return response;
    // A page that set a new session cookie (a sign-in over a dead one) keeps it.
    const name = `${options.cookieName ?? DEFAULT_COOKIE_NAME}=`;
    if (response.headers.getSetCookie().some((cookie) => cookie.startsWith(name))) return response;
    const cleared = new Response(response.body, response);
    cleared.headers.append("Set-Cookie", result.clearCookie);
    return cleared;
  };
}
