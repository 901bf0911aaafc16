// Seeing and killing sessions: listing with cursors, kills of every kind (visible to the very
// next request over HTTP and RPC), the audit log, and isolation from other users and tenants.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SessionServiceBinding } from "../src/client";
import { call, createSession, createTenant, errorOf, tenantOf, withBearer, withToken, type IssuedBody } from "./helpers";

const sessions: SessionServiceBinding = env.SESSIONS;

interface Listed {
  sessions: { id: string; userId: string; current?: boolean }[];
  nextCursor: string | null;
}

async function list(tenant: string, query = "", key?: string): Promise<Response> {
  return call("GET", `/v1/tenants/${tenant}/sessions${query}`, key === undefined ? {} : { key });
}

async function listAll(tenant: string, query: string, between?: () => Promise<void>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const separator = query === "" ? "?" : "&";
    const response = await list(tenant, `${query}${cursor === null ? "" : `${query === "" ? "?" : separator}cursor=${encodeURIComponent(cursor)}`}`);
    expect(response.status).toBe(200);
    const page = (await response.json()) as Listed;
    ids.push(...page.sessions.map((s) => s.id));
    cursor = page.nextCursor;
    if (between) await between();
  } while (cursor !== null);
  return ids;
}

async function status(token: string): Promise<number> {
  return (await call("GET", "/v1/session", withToken(token))).status;
}

async function rpcValid(token: string): Promise<boolean> {
  return (await sessions.validate(tenantOf(token), token)).ok;
}

async function seed(tenant: string, users: string[]): Promise<IssuedBody[]> {
  const issued: IssuedBody[] = [];
  for (const userId of users) issued.push(await createSession(tenant, { userId }));
  return issued;
}

describe("GET /v1/tenants/:tenant/sessions", () => {
  it("pages through 30 sessions newest first, each exactly once", async () => {
    const tenant = await createTenant();
    const issued = await seed(tenant, Array.from({ length: 30 }, (_, i) => `u${i % 4}`));
    const ids = await listAll(tenant, "?limit=7");
    expect(ids).toEqual(issued.map((s) => s.session.id).reverse());
  });

  it("shows each session once even while sessions are created and killed between pages", async () => {
    const tenant = await createTenant();
    const issued = await seed(tenant, Array.from({ length: 26 }, (_, i) => `u${i}`));
    const killed: string[] = [];
    let page = 0;
    const ids = await listAll(tenant, "?limit=5", async () => {
      page += 1;
      await createSession(tenant, { userId: `late-${page}` });
      const victim = issued[page]!; // an old one, on a page not yet read
      killed.push(victim.session.id);
      await call("DELETE", `/v1/tenants/${tenant}/sessions/${victim.session.id}`);
    });
    expect(new Set(ids).size).toBe(ids.length);
    const expected = issued.map((s) => s.session.id).filter((id) => !killed.includes(id));
    for (const id of expected) expect(ids).toContain(id);
  });

  it("filters by user and never shows a token or a hash", async () => {
    const tenant = await createTenant();
    const issued = await seed(tenant, ["alice", "bob", "alice", "carol", "alice"]);
    const response = await list(tenant, "?userId=alice");
    const text = await response.text();
    const body = JSON.parse(text) as Listed;
    expect(body.sessions.map((s) => s.userId)).toEqual(["alice", "alice", "alice"]);
    expect(body.nextCursor).toBeNull();
    for (const s of issued) {
      expect(text).not.toContain(s.token);
      expect(text).not.toContain(s.token.split(".")[3]);
    }
    expect(text.toLowerCase()).not.toContain("hash");
  });

  it("refuses forged, mangled and foreign cursors with 400", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    await seed(tenant, ["a", "a", "a"]);
    await seed(other, ["a", "a", "a"]);
    const first = (await (await list(tenant, "?limit=1")).json()) as Listed;
    const foreign = (await (await list(other, "?limit=1")).json()) as Listed;
    const otherUser = (await (await list(tenant, "?limit=1&userId=a")).json()) as Listed;
    const cursor = first.nextCursor!;
    const [prefix, seq, kid, mac] = cursor.split(".");
    const forged = [
      `${prefix}.${Number(seq) + 1}.${kid}.${mac}`,
      `${prefix}.${seq}.${kid}.${mac!.slice(0, -1)}${mac!.endsWith("A") ? "B" : "A"}`,
      `${prefix}.${seq}.nokey.${mac}`,
      "c1.1.k1.x",
      "garbage",
      "",
      "%00",
      foreign.nextCursor!,
      otherUser.nextCursor!,
    ];
    for (const bad of forged) {
      const response = await list(tenant, `?limit=1&cursor=${encodeURIComponent(bad)}`);
      expect(response.status, bad).toBe(400);
      expect(await errorOf(response)).toMatchObject({ code: "bad_request", field: "cursor" });
    }
    expect((await list(tenant, `?limit=1&cursor=${encodeURIComponent(cursor)}`)).status).toBe(200);
  });

  it.each([
    ["?limit=0", "limit"],
    ["?limit=-1", "limit"],
    ["?limit=1001", "limit"],
    ["?limit=1e9", "limit"],
    ["?limit=abc", "limit"],
    ["?limit=1.5", "limit"],
    ["?limit=1&limit=2", "limit"],
    ["?userId=", "userId"],
    [`?userId=${"x".repeat(300)}`, "userId"],
    ["?userId=a%00b", "userId"],
    ["?token=abc", "token"],
  ])("refuses %s with 400 naming %s", async (query, field) => {
    const tenant = await createTenant();
    const response = await list(tenant, query);
    expect(response.status).toBe(400);
    expect((await errorOf(response)).field).toBe(field);
  });

  it("shows only the asked tenant, and a tenant key only its own", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    await seed(tenant, ["a"]);
    await seed(other, ["a", "b"]);
    const { key } = (await (await call("POST", `/v1/tenants/${tenant}/keys`)).json()) as { key: string };
    const own = (await (await list(tenant, "", key)).json()) as Listed;
    expect(own.sessions).toHaveLength(1);
    expect((await list(other, "", key)).status).toBe(403);
    expect((await list("never-created-tenant")).status).toBe(404);
  });
});

