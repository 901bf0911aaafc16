// GET /v1/session/live: a hibernatable WebSocket that is told {"type":"revoked"} and closed
// with 4001 the moment its session is killed (any kind), rotated away, logged out or expires.

import { env, exports } from "cloudflare:workers";
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { BASE, call, COOKIE_NAME, createSession, createTenant, errorOf, withBearer, withToken } from "./helpers";

interface LiveSocket {
  socket: WebSocket;
  messages: string[];
  closed: Promise<{ code: number; reason: string }>;
}

async function openLive(token: string, headers: Record<string, string> = {}): Promise<Response> {
  return exports.default.fetch(
    new Request(`${BASE}/v1/session/live`, { headers: { Upgrade: "websocket", Cookie: `${COOKIE_NAME}=${token}`, ...headers } }),
  );
}

async function connect(token: string, headers: Record<string, string> = {}): Promise<LiveSocket> {
  const response = await openLive(token, headers);
  expect(response.status).toBe(101);
  const socket = response.webSocket!;
  socket.accept();
  const messages: string[] = [];
  socket.addEventListener("message", (event) => messages.push(String(event.data)));
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    socket.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })),
  );
  return { socket, messages, closed };
}

/** The socket's close, or "open" if it is still open after `ms`. */
async function closeOf(live: LiveSocket, ms = 2000): Promise<{ code: number; reason: string } | "open"> {
  return Promise.race([live.closed, new Promise<"open">((resolve) => setTimeout(() => resolve("open"), ms))]);
}

async function expectRevoked(live: LiveSocket, reason: string): Promise<void> {
  expect(await closeOf(live)).toEqual({ code: 4001, reason });
  expect(live.messages).toEqual([JSON.stringify({ type: "revoked", reason })]);
}

/** Proves a socket is still open and served: it answers a ping. */
async function expectOpen(live: LiveSocket): Promise<void> {
  const pong = new Promise<string>((resolve) => live.socket.addEventListener("message", (event) => resolve(String(event.data))));
  live.socket.send("ping");
  expect(await Promise.race([pong, new Promise((resolve) => setTimeout(() => resolve("timeout"), 2000))])).toBe("pong");
}

describe("GET /v1/session/live", () => {
  it("closes with 4001 when an operator kills the session", async () => {
    const tenant = await createTenant();
    const [a, b] = [await createSession(tenant), await createSession(tenant)];
    const liveA = await connect(a.token);
    const liveB = await connect(b.token);
    await call("DELETE", `/v1/tenants/${tenant}/sessions/${a.session.id}`);
    await expectRevoked(liveA, "revoked");
    await expectOpen(liveB);
  });

  it("closes every socket of a killed user, and only theirs", async () => {
    const tenant = await createTenant();
    const alice1 = await connect((await createSession(tenant, { userId: "alice" })).token);
    const alice2 = await connect((await createSession(tenant, { userId: "alice" })).token);
    const bob = await connect((await createSession(tenant, { userId: "bob" })).token);
    await call("DELETE", `/v1/tenants/${tenant}/users/alice/sessions`);
    await expectRevoked(alice1, "revoked");
    await expectRevoked(alice2, "revoked");
    await expectOpen(bob);
  });

  it("closes every socket of a killed tenant, and none of another tenant", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const mine = await connect((await createSession(tenant)).token);
    const theirs = await connect((await createSession(other)).token);
    await call("DELETE", `/v1/tenants/${tenant}/sessions`);
    await expectRevoked(mine, "revoked");
    await expectOpen(theirs);
  });

  it("closes the other devices' sockets on 'log out my other devices', not this one's", async () => {
    const tenant = await createTenant();
    const here = await createSession(tenant, { userId: "alice" });
    const there = await createSession(tenant, { userId: "alice" });
    const liveHere = await connect(here.token);
    const liveThere = await connect(there.token);
    await call("DELETE", "/v1/session/siblings", withBearer(here.token));
    await expectRevoked(liveThere, "revoked");
    await expectOpen(liveHere);
  });

  it("closes on logout with reason logout", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const live = await connect(issued.token);
    await call("DELETE", "/v1/session", withToken(issued.token));
    await expectRevoked(live, "logout");
  });

  it("closes the old token's socket on rotation and keeps the new token's", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const oldLive = await connect(issued.token);
    const rotated = (await (await call("POST", "/v1/session/rotate", withBearer(issued.token))).json()) as { token: string };
    await expectRevoked(oldLive, "rotated");
    const newLive = await connect(rotated.token);
    await expectOpen(newLive);
  });

  it("closes when the per-user cap evicts the session", async () => {
    const tenant = await createTenant({ maxSessionsPerUser: 1 });
    const first = await connect((await createSession(tenant, { userId: "u" })).token);
    await createSession(tenant, { userId: "u" });
    await expectRevoked(first, "revoked");
  });

  it("closes with reason expired when the session's idle timeout passes", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 1, absoluteTimeoutSeconds: 60 });
    const live = await connect((await createSession(tenant)).token);
    expect(await closeOf(live, 4000)).toEqual({ code: 4001, reason: "expired" });
    expect(live.messages).toEqual([JSON.stringify({ type: "revoked", reason: "expired" })]);
  });

  it("still delivers the revocation to a socket opened before the store was evicted", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant, { userId: "sleeper" });
    const live = await connect(issued.token);
    await evictDurableObject(env.SESSION_STORE.get(env.SESSION_STORE.idFromName(tenant)));
    await call("DELETE", `/v1/tenants/${tenant}/users/sleeper/sessions`);
    await expectRevoked(live, "revoked");
  });

  it("refuses a browser socket from an origin the tenant does not allow", async () => {
    const tenant = await createTenant({ allowedOrigins: ["https://app.example.com"] });
    const issued = await createSession(tenant);
    const refused = await openLive(issued.token, { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" });
    expect(refused.status).toBe(403);
    expect((await errorOf(refused)).code).toBe("origin_not_allowed");
    const allowed = await connect(issued.token, { Origin: "https://app.example.com", "Sec-Fetch-Site": "same-site" });
    await expectOpen(allowed);
    const sameOrigin = await connect(issued.token, { Origin: BASE });
    await expectOpen(sameOrigin);
  });

  it("refuses invalid, forged and revoked tokens, and plain HTTP requests", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    expect((await openLive("v1.acme.x.y.k1.z")).status).toBe(401);
    expect((await openLive(issued.token.slice(0, -2) + (issued.token.endsWith("AA") ? "BB" : "AA"))).status).toBe(401);
    const plain = await call("GET", "/v1/session/live", withToken(issued.token));
    expect(plain.status).toBe(426);
    expect((await errorOf(plain)).code).toBe("upgrade_required");
    await call("DELETE", "/v1/session", withToken(issued.token));
    expect((await openLive(issued.token)).status).toBe(401);
  });
});
