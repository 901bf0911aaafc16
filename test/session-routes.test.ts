// The self-service routes end to end through the real Worker: create, validate, rotate,
// logout; cookies and headers exactly; forged tokens stopped before any Durable Object.

import { env, exports } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  BASE,
  call,
  COOKIE_NAME,
  createSession,
  createTenant,
  errorOf,
  withBearer,
  withToken,
  countingWorker,
  keysOf,
  unplacedId,
} from "./helpers";

const SET_COOKIE = new RegExp(`^${COOKIE_NAME}=v2\\.[A-Za-z0-9._-]+; Path=/; Secure; HttpOnly; SameSite=Lax$`);
const INVALID = { code: "invalid_token", message: "the session token is invalid, expired or revoked" };

async function lastSeenAt(tenant: string, id: string): Promise<number> {
  const stub = env.SESSION_STORE.get(env.SESSION_STORE.idFromName(tenant));
  return runInDurableObject(
    stub,
    (_instance, state) =>
      state.storage.sql.exec("SELECT last_seen_at FROM sessions WHERE id = ?", id).one().last_seen_at as number,
  );
}

describe("POST /v1/tenants/:tenant/sessions", () => {
  it("creates a session and returns it with its token and cookie, uncached", async () => {
    const tenant = await createTenant();
    const response = await call("POST", `/v1/tenants/${tenant}/sessions`, {
      body: { userId: "u_42", data: { role: "admin" }, ip: "203.0.113.7", userAgent: "Firefox" },
    });
    expect(response.status).toBe(201);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as { session: Record<string, unknown>; token: string; setCookie: string };
    expect(body.session).toEqual({
      id: expect.stringMatching(/^[A-Za-z0-9_-]{28}$/), // names its store: see placed-ids.test.ts
      tenant,
      userId: "u_42",
      createdAt: expect.any(String),
      lastSeenAt: body.session.createdAt,
      expiresAt: new Date(Date.parse(body.session.createdAt as string) + 30 * 60 * 1000).toISOString(),
      absoluteExpiresAt: new Date(Date.parse(body.session.createdAt as string) + 7 * 24 * 3600 * 1000).toISOString(),
      ip: "203.0.113.7",
      userAgent: "Firefox",
      data: { role: "admin" },
      authTime: body.session.createdAt,
      amr: [],
      acr: "aal1",
      actor: null,
      idp: null,
      bound: false,
      boundAt: null,
      lastProofAt: null,
    });
    expect(body.token.split(".").slice(0, 4)).toEqual(["v2", tenant, "0", body.session.id]);
    expect(body.setCookie).toBe(`${COOKIE_NAME}=${body.token}; Path=/; Secure; HttpOnly; SameSite=Lax`);
  });

  it("sets SameSite=Strict on the cookie when the tenant asks for it", async () => {
    const tenant = await createTenant({ sameSite: "Strict" });
    const issued = await createSession(tenant);
    expect(issued.setCookie).toBe(`${COOKIE_NAME}=${issued.token}; Path=/; Secure; HttpOnly; SameSite=Strict`);
  });

  it("answers 404 tenant_not_found for a tenant that was never created", async () => {
    const response = await call("POST", "/v1/tenants/never-made/sessions", { body: { userId: "u1" } });
    expect(response.status).toBe(404);
    expect(await errorOf(response)).toEqual({ code: "tenant_not_found", message: "no such tenant" });
  });

  it("refuses a ttlSeconds above the tenant's absolute timeout, naming the field", async () => {
    const tenant = await createTenant({ absoluteTimeoutSeconds: 3600, idleTimeoutSeconds: 600 });
    const response = await call("POST", `/v1/tenants/${tenant}/sessions`, { body: { userId: "u1", ttlSeconds: 3601 } });
    expect(response.status).toBe(400);
    expect((await errorOf(response)).field).toBe("ttlSeconds");
  });
});

