// Live sockets, on the Hibernation API: tagged by session and by a digest of the user id (a tag
// is at most 256 characters; a user id may be longer), the session's secret digest attached.
// After a change that can end sessions, the sockets of that session or user (all, for a tenant
// kill) whose sessions no longer authenticate are told why and closed with 4001; the alarm does
// it at expiry. At most LIVE_SOCKETS_PER_SESSION sockets per session.

import { LIVE_CLOSE_CODE, revokedMessage, type RevokedReason } from "../../src/core/live";
import { base64url, sha256 } from "../../src/core/crypto";
import { liveUntil } from "./sessions";
import type { Store } from "./tenant";

/** Live sockets one session may hold; opening one more closes the oldest (1008). */
export const LIVE_SOCKETS_PER_SESSION = 16;
/** Close code of a socket pushed out by a newer one of the same session: policy violation. */
const TOO_MANY_SOCKETS_CLOSE_CODE = 1008;

/** What a hibernatable live socket remembers: which session, which of its secrets, since when. */
interface LiveAttachment {
  sessionId: string;
  secretHash: ArrayBuffer;
  openedAt: number;
}

export function sessionTag(sessionId: string): string {
  return `s:${sessionId}`;
}

/** Fixed length whatever the user id: 2 + 43 characters. */
export function userTag(userId: string): string {
  return `u:${base64url(sha256(userId))}`;
}

/** Tells a live socket why its session ended, and closes it with 4001. */
function tellEnded(socket: WebSocket, reason: RevokedReason): void {
  try {
    socket.send(revokedMessage(reason));
    socket.close(LIVE_CLOSE_CODE, reason);
  } catch {
    // Already closing: the client is gone, which is what we wanted.
  }
}

/** Every open socket is told its session was revoked, and closed. */
export function closeAllSockets(ctx: DurableObjectState): void {
  for (const socket of ctx.getWebSockets()) tellEnded(socket, "revoked");
}

/**
 * Tells and closes every socket (of `tag`, or all) whose session no longer authenticates.
 * Returns when the first of the remaining sockets' sessions will end, or null if none is left.
 */
export function closeDeadSockets(
  ctx: DurableObjectState,
  store: () => Store,
  tag: string | undefined,
  reason: RevokedReason,
): number | null {
  const now = Date.now();
  let earliest: number | null = null;
  for (const socket of ctx.getWebSockets(tag)) {
    const attachment = socket.deserializeAttachment() as LiveAttachment | null;
    const until = attachment ? liveUntil(store(), attachment.sessionId, attachment.secretHash, now) : null;
    if (until !== null) {
      if (earliest === null || until < earliest) earliest = until;
      continue;
    }
    tellEnded(socket, reason);
  }
  return earliest;
}

/** A new socket for this session and user, within the cap (the oldest of the session go first): the 101 answer. */
export function acceptSocket(
  ctx: DurableObjectState,
  sessionId: string,
  secretHash: ArrayBuffer,
  userId: string,
): Response {
  const open = ctx
    .getWebSockets(sessionTag(sessionId))
    .filter((socket) => socket.readyState === WebSocket.OPEN)
    .map((socket) => ({ socket, openedAt: (socket.deserializeAttachment() as LiveAttachment | null)?.openedAt ?? 0 }))
    .sort((a, b) => a.openedAt - b.openedAt);
  for (const { socket } of open.slice(0, Math.max(0, open.length - LIVE_SOCKETS_PER_SESSION + 1))) {
    socket.close(TOO_MANY_SOCKETS_CLOSE_CODE, "too many live sockets for this session");
  }
  const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
  ctx.acceptWebSocket(server, [sessionTag(sessionId), userTag(userId)]);
  server.serializeAttachment({ sessionId, secretHash, openedAt: Date.now() } satisfies LiveAttachment);
  return new Response(null, { status: 101, webSocket: client });
}

/**
 * Completes the closing handshake with the client's code. Reserved codes are never sent
 * (1004; 1005 no code; 1006 dropped without a close frame; 1015 TLS failure): they are
 * answered with 1000.
 */
export function answerClose(socket: WebSocket, code: number, reason: string): void {
  const sendable = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
  try {
    socket.close(sendable ? code : 1000, sendable ? reason : "");
  } catch {
    // Already closed on our side (a drop): nothing is left to answer.
  }
}
