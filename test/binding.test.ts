// Device binding end to end through the Worker, with a key WebCrypto makes as a browser would:
// the registration header in the create answer, registration, validation that needs the bound
// cookie, refresh by challenge and proof, and what a replay, a swapped key or an ended session get.

import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { sessionMiddleware, type SessionVariables } from "../packages/client/src/hono";
import { proxyLiveSocket } from "../packages/client/src/live";
import { validateRequest } from "../packages/client/src/session";
import type { SessionServiceBinding } from "../packages/client/src/types";
import { webhookEventOf } from "../src/core/webhooks";
import { call, COOKIE_NAME, createSession, createTenant, errorOf, SHARD_COUNTS, storeStub } from "./helpers";

const BOUND_COOKIE = `${COOKIE_NAME}-bound`;

async function browserKey() {
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(publicKey);
  return {
    registration: (jti: string) =>
      new SignJWT({ jti }).setProtectedHeader({ alg: "ES256", typ: "dbsc+jwt", jwk }).sign(privateKey),
    refresh: (jti: string) =>
      new SignJWT({ jti }).setProtectedHeader({ alg: "ES256", typ: "dbsc+jwt" }).sign(privateKey),
  };
}

function challengeOf(registration: string): string {
  return /challenge="([^"]+)"/.exec(registration)![1]!;
}

function cookieValue(setCookie: string | null): string {
  return /^[^=]+=([^;]+)/.exec(setCookie ?? "")![1]!;
}

function register(token: string, proof: string) {
  return call("POST", "/v1/session/binding", {
    key: null,
    headers: { Cookie: `${COOKIE_NAME}=${token}`, "Secure-Session-Response": proof },
  });
}

function refresh(token: string, sessionId: string, proof?: string) {
  return call("POST", "/v1/session/binding/refresh", {
    key: null,
    headers: {
      Cookie: `${COOKIE_NAME}=${token}`,
      "Sec-Secure-Session-Id": sessionId,
      ...(proof !== undefined && { "Secure-Session-Response": proof }),
    },
  });
}

async function eventsOf(tenant: string, type: string) {
  const { events } = (await (await call("GET", `/v1/tenants/${tenant}/events`)).json()) as {
    events: { type: string; reason?: string; sessionId?: string }[];
  };
  return events.filter((event) => event.type === type);
}

/**
 * Moves the session's binding past the registration's race window (requests the browser sent
 * while registering carry no bound cookie yet, and are taken for 10 s).
 */
async function settled(token: string) {
  const [, tenant, shard] = token.split(".") as [string, string, string];
  await runInDurableObject(storeStub(tenant, Number(shard)), (_instance, state) => {
    state.storage.sql.exec("UPDATE sessions SET bound_at = bound_at - 10000 WHERE bound_at IS NOT NULL");
  });
}

/** A session of `tenant` (which offers binding) registered by a browser's key, past the registration's moment: its token and bound cookie. */
async function boundSession(tenant: string) {
  const issued = await createSession(tenant, { userId: "alice" });
  const browser = await browserKey();
  const registered = await register(issued.token, await browser.registration(challengeOf(issued.registration!)));
  const bound = cookieValue(registered.headers.get("Set-Cookie"));
  await settled(issued.token);
  return { issued, bound };
}

function validate(token: string, bound?: string) {
  return call("GET", "/v1/session", {
    key: null,
    headers: { Cookie: `${COOKIE_NAME}=${token}${bound === undefined ? "" : `; ${BOUND_COOKIE}=${bound}`}` },
  });
}