describe("GET /v1/session", () => {
  it("validates a token from the cookie", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const response = await call("GET", "/v1/session", withToken(issued.token));
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect(await response.json()).toEqual({ session: issued.session });
  });

  it("validates a token from Authorization: Bearer", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const response = await call("GET", "/v1/session", withBearer(issued.token));
    expect(response.status).toBe(200);
  });

  it("never reads a token from the query string", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    for (const query of [`token=${issued.token}`, `${COOKIE_NAME}=${issued.token}`, `access_token=${issued.token}`]) {
      const response = await call("GET", `/v1/session?${query}`, { key: null });
      expect(response.status).toBe(401);
    }
  });

  it("is reached the same way with a query string or a trailing slash, and other methods are 405", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    for (const path of ["/v1/session", "/v1/session?page=1", "/v1/session/", "/v1/session#top"]) {
      const response = await call("GET", path, withToken(issued.token));
      expect(response.status, path).toBe(200);
      expect(((await response.json()) as { session: { id: string } }).session.id).toBe(issued.session.id);
    }
    const put = await call("PUT", "/v1/session", withToken(issued.token));
    expect(put.status).toBe(405);
    expect(put.headers.get("Allow")).toBe("GET, DELETE, HEAD");
  });

  it("answers 401 without a token, and for a well-formed token that was never issued", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    expect((await call("GET", "/v1/session", { key: null })).status).toBe(401);
    // Same tenant, same key, a fresh id and secret: correctly signed but unknown to the store.
    const { signToken, newSecret } = await import("../src/core/token");
    const neverIssued = signToken(
      keysOf(env.SESSION_SIGNING_KEYS),
      { tenant, shard: 0, jurisdiction: null },
      unplacedId(),
      newSecret(),
      0,
    );
    const response = await call("GET", "/v1/session", withToken(neverIssued));
    expect(response.status).toBe(401);
    expect(await errorOf(response)).toEqual(INVALID);
    const response2 = await call("GET", "/v1/session", withToken(issued.token));
    expect(response2.status).toBe(200);
  });

  it("refuses every single-character change of a token with 401, without touching the session", async () => {
    const tenant = await createTenant({ touchIntervalSeconds: 0 });
    const issued = await createSession(tenant);
    const seenBefore = await lastSeenAt(tenant, issued.session.id);
    const tampered: string[] = [issued.token.slice(0, -1), `${issued.token}A`, issued.token.toUpperCase()];
    for (let i = 0; i < issued.token.length; i++) {
      const c = issued.token[i]!;
      tampered.push(issued.token.slice(0, i) + (c === "a" ? "b" : "a") + issued.token.slice(i + 1));
    }
    for (const token of tampered) {
      const response = await call("GET", "/v1/session", withToken(token));
      expect(response.status, token).toBe(401);
    }
    expect(await lastSeenAt(tenant, issued.session.id)).toBe(seenBefore);
  });

  it("refuses a token with a bad signature without any Durable Object call", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const counted = countingWorker();
    const valid = await counted.fetch("/v1/session", { headers: { Cookie: `${COOKIE_NAME}=${issued.token}` } });
    expect(valid.status).toBe(200);
    expect(counted.uses()).toBeGreaterThan(0); // the counter does see real calls
    const before = counted.uses();
    const forged = issued.token.slice(0, -2) + (issued.token.endsWith("AA") ? "BB" : "AA");
    const otherTenant = issued.token.replace(`.${tenant}.`, ".other-tenant.");
    for (const token of [forged, otherTenant, "v1.acme.x.y.k1.z", "garbage"]) {
      for (const [method, path] of [
        ["GET", "/v1/session"],
        ["POST", "/v1/session/rotate"],
        ["DELETE", "/v1/session"],
      ] as const) {
        const response = await counted.fetch(path, { method, headers: { Cookie: `${COOKIE_NAME}=${token}` } });
        expect(response.status, `${method} ${path}`).toBe(method === "DELETE" ? 204 : 401);
      }
    }
    expect(counted.uses()).toBe(before);
  });

  it("refuses malformed Authorization headers rather than falling back to the cookie", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    for (const header of [
      `bearer ${issued.token}`,
      `Bearer  ${issued.token}`,
      `Basic ${issued.token}`,
      `Bearer`,
      `Token ${issued.token}`,
    ]) {
      const response = await call("GET", "/v1/session", {
        key: null,
        headers: { Authorization: header, Cookie: `${COOKIE_NAME}=${issued.token}` },
      });
      expect(response.status, header).toBe(401);
    }
  });

  it("ignores a spoofed X-Forwarded-For", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant, { userId: "u1", ip: "198.51.100.1" });
    const response = await call("GET", "/v1/session", withToken(issued.token, { "X-Forwarded-For": "10.0.0.1" }));
    expect(((await response.json()) as { session: { ip: string } }).session.ip).toBe("198.51.100.1");
  });
});

