// Device Bound Session Credentials, the browser's side of the wire: the headers a registration
// or refresh request carries, and the answer it gets (the session's configuration and the bound
// cookie, a challenge, or "drop this session"). The service's own paths and the middleware that
// mounts them on an app's paths answer with this one function; the proofs are verified by the
// service.

import { DEFAULT_COOKIE_NAME, readCookie } from "./cookie.js";
import { STATUS_BY_CODE } from "./errors.js";
import type { BindingAnswer, BindingHeaders, SessionServiceApi } from "./types.js";

/** The bound cookie's name: the session cookie's, with `-bound`. */
export function boundCookieName(sessionCookieName: string): string {
  return `${sessionCookieName}-bound`;
}

/** What a registration or refresh request says, as the service's `registerBinding` and `refreshBinding` take it. */
export function bindingHeaders(request: Request): BindingHeaders {
  return {
    sessionId: request.headers.get("Sec-Secure-Session-Id"),
    response: request.headers.get("Secure-Session-Response"),
  };
}

export interface BindingResponseOptions {
  /** The session cookie's name (the bound cookie's is derived from it). */
  cookieName: string;
  /** The refresh path, on the request's origin. */
  refreshPath: string;
  /** Paths the bound session does not cover (the sign-in page, `/favicon.ico`...): never held for a refresh. */
  exclude?: readonly string[];
}

const BOUND_COOKIE_ATTRIBUTES = "Path=/; Secure; HttpOnly; SameSite=Lax";

/**
 * The HTTP answer to a registration or refresh, from the service's answer:
 * - bound: 200 with the session's configuration (which session, where to refresh, what it
 *   covers, the cookie it keeps alive) and the fresh bound cookie;
 * - a challenge: 403 with `Secure-Session-Challenge` (the browser signs it and asks again);
 * - a refresh of a session that is no more: 200 `{"continue": false}`, so the browser drops it;
 * - anything else: the service's error and status.
 */
export function bindingResponse(request: Request, answer: BindingAnswer, options: BindingResponseOptions): Response {
  const headers = new Headers({ "Cache-Control": "no-store" });
  if (!answer.ok) {
    const refreshing = new URL(request.url).pathname === options.refreshPath;
    if (refreshing && answer.error.code === "invalid_token") {
      headers.set("Content-Type", "application/json; charset=utf-8");
      headers.append("Set-Cookie", `${boundCookieName(options.cookieName)}=; ${BOUND_COOKIE_ATTRIBUTES}; Max-Age=0`);
      // The session named as the browser named it: Chromium takes the answer for its session then.
      const named = request.headers
        .get("Sec-Secure-Session-Id")
        ?.trim()
        .replace(/^"(.*)"$/, "$1");
      const answer = named ? { session_identifier: named, continue: false } : { continue: false };
      return new Response(JSON.stringify(answer), { status: 200, headers });
    }
    headers.set("Content-Type", "application/json; charset=utf-8");
    if (STATUS_BY_CODE[answer.error.code] === 503) headers.set("Retry-After", "1");
    return new Response(JSON.stringify({ error: answer.error }), {
      status: STATUS_BY_CODE[answer.error.code],
      headers,
    });
  }
  if ("challenge" in answer) {
    headers.set("Secure-Session-Challenge", `"${answer.challenge}";id="${answer.sessionId}"`);
    return new Response(null, { status: 403, headers });
  }
  const { origin, hostname } = new URL(request.url);
  const name = boundCookieName(options.cookieName);
  const config = {
    session_identifier: answer.sessionId,
    refresh_url: `${origin}${options.refreshPath}`,
    scope: {
      origin,
      include_site: false,
      scope_specification: (options.exclude ?? []).map((path) => ({ type: "exclude", domain: hostname, path })),
    },
    credentials: [{ type: "cookie", name, attributes: BOUND_COOKIE_ATTRIBUTES }],
  };
  headers.set("Content-Type", "application/json; charset=utf-8");
  headers.append(
    "Set-Cookie",
    `${name}=${answer.boundCookie}; ${BOUND_COOKIE_ATTRIBUTES}; Max-Age=${answer.cookieSeconds}`,
  );
  return new Response(JSON.stringify(config), { status: 200, headers });
}

export interface DeviceBindingOptions {
  /**
   * The registration path on your app (POST); the refresh path is `${path}/refresh`. Give it to
   * createSession as `bindingPath`, so new sessions' registration header names it.
   */
  path: string;
  /** Paths the bound session does not cover: your sign-in page, `/favicon.ico`... */
  exclude?: readonly string[];
  /** The session cookie's name, as the service is configured (default `__Host-session`). */
  cookieName?: string;
}

/**
 * The app's side of device binding: answers a POST to the registration or refresh path through
 * the service (RPC), and null for any other request. Mount it before your session checks: a
 * refresh comes exactly when the bound cookie is missing. No cross-origin check is needed here:
 * nothing is done without a proof signed by the browser's key over a one-time challenge.
 */
export async function answerBinding(
  sessions: Pick<SessionServiceApi, "registerBinding" | "refreshBinding">,
  tenant: string,
  request: Request,
  options: DeviceBindingOptions,
): Promise<Response | null> {
  if (request.method !== "POST") return null;
  const { pathname } = new URL(request.url);
  const refreshPath = `${options.path}/refresh`;
  if (pathname !== options.path && pathname !== refreshPath) return null;
  const cookieName = options.cookieName ?? DEFAULT_COOKIE_NAME;
  const token = readCookie(request.headers.get("Cookie"), cookieName);
  const answer: BindingAnswer =
    token === null
      ? { ok: false, error: { code: "invalid_token", message: "no session cookie" } }
      : pathname === refreshPath
        ? await sessions.refreshBinding(tenant, token, bindingHeaders(request))
        : await sessions.registerBinding(tenant, token, bindingHeaders(request));
  return bindingResponse(request, answer, {
    cookieName,
    refreshPath,
    ...(options.exclude && { exclude: options.exclude }),
  });
}
