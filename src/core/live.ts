// The live revocation socket's protocol: what a client hears when its session ends, and the
// internal request by which the front Worker hands a verified upgrade to the tenant's store.
// The store's own URL is never reachable from outside; only the front Worker builds these.

import { base64url } from "./crypto";
import { fail, ok, type Result } from "./errors";
import { isSessionId } from "./token";

export { LIVE_CLOSE_CODE, revokedMessage, type RevokedReason } from "@session-service/client";

const LIVE_PATH = "/live";

/** `boundThumbprint`: what the request's bound cookie names (checked by the front Worker), for a device-bound session. */
export function liveRequest(
  sessionId: string,
  secretHash: ArrayBuffer,
  origin: string | null,
  boundThumbprint: string | null = null,
): Request {
  const headers = new Headers({
    Upgrade: "websocket",
    "X-Session-Id": sessionId,
    "X-Secret-Hash": base64url(secretHash),
  });
  if (origin !== null) headers.set("X-Origin", origin);
  if (boundThumbprint !== null) headers.set("X-Bound-Thumbprint", boundThumbprint);
  return new Request(`https://session-store${LIVE_PATH}`, { headers });
}

export function parseLiveRequest(
  request: Request,
): Result<{ sessionId: string; secretHash: ArrayBuffer; origin: string | null; boundThumbprint: string | null }> {
  const sessionId = request.headers.get("X-Session-Id") ?? "";
  const hash = request.headers.get("X-Secret-Hash") ?? "";
  if (
    new URL(request.url).pathname !== LIVE_PATH ||
    request.headers.get("Upgrade") !== "websocket" ||
    !isSessionId(sessionId) ||
    !/^[A-Za-z0-9_-]{43}$/.test(hash)
  ) {
    return fail("not_found", "no such route");
  }
  const binary = atob(hash.replaceAll("-", "+").replaceAll("_", "/"));
  const secretHash = Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer;
  return ok({
    sessionId,
    secretHash,
    origin: request.headers.get("X-Origin"),
    boundThumbprint: request.headers.get("X-Bound-Thumbprint"),
  });
}