describe("GET /v1/tenants/:tenant/sessions/:id", () => {
  it("returns one live session, and 404 for unknown, killed or malformed ids", async () => {
    const tenant = await createTenant();
    const [s] = await seed(tenant, ["a"]);
    const response = await call("GET", `/v1/tenants/${tenant}/sessions/${s!.session.id}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ session: s!.session });
    await call("DELETE", `/v1/tenants/${tenant}/sessions/${s!.session.id}`);
    for (const id of [s!.session.id, "A".repeat(22), "short", "..%2F..", "%00", "x".repeat(16 * 1024)]) {
      const missing = await call("GET", `/v1/tenants/${tenant}/sessions/${id}`);
      expect(missing.status, id.slice(0, 30)).toBe(404);
      expect((await errorOf(missing)).code).toBe("session_not_found");
    }
  });
});

describe("kills", () => {
  it("kills one session by id, at once, over HTTP and RPC", async () => {
    const tenant = await createTenant();
    const [a, b] = await seed(tenant, ["u", "u"]);
    const response = await call("DELETE", `/v1/tenants/${tenant}/sessions/${a!.session.id}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ revoked: 1 });
    expect(await status(a!.token)).toBe(401);
    expect(await rpcValid(a!.token)).toBe(false);
    expect(await status(b!.token)).toBe(200);
    expect((await call("DELETE", `/v1/tenants/${tenant}/sessions/${a!.session.id}`)).status).toBe(404);
  });

  it("kills all of a user with the exact count, leaving other users and tenants alone", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const mine = await seed(tenant, ["victim", "victim", "victim", "bystander"]);
    const elsewhere = await seed(other, ["victim"]);
    const response = await call("DELETE", `/v1/tenants/${tenant}/users/victim/sessions`);
    expect(await response.json()).toEqual({ revoked: 3 });
    for (const s of mine.slice(0, 3)) {
      expect(await status(s.token)).toBe(401);
      expect(await rpcValid(s.token)).toBe(false);
      expect((await call("POST", "/v1/session/rotate", withBearer(s.token))).status).toBe(401);
    }
    expect(await status(mine[3]!.token)).toBe(200);
    expect(await status(elsewhere[0]!.token)).toBe(200);
    const fresh = await createSession(tenant, { userId: "victim" });
    expect(await status(fresh.token)).toBe(200);
    expect(await (await call("DELETE", `/v1/tenants/${tenant}/users/nobody/sessions`)).json()).toEqual({ revoked: 0 });
  });

  it("kills a user whose id needs escaping in the path", async () => {
    const tenant = await createTenant();
    const [s] = await seed(tenant, ["team/alice@example.com"]);
    const response = await call("DELETE", `/v1/tenants/${tenant}/users/${encodeURIComponent("team/alice@example.com")}/sessions`);
    expect(await response.json()).toEqual({ revoked: 1 });
    expect(await status(s!.token)).toBe(401);
    expect((await call("DELETE", `/v1/tenants/${tenant}/users/%zz/sessions`)).status).toBe(400);
  });

  it("kills all of a tenant, leaving other tenants alone; new sessions work afterwards", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const mine = await seed(tenant, ["a", "b", "c"]);
    const theirs = await seed(other, ["a"]);
    const response = await call("DELETE", `/v1/tenants/${tenant}/sessions`);
    expect(await response.json()).toEqual({ revoked: 3 });
    for (const s of mine) {
      expect(await status(s.token)).toBe(401);
      expect(await rpcValid(s.token)).toBe(false);
    }
    expect(await status(theirs[0]!.token)).toBe(200);
    const fresh = await createSession(tenant, { userId: "a" });
    expect(await status(fresh.token)).toBe(200);
    const listed = (await (await list(tenant)).json()) as Listed;
    expect(listed.sessions.map((s) => s.id)).toEqual([fresh.session.id]);
  });

  it("lets a tenant key kill within its tenant, and refuses it elsewhere with 403", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const [s] = await seed(other, ["a"]);
    const { key } = (await (await call("POST", `/v1/tenants/${tenant}/keys`)).json()) as { key: string };
    expect((await call("DELETE", `/v1/tenants/${other}/sessions`, { key })).status).toBe(403);
    expect((await call("DELETE", `/v1/tenants/${other}/users/a/sessions`, { key })).status).toBe(403);
    expect((await call("DELETE", `/v1/tenants/${other}/sessions/${s!.session.id}`, { key })).status).toBe(403);
    expect(await status(s!.token)).toBe(200);
    expect((await call("DELETE", `/v1/tenants/${tenant}/sessions`, { key })).status).toBe(200);
  });
});

