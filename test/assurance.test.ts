// Session assurance: how and when the user authenticated, requirements at validation that a
// live session may fall short of (RFC 9470's challenge), the step-up that raises a session and
// replaces its token, and impersonation. Over HTTP and RPC, on 1 and 16 shards.

import { env } from "cloudflare:workers";
import { createLocalJWKSet, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import type { SessionServiceBinding } from "../packages/client/src/types";
import { shortfall, stepUpChallenge } from "../src/core/assurance";
import { shardOf } from "../src/core/placement";
import {
  BASE,
  call,
  createSession,
  createTenant,
  errorOf,
  type IssuedBody,
  SHARD_COUNTS,
  withBearer,
  withToken,
  unplacedId,
} from "./helpers";

const sessions: SessionServiceBinding = env.SESSIONS;
const MINUTE_S = 60;

const nowSeconds = () => Math.floor(Date.now() / 1000);

async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

function validate(token: string, query = ""): Promise<Response> {
  return call("GET", `/v1/session${query}`, withBearer(token));
}

function elevate(tenant: string, body: Record<string, unknown>, key?: string): Promise<Response> {
  return call("POST", `/v1/tenants/${tenant}/sessions/elevate`, { body, ...(key && { key }) });
}

async function mintKey(tenant: string): Promise<string> {
  return (await json<{ key: string }>(await call("POST", `/v1/tenants/${tenant}/keys`))).key;
}

/**
 * The auth-params of a challenge, as RFC 9110 section 11.2 reads them: a value is a token or a
 * quoted-string, and means the same either way (RFC 9470 says so of max_age).
 */
function challengeParams(header: string): { scheme: string; params: Record<string, string> } {
  const [, scheme, rest] = /^(\S+)\s+(.*)$/s.exec(header.replace(/\s*\n\s*/g, " "))!;
  const params: Record<string, string> = {};
  for (const [, name, quoted, token] of rest!.matchAll(/([a-z_]+)=(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*(?:,\s*|$)/g))
    params[name!] = quoted ?? token!;
  return { scheme: scheme!, params };
}

describe.each(SHARD_COUNTS)("session assurance on %i shard(s)", (shards) => {
  it("shows how and when the user authenticated wherever the session is shown", async () => {
    const tenant = await createTenant({ shards });
    const authTime = nowSeconds() - 5 * MINUTE_S;
    const issued = await createSession(tenant, { userId: "ada", authTime, amr: ["pwd", "otp"], acr: "aal2" });
    const expected = {
      authTime: new Date(authTime * 1000).toISOString(),
      amr: ["pwd", "otp"],
      acr: "aal2",
      actor: null,
    };
    expect(issued.session).toMatchObject(expected);
    expect((await json<{ session: object }>(await validate(issued.token))).session).toMatchObject(expected);
    const byId = await call("GET", `/v1/tenants/${tenant}/sessions/${issued.session.id}`);
    expect((await json<{ session: object }>(byId)).session).toMatchObject(expected);
    const listed = await json<{ sessions: object[] }>(await call("GET", `/v1/tenants/${tenant}/sessions`));
    expect(listed.sessions).toEqual([expect.objectContaining(expected)]);
    const siblings = await json<{ sessions: object[] }>(
      await call("GET", "/v1/session/siblings", withToken(issued.token)),
    );
    expect(siblings.sessions).toEqual([expect.objectContaining({ ...expected, current: true })]);
    const overRpc = await sessions.validate(tenant, issued.token);
    expect(overRpc.ok && overRpc.session).toMatchObject(expected);
  });

  it("defaults to the creation as authTime, no methods, the tenant's lowest level and no actor", async () => {
    const tenant = await createTenant({ shards, acrValues: ["basic", "strong"] });
    const created = await sessions.createSession(tenant, { userId: "bo" });
    if (!created.ok) throw new Error(created.error.message);
    expect(created.session).toMatchObject({ authTime: created.session.createdAt, amr: [], acr: "basic", actor: null });
  });

  it("answers step_up_required with RFC 9470's challenge to a live session short of a requirement, and passes it for less", async () => {
    const tenant = await createTenant({ shards });
    const issued = await createSession(tenant, { userId: "cy", authTime: nowSeconds() - 10 * MINUTE_S, acr: "aal2" });
    const stale = await validate(issued.token, "?maxAuthAge=300");
    expect(stale.status).toBe(401);
    expect(stale.headers.get("Cache-Control")).toBe("no-store");
    const error = (await json<{ error: Record<string, unknown> }>(stale)).error;
    expect(error).toEqual({
      code: "step_up_required",
      message: "the user must authenticate again: this needs an authentication within the last 300 s",
      required: { maxAuthAgeSeconds: 300 },
    });
    expect(stale.headers.get("WWW-Authenticate")).toBe(
      `Bearer error="insufficient_user_authentication", error_description="${error.message}", max_age=300`,
    );
    const weak = await validate(issued.token, "?acr=aal3&maxAuthAge=3600");
    expect(await errorOf(weak)).toMatchObject({ code: "step_up_required", required: { acr: "aal3" } });
    expect(weak.headers.get("WWW-Authenticate")).toContain(', acr_values="aal3"');
    expect(weak.headers.get("WWW-Authenticate")).not.toContain("max_age");
    const methods = await validate(issued.token, "?amr=otp,hwk");
    expect(await errorOf(methods)).toMatchObject({ required: { amr: ["otp", "hwk"] } });
    // The same session meets what asks less, and stays valid.
    for (const query of ["", "?maxAuthAge=900", "?acr=aal2", "?acr=aal1&maxAuthAge=3600", "?cache=1"])
      expect((await validate(issued.token, query)).status, query).toBe(200);
    expect(await sessions.validate(tenant, issued.token, { maxAuthAgeSeconds: 300, minAcr: "aal3" })).toEqual({
      ok: false,
      error: {
        code: "step_up_required",
        message:
          "the user must authenticate again: this needs an authentication within the last 300 s; assurance level aal3",
        required: { maxAuthAgeSeconds: 300, acr: "aal3" },
      },
    });
    expect((await sessions.validate(tenant, issued.token, { maxAuthAgeSeconds: 900 })).ok).toBe(true);
  });

  it("elevates: the session is raised, its token replaced, the step-up recorded, and the requirement then met", async () => {
    const tenant = await createTenant({ shards });
    const issued = await createSession(tenant, { userId: "di", authTime: nowSeconds() - 3600, amr: ["pwd"] });
    const key = await mintKey(tenant);
    const raised = await elevate(tenant, { token: issued.token, acr: "aal2", amr: ["otp"] }, key);
    expect(raised.status).toBe(200);
    const body = await json<IssuedBody>(raised);
    expect(raised.headers.get("Set-Cookie")).toBe(body.setCookie);
    expect(body.session).toMatchObject({ id: issued.session.id, amr: ["pwd", "otp"], acr: "aal2" });
    expect(Date.now() - Date.parse(body.session.authTime as string)).toBeLessThan(5000);
    expect(body.token).not.toBe(issued.token);
    expect(await errorOf(await validate(issued.token))).toMatchObject({ code: "invalid_token" });
    expect((await validate(body.token, "?maxAuthAge=60&acr=aal2&amr=otp")).status).toBe(200);
    const events = await json<{ events: Record<string, unknown>[] }>(await call("GET", `/v1/tenants/${tenant}/events`));
    // Newest first: the use of the replaced token above, then the step-up.
    expect(events.events.map((event) => event.type).slice(0, 2)).toEqual(["superseded_token_used", "elevated"]);
    expect(events.events[1]).toMatchObject({
      type: "elevated",
      acr: "aal2",
      sessionId: issued.session.id,
      userId: "di",
      actor: expect.stringMatching(/^tenant_key:/),
    });

    const again = await sessions.elevate(tenant, body.token, { acr: "aal3", authTime: nowSeconds() });
    if (!again.ok) throw new Error(again.error.message);
    expect(again.session).toMatchObject({ acr: "aal3", amr: ["pwd", "otp"] });
    expect((await sessions.validate(tenant, body.token)).ok).toBe(false);
    expect((await sessions.validate(tenant, again.token, { minAcr: "aal3" })).ok).toBe(true);
  });

  it("never lowers a session: a lower level or an earlier authTime is cannot_lower_assurance, and nothing changes", async () => {
    const tenant = await createTenant({ shards });
    const authTime = nowSeconds() - 60;
    const issued = await createSession(tenant, { userId: "ed", authTime, acr: "aal2" });
    for (const [raise, field] of [
      [{ acr: "aal1" }, "acr"],
      [{ authTime: authTime - 1 }, "authTime"],
    ] as const) {
      const refused = await elevate(tenant, { token: issued.token, ...raise });
      expect(refused.status).toBe(400);
      expect(await errorOf(refused)).toMatchObject({ code: "cannot_lower_assurance", field });
    }
    const still = await json<{ session: Record<string, unknown> }>(await validate(issued.token));
    expect(still.session).toMatchObject({ acr: "aal2", authTime: new Date(authTime * 1000).toISOString() });
  });

  it("marks an impersonation everywhere, never elevates it, and ends it by the tenant's limit", async () => {
    const tenant = await createTenant({ shards, impersonationMaxSeconds: 600 });
    const actor = { id: "support-7", reason: "ticket 4411" };
    const issued = await createSession(tenant, { userId: "fay", actor });
    expect(issued.session.actor).toEqual(actor);
    expect(
      Date.parse(issued.session.absoluteExpiresAt as string) - Date.parse(issued.session.createdAt as string),
    ).toBe(600_000);
    const listed = await json<{ sessions: object[] }>(await call("GET", `/v1/tenants/${tenant}/sessions?userId=fay`));
    expect(listed.sessions).toEqual([expect.objectContaining({ actor })]);
    const refused = await elevate(tenant, { token: issued.token, acr: "aal2" });
    expect(refused.status).toBe(403);
    expect((await errorOf(refused)).code).toBe("impersonation_cannot_elevate");
    expect((await sessions.elevate(tenant, issued.token)).ok).toBe(false);
    expect((await validate(issued.token)).status).toBe(200);
  });
});

describe("session assurance: bad input", () => {
  it.each([
    [{ acr: "aal9" }, "acr"],
    [{ acr: "has space" }, "acr"],
    [{ amr: [] }, "amr"],
    [{ amr: ["PWD"] }, "amr"],
    [{ amr: "pwd" }, "amr"],
    [{ amr: Array.from({ length: 11 }, (_, i) => `m${i}`) }, "amr"],
    [{ authTime: nowSeconds() + 3600 }, "authTime"],
    [{ authTime: nowSeconds() - 8 * 24 * 3600 }, "authTime"],
    [{ authTime: 1.5 }, "authTime"],
    [{ authTime: "now" }, "authTime"],
    [{ actor: "support" }, "actor"],
    [{ actor: { id: "", reason: "x" } }, "actor.id"],
    [{ actor: { id: "s", reason: "line\nbreak" } }, "actor.reason"],
    [{ actor: { id: "s", reason: "r", extra: 1 } }, "actor"],
  ])("refuses a create with %j: 400 naming %s, and nothing made", async (fields, field) => {
    const tenant = await createTenant();
    const response = await call("POST", `/v1/tenants/${tenant}/sessions`, { body: { userId: "u", ...fields } });
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: "bad_request", field });
    const listed = await json<{ sessions: unknown[] }>(await call("GET", `/v1/tenants/${tenant}/sessions`));
    expect(listed.sessions).toEqual([]);
  });

  it("refuses bad requirements and bad step-ups, naming the field, and leaves the token working", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant, { userId: "u" });
    for (const [query, field] of [
      ["?maxAuthAge=abc", "maxAuthAge"],
      ["?maxAuthAge=-1", "maxAuthAge"],
      ["?acr=aal9", "acr"],
      ["?amr=PWD", "amr"],
      ["?amr=", "amr"],
    ]) {
      const response = await validate(issued.token, query);
      expect(response.status, query).toBe(400);
      expect((await errorOf(response)).field, query).toBe(field);
    }
    for (const [body, field] of [
      [{}, "token"],
      [{ token: issued.token, acr: "aal9" }, "acr"],
      [{ token: issued.token, amr: ["?"] }, "amr"],
      [{ token: issued.token, authTime: nowSeconds() + 3600 }, "authTime"],
      [{ token: issued.token, actor: { id: "a", reason: "b" } }, "actor"],
      [{ token: issued.token, userId: "someone-else" }, "userId"],
    ] as const) {
      const response = await elevate(tenant, body);
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await errorOf(response)).field).toBe(field);
    }
    const rpc = await sessions.validate(tenant, issued.token, { maxAuthAgeSeconds: -5 });
    expect(rpc.ok || rpc.error).toMatchObject({ code: "bad_request", field: "maxAuthAgeSeconds" });
    expect((await validate(issued.token)).status).toBe(200);
  });

  it("checks the settings like every other: acrValues and impersonationMaxSeconds", async () => {
    const tenant = await createTenant();
    for (const [settings, field] of [
      [{ acrValues: [] }, "acrValues"],
      [{ acrValues: ["a", "a"] }, "acrValues"],
      [{ acrValues: ['q"uote'] }, "acrValues"],
      [{ acrValues: Array.from({ length: 11 }, (_, i) => `l${i}`) }, "acrValues"],
      [{ impersonationMaxSeconds: 59 }, "impersonationMaxSeconds"],
      [{ impersonationMaxSeconds: 28_801 }, "impersonationMaxSeconds"],
    ] as const) {
      const response = await call("PUT", `/v1/tenants/${tenant}`, { body: settings });
      expect(response.status, JSON.stringify(settings)).toBe(400);
      expect((await errorOf(response)).field).toBe(field);
    }
    const view = await json<{ tenant: { settings: Record<string, unknown> } }>(
      await call("GET", `/v1/tenants/${tenant}`),
    );
    expect(view.tenant.settings).toMatchObject({ acrValues: ["aal1", "aal2", "aal3"], impersonationMaxSeconds: 3600 });
  });

  it("orders a tenant's own levels as listed, and ranks a level it no longer lists below all", async () => {
    const tenant = await createTenant({ acrValues: ["bronze", "silver", "gold"] });
    const issued = await createSession(tenant, { userId: "u", acr: "silver" });
    expect((await validate(issued.token, "?acr=bronze")).status).toBe(200);
    expect((await validate(issued.token, "?acr=gold")).status).toBe(401);
    await call("PUT", `/v1/tenants/${tenant}`, { body: { acrValues: ["bronze", "gold"] } });
    expect((await validate(issued.token, "?acr=bronze")).status).toBe(401);
    expect((await validate(issued.token)).status).toBe(200);
  });

  it("elevates only a token of the tenant named, for a caller allowed on that tenant", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const issued = await createSession(tenant, { userId: "u" });
    const theirs = await createSession(other, { userId: "u" });
    const pinned = await elevate(tenant, { token: theirs.token });
    expect(pinned.status).toBe(401);
    expect((await errorOf(pinned)).code).toBe("invalid_token");
    const foreignKey = await elevate(tenant, { token: issued.token }, await mintKey(other));
    expect(foreignKey.status).toBe(403);
    expect((await validate(issued.token)).status).toBe(200);
    expect((await validate(theirs.token)).status).toBe(200);
  });
});