describe("device-bound sessions", () => {
  for (const shards of SHARD_COUNTS) {
    it(`register, then validate only with the bound cookie, then refresh by challenge and proof (${shards} shard${shards > 1 ? "s" : ""})`, async () => {
      const tenant = await createTenant({
        deviceBinding: "offer",
        boundCookieSeconds: 120,
        ...(shards > 1 && { shards }),
      });
      const issued = await createSession(tenant, { userId: "alice" });
      const registration = issued.registration!;
      expect(registration).toMatch(/^\(ES256 RS256\);path="\/v1\/session\/binding";challenge="[A-Za-z0-9_-]{43}"$/);
      const browser = await browserKey();

      const registered = await register(issued.token, await browser.registration(challengeOf(registration)));
      expect(registered.status).toBe(200);
      const config = (await registered.json()) as Record<string, unknown>;
      expect(config).toMatchObject({
        session_identifier: issued.session.id,
        refresh_url: "https://sessions.example.com/v1/session/binding/refresh",
        scope: { origin: "https://sessions.example.com", include_site: false },
        credentials: [{ type: "cookie", name: BOUND_COOKIE }],
      });
      const setCookie = registered.headers.get("Set-Cookie")!;
      expect(setCookie).toMatch(
        new RegExp(`^${BOUND_COOKIE}=[^;]+; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=120$`),
      );
      const bound = cookieValue(setCookie);

      // Requests the browser sent while registering have no bound cookie yet: taken for a moment.
      expect((await validate(issued.token)).status).toBe(200);
      await settled(issued.token);

      const without = await validate(issued.token);
      expect(without.status).toBe(401);
      expect((await errorOf(without)).code).toBe("binding_required");
      const validated = await validate(issued.token, bound);
      expect(validated.status).toBe(200);
      expect(((await validated.json()) as { session: { bound: boolean } }).session.bound).toBe(true);

      const asked = await refresh(issued.token, issued.session.id);
      expect(asked.status).toBe(403);
      const challenge = /^"([^"]+)";id="([^"]+)"$/.exec(asked.headers.get("Secure-Session-Challenge")!)!;
      expect(challenge[2]).toBe(issued.session.id);
      const proof = await browser.refresh(challenge[1]!);
      const refreshed = await refresh(issued.token, issued.session.id, proof);
      expect(refreshed.status).toBe(200);
      expect((await validate(issued.token, cookieValue(refreshed.headers.get("Set-Cookie")))).status).toBe(200);
      // The same proof again: its challenge is used up.
      expect((await refresh(issued.token, issued.session.id, proof)).status).toBe(400);
    });
  }

  it("refuses a used challenge, another session's, another key once bound, and a refresh proof by another key", async () => {
    const tenant = await createTenant({ deviceBinding: "offer" });
    const first = await createSession(tenant, { userId: "alice" });
    const second = await createSession(tenant, { userId: "alice" });
    const browser = await browserKey();
    const thief = await browserKey();
    const firstChallenge = challengeOf(first.registration!);
    const secondChallenge = challengeOf(second.registration!);
    // Another session's challenge.
    expect((await register(first.token, await browser.registration(secondChallenge))).status).toBe(400);
    expect((await register(first.token, await browser.registration(firstChallenge))).status).toBe(200);
    // Used.
    expect((await register(first.token, await browser.registration(firstChallenge))).status).toBe(400);
    // A fresh challenge, but another key: a bound session never changes its key.
    const asked = await refresh(first.token, first.session.id);
    const challenge = /^"([^"]+)"/.exec(asked.headers.get("Secure-Session-Challenge")!)![1]!;
    const swapped = await register(first.token, await thief.registration(challenge));
    expect(swapped.status).toBe(403);
    expect((await refresh(first.token, first.session.id, await thief.refresh(challenge))).status).toBe(400);
    // Another session's id in the header.
    expect((await refresh(first.token, second.session.id)).status).toBe(400);
    // No proof, or not a JWT.
    expect((await register(first.token, "")).status).toBe(400);
    expect((await register(first.token, "x".repeat(5000))).status).toBe(400);
    // Audited for the live session whose token came, once a minute: the first refusal's reason.
    expect(await eventsOf(tenant, "binding_failed")).toEqual([
      expect.objectContaining({ sessionId: first.session.id, reason: "challenge", actor: "session" }),
    ]);
  });

  it("names the app's own registration path when asked, and refuses one that is no path", async () => {
    const tenant = await createTenant({ deviceBinding: "offer" });
    const issued = await createSession(tenant, { userId: "alice", bindingPath: "/auth/binding" });
    expect(issued.registration!).toMatch(/^\(ES256 RS256\);path="\/auth\/binding";/);
    for (const bindingPath of ["auth", '/a"b', `/${"a".repeat(256)}`, 7]) {
      const refused = await call("POST", `/v1/tenants/${tenant}/sessions`, { body: { userId: "bob", bindingPath } });
      expect(refused.status).toBe(400);
      expect((await errorOf(refused)).field).toBe("bindingPath");
    }
    const listed = await call("GET", `/v1/tenants/${tenant}/sessions?userId=bob`);
    expect(((await listed.json()) as { sessions: unknown[] }).sessions).toEqual([]);
  });

  it("offers nothing when the tenant does not, and tells the browser to stop once the session ended", async () => {
    const plain = await createTenant();
    const issued = await createSession(plain, { userId: "bob" });
    expect(issued.registration).toBeNull();
    const tenant = await createTenant({ deviceBinding: "offer" });
    const session = await createSession(tenant, { userId: "bob" });
    await call("DELETE", `/v1/tenants/${tenant}/sessions/${session.session.id}`);
    const ended = await refresh(session.token, session.session.id);
    expect(ended.status).toBe(200);
    expect(await ended.json()).toEqual({ session_identifier: session.session.id, continue: false });
  });
});

