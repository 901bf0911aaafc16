// React Router (framework mode): a SessionStorage whose sessions are the service's, and
// `requireSession` for loaders and actions. Not React Router's `createSessionStorage`, which keeps
// an id in the cookie and never changes it: here the cookie holds the service's token (a hashed
// secret), committing an existing session rotates it, and destroying it ends it everywhere.
// `useSessionWatch` is the page's side of the live socket. `react-router` (and React) are
// optional peer dependencies: only this entry point needs them.

import { useEffect } from "react";
import { createSession, redirect, type Session as RouterSession, type SessionStorage } from "react-router";
import { boundCookieName } from "./binding.js";
import { watchSession } from "./browser.js";
import { clearedSessionCookie, DEFAULT_COOKIE_NAME, readCookie } from "./cookie.js";
import { crossOriginAllowed, originRefused } from "./cross-origin.js";
import { errorAnswer } from "./errors.js";
import { validateRequest } from "./session.js";
import { stepUpResponse } from "./step-up.js";
import type { Session, SessionServiceApi, ValidateOptions } from "./types.js";

type Sessions = Pick<SessionServiceApi, "createSession" | "validate" | "rotate" | "destroy">;

export interface ServiceStorageOptions {
  sessions: Sessions;
  /** The tenant whose sessions this app takes: a session of any other tenant is no session here. */
  tenant: string;
  /** The session cookie's name, as the service is configured (default `__Host-session`). */
  cookieName?: string;
}

/** What a React Router session holds: the user (set it to sign in), and the service's session once there is one. */
export interface ServiceSessionData {
  userId: string;
  session: Session;
}

/**
 * The service's sessions as React Router's SessionStorage. `getSession` validates (and slides)
 * the cookie's session; `commitSession` creates one for a session given a `userId` (sign-in),
 * and rotates an existing one (its token changes: commit after a change of privilege);
 * `destroySession` logs out. A session's user is set once, at sign-in: setting another one
 * on an existing session throws, rather than being lost.
 */
export function createServiceSessionStorage(options: ServiceStorageOptions): SessionStorage<ServiceSessionData> {
  const { sessions, tenant } = options;
  const cookieName = options.cookieName ?? DEFAULT_COOKIE_NAME;
  /** The token (and bound cookie) each session was read with: never in the session's data. */
  const tokens = new WeakMap<RouterSession<ServiceSessionData>, { token: string; boundCookie?: string }>();
  return {
    async getSession(cookieHeader) {
      const token = readCookie(cookieHeader ?? null, cookieName);
      if (token === null) return createSession<ServiceSessionData>();
      const boundCookie = readCookie(cookieHeader ?? null, boundCookieName(cookieName)) ?? undefined;
      const validated = await sessions.validate(tenant, token, boundCookie ? { boundCookie } : undefined);
      if (!validated.ok) {
        if (validated.error.code === "invalid_token") return createSession<ServiceSessionData>();
        throw errorAnswer(validated.error);
      }
      const { session } = validated;
      const routerSession = createSession<ServiceSessionData>({ userId: session.userId, session }, session.id);
      tokens.set(routerSession, { token, ...(boundCookie && { boundCookie }) });
      return routerSession;
    },
    async commitSession(routerSession) {
      const userId = routerSession.get("userId");
      const known = tokens.get(routerSession);
      if (known === undefined) {
        if (typeof userId !== "string") throw new TypeError("commitSession: set userId to sign in");
        const created = await sessions.createSession(tenant, { userId });
        if (!created.ok) throw errorAnswer(created.error);
        return created.setCookie;
      }
      if (userId !== routerSession.get("session")?.userId)
        throw new TypeError("commitSession: a session's user is set at sign-in; destroy it and commit a new one");
      const rotated = await sessions.rotate(
        tenant,
        known.token,
        known.boundCookie ? { boundCookie: known.boundCookie } : undefined,
      );
      if (!rotated.ok) throw errorAnswer(rotated.error);
      tokens.set(routerSession, { ...known, token: rotated.token });
      return rotated.setCookie;
    },
    async destroySession(routerSession) {
      const known = tokens.get(routerSession);
      if (known !== undefined) {
        const destroyed = await sessions.destroy(tenant, known.token);
        if (!destroyed.ok && destroyed.error.code !== "invalid_token") throw errorAnswer(destroyed.error);
      }
      return clearedSessionCookie(cookieName);
    },
  };
}

export interface RequireSessionOptions extends ServiceStorageOptions {
  /** Where a request without a live session is sent (default `/login`); its dead cookie is cleared. */
  loginPath?: string;
  /** More than a live session (a recent sign-in, a level, methods); short of it, `reauthenticate` or RFC 9470's 401. */
  require?: ValidateOptions;
  reauthenticate?: string;
  /** Origins of your site besides the request's own that may send state changes with the cookie. */
  trustedOrigins?: readonly string[];
}

/**
 * The request's live session, for a loader or an action; otherwise throws the answer React
 * Router sends: 403 for a cross-origin state change, a redirect to `loginPath` (clearing a dead
 * cookie), the step-up answer, or the service's failure (never taken for a logout).
 */
export async function requireSession(request: Request, options: RequireSessionOptions): Promise<Session> {
  if (request.method !== "GET" && request.method !== "HEAD" && !crossOriginAllowed(request, options.trustedOrigins))
    throw originRefused();
  const result = await validateRequest(options.sessions, options.tenant, request, {
    ...(options.cookieName && { cookieName: options.cookieName }),
    ...(options.require && { require: options.require }),
  });
  if (result.ok) return result.session;
  if (result.error.code === "step_up_required") throw stepUpResponse(request, result.error, options.reauthenticate);
  if (result.error.code !== "invalid_token") throw errorAnswer(result.error);
  throw redirect(
    options.loginPath ?? "/login",
    result.clearCookie ? { headers: { "Set-Cookie": result.clearCookie } } : {},
  );
}

/**
 * The page's side of the live socket, in a route component: the moment the session ends (a
 * kill, a logout elsewhere), the browser goes to `redirectTo`. (A `<script>` that React renders
 * on a client-side navigation never runs: hence a hook, not `watchSessionScript`.)
 */
export function useSessionWatch(options: { redirectTo: string; url?: string }): void {
  const { redirectTo, url } = options;
  useEffect(() => {
    const page = globalThis as unknown as { location: { assign(to: string): void } };
    const watch = watchSession({ ...(url && { url }), onRevoked: () => page.location.assign(redirectTo) });
    return () => watch.stop();
  }, [redirectTo, url]);
}