describe("session assurance in JWTs", () => {
  it("carries auth_time, amr and acr, and for an impersonation act alone, which jose verifies", async () => {
    const audience = "https://api.example.com";
    const tenant = await createTenant({ jwt: { audiences: [audience] } });
    const jwks = createLocalJWKSet((await json(await call("GET", "/.well-known/jwks.json", { key: null }))) as never);
    const authTime = nowSeconds() - 90;
    const user = await createSession(tenant, { userId: "u", authTime, amr: ["hwk"], acr: "aal3" });
    const actor = await createSession(tenant, { userId: "u", actor: { id: "admin-1", reason: "debugging" } });
    const claims = async (issued: IssuedBody) => {
      const minted = await call("POST", "/v1/session/token", { ...withBearer(issued.token), body: { audience } });
      const { jwt } = await json<{ jwt: string }>(minted);
      return (await jwtVerify(jwt, jwks, { audience, issuer: `${BASE}/tenants/${tenant}` })).payload;
    };
    expect(await claims(user)).toMatchObject({ auth_time: authTime, amr: ["hwk"], acr: "aal3" });
    expect(await claims(user)).not.toHaveProperty("act");
    const acting = await claims(actor);
    expect(acting).toMatchObject({ sub: "u", act: { sub: "admin-1" } });
    for (const claim of ["auth_time", "amr", "acr"]) expect(acting).not.toHaveProperty(claim);
  });
});