describe("the same user's sessions (self-service)", () => {
  it("lists the user's sessions with the current one marked, and no one else's", async () => {
    const tenant = await createTenant();
    const [a1, , a2] = await seed(tenant, ["alice", "bob", "alice"]);
    const response = await call("GET", "/v1/session/siblings", withToken(a1!.token));
    expect(response.status).toBe(200);
    const body = (await response.json()) as Listed;
    expect(body.sessions.map((s) => [s.id, s.current])).toEqual([
      [a2!.session.id, false],
      [a1!.session.id, true],
    ]);
  });

  it("kills every other session of the user and keeps the current one", async () => {
    const tenant = await createTenant();
    const [current, other1, bob, other2] = await seed(tenant, ["alice", "alice", "bob", "alice"]);
    const response = await call("DELETE", "/v1/session/siblings", withToken(current!.token));
    expect(await response.json()).toEqual({ revoked: 2 });
    expect(await status(current!.token)).toBe(200);
    expect(await status(other1!.token)).toBe(401);
    expect(await status(other2!.token)).toBe(401);
    expect(await status(bob!.token)).toBe(200);
  });

  it("takes the user only from the token: a body or query naming another user changes nothing", async () => {
    const tenant = await createTenant();
    const [alice, bob] = await seed(tenant, ["alice", "bob"]);
    const response = await call("DELETE", "/v1/session/siblings?userId=bob", {
      ...withToken(alice!.token),
      body: { userId: "bob" },
    });
    expect(await response.json()).toEqual({ revoked: 0 });
    expect(await status(bob!.token)).toBe(200);
  });

  it("refuses a cross-site cookie request to kill the others", async () => {
    const tenant = await createTenant({ allowedOrigins: ["https://app.example.com"] });
    const [a, b] = await seed(tenant, ["alice", "alice"]);
    const response = await call("DELETE", "/v1/session/siblings", withToken(a!.token, { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" }));
    expect(response.status).toBe(403);
    expect(await status(b!.token)).toBe(200);
  });

  it("answers 401 for an invalid token", async () => {
    expect((await call("GET", "/v1/session/siblings", { key: null })).status).toBe(401);
    expect((await call("DELETE", "/v1/session/siblings", withToken("v1.acme.x.y.k1.z"))).status).toBe(401);
  });
});

describe("GET /v1/tenants/:tenant/events", () => {
  it("records every kind of change with its actor, newest first, and never a secret", async () => {
    const tenant = await createTenant({ maxSessionsPerUser: 2 });
    const { id: keyId, key } = (await (await call("POST", `/v1/tenants/${tenant}/keys`)).json()) as { id: string; key: string };
    const s1 = await createSession(tenant, { userId: "u1" }, key);
    const s2 = await createSession(tenant, { userId: "u1" });
    const s3 = await createSession(tenant, { userId: "u1" }); // evicts s1
    const rotated = (await (await call("POST", "/v1/session/rotate", withBearer(s2.token))).json()) as { token: string };
    await call("DELETE", "/v1/session/siblings", withBearer(rotated.token)); // kills s3
    await call("DELETE", "/v1/session", withBearer(rotated.token)); // logout s2
    const s4 = await createSession(tenant, { userId: "u2" });
    await call("DELETE", `/v1/tenants/${tenant}/sessions/${s4.session.id}`, { key });
    await createSession(tenant, { userId: "u3" });
    await call("DELETE", `/v1/tenants/${tenant}/users/u3/sessions`);
    await createSession(tenant, { userId: "u4" });
    await sessions.revokeTenant(tenant);

    const response = await call("GET", `/v1/tenants/${tenant}/events?limit=1000`);
    const text = await response.text();
    const { events, nextCursor } = JSON.parse(text) as { events: Record<string, unknown>[]; nextCursor: string | null };
    expect(nextCursor).toBeNull();
    const summary = events.map((e) => [e.type, e.reason ?? null, e.actor, e.sessionId ?? null, e.userId ?? null, e.count ?? null]);
    expect(summary.reverse()).toEqual([
      ["created", null, `tenant_key:${keyId}`, s1.session.id, "u1", null],
      ["created", null, "admin", s2.session.id, "u1", null],
      ["created", null, "admin", s3.session.id, "u1", null],
      ["revoked", "evicted", "system", s1.session.id, "u1", null],
      ["rotated", null, "session", s2.session.id, "u1", null],
      ["revoked", "siblings", "session", s2.session.id, "u1", 1],
      ["revoked", "logout", "session", s2.session.id, "u1", null],
      ["created", null, "admin", s4.session.id, "u2", null],
      ["revoked", "one", `tenant_key:${keyId}`, s4.session.id, "u2", null],
      ["created", null, "admin", expect.any(String), "u3", null],
      ["revoked", "user", "admin", null, "u3", 1],
      ["created", null, "admin", expect.any(String), "u4", null],
      ["revoked", "tenant", "service", null, null, 1],
    ]);
    for (const secret of [s1.token, s2.token, s3.token, s4.token, rotated.token, key, key.split(".")[3]!, s1.token.split(".")[3]!]) {
      expect(text).not.toContain(secret);
    }
    for (const event of events) expect(Date.parse(event.at as string)).not.toBeNaN();
  });

  it("pages with a cursor and refuses a forged one", async () => {
    const tenant = await createTenant();
    await seed(tenant, ["a", "b", "c", "d", "e"]);
    const first = (await (await call("GET", `/v1/tenants/${tenant}/events?limit=2`)).json()) as { events: unknown[]; nextCursor: string };
    expect(first.events).toHaveLength(2);
    const second = (await (await call("GET", `/v1/tenants/${tenant}/events?limit=2&cursor=${first.nextCursor}`)).json()) as { events: unknown[] };
    expect(second.events).toHaveLength(2);
    expect(second.events).not.toEqual(first.events);
    const sessionsCursor = ((await (await list(tenant, "?limit=1")).json()) as Listed).nextCursor!;
    expect((await call("GET", `/v1/tenants/${tenant}/events?cursor=${sessionsCursor}`)).status).toBe(400);
    expect((await call("GET", `/v1/tenants/${tenant}/events?userId=a`)).status).toBe(400);
  });
});

describe("revocation over RPC", () => {
  it("lists, gets and kills with typed results", async () => {
    const tenant = await createTenant();
    const issued = await seed(tenant, ["a", "a", "b", "c"]);
    const page = await sessions.listSessions(tenant, { limit: 2 });
    if (!page.ok) throw new Error(page.error.message);
    expect(page.sessions.map((s) => s.id)).toEqual([issued[3]!.session.id, issued[2]!.session.id]);
    const next = await sessions.listSessions(tenant, { limit: 2, cursor: page.nextCursor! });
    expect(next.ok && next.sessions.map((s) => s.id)).toEqual([issued[1]!.session.id, issued[0]!.session.id]);
    const one = await sessions.getSession(tenant, issued[0]!.session.id);
    expect(one.ok && one.session.userId).toBe("a");
    expect(await sessions.revokeSession(tenant, issued[0]!.session.id)).toEqual({ ok: true, revoked: 1 });
    expect(await sessions.revokeUser(tenant, "a")).toEqual({ ok: true, revoked: 1 });
    const siblings = await sessions.listSiblings(tenant, issued[2]!.token);
    expect(siblings.ok && siblings.sessions.map((s) => s.current)).toEqual([true]);
    expect(await sessions.revokeSiblings(tenant, issued[2]!.token)).toEqual({ ok: true, revoked: 0 });
    expect(await sessions.revokeTenant(tenant)).toEqual({ ok: true, revoked: 2 });
    const events = await sessions.events(tenant, { limit: 3 });
    expect(events.ok && events.events.map((e) => e.reason)).toEqual(["tenant", "siblings", "user"]);
  });

  it("returns typed errors for bad input", async () => {
    const tenant = await createTenant();
    expect(await sessions.listSessions(tenant, { limit: 0 })).toMatchObject({ ok: false, error: { code: "bad_request", field: "limit" } });
    expect(await sessions.listSessions(tenant, { cursor: "forged" })).toMatchObject({ ok: false, error: { field: "cursor" } });
    expect(await sessions.listSessions(tenant, null as never)).toMatchObject({ ok: false, error: { code: "bad_request" } });
    expect(await sessions.listSessions(tenant, { userId: 5 } as never)).toMatchObject({ ok: false, error: { field: "userId" } });
    expect(await sessions.getSession(tenant, undefined as never)).toMatchObject({ ok: false, error: { code: "session_not_found" } });
    expect(await sessions.revokeSession(tenant, { id: "x" } as never)).toMatchObject({ ok: false, error: { code: "session_not_found" } });
    expect(await sessions.revokeUser(tenant, "")).toMatchObject({ ok: false, error: { field: "userId" } });
    expect(await sessions.revokeUser("Bad!", "u")).toMatchObject({ ok: false, error: { field: "tenant" } });
    expect(await sessions.revokeTenant("never-created-x")).toMatchObject({ ok: false, error: { code: "tenant_not_found" } });
    expect(await sessions.listSiblings(tenant, undefined as never)).toMatchObject({ ok: false, error: { code: "invalid_token" } });
    expect(await sessions.revokeSiblings(tenant, 42 as never)).toMatchObject({ ok: false, error: { code: "invalid_token" } });
    expect(await sessions.events(tenant, { limit: 1e9 })).toMatchObject({ ok: false, error: { field: "limit" } });
  });
});