describe("a bound session's token without its bound cookie", () => {
  it("opens nothing but logout: rotation, siblings, JWTs and the live socket all need the bound cookie", async () => {
    const tenant = await createTenant({ deviceBinding: "offer", jwt: { audiences: ["https://api.example.com"] } });
    const { issued, bound } = await boundSession(tenant);
    const jar = (withBound: boolean) =>
      `${COOKIE_NAME}=${issued.token}${withBound ? `; ${BOUND_COOKIE}=${bound}` : ""}`;
    const siteHeaders = { Origin: "https://sessions.example.com", "Sec-Fetch-Site": "same-origin" };
    const tries = (withBound: boolean) => [
      call("GET", "/v1/session/siblings", { key: null, headers: { Cookie: jar(withBound) } }),
      call("POST", "/v1/session/token", {
        key: null,
        headers: { Cookie: jar(withBound), ...siteHeaders },
        body: { audience: "https://api.example.com" },
      }),
      call("GET", "/v1/session/live", {
        key: null,
        headers: { Cookie: jar(withBound), Upgrade: "websocket", ...siteHeaders },
      }),
    ];
    for (const response of await Promise.all(tries(false))) {
      expect(response.status).toBe(401);
      expect((await errorOf(response)).code).toBe("binding_required");
    }
    const [siblings, jwt, live] = (await Promise.all(tries(true))) as [Response, Response, Response];
    expect(siblings.status).toBe(200);
    expect(jwt.status).toBe(200);
    expect(live.status).toBe(101);
    live.webSocket?.accept();
    live.webSocket?.close();
    const rotated = await call("POST", "/v1/session/rotate", {
      key: null,
      headers: { Cookie: jar(false), ...siteHeaders },
    });
    expect((await errorOf(rotated)).code).toBe("binding_required");
    // Logging out only ends access: a stolen token may do it.
    const loggedOut = await call("DELETE", "/v1/session", {
      key: null,
      headers: { Cookie: jar(false), ...siteHeaders },
    });
    expect(loggedOut.status).toBe(204);
    expect((await validate(issued.token, bound)).status).toBe(401);
  });
});

describe("binding violations", () => {
  for (const policy of ["record", "kill"] as const) {
    it(`records a token without its bound cookie past the cookie's life and grace (${policy})`, async () => {
      const tenant = await createTenant({
        deviceBinding: "offer",
        boundCookieSeconds: 60,
        bindingGraceSeconds: 0,
        bindingViolation: policy,
      });
      const { issued, bound } = await boundSession(tenant);
      // Within the cookie's life: a browser may be refreshing, nothing to say.
      expect((await validate(issued.token)).status).toBe(401);
      const events = async () =>
        (
          (await (await call("GET", `/v1/tenants/${tenant}/events`)).json()) as {
            events: { type: string; reason?: string }[];
          }
        ).events;
      expect((await events()).some((event) => event.type === "binding_violation")).toBe(false);
      // Two minutes without a proof: a browser holding the key would have refreshed by now.
      await runInDurableObject(storeStub(tenant, 0), (_instance, state) => {
        state.storage.sql.exec("UPDATE sessions SET last_proof_at = ?", Date.now() - 120_000);
      });
      expect((await validate(issued.token)).status).toBe(401);
      expect((await events()).filter((event) => event.type === "binding_violation")).toHaveLength(1);
      // The holder of the key, with its cookie: alive under record, ended under kill.
      expect((await validate(issued.token, bound)).status).toBe(policy === "kill" ? 401 : 200);
      if (policy === "kill")
        expect((await events()).find((event) => event.type === "revoked")).toMatchObject({
          reason: "binding_violation",
        });
    });
  }
});