describe("the step-up challenge (RFC 9470, section 3)", () => {
  // The RFC's own examples (figures 2 and 3), read by the same parser as ours.
  const RFC_ACR = `Bearer error="insufficient_user_authentication",
    error_description="A different authentication level is required",
    acr_values="myACR"`;
  const RFC_MAX_AGE = `Bearer error="insufficient_user_authentication",
    error_description="More recent authentication is required",
    max_age="5"`;

  it("writes what the RFC's examples write, parameter for parameter", () => {
    expect(challengeParams(stepUpChallenge({ acr: "myACR" }, "A different authentication level is required"))).toEqual(
      challengeParams(RFC_ACR),
    );
    expect(
      challengeParams(stepUpChallenge({ maxAuthAgeSeconds: 5 }, "More recent authentication is required")),
    ).toEqual(challengeParams(RFC_MAX_AGE));
  });

  it("keeps a description to what a quoted-string may hold", () => {
    const header = stepUpChallenge({ maxAuthAgeSeconds: 1 }, 'say "hi"\\ é\n');
    expect(header).toBe('Bearer error="insufficient_user_authentication", error_description="say hi ", max_age=1');
  });
});

describe.each(SHARD_COUNTS)("re-authentication floors on %i shard(s)", (shards) => {
  it("makes a user prove it again without logging anyone out, until a step-up; others are untouched", async () => {
    const tenant = await createTenant({ shards });
    const authTime = nowSeconds() - 10;
    const ada = await createSession(tenant, { userId: "ada", authTime, acr: "aal2" });
    const bo = await createSession(tenant, { userId: "bo", authTime });
    const response = await call("POST", `/v1/tenants/${tenant}/users/ada/reauthenticate`);
    expect(response.status).toBe(200);
    const { floor, reauthId } = await json<{ floor: string; reauthId: string }>(response);
    expect(Math.abs(Date.parse(floor) - Date.now())).toBeLessThan(5000);
    expect(reauthId).toMatch(/^[A-Za-z0-9_-]{22}$/);
    // Still logged in; but any requirement, however lax, now asks for an authentication since the floor.
    expect((await validate(ada.token)).status).toBe(200);
    const asked = await validate(ada.token, "?maxAuthAge=86400");
    expect(asked.status).toBe(401);
    const error = await errorOf(asked);
    expect(error).toMatchObject({ code: "step_up_required" });
    expect((error as { required?: { maxAuthAgeSeconds: number } }).required!.maxAuthAgeSeconds).toBeLessThanOrEqual(5);
    expect((await validate(ada.token, "?acr=aal1")).status).toBe(401);
    expect((await validate(bo.token, "?maxAuthAge=86400")).status).toBe(200);
    const raised = await json<IssuedBody>(await elevate(tenant, { token: ada.token }));
    expect((await validate(raised.token, "?maxAuthAge=60&acr=aal2")).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const fresh = await createSession(tenant, { userId: "ada" });
    expect((await validate(fresh.token, "?maxAuthAge=60")).status).toBe(200);
    const events = await json<{ events: Record<string, unknown>[] }>(await call("GET", `/v1/tenants/${tenant}/events`));
    expect(events.events).toContainEqual(
      expect.objectContaining({
        type: "reauth_required",
        reason: "user",
        userId: "ada",
        killId: reauthId,
        actor: "admin",
      }),
    );
  });

  it("makes the whole tenant prove it again, over RPC too, and undoes it as a kill", async () => {
    const tenant = await createTenant({ shards });
    const issued = await Promise.all(
      ["u1", "u2", "u3", "u4"].map((userId) => createSession(tenant, { userId, authTime: nowSeconds() - 10 })),
    );
    const done = await sessions.reauthenticateTenant(tenant);
    if (!done.ok) throw new Error(done.error.message);
    for (const one of issued) {
      expect((await validate(one.token)).status).toBe(200);
      expect((await validate(one.token, "?maxAuthAge=3600")).status).toBe(401);
    }
    const undone = await call("POST", `/v1/tenants/${tenant}/kills/${done.reauthId}/undo`);
    expect(await json(undone)).toEqual({ restored: 0, killId: done.reauthId });
    for (const one of issued) expect((await validate(one.token, "?maxAuthAge=3600")).status).toBe(200);
    expect((await call("POST", `/v1/tenants/${tenant}/kills/${done.reauthId}/undo`)).status).toBe(409);
    const user = await sessions.reauthenticateUser(tenant, "u1");
    expect(user.ok).toBe(true);
    expect((await validate(issued[0]!.token, "?maxAuthAge=3600")).status).toBe(401);
    expect((await validate(issued[1]!.token, "?maxAuthAge=3600")).status).toBe(200);
  });

  it("keeps an earlier floor in force when a later one is undone", async () => {
    const tenant = await createTenant({ shards });
    const issued = await createSession(tenant, { userId: "u", authTime: nowSeconds() - 10 });
    const first = await sessions.reauthenticateUser(tenant, "u");
    const second = await sessions.reauthenticateTenant(tenant);
    if (!first.ok || !second.ok) throw new Error("reauthenticate failed");
    await call("POST", `/v1/tenants/${tenant}/kills/${second.reauthId}/undo`);
    expect((await validate(issued.token, "?maxAuthAge=3600")).status).toBe(401);
    await call("POST", `/v1/tenants/${tenant}/kills/${first.reauthId}/undo`);
    expect((await validate(issued.token, "?maxAuthAge=3600")).status).toBe(200);
  });
});

describe("re-authentication: bad input and reach", () => {
  it("refuses a bad user id, another tenant's key and an unknown tenant, and raises no floor", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant, { userId: "u", authTime: nowSeconds() - 10 });
    const bad = await call("POST", `/v1/tenants/${tenant}/users/${encodeURIComponent("a\u202eb")}/reauthenticate`);
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).field).toBe("userId");
    const other = await createTenant();
    const foreign = await call("POST", `/v1/tenants/${tenant}/reauthenticate`, { key: await mintKey(other) });
    expect(foreign.status).toBe(403);
    expect((await call("POST", "/v1/tenants/no-such-tenant-here/reauthenticate")).status).toBe(404);
    expect((await validate(issued.token, "?maxAuthAge=3600")).status).toBe(200);
  });
});

