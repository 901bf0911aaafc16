// Seeing sessions: listings newest first with signed cursors (each session exactly once, only
// the asked tenant and user, never a token), and one session by id.

import { describe, expect, it } from "vitest";
import {
  call,
  createSession,
  createTenant,
  errorOf,
  list,
  listAll,
  secretOf,
  seed,
  SHARD_COUNTS,
  type Listed,
} from "./helpers";

describe.each(SHARD_COUNTS)("GET /v1/tenants/:tenant/sessions, %i shard(s)", (shards) => {
  it("pages through 30 sessions newest first, each exactly once", async () => {
    const tenant = await createTenant({ shards });
    const issued = await seed(
      tenant,
      Array.from({ length: 30 }, (_, i) => `u${i % 4}`),
    );
    const ids = await listAll(tenant, "?limit=7");
    expect(ids).toEqual(issued.map((s) => s.session.id).reverse());
  });

  it("shows each session once even while sessions are created and killed between pages", async () => {
    const tenant = await createTenant({ shards });
    const issued = await seed(
      tenant,
      Array.from({ length: 26 }, (_, i) => `u${i}`),
    );
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

  it("lists the sessions of every user whose id starts with a prefix, newest first, page by page", async () => {
    const tenant = await createTenant({ shards });
    const users = ["al", "alice", "alina", "bob", "alix", "Al", "alb\u{10FFFF}x", "am", "élodie", "émile"];
    const issued = await seed(tenant, [...users, ...users]);
    const expect_ = (prefix: string) =>
      issued
        .filter((s) => s.session.userId.startsWith(prefix))
        .map((s) => s.session.id)
        .reverse();
    for (const prefix of ["ali", "al", "alb\u{10FFFF}", "é", "z"]) {
      expect(await listAll(tenant, `?userPrefix=${encodeURIComponent(prefix)}&limit=3`), prefix).toEqual(
        expect_(prefix),
      );
    }
    // A cursor is good for its own prefix only.
    const first = (await (await list(tenant, "?userPrefix=al&limit=2")).json()) as Listed;
    const crossed = await list(tenant, `?userPrefix=ali&cursor=${encodeURIComponent(first.nextCursor!)}`);
    expect(crossed.status).toBe(400);
    expect((await errorOf(crossed)).field).toBe("cursor");
  });

  it("refuses a prefix beside userId, and a prefix no user id could have", async () => {
    const tenant = await createTenant({ shards });
    for (const [query, field] of [
      ["?userPrefix=a&userId=a", "userPrefix"],
      ["?userPrefix=", "userPrefix"],
      [`?userPrefix=${"a".repeat(257)}`, "userPrefix"],
      ["?userPrefix=%E2%80%AE", "userPrefix"],
    ] as const) {
      const response = await list(tenant, query);
      expect(response.status, query).toBe(400);
      expect((await errorOf(response)).field, query).toBe(field);
    }
  });

  it("filters by user and never shows a token or a hash", async () => {
    const tenant = await createTenant({ shards });
    const issued = await seed(tenant, ["alice", "bob", "alice", "carol", "alice"]);
    const response = await list(tenant, "?userId=alice");
    const text = await response.text();
    const body = JSON.parse(text) as Listed;
    expect(body.sessions.map((s) => s.userId)).toEqual(["alice", "alice", "alice"]);
    expect(body.nextCursor).toBeNull();
    for (const s of issued) {
      expect(text).not.toContain(s.token);
      expect(text).not.toContain(secretOf(s.token));
    }
    expect(text.toLowerCase()).not.toContain("hash");
  });

  it("refuses forged, mangled and foreign cursors with 400", async () => {
    const tenant = await createTenant({ shards });
    const other = await createTenant({ shards });
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
    const tenant = await createTenant({ shards });
    const response = await list(tenant, query);
    expect(response.status).toBe(400);
    expect((await errorOf(response)).field).toBe(field);
  });

  it("shows only the asked tenant, and a tenant key only its own", async () => {
    const tenant = await createTenant({ shards });
    const other = await createTenant({ shards });
    await seed(tenant, ["a"]);
    await seed(other, ["a", "b"]);
    const { key } = (await (await call("POST", `/v1/tenants/${tenant}/keys`)).json()) as { key: string };
    const own = (await (await list(tenant, "", key)).json()) as Listed;
    expect(own.sessions).toHaveLength(1);
    expect((await list(other, "", key)).status).toBe(403);
    expect((await list("never-created-tenant")).status).toBe(404);
  });
});

describe.each(SHARD_COUNTS)("GET /v1/tenants/:tenant/sessions/:id, %i shard(s)", (shards) => {
  it("returns one live session, and 404 for unknown, killed or malformed ids", async () => {
    const tenant = await createTenant({ shards });
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