describe("binding's events pushed out", () => {
  it("maps a binding and a violation to webhook events naming the session", () => {
    const base = { actor: "session", sessionId: "s1", userId: "alice" };
    expect(webhookEventOf({ type: "bound", ...base }, "acme")).toEqual({
      type: "session.bound",
      data: { tenant: "acme", actor: "session", sessionId: "s1", userId: "alice" },
    });
    expect(webhookEventOf({ type: "binding_violation", ...base, actor: "system" }, "acme")).toEqual({
      type: "session.binding_violation",
      data: { tenant: "acme", actor: "system", sessionId: "s1", userId: "alice" },
    });
  });
});

describe("the bound cookie over RPC", () => {
  it("is an option of validate, rotate, mintJwt and the siblings; validateRequest passes the request's own", async () => {
    const tenant = await createTenant({ deviceBinding: "offer", jwt: { audiences: ["https://api.example.com"] } });
    const { issued, bound: boundCookie } = await boundSession(tenant);
    const sessions = env.SESSIONS;
    expect(await sessions.validate(tenant, issued.token)).toMatchObject({
      ok: false,
      error: { code: "binding_required" },
    });
    expect(await sessions.validate(tenant, issued.token, { boundCookie })).toMatchObject({ ok: true });
    expect(await sessions.validate(tenant, issued.token, { boundCookie, maxAuthAgeSeconds: 60 })).toMatchObject({
      ok: true,
    });
    expect(await sessions.listSiblings(tenant, issued.token)).toMatchObject({
      ok: false,
      error: { code: "binding_required" },
    });
    expect(await sessions.listSiblings(tenant, issued.token, { boundCookie })).toMatchObject({ ok: true });
    expect(await sessions.mintJwt(tenant, issued.token, "https://api.example.com", { boundCookie })).toMatchObject({
      ok: true,
    });
    const request = new Request("https://app.example.com/", {
      headers: { Cookie: `${COOKIE_NAME}=${issued.token}; ${BOUND_COOKIE}=${boundCookie}` },
    });
    expect(await validateRequest(sessions, tenant, request)).toMatchObject({ ok: true, session: { bound: true } });
    expect(await sessions.elevate(tenant, issued.token, { acr: "aal2" })).toMatchObject({
      ok: false,
      error: { code: "binding_required" },
    });
    const raised = await sessions.elevate(tenant, issued.token, { acr: "aal2", boundCookie });
    expect(raised.ok).toBe(true);
    if (!raised.ok) return;
    const rotated = await sessions.rotate(tenant, raised.token, { boundCookie });
    expect(rotated.ok).toBe(true);
  });
});