describe.each(SHARD_COUNTS)("impersonations on %i shard(s)", (shards) => {
  it("lists them apart, ends them all at once, and brings them back with undo", async () => {
    const tenant = await createTenant({ shards });
    const actor = { id: "support-1", reason: "ticket 1" };
    const own = await Promise.all(["a", "b", "c"].map((userId) => createSession(tenant, { userId })));
    const acting = await Promise.all(["a", "d", "e"].map((userId) => createSession(tenant, { userId, actor })));
    // Two pages of the impersonations alone, newest first: all three, none of the user's own.
    const first = await json<{ sessions: { id: string; createdAt: string }[]; nextCursor: string }>(
      await call("GET", `/v1/tenants/${tenant}/sessions?impersonated=true&limit=2`),
    );
    const rest = await json<{ sessions: { id: string; createdAt: string }[]; nextCursor: string | null }>(
      await call("GET", `/v1/tenants/${tenant}/sessions?impersonated=true&limit=2&cursor=${first.nextCursor}`),
    );
    const pages = [...first.sessions, ...rest.sessions];
    expect(pages.map((s) => s.id).sort()).toEqual(acting.map((s) => s.session.id).sort());
    expect(rest.nextCursor).toBeNull();
    const times = pages.map((s) => s.createdAt);
    expect(times).toEqual([...times].sort().reverse());
    const overRpc = await sessions.listSessions(tenant, { impersonated: true });
    expect(overRpc.ok && overRpc.sessions.map((s) => s.id).sort()).toEqual(acting.map((s) => s.session.id).sort());
    const created = await json<{ events: Record<string, unknown>[] }>(
      await call("GET", `/v1/tenants/${tenant}/events`),
    );
    expect(created.events.filter((event) => event.impersonator === "support-1")).toHaveLength(3);

    const killed = await call("DELETE", `/v1/tenants/${tenant}/impersonations`);
    expect(killed.status).toBe(200);
    const { revoked, killId } = await json<{ revoked: number; killId: string }>(killed);
    expect(revoked).toBe(3);
    for (const one of acting) expect((await validate(one.token)).status).toBe(401);
    for (const one of own) expect((await validate(one.token)).status).toBe(200);
    const events = await json<{ events: Record<string, unknown>[] }>(await call("GET", `/v1/tenants/${tenant}/events`));
    expect(events.events[0]).toMatchObject({ type: "revoked", reason: "impersonations", count: 3, killId });

    const undone = await call("POST", `/v1/tenants/${tenant}/kills/${killId}/undo`);
    expect(await json(undone)).toEqual({ restored: 3, killId });
    for (const one of acting) expect((await validate(one.token)).status).toBe(200);
    const none = await sessions.revokeImpersonations(tenant);
    expect(none.ok && none.revoked).toBe(3);
  });

  it("refuses a listing filter other than true", async () => {
    const tenant = await createTenant({ shards });
    const response = await call("GET", `/v1/tenants/${tenant}/sessions?impersonated=yes`);
    expect(response.status).toBe(400);
    expect((await errorOf(response)).field).toBe("impersonated");
  });
});

