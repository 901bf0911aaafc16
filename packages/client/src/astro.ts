// Astro (server output): middleware that puts the request's session on `Astro.locals.session`
// (see middleware.ts for what it checks). `astro` is an optional peer dependency: only this
// entry point needs it. Declare the local in your `src/env.d.ts`:
//   declare namespace App { interface Locals { session: import("@session-service/client").Session | null } }

import type { MiddlewareHandler } from "astro";
import { type RequestSessionOptions, requestSession } from "./middleware.js";
import type { SessionServiceBinding } from "./types.js";

export interface AstroSessionOptions extends RequestSessionOptions {
  sessions: SessionServiceBinding;
  /** The tenant whose sessions this app takes: a session of any other tenant is no session here. */
  tenant: string;
}

/**
 * `export const onRequest = sessionMiddleware({ sessions: env.SESSIONS, tenant: "acme" })` in
 * `src/middleware.ts`. Every request gets `locals.session`: the live session, or null (none,
 * ended, another tenant's: a dead cookie is then cleared on the answer). A page behind the
 * session redirects when it is null. A cross-origin state change is 403 before anything runs;
 * a failure of the service (overload...) is answered as such, never taken for "logged out".
 */
export function sessionMiddleware(options: AstroSessionOptions): MiddlewareHandler {
  return async (context, next) => {
    const found = await requestSession(options.sessions, options.tenant, context.request, options);
    if ("answer" in found) return found.answer;
    (context.locals as { session: unknown }).session = found.session;
    return found.finish(await next());
  };
}