describe("the app's own paths: the Hono middleware's deviceBinding, over RPC", () => {
  type AppEnv = { Bindings: { SESSIONS: SessionServiceBinding }; Variables: SessionVariables };
  const APP = "https://app.example.com";

  for (const shards of SHARD_COUNTS) {
    it(`registers, refreshes and tells the browser to drop an ended session (${shards} shard${shards > 1 ? "s" : ""})`, async () => {
      const tenant = await createTenant({ deviceBinding: "offer", ...(shards > 1 && { shards }) });
      const hono = new Hono<AppEnv>();
      hono.use(sessionMiddleware<AppEnv>({ tenant, deviceBinding: { path: "/auth/binding", exclude: ["/login"] } }));
      hono.get("/me", (c) => c.json({ userId: c.get("session").userId, bound: c.get("session").bound }));
      const app = (path: string, headers: Record<string, string>, method = "POST") =>
        hono.fetch(new Request(`${APP}${path}`, { method, headers }), { SESSIONS: env.SESSIONS });

      const issued = await env.SESSIONS.createSession(tenant, { userId: "alice", bindingPath: "/auth/binding" });
      if (!issued.ok) throw new Error(issued.error.message);
      const browser = await browserKey();
      const jar = (bound?: string) => ({
        Cookie: `${COOKIE_NAME}=${issued.token}${bound === undefined ? "" : `; ${BOUND_COOKIE}=${bound}`}`,
      });
      // No cookie, or no proof: the service's error, and nothing bound.
      expect((await app("/auth/binding", {})).status).toBe(401);
      expect((await errorOf(await app("/auth/binding", jar()))).code).toBe("bad_request");

      const registered = await app("/auth/binding", {
        ...jar(),
        "Secure-Session-Response": `"${await browser.registration(challengeOf(issued.registration!))}"`,
      });
      expect(registered.status).toBe(200);
      expect(await registered.json()).toMatchObject({
        session_identifier: issued.session.id,
        refresh_url: `${APP}/auth/binding/refresh`,
        scope: {
          origin: APP,
          include_site: false,
          scope_specification: [{ type: "exclude", domain: "app.example.com", path: "/login" }],
        },
        credentials: [{ type: "cookie", name: BOUND_COOKIE, attributes: "Path=/; Secure; HttpOnly; SameSite=Lax" }],
      });
      const bound = cookieValue(registered.headers.get("Set-Cookie"));
      await settled(issued.token);
      expect((await app("/me", jar(), "GET")).status).toBe(401);
      expect(await (await app("/me", jar(bound), "GET")).json()).toEqual({ userId: "alice", bound: true });
      // A GET of the registration path is the app's, not the middleware's.
      expect((await app("/auth/binding", jar(bound), "GET")).status).toBe(404);

      const refreshHeaders = { ...jar(), "Sec-Secure-Session-Id": issued.session.id };
      const asked = await app("/auth/binding/refresh", refreshHeaders);
      expect(asked.status).toBe(403);
      const challenge = /^"([^"]+)";id="/.exec(asked.headers.get("Secure-Session-Challenge")!)![1]!;
      const refreshed = await app("/auth/binding/refresh", {
        ...refreshHeaders,
        "Secure-Session-Response": await browser.refresh(challenge),
      });
      expect(refreshed.status).toBe(200);
      const fresh = cookieValue(refreshed.headers.get("Set-Cookie"));
      expect((await app("/me", jar(fresh), "GET")).status).toBe(200);

      expect(await env.SESSIONS.revokeSession(tenant, issued.session.id)).toMatchObject({ ok: true });
      const dropped = await app("/auth/binding/refresh", refreshHeaders);
      expect(dropped.status).toBe(200);
      expect(await dropped.json()).toEqual({ session_identifier: issued.session.id, continue: false });
      expect(dropped.headers.get("Set-Cookie")).toBe(
        `${BOUND_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`,
      );
    });
  }
});

describe("a bound session's live socket through the app (proxyLiveSocket)", () => {
  it("goes through with the bound cookie; without it the upgrade is refused, not told the session ended", async () => {
    const tenant = await createTenant({ deviceBinding: "offer" });
    const { issued, bound } = await boundSession(tenant);
    const upgrade = (cookie: string) =>
      proxyLiveSocket(
        new Request("https://app.example.com/live", {
          headers: { Upgrade: "websocket", Cookie: cookie, "Sec-Fetch-Site": "same-origin" },
        }),
        env.SESSIONS,
        tenant,
      );
    const opened = await upgrade(`${COOKIE_NAME}=${issued.token}; ${BOUND_COOKIE}=${bound}`);
    expect(opened.status).toBe(101);
    opened.webSocket?.accept();
    opened.webSocket?.close();
    // The browser refreshes its bound cookie and the page reconnects: no "ended" message meanwhile.
    const refused = await upgrade(`${COOKIE_NAME}=${issued.token}`);
    expect(refused.status).toBe(401);
    expect((await errorOf(refused)).code).toBe("binding_required");
  });
});