describe("the tenant's requirement for privileged use", () => {
  it("is what privileged asks, the stricter of it and the request's own on each point", async () => {
    const tenant = await createTenant({ privilegedRequirement: { maxAuthAgeSeconds: 600, minAcr: "aal2" } });
    const issued = await createSession(tenant, { userId: "u", authTime: nowSeconds() - 300, acr: "aal2" });
    expect((await validate(issued.token, "?privileged=true")).status).toBe(200);
    const stricter = await validate(issued.token, "?privileged=true&maxAuthAge=60&acr=aal1");
    expect(await errorOf(stricter)).toMatchObject({ code: "step_up_required", required: { maxAuthAgeSeconds: 60 } });
    const weak = await createSession(tenant, { userId: "v" });
    const overRpc = await sessions.validate(tenant, weak.token, { privileged: true });
    expect(overRpc.ok || overRpc.error).toMatchObject({ code: "step_up_required", required: { acr: "aal2" } });
    expect((await validate(weak.token)).status).toBe(200);
  });

  it("refuses privileged where the tenant sets none, and checks the setting like every other", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant, { userId: "u" });
    const none = await validate(issued.token, "?privileged=true");
    expect(none.status).toBe(400);
    expect((await errorOf(none)).field).toBe("privileged");
    expect((await errorOf(await validate(issued.token, "?privileged=yes"))).field).toBe("privileged");
    for (const [settings, field] of [
      [{ privilegedRequirement: {} }, "privilegedRequirement"],
      [{ privilegedRequirement: { minAcr: "aal9" } }, "privilegedRequirement.minAcr"],
      [{ privilegedRequirement: { maxAuthAgeSeconds: -1 } }, "privilegedRequirement.maxAuthAgeSeconds"],
      [{ privilegedRequirement: { sudo: true } }, "privilegedRequirement.sudo"],
      [{ privilegedRequirement: "strict" }, "privilegedRequirement"],
    ] as const) {
      const response = await call("PUT", `/v1/tenants/${tenant}`, { body: settings });
      expect(response.status, JSON.stringify(settings)).toBe(400);
      expect((await errorOf(response)).field).toBe(field);
    }
    expect(
      (await call("PUT", `/v1/tenants/${tenant}`, { body: { privilegedRequirement: { minAcr: "aal3" } } })).status,
    ).toBe(200);
    const dropped = await call("PUT", `/v1/tenants/${tenant}`, { body: { acrValues: ["aal1", "aal2"] } });
    expect(dropped.status).toBe(400);
    expect((await errorOf(dropped)).field).toBe("acrValues");
  });
});

