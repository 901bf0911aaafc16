// Calls made with a session token, as the store answers them: a refused token may be one that
// rotation superseded, whose use is then recorded (a sign of theft); the live socket's upgrade
// is one such call.

import { errorResponse } from "../../src/core/http";
import type { Result } from "../../src/core/errors";
import { parseLiveRequest } from "../../src/core/live";
import type { StoreHost } from "./host";
import { openLive } from "./sessions";
import { supersededSecretUsed, supersededUseUnrecorded } from "./superseded";
import { acceptSocket, sessionTag } from "./sockets";
import { auditDue, audited, bindingRefused } from "./binding";

/**
 * The answer of a call made with a token, its refusal looked into in a transaction of its own
 * (the refusal stands): a superseded token's use is recorded, and a bound session's token
 * without its bound cookie may be a binding violation (binding.bindingRefused).
 */
export function refusedToken<T extends object>(
  host: StoreHost,
  result: Result<T>,
  id: string,
  secretHash: ArrayBuffer,
): Result<T> {
  if (result.ok) return result;
  if (result.error.code === "binding_required") {
    if (!auditDue(host, "violation", id)) return result;
    const refused = host.change((store, now) => bindingRefused(store, id, now));
    if (refused.violation) audited(host, "violation", id);
    if (refused.ended) host.closeDeadSockets(sessionTag(id), "revoked");
    return result;
  }
  if (result.error.code !== "invalid_token") return result;
  // A read first: refused tokens are common (expired, killed), recorded uses are once per secret.
  if (supersededUseUnrecorded(host.store(), id, secretHash))
    host.change((store, now) => supersededSecretUsed(store, id, secretHash, now));
  return result;
}

/** The live socket's upgrade: accepted for a live session whose origin is allowed, and watched until it expires. */
export async function openLiveSocket(host: StoreHost, request: Request): Promise<Response> {
  const live = parseLiveRequest(request);
  if (!live.ok) return errorResponse(live.error);
  const { sessionId, secretHash, origin, boundThumbprint } = live;
  const opened = refusedToken(
    host,
    host.transaction((store, now) => openLive(store, sessionId, secretHash, origin, now, boundThumbprint)),
    sessionId,
    secretHash,
  );
  if (!opened.ok) return errorResponse(opened.error);
  const response = acceptSocket(host.ctx, sessionId, secretHash, opened.session.userId);
  await host.scheduler.wake("sockets", Date.parse(opened.session.expiresAt));
  return response;
}
