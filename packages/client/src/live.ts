// The live revocation socket: its protocol (one message and one close code when a session
// ends), and a proxy so that a consumer Worker's own pages can hold the socket on their origin.

import { boundCookieName } from "./binding.js";
import { DEFAULT_COOKIE_NAME } from "./cookie.js";
import { crossOriginAllowed } from "./cross-origin.js";
import { boundCookieOf, requestToken, type TokenOptions } from "./session.js";

/** Close code of a socket whose session ended: killed, rotated away, logged out, expired, or already dead. */
export const LIVE_CLOSE_CODE = 4001;

/**
 * Why the session ended. The service sends the first four; `invalid` comes from the proxy
 * below, when the session had already ended (or there was none) as the socket opened.
 */
export type RevokedReason = "revoked" | "rotated" | "logout" | "expired" | "invalid";

/** The one message a live socket hears: `{"type":"revoked","reason":...}`, then close 4001. */
export function revokedMessage(reason: RevokedReason): string {
  return JSON.stringify({ type: "revoked", reason });
}

export interface LiveProxyOptions extends TokenOptions {
  /** Origins besides the request's own that may open the socket (exact `https://host[:port]`). */
  trustedOrigins?: readonly string[];
}

/**
 * Serves a browser's live socket from a consumer Worker: the request's origin is checked
 * (cross-site WebSocket hijacking), its session cookie read, and the upgrade handed to the
 * service over the binding, pinned to `tenant`. A session that is already dead (or none)
 * gets a socket that says so at once (`invalid`, close 4001), so the page learns it the same
 * way as a later kill. Any other refusal (overload, a bad origin) is passed on as it came.
 */
export async function proxyLiveSocket(
  request: Request,
  sessions: Fetcher,
  tenant: string,
  options: LiveProxyOptions = {},
): Promise<Response> {
  if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
    return new Response("this route speaks WebSocket only", { status: 426, headers: { Upgrade: "websocket" } });
  }
  if (!crossOriginAllowed(request, options.trustedOrigins))
    return new Response("cross-origin socket refused", { status: 403 });
  const { token } = requestToken(request, options);
  if (token === null) return endedSocket();
  // Bearer marks a server-side call: the origin was checked above, by this Worker. A
  // device-bound session's bound cookie goes along, as the service reads it.
  const headers = new Headers({ Upgrade: "websocket", Authorization: `Bearer ${token}`, "Session-Tenant": tenant });
  const { boundCookie } = boundCookieOf(request, options);
  if (boundCookie !== undefined)
    headers.set("Cookie", `${boundCookieName(options.cookieName ?? DEFAULT_COOKIE_NAME)}=${boundCookie}`);
  const answer = await sessions.fetch("https://session-service/v1/session/live", { headers });
  if (answer.status !== 401) return answer;
  // A bound session whose bound cookie is being refreshed is not ended: the page tries again.
  const refused = (await answer
    .clone()
    .json()
    .catch(() => null)) as { error?: { code?: string } } | null;
  return refused?.error?.code === "binding_required" ? answer : endedSocket();
}

/** A socket that says at once that there is no live session, then closes. */
function endedSocket(): Response {
  const { 0: client, 1: server } = new WebSocketPair();
  server.accept();
  server.send(revokedMessage("invalid"));
  server.close(LIVE_CLOSE_CODE, "invalid");
  return new Response(null, { status: 101, webSocket: client });
}