describe("the review of session assurance", () => {
  it("an impersonation claims no authentication, meets no requirement, and vouches for none in a JWT", async () => {
    const audience = "https://api.example.com";
    const tenant = await createTenant({ jwt: { audiences: [audience] }, privilegedRequirement: { minAcr: "aal1" } });
    const actor = { id: "support-2", reason: "ticket 9" };
    for (const claim of [{ acr: "aal3" }, { amr: ["hwk"] }, { authTime: nowSeconds() }]) {
      const refused = await call("POST", `/v1/tenants/${tenant}/sessions`, { body: { userId: "u", actor, ...claim } });
      expect(refused.status, JSON.stringify(claim)).toBe(400);
      expect((await errorOf(refused)).field).toBe(Object.keys(claim)[0]);
    }
    const acting = await createSession(tenant, { userId: "u", actor });
    for (const query of ["?maxAuthAge=3600", "?acr=aal1", "?privileged=true"]) {
      const asked = await validate(acting.token, query);
      expect(asked.status, query).toBe(403);
      expect((await errorOf(asked)).code).toBe("impersonation_cannot_elevate");
    }
    expect((await validate(acting.token)).status).toBe(200);
    const minted = await call("POST", "/v1/session/token", { ...withBearer(acting.token), body: { audience } });
    const { jwt } = await json<{ jwt: string }>(minted);
    const jwks = createLocalJWKSet((await json(await call("GET", "/.well-known/jwks.json", { key: null }))) as never);
    const { payload } = await jwtVerify(jwt, jwks, { audience });
    expect(payload).toMatchObject({ sub: "u", act: { sub: "support-2" } });
    for (const claim of ["auth_time", "amr", "acr"]) expect(payload).not.toHaveProperty(claim);
  });

  it("vouches in a JWT for no authentication below a re-authentication floor", async () => {
    const audience = "https://api.example.com";
    const tenant = await createTenant({ jwt: { audiences: [audience] } });
    const issued = await createSession(tenant, { userId: "u", authTime: nowSeconds() - 10, acr: "aal2" });
    const claims = async (token: string) => {
      const minted = await call("POST", "/v1/session/token", { ...withBearer(token), body: { audience } });
      const [, body] = (await json<{ jwt: string }>(minted)).jwt.split(".");
      return JSON.parse(atob(body!.replaceAll("-", "+").replaceAll("_", "/"))) as Record<string, unknown>;
    };
    expect(await claims(issued.token)).toMatchObject({ acr: "aal2" });
    await sessions.reauthenticateUser(tenant, "u");
    const below = await claims(issued.token);
    for (const claim of ["auth_time", "acr"]) expect(below).not.toHaveProperty(claim);
    const raised = await sessions.elevate(tenant, issued.token);
    if (!raised.ok) throw new Error(raised.error.message);
    expect(await claims(raised.token)).toHaveProperty("auth_time");
  });

  it("a floor reaches the shards the tenant grows to, for the users placed there", async () => {
    const tenant = await createTenant();
    // A user who moves off the home when the tenant grows to 16 shards.
    const userId = Array.from({ length: 100 }, (_, i) => `mover-${i}`).find((id) => shardOf(id, 16) !== 0)!;
    const tenantWide = await sessions.reauthenticateTenant(tenant);
    const userOnly = await sessions.reauthenticateUser(tenant, userId);
    expect(tenantWide.ok && userOnly.ok).toBe(true);
    expect((await call("PUT", `/v1/tenants/${tenant}`, { body: { shards: 16 } })).status).toBe(200);
    const old = nowSeconds() - 60;
    const moved = await createSession(tenant, { userId, authTime: old });
    expect(moved.token.split(".")[2]).not.toBe("0");
    expect((await validate(moved.token, "?maxAuthAge=3600")).status).toBe(401);
    const other = await createSession(tenant, { userId: `${userId}-x`, authTime: old });
    expect((await validate(other.token, "?maxAuthAge=3600")).status).toBe(401);
  });

  it("binds impersonations under way to a lowered limit, on every store", async () => {
    for (const shards of SHARD_COUNTS) {
      const tenant = await createTenant({ shards });
      const acting = await createSession(tenant, { userId: "u", actor: { id: "s", reason: "r" } });
      expect((await call("PUT", `/v1/tenants/${tenant}`, { body: { impersonationMaxSeconds: 60 } })).status).toBe(200);
      const shown = await json<{ session: { createdAt: string; absoluteExpiresAt: string } }>(
        await validate(acting.token),
      );
      expect(Date.parse(shown.session.absoluteExpiresAt) - Date.parse(shown.session.createdAt), `${shards}`).toBe(
        60_000,
      );
    }
  });

  it("an impersonation neither evicts the user's own session nor logs the user out of their devices", async () => {
    const tenant = await createTenant({ maxSessionsPerUser: 1 });
    const own = await createSession(tenant, { userId: "u" });
    const acting = await createSession(tenant, { userId: "u", actor: { id: "s", reason: "r" } });
    expect((await validate(own.token)).status).toBe(200);
    const refused = await call("DELETE", "/v1/session/siblings", withBearer(acting.token));
    expect(refused.status).toBe(403);
    expect((await validate(own.token)).status).toBe(200);
    expect((await sessions.revokeSiblings(tenant, acting.token)).ok).toBe(false);
  });

  it("reads privileged=false as no requirement, refuses an unlisted level beside privileged, and never asks a negative max_age", async () => {
    const tenant = await createTenant({ privilegedRequirement: { maxAuthAgeSeconds: 60 } });
    const issued = await createSession(tenant, { userId: "u", authTime: nowSeconds() - 600 });
    expect((await validate(issued.token, "?privileged=false")).status).toBe(200);
    const unlisted = await validate(issued.token, "?privileged=true&acr=aal9");
    expect(unlisted.status).toBe(400);
    expect((await errorOf(unlisted)).field).toBe("acr");
    const now = Date.now();
    const found = shortfall({ authTime: now - 5000, amr: [], acr: null, actor: null }, {}, ["aal1"], now + 2000, now);
    expect(found.ok && found.required).toEqual({ maxAuthAgeSeconds: 0 });
  });
});

