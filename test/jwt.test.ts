// JWTs for other services: minted only for a session its store validated, with exactly the
// claims promised, verified here with `jose` against the published JWKS (not with our code).

import { env } from "cloudflare:workers";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { describe, expect, it } from "vitest";
import type { SessionServiceBinding } from "../packages/client/src/types";
import worker from "../src/worker/index.ts";
import { BASE, call, createSession, createTenant, errorOf, withBearer, withToken } from "./helpers";

const sessions: SessionServiceBinding = env.SESSIONS;
const AUDIENCE = "https://api.example.com";

async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

function mint(
  token: string,
  audience: unknown = AUDIENCE,
  init: { cookie?: boolean; headers?: Record<string, string> } = {},
): Promise<Response> {
  const auth = init.cookie
    ? withToken(token, init.headers)
    : { key: null, headers: { ...init.headers, ...withBearer(token).headers } };
  return call("POST", "/v1/session/token", { ...auth, body: { audience } });
}

async function jwks() {
  return createLocalJWKSet((await json(await call("GET", "/.well-known/jwks.json", { key: null }))) as never);
}

describe("POST /v1/session/token", () => {
  it("mints a JWT with exactly the promised claims, which jose verifies against the JWKS", async () => {
    const tenant = await createTenant({ jwt: { audiences: [AUDIENCE, "billing"], ttlSeconds: 120 } });
    const issued = await createSession(tenant, { userId: "u_42", data: { role: "admin", secret: "never in a jwt" } });
    const response = await mint(issued.token);
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("no-store");
    const body = await json<{ jwt: string; expiresAt: string }>(response);
    const { payload, protectedHeader } = await jwtVerify(body.jwt, await jwks(), {
      algorithms: ["EdDSA"],
      audience: AUDIENCE,
      issuer: `${BASE}/tenants/${tenant}`,
    });
    expect(protectedHeader).toEqual({ alg: "EdDSA", kid: expect.any(String), typ: "JWT" });
    expect(Object.keys(payload).sort()).toEqual([
      "acr",
      "aud",
      "auth_time",
      "exp",
      "iat",
      "iss",
      "jti",
      "sid",
      "sub",
      "tid",
    ]);
    expect(payload).toMatchObject({ sub: "u_42", sid: issued.session.id, tid: tenant, aud: AUDIENCE, acr: "aal1" });
    expect(payload.auth_time).toBe(Math.floor(Date.parse(issued.session.createdAt as string) / 1000));
    expect(payload.exp! - payload.iat!).toBe(120);
    expect(Date.parse(body.expiresAt)).toBe(payload.exp! * 1000);
    expect(body.jwt).not.toContain("never");
    expect(decodeProtectedHeader(body.jwt).alg).toBe("EdDSA");
  });

  it("mints nothing for an ended session, at once; slides a live one like validation", async () => {
    const tenant = await createTenant({ jwt: { audiences: [AUDIENCE] } });
    const issued = await createSession(tenant, { userId: "u" });
    expect((await mint(issued.token)).status).toBe(200);
    await call("DELETE", `/v1/tenants/${tenant}/users/u/sessions`);
    const refused = await mint(issued.token);
    expect(refused.status).toBe(401);
    expect((await errorOf(refused)).code).toBe("invalid_token");
  });

  it("refuses an audience the tenant does not list, a tenant without JWTs, and bad bodies, naming the field", async () => {
    const tenant = await createTenant({ jwt: { audiences: [AUDIENCE] } });
    const issued = await createSession(tenant, { userId: "u" });
    for (const audience of ["https://other.example.com", "", "has space", 42, null]) {
      const response = await mint(issued.token, audience);
      expect(response.status, String(audience)).toBe(400);
      expect((await errorOf(response)).field).toBe("audience");
    }
    const extra = await call("POST", "/v1/session/token", {
      ...withBearer(issued.token),
      body: { audience: AUDIENCE, sub: "admin" },
    });
    expect((await errorOf(extra)).field).toBe("sub");
    const without = await createTenant();
    const theirs = await createSession(without, { userId: "u" });
    expect((await errorOf(await mint(theirs.token))).field).toBe("audience");
  });

  it("checks the origin of a cookie-carried request like rotation; a bearer call needs none", async () => {
    const tenant = await createTenant({ jwt: { audiences: [AUDIENCE] }, allowedOrigins: ["https://app.example.com"] });
    const issued = await createSession(tenant, { userId: "u" });
    expect(
      (
        await mint(issued.token, AUDIENCE, {
          cookie: true,
          headers: { Origin: "https://app.example.com", "Sec-Fetch-Site": "cross-site" },
        })
      ).status,
    ).toBe(403);
    expect(
      (await mint(issued.token, AUDIENCE, { cookie: true, headers: { Origin: "https://evil.example.com" } })).status,
    ).toBe(403);
    expect(
      (
        await mint(issued.token, AUDIENCE, {
          cookie: true,
          headers: { Origin: "https://app.example.com", "Sec-Fetch-Site": "same-site" },
        })
      ).status,
    ).toBe(200);
    expect((await mint(issued.token, AUDIENCE, { headers: { Origin: "https://evil.example.com" } })).status).toBe(200);
  });

  it("rejects the settings' bad shapes, naming the field", async () => {
    const tenant = await createTenant();
    for (const [jwt, field] of [
      [{ audiences: [] }, "jwt.audiences"],
      [{ audiences: ["a", "a"] }, "jwt.audiences"],
      [{ audiences: Array.from({ length: 21 }, (_, i) => `a${i}`) }, "jwt.audiences"],
      [{ audiences: ["a"], ttlSeconds: 59 }, "jwt.ttlSeconds"],
      [{ audiences: ["a"], ttlSeconds: 901 }, "jwt.ttlSeconds"],
      [{ audiences: ["a"], extra: 1 }, "jwt"],
      ["yes", "jwt"],
    ] as const) {
      const response = await call("PUT", `/v1/tenants/${tenant}`, { body: { jwt } });
      expect(response.status, JSON.stringify(jwt)).toBe(400);
      expect((await errorOf(response)).field).toBe(field);
    }
    const view = await json<{ tenant: { settings: { jwt: unknown } } }>(
      await call("PUT", `/v1/tenants/${tenant}`, { body: { jwt: { audiences: ["a"] } } }),
    );
    expect(view.tenant.settings.jwt).toEqual({ audiences: ["a"], ttlSeconds: 300 });
  });
});

