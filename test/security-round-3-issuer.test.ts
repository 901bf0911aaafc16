// The issuer findings of the third security review, each tried as an attacker would: another
// tenant's JWT (F3) or CAEP event (F2) offered where one tenant's issuer is pinned, a body read
// before the token (F4), a JWT outliving its session (F7), every JWKS request reaching the one
// KeyRing (F9); and PUBLIC_URL, required outside local development. Verified with `jose` only.

import { env, exports } from "cloudflare:workers";
import { createRemoteJWKSet, customFetch, decodeJwt, jwtVerify } from "jose";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../src/worker/index.ts";
import { ok } from "../src/core/errors";
import * as service from "../src/worker/operations";
import { jwks as publishedJwks } from "../src/worker/signing-keys";
import { attemptDelivery } from "../durable-objects/session-store/webhook-delivery";
import type { WebhookEvent } from "../src/core/webhooks";
import {
  BASE,
  call,
  countingWorker,
  createSession,
  createTenant,
  errorOf,
  freshTenantName,
  withBearer,
} from "./helpers";

const AUDIENCE = "https://api.example.com";
const RECEIVER = "https://receiver.example.com/caep";
const DISCOVERY = "/.well-known/openid-configuration";

async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

interface Discovery {
  issuer: string;
  jwks_uri: string;
}

/** What a consumer does: the issuer's discovery document, then its JWKS through jose (fetched from this Worker). */
async function discover(tenant: string) {
  const response = await call("GET", `/tenants/${tenant}${DISCOVERY}`, { key: null });
  expect(response.status).toBe(200);
  const document = await json<Discovery>(response);
  const keys = createRemoteJWKSet(new URL(document.jwks_uri), {
    [customFetch]: (url: string, options: { headers: Headers }) =>
      exports.default.fetch(new Request(url, { headers: options.headers })),
  });
  return { document, keys };
}

async function jwtFor(tenant: string): Promise<string> {
  const issued = await createSession(tenant, { userId: "u_1" });
  const response = await call("POST", "/v1/session/token", {
    ...withBearer(issued.token),
    body: { audience: AUDIENCE },
  });
  expect(response.status).toBe(200);
  return (await json<{ jwt: string }>(response)).jwt;
}

function tokenRequest(url: string, token: string | null, body: BodyInit, contentType = "application/json"): Request {
  const headers: Record<string, string> = { "Content-Type": contentType };
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  return new Request(url, { method: "POST", headers, body });
}