describe("the query string of a validation", () => {
  it("reads a query as URLSearchParams does, malformed escapes and plus signs included", async () => {
    const { queryOf } = await import("../src/core/http");
    for (const search of ["a=1&b=x+y", "a=%E2%82%AC&&b", "a=%zz&b=%E2", "a=1=2&%61=3", "=x&b=", "a=%2B%25"]) {
      const got = queryOf(new Request(`https://x.example/p?${search}#frag?c=1`));
      const expected = Object.fromEntries(new URLSearchParams(search));
      if (!got.ok) {
        expect(new Set([...new URLSearchParams(search)].map(([name]) => name)).size, search).toBeLessThan(
          [...new URLSearchParams(search)].length,
        );
        continue;
      }
      expect({ ...got.query }, search).toEqual(expected);
    }
  });
});

describe("an impersonation's end, on the store's clock", () => {
  it("stops validating at impersonationMaxSeconds however it is used, and at a lowered limit sooner", async () => {
    const { runInDurableObject } = await import("cloudflare:test");
    const { storeStub } = await import("./helpers");
    const { createSession: createOnStore, useSession } = await import("../durable-objects/session-store/sessions");
    const { putTenant, storeOf } = await import("../durable-objects/session-store/tenant");
    const { hashSecret, newSecret } = await import("../src/core/token");
    const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);
    const MINUTE = 60_000;
    const tenant = `imp-${crypto.randomUUID().slice(0, 8)}`;
    await runInDurableObject(storeStub(tenant), (_instance, state) => {
      const run = <T>(operation: (store: ReturnType<typeof storeOf>) => T): T =>
        state.storage.transactionSync(() => operation(storeOf(state.storage.sql)));
      run(() => putTenant(state.storage, tenant, { impersonationMaxSeconds: 600 }, "admin", T0));
      const make = (at: number) => {
        const id = unplacedId();
        const secretHash = hashSecret(newSecret());
        const input = {
          userId: "u",
          data: "{}",
          ip: null,
          userAgent: null,
          assurance: { actor: { id: "s", reason: "r" } },
        };
        expect(run((store) => createOnStore(store, { kind: "admin" }, id, secretHash, input, 1, at)).ok).toBe(true);
        return { id, secretHash };
      };
      const first = make(T0);
      // Used every minute: the idle window slides, the limit does not.
      for (let at = T0 + MINUTE; at < T0 + 10 * MINUTE; at += MINUTE)
        expect(
          run((store) => useSession(store, first.id, first.secretHash, at, { thumbprint: null })).ok,
          `${at - T0}`,
        ).toBe(true);
      expect(
        run((store) => useSession(store, first.id, first.secretHash, T0 + 10 * MINUTE, { thumbprint: null })).ok,
      ).toBe(false);
      const second = make(T0 + 20 * MINUTE);
      run(() => putTenant(state.storage, tenant, { impersonationMaxSeconds: 60 }, "admin", T0 + 20 * MINUTE + 1));
      expect(
        run((store) => useSession(store, second.id, second.secretHash, T0 + 21 * MINUTE + 1, { thumbprint: null })).ok,
      ).toBe(false);
    });
  });
});
