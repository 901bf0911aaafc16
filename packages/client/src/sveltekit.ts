// SvelteKit: a `handle` hook that puts the request's session on `event.locals.session` (see
// middleware.ts for what it checks). `@sveltejs/kit` is an optional peer dependency: only this
// entry point needs it. Declare the local in your `src/app.d.ts`:
//   declare global { namespace App { interface Locals { session: import("@session-service/client").Session | null } } }

import type { Cookies, Handle, RequestEvent } from "@sveltejs/kit";
import { sessionCookieParts } from "./cookie.js";
import { type RequestSessionOptions, requestSession } from "./middleware.js";
import type { SessionServiceBinding } from "./types.js";

export interface SvelteKitSessionOptions extends RequestSessionOptions {
  /** The service binding, or how to find it on the event (`(event) => event.platform!.env.SESSIONS`). */
  sessions: SessionServiceBinding | ((event: RequestEvent) => SessionServiceBinding);
  /** The tenant whose sessions this app takes: a session of any other tenant is no session here. */
  tenant: string | ((event: RequestEvent) => string);
}

/**
 * `export const handle = sessionHandle({ sessions: (event) => event.platform!.env.SESSIONS, tenant: "acme" })`
 * in `src/hooks.server.ts`. Every request gets `locals.session`: the live session, or null (a
 * dead cookie is then cleared on the answer). A load behind the session redirects when it is
 * null. A cross-origin state change is 403 before anything runs; a failure of the service is
 * answered as such, never taken for "logged out".
 */
export function sessionHandle(options: SvelteKitSessionOptions): Handle {
  return async ({ event, resolve }) => {
    const sessions = typeof options.sessions === "function" ? options.sessions(event) : options.sessions;
    const tenant = typeof options.tenant === "function" ? options.tenant(event) : options.tenant;
    const found = await requestSession(sessions, tenant, event.request, options);
    if ("answer" in found) return found.answer;
    (event.locals as { session: unknown }).session = found.session;
    return found.finish(await resolve(event));
  };
}

/**
 * Sets the session cookie through SvelteKit's `cookies` (a form action cannot set a raw
 * `Set-Cookie`): `setCookie` is the answer of createSession, rotate or elevate, as the service
 * wrote it (name, value, SameSite); the other attributes are the service's own.
 */
export function setSessionCookie(cookies: Cookies, setCookie: string): void {
  const { name, value, options } = sessionCookieParts(setCookie);
  cookies.set(name, value, options);
}