/** A KeyRing binding that counts the stubs it hands out: one per call to the ring. */
function countingRing() {
  let calls = 0;
  const ring = new Proxy(env.KEY_RING, {
    get(target, property) {
      if (property === "get") {
        return (id: DurableObjectId) => {
          calls += 1;
          return target.get(id);
        };
      }
      const value = Reflect.get(target, property) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { env: { ...env, KEY_RING: ring } as Env, calls: () => calls };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("F3: a tenant's JWT carries its own issuer", () => {
  it("publishes each tenant's discovery document, with which jose pinned to tenant A refuses tenant B's JWT for the same audience", async () => {
    const a = await createTenant({ jwt: { audiences: [AUDIENCE] } });
    const b = await createTenant({ jwt: { audiences: [AUDIENCE] } });
    const response = await call("GET", `/tenants/${a}${DISCOVERY}`, { key: null });
    expect(response.headers.get("Cache-Control")).toBe("public, max-age=300");
    expect(await json(response)).toEqual({
      issuer: `${BASE}/tenants/${a}`,
      jwks_uri: `${BASE}/.well-known/jwks.json`,
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["EdDSA"],
    });
    const { document, keys } = await discover(a);
    const pinned = { algorithms: ["EdDSA"], typ: "JWT", audience: AUDIENCE, issuer: document.issuer };
    const theirs = await jwtFor(b);
    await expect(jwtVerify(theirs, keys, pinned)).rejects.toMatchObject({
      code: "ERR_JWT_CLAIM_VALIDATION_FAILED",
      claim: "iss",
    });
    const { payload } = await jwtVerify(await jwtFor(a), keys, pinned);
    expect(payload).toMatchObject({ iss: `${BASE}/tenants/${a}`, tid: a });
    // B's own issuer takes it: the signature was never the problem.
    await jwtVerify(theirs, (await discover(b)).keys, { ...pinned, issuer: `${BASE}/tenants/${b}` });
  });

  it("answers every well-formed name alike, existing or not, asking no object (no tenant enumeration)", async () => {
    const counted = countingWorker();
    const missing = freshTenantName();
    const response = await counted.fetch(`/tenants/${missing}${DISCOVERY}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      issuer: `${BASE}/tenants/${missing}`,
      jwks_uri: `${BASE}/.well-known/jwks.json`,
    });
    expect(counted.uses()).toBe(0);
  });

  it("answers 404 with a JSON error for a name that is no tenant's", async () => {
    for (const name of ["Upper", "under_score", "-dash", "a".repeat(64)]) {
      const response = await call("GET", `/tenants/${name}${DISCOVERY}`, { key: null });
      expect(response.status, name).toBe(404);
      expect(response.headers.get("Content-Type")).toBe("application/json; charset=utf-8");
      expect((await errorOf(response)).code).toBe("not_found");
    }
  });
});

describe("F2: a tenant's CAEP events carry its own issuer", () => {
  function revoked(tenant: string): WebhookEvent {
    return {
      type: "session.revoked",
      data: { tenant, sessionId: "s_1", userId: "u_1", reason: "one", actor: "admin" },
    };
  }

  it("signs each tenant's Security Event Tokens as its issuer: pinned to tenant A, tenant B's SET to the same receiver URL is refused", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const received: string[] = [];
    vi.spyOn(globalThis, "fetch").mockImplementation(async (_input, init) => {
      received.push(String(init?.body));
      return new Response(null, { status: 202 });
    });
    const target = { url: RECEIVER, format: "caep" as const, secret: null };
    expect((await attemptDelivery(env, target, "evt_a", revoked(a), Date.now())).delivered).toBe(true);
    expect((await attemptDelivery(env, target, "evt_b", revoked(b), Date.now())).delivered).toBe(true);
    vi.restoreAllMocks();
    const [ours, theirs] = received as [string, string];
    const { document, keys } = await discover(a);
    const pinned = { algorithms: ["EdDSA"], typ: "secevent+jwt", audience: RECEIVER, issuer: document.issuer };
    const { payload } = await jwtVerify(ours, keys, pinned);
    expect(payload.sub_id).toMatchObject({ tenant: { format: "opaque", id: a } });
    await expect(jwtVerify(theirs, keys, pinned)).rejects.toMatchObject({
      code: "ERR_JWT_CLAIM_VALIDATION_FAILED",
      claim: "iss",
    });
  });
});

describe("F4: POST /v1/session/token checks the token before it reads the body", () => {
  const BAD_BODIES: [string, BodyInit, string?][] = [
    ["not JSON", "{"],
    ["another media type", "audience=x", "application/x-www-form-urlencoded"],
    ["over 16 KiB", JSON.stringify({ audience: "a".repeat(17 * 1024) })],
    ["an unknown field", JSON.stringify({ audience: AUDIENCE, sub: "admin" })],
    ["no object", "[]"],
  ];

  it("answers 401 to an anonymous caller and to a forged token, whatever the body", async () => {
    const tenant = await createTenant({ jwt: { audiences: [AUDIENCE] } });
    const { token } = await createSession(tenant, { userId: "u_1" });
    const forged = token.slice(0, -2) + (token.endsWith("AA") ? "BB" : "AA");
    for (const [label, body, type] of BAD_BODIES) {
      for (const credential of [null, forged]) {
        const response = await worker.fetch(tokenRequest(`${BASE}/v1/session/token`, credential, body, type), env);
        expect(response.status, `${label}, ${credential === null ? "anonymous" : "forged"}`).toBe(401);
        expect((await errorOf(response)).code).toBe("invalid_token");
      }
    }
    // With the genuine token, the body is read and refused.
    const genuine = await worker.fetch(tokenRequest(`${BASE}/v1/session/token`, token, "{"), env);
    expect(genuine.status).toBe(400);
  });

  it("never pulls a byte of an anonymous caller's body", async () => {
    let pulled = false;
    const pull = (controller: ReadableStreamDefaultController) => {
      pulled = true;
      controller.close();
    };
    const body = new ReadableStream({ pull }, { highWaterMark: 0 });
    const response = await worker.fetch(tokenRequest(`${BASE}/v1/session/token`, null, body), env);
    expect(response.status).toBe(401);
    expect(pulled).toBe(false);
  });
});

describe("F7: a JWT never outlives its session's absolute end", () => {
  it("mints, for a session with 100 s left, a JWT that expires by that end", async () => {
    const tenant = await createTenant({ jwt: { audiences: [AUDIENCE], ttlSeconds: 300 } });
    const issued = await createSession(tenant, { userId: "u_1", ttlSeconds: 100 });
    const end = Math.floor(Date.parse(issued.session.absoluteExpiresAt as string) / 1000);
    const response = await call("POST", "/v1/session/token", {
      ...withBearer(issued.token),
      body: { audience: AUDIENCE },
    });
    const body = await json<{ jwt: string; expiresAt: string }>(response);
    const { payload } = await jwtVerify(body.jwt, (await discover(tenant)).keys, { audience: AUDIENCE });
    expect(payload.exp).toBeLessThanOrEqual(end);
    expect(payload.exp! - payload.iat!).toBeLessThanOrEqual(100);
    expect(Date.parse(body.expiresAt)).toBe(payload.exp! * 1000);
  });
});

describe("F9: the JWKS comes from the Worker's copy, one KeyRing call per max-age", () => {
  it("answers many JWKS requests with one call to the KeyRing, saying how old its copy is", async () => {
    const counted = countingRing();
    const get = () => worker.fetch(new Request(`${BASE}/.well-known/jwks.json`), counted.env);
    const first = await get();
    expect(first.status).toBe(200);
    expect(first.headers.get("Age")).toBe("0");
    const rest = await Promise.all(Array.from({ length: 50 }, get));
    expect(rest.map((response) => response.status)).toEqual(Array(50).fill(200));
    expect(await json(rest[49]!)).toEqual(await json(first));
    // What is left of the copy's time: a cache that ignores Age still keeps it no longer than 300 s in all.
    const age = Number(rest[49]!.headers.get("Age"));
    expect(rest[49]!.headers.get("Cache-Control")).toBe(`public, max-age=${300 - age}`);
    expect(counted.calls()).toBe(1);
    // Past the max-age, the ring is asked again.
    expect((await publishedJwks(counted.env, Date.now() + 300_001)).ok).toBe(true);
    expect(counted.calls()).toBe(2);
  });

  it("shows a rotation made through this isolate at once", async () => {
    const counted = countingRing();
    const kids = async () =>
      (
        await json<{ keys: { kid: string }[] }>(
          await worker.fetch(new Request(`${BASE}/.well-known/jwks.json`), counted.env),
        )
      ).keys.map((key) => key.kid);
    const before = await kids();
    const rotate = new Request(`${BASE}/v1/signing-keys/rotate`, {
      method: "POST",
      headers: { Authorization: `Bearer ${env.ADMIN_API_KEY}` },
    });
    const rotated = await json<{ keys: { kid: string; state: string }[] }>(await worker.fetch(rotate, counted.env));
    const next = rotated.keys.filter((key) => key.state === "next").at(-1)!.kid;
    expect(before).not.toContain(next);
    expect(await kids()).toContain(next);
  });
});

describe("PUBLIC_URL: required outside local development", () => {
  const unset = { ...env, PUBLIC_URL: undefined } as Env;
  const UNSET_PROBLEM = "PUBLIC_URL is not set (needed unless the service is reached at 127.0.0.1 or localhost)";

  it("makes /health 503 naming PUBLIC_URL when it is unset and the request is not to a loopback address", async () => {
    const response = await worker.fetch(new Request(`${BASE}/health`), unset);
    expect(response.status).toBe(503);
    expect((await json<{ problems: string[] }>(response)).problems).toEqual([UNSET_PROBLEM]);
    const problem =
      "PUBLIC_URL must be an https origin, such as https://sessions.example.com (no path; http only for 127.0.0.1 or localhost)";
    for (const broken of ["https://sessions.example.com/auth", "http://sessions.example.com"]) {
      const answer = await worker.fetch(new Request(`${BASE}/health`), { ...env, PUBLIC_URL: broken } as Env);
      expect((await json<{ problems: string[] }>(answer)).problems, broken).toEqual([problem]);
    }
  });

  it("answers /health 200 when PUBLIC_URL is set, or when unset for a request to 127.0.0.1 or localhost", async () => {
    expect((await worker.fetch(new Request(`${BASE}/health`), env)).status).toBe(200);
    for (const origin of ["http://127.0.0.1:9123", "http://localhost:4000"]) {
      expect((await worker.fetch(new Request(`${origin}/health`), unset)).status, origin).toBe(200);
    }
  });

  it("refuses to mint with 503 not_configured naming PUBLIC_URL when it is unset, over HTTP and RPC, before any store is called", async () => {
    const tenant = await createTenant({ jwt: { audiences: [AUDIENCE] } });
    const { token } = await createSession(tenant, { userId: "u_1" });
    const counted = countingWorker({ PUBLIC_URL: undefined });
    const response = await counted.fetch("/v1/session/token", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ audience: AUDIENCE }),
    });
    expect(response.status).toBe(503);
    expect(await errorOf(response)).toEqual({
      code: "not_configured",
      message: "the service is not configured: PUBLIC_URL (see GET /health)",
    });
    expect(counted.uses()).toBe(0);
    // RPC has no request to take a loopback origin from.
    expect(
      await service.mintJwt(unset, tenant, token, async () => ok({ audience: AUDIENCE }), null, null),
    ).toMatchObject({ ok: false, error: { code: "not_configured" } });
    const discovery = await worker.fetch(new Request(`${BASE}/tenants/${tenant}${DISCOVERY}`), unset);
    expect(discovery.status).toBe(503);
  });

  it("leaves a CAEP event unsent, its attempt failed naming PUBLIC_URL, when it is unset", async () => {
    const send = vi.spyOn(globalThis, "fetch");
    const event: WebhookEvent = {
      type: "tenant.sessions_revoked",
      data: { tenant: "t", reason: "tenant", actor: "admin", revoked: 1 },
    };
    const outcome = await attemptDelivery(
      unset,
      { url: RECEIVER, format: "caep", secret: null },
      "evt_x",
      event,
      Date.now(),
    );
    expect(outcome).toMatchObject({ delivered: false, status: null, error: expect.stringContaining("PUBLIC_URL") });
    expect(send).not.toHaveBeenCalled();
  });

  it("takes the issuer from a loopback request's origin when it is unset, so it follows the port the service listens on", async () => {
    const tenant = await createTenant({ jwt: { audiences: [AUDIENCE] } });
    for (const origin of ["http://127.0.0.1:9123", "http://localhost:4000"]) {
      const { token } = await createSession(tenant, { userId: "u_1" });
      const minted = await worker.fetch(
        tokenRequest(`${origin}/v1/session/token`, token, JSON.stringify({ audience: AUDIENCE })),
        unset,
      );
      expect(minted.status, origin).toBe(200);
      expect(decodeJwt((await json<{ jwt: string }>(minted)).jwt).iss).toBe(`${origin}/tenants/${tenant}`);
      const discovered = await json<Discovery>(
        await worker.fetch(new Request(`${origin}/tenants/${tenant}${DISCOVERY}`), unset),
      );
      expect(discovered).toMatchObject({
        issuer: `${origin}/tenants/${tenant}`,
        jwks_uri: `${origin}/.well-known/jwks.json`,
      });
    }
  });
});