describe("POST /v1/session/rotate", () => {
  it("issues a new token for the same session and kills the old one at once", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const response = await call("POST", "/v1/session/rotate", withToken(issued.token));
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = (await response.json()) as { session: { id: string }; token: string; setCookie: string };
    expect(body.session.id).toBe(issued.session.id);
    expect(body.token).not.toBe(issued.token);
    expect(response.headers.get("Set-Cookie")).toMatch(SET_COOKIE);
    expect(response.headers.get("Set-Cookie")).toBe(body.setCookie);
    expect((await call("GET", "/v1/session", withToken(issued.token))).status).toBe(401);
    expect((await call("GET", "/v1/session", withToken(body.token))).status).toBe(200);
  });

  it("leaves exactly one working successor after 50 concurrent rotations of one token", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const responses = await Promise.all(
      Array.from({ length: 50 }, () => call("POST", "/v1/session/rotate", withBearer(issued.token))),
    );
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 401)).toHaveLength(49);
    const winner = (await responses[statuses.indexOf(200)]!.json()) as { token: string };
    expect((await call("GET", "/v1/session", withBearer(winner.token))).status).toBe(200);
    expect((await call("GET", "/v1/session", withBearer(issued.token))).status).toBe(401);
  });

  it("keeps a rotated session's absolute expiry", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const rotated = (await (await call("POST", "/v1/session/rotate", withBearer(issued.token))).json()) as {
      session: { absoluteExpiresAt: string };
    };
    expect(rotated.session.absoluteExpiresAt).toBe(issued.session.absoluteExpiresAt);
  });
});

describe("DELETE /v1/session", () => {
  it("logs out: 204, the cookie cleared, Clear-Site-Data, and the old cookie 401 afterwards", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const response = await call("DELETE", "/v1/session", withToken(issued.token));
    expect(response.status).toBe(204);
    expect(response.headers.get("Set-Cookie")).toBe(
      `${COOKIE_NAME}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`,
    );
    expect(response.headers.get("Clear-Site-Data")).toBe('"cookies"');
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    expect((await call("GET", "/v1/session", withToken(issued.token))).status).toBe(401);
    expect((await call("POST", "/v1/session/rotate", withToken(issued.token))).status).toBe(401);
  });

  it("is idempotent: a second logout, or one without a token, is 204 too", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    expect((await call("DELETE", "/v1/session", withToken(issued.token))).status).toBe(204);
    expect((await call("DELETE", "/v1/session", withToken(issued.token))).status).toBe(204);
    expect((await call("DELETE", "/v1/session", { key: null })).status).toBe(204);
  });
});

describe("cross-origin protection of cookie sessions", () => {
  const APP = "https://app.example.com";

  it("refuses a cookie logout or rotation from an origin the tenant does not allow", async () => {
    const tenant = await createTenant({ allowedOrigins: [APP] });
    const issued = await createSession(tenant);
    for (const [method, path] of [
      ["DELETE", "/v1/session"],
      ["POST", "/v1/session/rotate"],
    ] as const) {
      const response = await call(
        method,
        path,
        withToken(issued.token, { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" }),
      );
      expect(response.status, path).toBe(403);
      expect((await errorOf(response)).code).toBe("origin_not_allowed");
    }
    expect((await call("GET", "/v1/session", withToken(issued.token))).status).toBe(200);
  });

  it("refuses a cross-site cookie state change that names no Origin", async () => {
    const tenant = await createTenant({ allowedOrigins: [APP] });
    const issued = await createSession(tenant);
    const response = await call("DELETE", "/v1/session", withToken(issued.token, { "Sec-Fetch-Site": "cross-site" }));
    expect(response.status).toBe(403);
    expect((await call("GET", "/v1/session", withToken(issued.token))).status).toBe(200);
  });

  it("allows listed origins, the service's own origin, and requests from no browser", async () => {
    const tenant = await createTenant({ allowedOrigins: [APP] });
    const cases: Record<string, string>[] = [
      { Origin: APP, "Sec-Fetch-Site": "same-site" },
      { Origin: BASE },
      { "Sec-Fetch-Site": "same-origin" },
      {},
    ];
    for (const headers of cases) {
      const issued = await createSession(tenant);
      const response = await call("POST", "/v1/session/rotate", withToken(issued.token, headers));
      expect(response.status, JSON.stringify(headers)).toBe(200);
    }
  });

  it("does not check Origin for bearer tokens, which browsers never send on their own", async () => {
    const tenant = await createTenant({ allowedOrigins: [APP] });
    const issued = await createSession(tenant);
    const response = await exports.default.fetch(
      new Request(`${BASE}/v1/session/rotate`, {
        method: "POST",
        headers: { Authorization: `Bearer ${issued.token}`, Origin: "https://evil.example" },
      }),
    );
    expect(response.status).toBe(200);
  });
});
