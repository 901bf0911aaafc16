// SessionService over the real service binding in wrangler.toml, as a consumer Worker calls it.
// Expected failures come back as typed values; bad input never throws across the binding.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SessionServiceBinding } from "../packages/client/src/types";
import { call, createSession, createTenant, freshTenantName, seed, SHARD_COUNTS, withToken } from "./helpers";

// What a consumer declares. Assigning the real binding to it (no cast) makes the compiler
// prove that the published client type matches the entrypoint.
const sessions: SessionServiceBinding = env.SESSIONS;
const INVALID = {
  ok: false,
  error: { code: "invalid_token", message: "the session token is invalid, expired or revoked" },
};

describe("SessionService over a service binding", () => {
  it("creates, validates, rotates and destroys a session", async () => {
    const tenant = freshTenantName("rpc");
    const put = await sessions.putTenant(tenant, { idleTimeoutSeconds: 600 });
    expect(put.ok && put.created).toBe(true);

    const created = await sessions.createSession(tenant, { userId: "u_rpc", data: { plan: "pro" } });
    if (!created.ok) throw new Error(created.error.message);
    expect(created.session).toMatchObject({ tenant, userId: "u_rpc", data: { plan: "pro" } });
    expect(created.setCookie).toContain(`=${created.token}; Path=/; Secure; HttpOnly; SameSite=Lax`);

    const validated = await sessions.validate(tenant, created.token);
    expect(validated.ok && validated.session.id).toBe(created.session.id);

    const rotated = await sessions.rotate(tenant, created.token);
    if (!rotated.ok) throw new Error(rotated.error.message);
    expect(rotated.session.id).toBe(created.session.id);
    expect(await sessions.validate(tenant, created.token)).toEqual(INVALID);
    expect((await sessions.validate(tenant, rotated.token)).ok).toBe(true);

    expect(await sessions.destroy(tenant, rotated.token)).toEqual({ ok: true });
    expect(await sessions.validate(tenant, rotated.token)).toEqual(INVALID);
    expect(await sessions.destroy(tenant, rotated.token)).toEqual({ ok: true });
  });

  it("sees a logout done over HTTP at once, and HTTP sees one done over RPC", async () => {
    const tenant = await createTenant();
    const a = await createSession(tenant);
    expect((await call("DELETE", "/v1/session", withToken(a.token))).status).toBe(204);
    expect(await sessions.validate(tenant, a.token)).toEqual(INVALID);
    const b = await createSession(tenant);
    expect(await sessions.destroy(tenant, b.token)).toEqual({ ok: true });
    expect((await call("GET", "/v1/session", withToken(b.token))).status).toBe(401);
  });

  it("returns tenant settings and counts, and tenant_not_found as a value", async () => {
    const tenant = await createTenant({ maxSessionsPerUser: 3 });
    await createSession(tenant);
    const got = await sessions.getTenant(tenant);
    expect(got.ok && got.tenant.settings.maxSessionsPerUser).toBe(3);
    expect(got.ok && got.tenant.counts.sessions).toBe(1);
    expect(await sessions.getTenant(freshTenantName("none"))).toEqual({
      ok: false,
      error: { code: "tenant_not_found", message: "no such tenant" },
    });
    const missing = await sessions.createSession(freshTenantName("none"), { userId: "u" });
    expect(!missing.ok && missing.error.code).toBe("tenant_not_found");
  });

  it("answers bad input with typed error values and writes nothing", async () => {
    const tenant = await createTenant();
    const anyArgs = sessions as unknown as Record<
      string,
      (...args: unknown[]) => Promise<{ ok: boolean; error?: { code: string; field?: string } }>
    >;
    const cases: [string, unknown[], string, string?][] = [
      ["createSession", [undefined, { userId: "u" }], "bad_request", "tenant"],
      ["createSession", ["Not A Tenant", { userId: "u" }], "bad_request", "tenant"],
      ["createSession", ["x".repeat(16 * 1024), { userId: "u" }], "bad_request", "tenant"],
      ["createSession", [tenant, undefined], "bad_request"],
      ["createSession", [tenant, null], "bad_request"],
      ["createSession", [tenant, "u"], "bad_request"],
      ["createSession", [tenant, { userId: 7 }], "bad_request", "userId"],
      ["createSession", [tenant, { userId: "u", data: new Date() }], "bad_request", "data"],
      ["createSession", [tenant, { userId: "u", data: new Map([["a", 1]]) }], "bad_request", "data"],
      ["createSession", [tenant, { userId: "u", data: { f: () => 1 } }], "bad_request", "data"],
      ["createSession", [tenant, { userId: "u", data: { n: Number.NaN } }], "bad_request", "data"],
      ["createSession", [tenant, { userId: "u", data: { big: "x".repeat(1024 * 1024) } }], "bad_request", "data"],
      ["createSession", [tenant, { userId: "u", ttlSeconds: Number.POSITIVE_INFINITY }], "bad_request", "ttlSeconds"],
      ["putTenant", [tenant, null], "bad_request"],
      ["putTenant", [tenant, { idleTimeoutSeconds: Number.NaN }], "bad_request", "idleTimeoutSeconds"],
      ["putTenant", [tenant, { allowedOrigins: [() => "x"] }], "bad_request", "allowedOrigins"],
      ["putTenant", ["BAD", {}], "bad_request", "tenant"],
      ["getTenant", [{}], "bad_request", "tenant"],
      ["validate", [tenant, undefined], "invalid_token"],
      ["validate", [tenant, 42], "invalid_token"],
      ["validate", [tenant, { token: "x" }], "invalid_token"],
      ["validate", [tenant, "x".repeat(1024 * 1024)], "invalid_token"],
      ["validate", [undefined, "x"], "bad_request", "tenant"],
      ["validate", [null, "x"], "bad_request", "tenant"],
      ["rotate", [tenant, null], "invalid_token"],
    ];
    const before = await sessions.getTenant(tenant);
    for (const [method, args, code, field] of cases) {
      const result = await anyArgs[method]!(...args);
      expect(result.ok, `${method} ${JSON.stringify(args)?.slice(0, 80)}`).toBe(false);
      expect(result.error?.code, method).toBe(code);
      if (field) expect(result.error?.field, method).toBe(field);
    }
    expect(await sessions.destroy(tenant, undefined as unknown as string)).toEqual({ ok: true });
    expect(await sessions.getTenant(tenant)).toEqual(before);
  });

  it("fails in the caller, not across the binding, for an argument whose getter throws", async () => {
    const tenant = await createTenant();
    const hostile = {
      get userId(): string {
        throw new Error("boom");
      },
    };
    let thrown: unknown = null;
    try {
      await sessions.createSession(tenant, hostile);
    } catch (error) {
      thrown = error;
    }
    expect(String(thrown)).toContain("boom");
    const got = await sessions.getTenant(tenant);
    expect(got.ok && got.tenant.counts.sessions).toBe(0);
  });
});

