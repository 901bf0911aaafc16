// Live sockets from a test's side: opened through the real Worker entry, with what they were
// told and how they closed.

import { exports } from "cloudflare:workers";
import { expect } from "vitest";
import { BASE, COOKIE_NAME } from "../helpers";

export interface LiveSocket {
  socket: WebSocket;
  messages: string[];
  closed: Promise<{ code: number; reason: string }>;
}

export async function openLive(token: string, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(
    new Request(`${BASE}/v1/session/live`, {
      headers: { Upgrade: "websocket", Cookie: `${COOKIE_NAME}=${token}`, ...headers },
    }),
  );
}

export async function connect(token: string, headers: Record<string, string> = {}): Promise<LiveSocket> {
  const response = await openLive(token, headers);
  expect(response.status).toBe(101);
  const socket = response.webSocket!;
  socket.accept();
  const messages: string[] = [];
  socket.addEventListener("message", (event) => {
    messages.push(String(event.data));
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })),
  );
  return { socket, messages, closed };
}

/** The socket's close, or "open" if it is still open after `ms`. */
export async function closeOf(live: LiveSocket, ms = 2000): Promise<{ code: number; reason: string } | "open"> {
  return Promise.race([live.closed, new Promise<"open">((resolve) => setTimeout(() => resolve("open"), ms))]);
}

export async function expectRevoked(live: LiveSocket, reason: string): Promise<void> {
  expect(await closeOf(live)).toEqual({ code: 4001, reason });
  expect(live.messages).toEqual([JSON.stringify({ type: "revoked", reason })]);
}

/** Proves a socket is still open and served: it answers a ping. */
export async function expectOpen(live: LiveSocket): Promise<void> {
  const pong = new Promise<string>((resolve) =>
    live.socket.addEventListener("message", (event) => resolve(String(event.data))),
  );
  live.socket.send("ping");
  expect(await Promise.race([pong, new Promise((resolve) => setTimeout(() => resolve("timeout"), 2000))])).toBe("pong");
}