describe("mintJwt over RPC", () => {
  it("mints for the pinned tenant only, and makes one Durable Object call once the key is known", async () => {
    const tenant = await createTenant({ jwt: { audiences: [AUDIENCE] } });
    const other = await createTenant({ jwt: { audiences: [AUDIENCE] } });
    const issued = await createSession(tenant, { userId: "u" });
    const minted = await sessions.mintJwt(tenant, issued.token, AUDIENCE);
    if (!minted.ok) throw new Error(minted.error.message);
    await jwtVerify(minted.jwt, await jwks(), { audience: AUDIENCE });
    expect(await sessions.mintJwt(other, issued.token, AUDIENCE)).toMatchObject({
      ok: false,
      error: { code: "invalid_token" },
    });

    // Counted at both bindings: the session's store once, the key ring not at all (kept in memory).
    const counts = { stores: 0, rings: 0 };
    const counting = <N extends object>(namespace: N, key: keyof typeof counts): N =>
      new Proxy(namespace, {
        get(target, property) {
          if (property === "get") {
            return (id: DurableObjectId) => {
              counts[key] += 1;
              return (target as unknown as DurableObjectNamespace).get(id);
            };
          }
          const value = Reflect.get(target, property) as unknown;
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
    const countedEnv = {
      ...env,
      SESSION_STORE: counting(env.SESSION_STORE, "stores"),
      KEY_RING: counting(env.KEY_RING, "rings"),
    } as Env;
    const request = () =>
      worker.fetch(
        new Request(`${BASE}/v1/session/token`, {
          method: "POST",
          headers: { Authorization: `Bearer ${issued.token}`, "Content-Type": "application/json" },
          body: JSON.stringify({ audience: AUDIENCE }),
        }),
        countedEnv,
      );
    expect((await request()).status).toBe(200);
    // The first mint of this isolate reads the tenants' token generations and fetches the key.
    expect(counts).toEqual({ stores: 1, rings: 2 });
    Object.assign(counts, { stores: 0, rings: 0 });
    expect((await request()).status).toBe(200);
    expect(counts).toEqual({ stores: 1, rings: 0 });
  });
});