describe.each(SHARD_COUNTS)("revocation over RPC, %i shard(s)", (shards) => {
  it("lists, gets and kills with typed results", async () => {
    const tenant = await createTenant({ shards });
    const issued = await seed(tenant, ["a", "a", "b", "c"]);
    const page = await sessions.listSessions(tenant, { limit: 2 });
    if (!page.ok) throw new Error(page.error.message);
    expect(page.sessions.map((s) => s.id)).toEqual([issued[3]!.session.id, issued[2]!.session.id]);
    const next = await sessions.listSessions(tenant, { limit: 2, cursor: page.nextCursor! });
    expect(next.ok && next.sessions.map((s) => s.id)).toEqual([issued[1]!.session.id, issued[0]!.session.id]);
    const one = await sessions.getSession(tenant, issued[0]!.session.id);
    expect(one.ok && one.session.userId).toBe("a");
    expect(await sessions.revokeSession(tenant, issued[0]!.session.id)).toEqual({
      ok: true,
      revoked: 1,
      killId: expect.any(String),
    });
    expect(await sessions.revokeUser(tenant, "a")).toEqual({ ok: true, revoked: 1, killId: expect.any(String) });
    const siblings = await sessions.listSiblings(tenant, issued[2]!.token);
    expect(siblings.ok && siblings.sessions.map((s) => s.current)).toEqual([true]);
    expect(await sessions.revokeSiblings(tenant, issued[2]!.token)).toEqual({
      ok: true,
      revoked: 0,
      killId: expect.any(String),
    });
    expect(await sessions.revokeTenant(tenant)).toEqual({ ok: true, revoked: 2, killId: expect.any(String) });
    const events = await sessions.events(tenant, { limit: 3 });
    expect(events.ok && events.events.map((e) => e.reason)).toEqual(["tenant", "siblings", "user"]);
  });

  it("returns typed errors for bad input", async () => {
    const tenant = await createTenant({ shards });
    expect(await sessions.listSessions(tenant, { limit: 0 })).toMatchObject({
      ok: false,
      error: { code: "bad_request", field: "limit" },
    });
    expect(await sessions.listSessions(tenant, { cursor: "forged" })).toMatchObject({
      ok: false,
      error: { field: "cursor" },
    });
    expect(await sessions.listSessions(tenant, null as never)).toMatchObject({
      ok: false,
      error: { code: "bad_request" },
    });
    expect(await sessions.listSessions(tenant, { userId: 5 } as never)).toMatchObject({
      ok: false,
      error: { field: "userId" },
    });
    expect(await sessions.getSession(tenant, undefined as never)).toMatchObject({
      ok: false,
      error: { code: "session_not_found" },
    });
    expect(await sessions.revokeSession(tenant, { id: "x" } as never)).toMatchObject({
      ok: false,
      error: { code: "session_not_found" },
    });
    expect(await sessions.revokeUser(tenant, "")).toMatchObject({ ok: false, error: { field: "userId" } });
    expect(await sessions.revokeUser("Bad!", "u")).toMatchObject({ ok: false, error: { field: "tenant" } });
    expect(await sessions.revokeTenant("never-created-x")).toMatchObject({
      ok: false,
      error: { code: "tenant_not_found" },
    });
    expect(await sessions.listSiblings(tenant, undefined as never)).toMatchObject({
      ok: false,
      error: { code: "invalid_token" },
    });
    expect(await sessions.revokeSiblings(tenant, 42 as never)).toMatchObject({
      ok: false,
      error: { code: "invalid_token" },
    });
    expect(await sessions.events(tenant, { limit: 1e9 })).toMatchObject({ ok: false, error: { field: "limit" } });
    expect(await sessions.registerBinding(tenant, undefined as never, {})).toMatchObject({
      ok: false,
      error: { code: "invalid_token" },
    });
    const live = await sessions.createSession(tenant, { userId: "u_binding" });
    if (!live.ok) throw new Error(live.error.message);
    for (const headers of [undefined, null, 7, {}, { response: 42 }, { response: "not a jwt" }, { response: "" }])
      expect(await sessions.registerBinding(tenant, live.token, headers as never)).toMatchObject({
        ok: false,
        error: { code: "bad_request" },
      });
    for (const headers of [undefined, {}, { sessionId: "someone-else" }, { sessionId: live.session.id, response: "" }])
      expect(await sessions.refreshBinding(tenant, live.token, headers as never)).toMatchObject({
        ok: false,
        error: { code: "bad_request" },
      });
    // Not bound: there is nothing to refresh.
    expect(await sessions.refreshBinding(tenant, live.token, { sessionId: live.session.id })).toMatchObject({
      ok: false,
      error: { code: "invalid_token" },
    });
  });
});
