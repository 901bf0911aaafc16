// @session-service/client against the real service: its helpers called as a consumer Worker
// calls them, over the real service binding (env.SESSIONS), and its Hono middleware in a
// real Hono app. The package's own rules (cookie, origin) are the service's: cookie.test.ts
// and the self-service tests cover them once.

import { env } from "cloudflare:workers";
import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { html } from "hono/html";
import {
  endOtherSessions,
  endSession,
  mintJwt,
  proxyLiveSocket,
  requireAssurance as requireAssuranceOf,
  safeReturnPath,
  stepUpResponse,
  validateRequest,
} from "../packages/client/src/index.ts";
import {
  requireAssurance,
  sessionMiddleware,
  type SessionVariables,
  watchSessionScript,
} from "../packages/client/src/hono";
import { watchSessionScript as plainScript } from "../packages/client/src/watch-script";
import type { SessionServiceBinding } from "../packages/client/src/types";
import { call, COOKIE_NAME, createSession, createTenant } from "./helpers";

const SESSIONS = env.SESSIONS as unknown as SessionServiceBinding;
const APP = "https://app.example.com";
const CLEARED = `${COOKIE_NAME}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;

function page(path: string, headers: Record<string, string> = {}, init: RequestInit = {}): Request {
  return new Request(`${APP}${path}`, { ...init, headers });
}

const cookie = (token: string) => ({ Cookie: `${COOKIE_NAME}=${token}` });

describe("validateRequest", () => {
  it("gives the session of the cookie's token for the pinned tenant; a bearer token only when asked", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const viaCookie = await validateRequest(SESSIONS, tenant, page("/", cookie(issued.token)));
    expect(viaCookie.ok && viaCookie.session.id).toBe(issued.session.id);
    expect(viaCookie.clearCookie).toBeUndefined();
    const bearer = { Authorization: `Bearer ${issued.token}` };
    expect(await validateRequest(SESSIONS, tenant, page("/", bearer))).toMatchObject({
      ok: false,
      error: { code: "invalid_token" },
    });
    const viaBearer = await validateRequest(SESSIONS, tenant, page("/", bearer), { bearer: true });
    expect(viaBearer.ok && viaBearer.session.id).toBe(issued.session.id);
  });

  it("never sends the consumer's own Authorization header to the service as a session token", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const request = page("/", { ...cookie(issued.token), Authorization: "Basic c3RhZ2luZzpzZWNyZXQ=" });
    const result = await validateRequest(SESSIONS, tenant, request);
    expect(result.ok && result.session.id).toBe(issued.session.id);
  });

  it("refuses another tenant's session, and tells the consumer to clear that cookie", async () => {
    const [mine, theirs] = [await createTenant(), await createTenant()];
    const foreign = await createSession(theirs);
    const result = await validateRequest(SESSIONS, mine, page("/", cookie(foreign.token)));
    expect(result).toMatchObject({ ok: false, error: { code: "invalid_token" }, clearCookie: CLEARED });
    // Nothing was ended: the token still works for its own tenant.
    expect((await validateRequest(SESSIONS, theirs, page("/", cookie(foreign.token)))).ok).toBe(true);
  });

  it("has no session without a token or with two session cookies; clears only a cookie it read", async () => {
    const tenant = await createTenant();
    const [a, b] = [await createSession(tenant), await createSession(tenant)];
    const none = await validateRequest(SESSIONS, tenant, page("/"));
    expect(none).toMatchObject({ ok: false, error: { code: "invalid_token" } });
    expect(none.clearCookie).toBeUndefined();
    const doubled = await validateRequest(
      SESSIONS,
      tenant,
      page("/", { Cookie: `${COOKIE_NAME}=${a.token}; ${COOKIE_NAME}=${b.token}` }),
    );
    // Neither of two cookies of the name is read: nothing was validated, nothing is cleared.
    expect(doubled).toMatchObject({ ok: false, error: { code: "invalid_token" } });
    expect(doubled.clearCookie).toBeUndefined();
    await call("DELETE", `/v1/tenants/${tenant}/sessions/${a.session.id}`);
    const deadBearer = await validateRequest(SESSIONS, tenant, page("/", { Authorization: `Bearer ${a.token}` }), {
      bearer: true,
    });
    expect(deadBearer).toMatchObject({ ok: false, error: { code: "invalid_token" } });
    expect(deadBearer.clearCookie).toBeUndefined();
  });

  it("clears a cookie of a pinned tenant that does not exist (its tokens are another tenant's), and passes a malformed name on as bad_request", async () => {
    const issued = await createSession(await createTenant());
    // The token names another tenant than the pin: invalid before any store is asked.
    const unknown = await validateRequest(SESSIONS, "no-such-tenant", page("/", cookie(issued.token)));
    expect(unknown).toMatchObject({ ok: false, error: { code: "invalid_token" }, clearCookie: CLEARED });
    const typo = await validateRequest(SESSIONS, "Not A Tenant!", page("/", cookie(issued.token)));
    expect(typo).toMatchObject({ ok: false, error: { code: "bad_request" } });
    expect(typo.clearCookie).toBeUndefined();
  });
});

describe("endSession", () => {
  it("ends the session and gives the cookie-clearing Set-Cookie; again, and without a token, it still succeeds", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const request = () => page("/logout", cookie(issued.token), { method: "POST" });
    expect(await endSession(SESSIONS, tenant, request())).toEqual({ ok: true, setCookie: CLEARED });
    expect((await validateRequest(SESSIONS, tenant, request())).ok).toBe(false);
    expect(await endSession(SESSIONS, tenant, request())).toEqual({ ok: true, setCookie: CLEARED });
    expect(await endSession(SESSIONS, tenant, page("/logout", {}, { method: "POST" }))).toEqual({
      ok: true,
      setCookie: CLEARED,
    });
  });

  it("ends nothing of another tenant, and honours a configured cookie name", async () => {
    const [mine, theirs] = [await createTenant(), await createTenant()];
    const foreign = await createSession(theirs);
    const ended = await endSession(SESSIONS, mine, page("/logout", { Cookie: `sid=${foreign.token}` }), {
      cookieName: "sid",
    });
    expect(ended).toEqual({ ok: true, setCookie: "sid=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0" });
    expect((await validateRequest(SESSIONS, theirs, page("/", cookie(foreign.token)))).ok).toBe(true);
  });
});

describe("endOtherSessions and mintJwt: the request's session, as the service takes it", () => {
  it("ends the user's other sessions and mints a JWT for a listed audience; no token is invalid_token", async () => {
    const tenant = await createTenant({ jwt: { audiences: ["https://api.example.com"] } });
    const [mine, other] = [
      await createSession(tenant, { userId: "u1" }),
      await createSession(tenant, { userId: "u1" }),
    ];
    const request = page("/", cookie(mine.token));
    expect(await endOtherSessions(SESSIONS, tenant, request)).toMatchObject({ ok: true, revoked: 1 });
    expect((await validateRequest(SESSIONS, tenant, page("/", cookie(other.token)))).ok).toBe(false);
    expect((await validateRequest(SESSIONS, tenant, request)).ok).toBe(true);
    expect(await mintJwt(SESSIONS, tenant, request, "https://api.example.com")).toMatchObject({
      ok: true,
      jwt: expect.stringMatching(/^ey/),
    });
    expect(await mintJwt(SESSIONS, tenant, request, "https://elsewhere.example.com")).toMatchObject({
      ok: false,
      error: { code: "bad_request", field: "audience" },
    });
    for (const answer of [
      await endOtherSessions(SESSIONS, tenant, page("/")),
      await mintJwt(SESSIONS, tenant, page("/"), "x"),
    ])
      expect(answer).toMatchObject({ ok: false, error: { code: "invalid_token" } });
  });
});

describe("watchSessionScript in Hono's templates", () => {
  it("reaches the page as it is, where the plain string would be escaped and break", async () => {
    const hono = new Hono();
    hono.get("/raw", (c) => c.html(html`<script>${watchSessionScript({ redirectTo: "/login" })}</script>`));
    hono.get("/plain", (c) => c.html(html`<script>${plainScript({ redirectTo: "/login" })}</script>`));
    const raw = await (await hono.fetch(page("/raw"))).text();
    expect(raw).toBe(`<script>${plainScript({ redirectTo: "/login" })}</script>`);
    expect(await (await hono.fetch(page("/plain"))).text()).toContain("&quot;");
  });
});

describe("proxyLiveSocket", () => {
  async function open(request: Request, tenant: string) {
    const response = await proxyLiveSocket(request, SESSIONS, tenant);
    const socket = response.webSocket;
    if (response.status !== 101 || !socket)
      return { status: response.status, messages: [], closed: Promise.resolve(null) };
    socket.accept();
    const messages: string[] = [];
    socket.addEventListener("message", (event) => {
      messages.push(String(event.data));
    });
    const closed = new Promise<{ code: number; reason: string }>((resolve) =>
      socket.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })),
    );
    return { status: 101, messages, closed };
  }
  const upgrade = (headers: Record<string, string> = {}) => ({ Upgrade: "websocket", ...headers });

  it("holds the service's socket for a live session: a kill reaches it as revoked, 4001", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const live = await open(page("/live", upgrade({ ...cookie(issued.token), Origin: APP })), tenant);
    expect(live.status).toBe(101);
    await call("DELETE", `/v1/tenants/${tenant}/sessions/${issued.session.id}`);
    expect(await live.closed).toEqual({ code: 4001, reason: "revoked" });
    expect(live.messages).toEqual(['{"type":"revoked","reason":"revoked"}']);
  });

  it("answers a dead session, another tenant's, or none with a socket that says invalid at once", async () => {
    const [tenant, other] = [await createTenant(), await createTenant()];
    const dead = await createSession(tenant);
    await call("DELETE", `/v1/tenants/${tenant}/sessions/${dead.session.id}`);
    const foreign = await createSession(other);
    for (const headers of [cookie(dead.token), cookie(foreign.token), {}]) {
      const live = await open(page("/live", upgrade(headers)), tenant);
      expect(live.status).toBe(101);
      expect(await live.closed).toEqual({ code: 4001, reason: "invalid" });
      expect(live.messages).toEqual(['{"type":"revoked","reason":"invalid"}']);
    }
  });

  it("refuses a cross-site page (403) and a request that is no upgrade (426)", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const crossSite = await proxyLiveSocket(
      page(
        "/live",
        upgrade({ ...cookie(issued.token), "Sec-Fetch-Site": "cross-site", Origin: "https://evil.example" }),
      ),
      SESSIONS,
      tenant,
    );
    expect(crossSite.status).toBe(403);
    const otherOrigin = await proxyLiveSocket(
      page("/live", upgrade({ ...cookie(issued.token), Origin: "https://admin.example.com" })),
      SESSIONS,
      tenant,
    );
    expect(otherOrigin.status).toBe(403);
    const trusted = await proxyLiveSocket(
      page("/live", upgrade({ ...cookie(issued.token), Origin: "https://admin.example.com" })),
      SESSIONS,
      tenant,
      { trustedOrigins: ["https://admin.example.com"] },
    );
    expect(trusted.status).toBe(101);
    trusted.webSocket?.accept();
    trusted.webSocket?.close(1000);
    const plain = await proxyLiveSocket(page("/live", cookie(issued.token)), SESSIONS, tenant);
    expect(plain.status).toBe(426);
  });
});

describe("sessionMiddleware (Hono)", () => {
  type AppEnv = { Bindings: { SESSIONS: SessionServiceBinding }; Variables: SessionVariables };
  function app(tenant: string, onMissing?: (c: { redirect(to: string): Response }) => Response) {
    const hono = new Hono<AppEnv>();
    hono.use("/admin/*", sessionMiddleware<AppEnv>({ tenant, ...(onMissing ? { onMissing } : {}) }));
    hono.get("/admin/me", (c) => c.json({ userId: c.get("session").userId }));
    return (request: Request) => hono.fetch(request, { SESSIONS });
  }

  it("puts the validated session on the context", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant, { userId: "u_hono" });
    const response = await app(tenant)(page("/admin/me", cookie(issued.token)));
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ userId: "u_hono" });
  });

  it("answers 401 without a live session of the tenant, clearing a dead cookie; onMissing decides the answer", async () => {
    const [tenant, other] = [await createTenant(), await createTenant()];
    const foreign = await createSession(other);
    const refused = await app(tenant)(page("/admin/me", cookie(foreign.token)));
    expect(refused.status).toBe(401);
    expect(refused.headers.get("Set-Cookie")).toBe(CLEARED);
    expect(await refused.json()).toMatchObject({ error: { code: "invalid_token" } });
    const redirected = await app(tenant, (c) => c.redirect("/login"))(page("/admin/me"));
    expect(redirected.status).toBe(302);
    expect(redirected.headers.get("Location")).toBe("/login");
    expect(redirected.headers.get("Set-Cookie")).toBeNull();
  });

  it("refuses a cross-origin state change (403) before looking at the session; GET is not checked", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant, { userId: "u_hono" });
    const hono = new Hono<AppEnv>();
    hono.use("/admin/*", sessionMiddleware<AppEnv>({ tenant, trustedOrigins: ["https://admin.example.com"] }));
    hono.post("/admin/do", (c) => c.json({ done: c.get("session").userId }));
    const post = (headers: Record<string, string>) =>
      hono.fetch(page("/admin/do", { ...cookie(issued.token), ...headers }, { method: "POST" }), { SESSIONS });
    const crossSite = await post({ Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" });
    expect(crossSite.status).toBe(403);
    expect(await crossSite.json()).toMatchObject({ error: { code: "origin_not_allowed" } });
    expect((await post({ Origin: "https://other.example.com" })).status).toBe(403);
    expect((await post({ Origin: "https://admin.example.com" })).status).toBe(200);
    expect(await (await post({ Origin: APP, "Sec-Fetch-Site": "same-origin" })).json()).toEqual({ done: "u_hono" });
  });

  it("passes the service's other failures on with their status, not as a logout", async () => {
    const issued = await createSession(await createTenant());
    const response = await app("Bad Tenant!")(page("/admin/me", cookie(issued.token)));
    expect(response.status).toBe(400);
    expect(response.headers.get("Set-Cookie")).toBeNull();
    expect(await response.json()).toMatchObject({ error: { code: "bad_request" } });
  });
});

/** The framework-neutral helper, asked for nothing (a misconfiguration). */
function requireAssuranceFor(tenant: string, token: string) {
  return requireAssuranceOf(SESSIONS, tenant, page("/", cookie(token)), {});
}

describe("requireAssurance (Hono) and stepUpResponse", () => {
  type AppEnv = { Bindings: { SESSIONS: SessionServiceBinding }; Variables: SessionVariables };
  function app(tenant: string) {
    const hono = new Hono<AppEnv>();
    hono.use("/account/*", requireAssurance<AppEnv>({ tenant, maxAuthAgeSeconds: 300, reauthenticate: "/step-up" }));
    hono.get("/account/password", (c) => c.json({ userId: c.get("session").userId }));
    return (request: Request) => hono.fetch(request, { SESSIONS });
  }
  const stale = () => Math.floor(Date.now() / 1000) - 600;

  it("lets a recent authentication through, with the session on the context", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant, { userId: "u" });
    const response = await app(tenant)(page("/account/password", cookie(issued.token)));
    expect(await response.json()).toEqual({ userId: "u" });
  });

  it("sends a page load short of it to the re-authentication page, and answers an API call with RFC 9470's 401", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant, { userId: "u", authTime: stale() });
    const navigation = await app(tenant)(
      page("/account/password?tab=2", { ...cookie(issued.token), "Sec-Fetch-Mode": "navigate" }),
    );
    expect(navigation.status).toBe(303);
    expect(navigation.headers.get("Location")).toBe("/step-up?return_to=%2Faccount%2Fpassword%3Ftab%3D2&max_age=300");
    expect(navigation.headers.get("Set-Cookie")).toBeNull(); // still logged in
    const api = await app(tenant)(page("/account/password", { ...cookie(issued.token), "Sec-Fetch-Mode": "cors" }));
    expect(api.status).toBe(401);
    expect(api.headers.get("WWW-Authenticate")).toMatch(
      /^Bearer error="insufficient_user_authentication", error_description="[^"]+", max_age=300$/,
    );
    expect(await api.json()).toMatchObject({
      error: { code: "step_up_required", required: { maxAuthAgeSeconds: 300 } },
    });
    const elevated = await SESSIONS.elevate(tenant, issued.token, { amr: ["pwd"] });
    if (!elevated.ok) throw new Error(elevated.error.message);
    expect((await app(tenant)(page("/account/password", cookie(elevated.token)))).status).toBe(200);
  });

  it("validateRequest passes a requirement on; stepUpResponse without a page answers 401", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant, { userId: "u", authTime: stale() });
    const result = await validateRequest(SESSIONS, tenant, page("/", cookie(issued.token)), {
      require: { maxAuthAgeSeconds: 60 },
    });
    if (result.ok) throw new Error("expected step_up_required");
    expect(result.clearCookie).toBeUndefined();
    const answer = stepUpResponse(page("/", { Accept: "text/html" }), result.error);
    expect(answer.status).toBe(401);
  });

  it("takes only a path of this app as return_to, as the browser will read it", () => {
    expect(safeReturnPath("/account/password?x=1")).toBe("/account/password?x=1");
    expect(safeReturnPath("/a/%09/b")).toBe("/a/%09/b");
    for (const bad of [
      "https://evil.example/",
      "//evil.example",
      "/\\evil.example",
      "/\t/evil.example",
      "/\n/evil.example",
      "account",
      null,
    ])
      expect(safeReturnPath(bad), JSON.stringify(bad)).toBe("/");
  });

  it("asks the tenant's privileged requirement with privileged: true, and refuses a requirement of nothing", async () => {
    const tenant = await createTenant({ privilegedRequirement: { maxAuthAgeSeconds: 60 } });
    const issued = await createSession(tenant, { userId: "u", authTime: stale() });
    const hono = new Hono<AppEnv>();
    hono.use("/admin/*", requireAssurance<AppEnv>({ tenant, privileged: true }));
    hono.get("/admin/x", (c) => c.json({ ok: true }));
    const response = await hono.fetch(page("/admin/x", cookie(issued.token)), { SESSIONS });
    expect(response.status).toBe(401);
    expect(() => requireAssurance<AppEnv>({ tenant })).toThrow(/give maxAuthAgeSeconds/);
    await expect(requireAssuranceFor(tenant, issued.token)).rejects.toThrow(/give maxAuthAgeSeconds/);
  });
});
