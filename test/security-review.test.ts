// The findings of the security review of 2026-11-30, one block each (named as the review
// named them: H1, M1, M2, L1-L6, I1-I7), each shown as an attacker would try it. docs/SECURITY.md
// lists them with their fixes. The live-socket findings (M2) are in test/live.test.ts, the
// padded cookie in a real browser in e2e/browser.test.mjs.

import { env } from "cloudflare:workers";
import { createExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readJsonBody } from "../src/worker/body";
import type { SessionServiceBinding } from "../packages/client/src/types";
import worker from "../src/worker/index.ts";
import { SessionService } from "../src/worker/rpc";
import {
  ADMIN_KEY,
  BASE,
  call,
  COOKIE_NAME,
  countingWorker,
  createSession,
  createTenant,
  errorOf,
  freshTenantName,
  withBearer,
  withToken,
} from "./helpers";

const sessions: SessionServiceBinding = env.SESSIONS;
const INVALID = {
  ok: false,
  error: { code: "invalid_token", message: "the session token is invalid, expired or revoked" },
};

async function mintKey(tenant: string): Promise<string> {
  const response = await call("POST", `/v1/tenants/${tenant}/keys`);
  return ((await response.json()) as { key: string }).key;
}

async function liveCount(tenant: string): Promise<number> {
  const response = await call("GET", `/v1/tenants/${tenant}`);
  return ((await response.json()) as { tenant: { counts: { sessions: number } } }).tenant.counts.sessions;
}

async function events(tenant: string): Promise<{ type: string; reason?: string; sessionId?: string }[]> {
  const response = await call("GET", `/v1/tenants/${tenant}/events`);
  return ((await response.json()) as { events: { type: string; reason?: string; sessionId?: string }[] }).events;
}

describe("H1: a token of one tenant never signs in to another tenant's app", () => {
  it("answers every RPC method that takes a token with invalid_token for another tenant's token, calling no Durable Object", async () => {
    const [demo, acme] = [await createTenant({}, "demo"), await createTenant({}, "acme")];
    const real = await createSession(demo, { userId: "alice" });
    const foreign = await createSession(acme, { userId: "alice" });
    const counted = countingWorker();
    const service = new SessionService(createExecutionContext(), counted.env);
    expect(await service.validate(demo, foreign.token)).toEqual(INVALID);
    expect(await service.rotate(demo, foreign.token)).toEqual(INVALID);
    expect(await service.destroy(demo, foreign.token)).toEqual(INVALID);
    expect(await service.listSiblings(demo, foreign.token)).toEqual(INVALID);
    expect(await service.revokeSiblings(demo, foreign.token)).toEqual(INVALID);
    expect(counted.uses()).toBe(0);
    // Nothing happened to either alice; each token still works on its own tenant.
    expect((await service.validate(acme, foreign.token)).ok).toBe(true);
    expect((await sessions.validate(demo, real.token)).ok).toBe(true);
    expect(await liveCount(acme)).toBe(1);
  });

  it("refuses a token of another tenant with 401 on every /v1/session route when Session-Tenant pins one, calling no Durable Object", async () => {
    const [demo, acme] = [await createTenant({}, "demo"), await createTenant({}, "acme")];
    const foreign = await createSession(acme, { userId: "alice" });
    const counted = countingWorker();
    const routes = [
      ["GET", "/v1/session"],
      ["DELETE", "/v1/session"],
      ["POST", "/v1/session/rotate"],
      ["GET", "/v1/session/siblings"],
      ["DELETE", "/v1/session/siblings"],
    ] as const;
    for (const [method, path] of routes) {
      const credentials: Record<string, string>[] = [
        { Authorization: `Bearer ${foreign.token}` },
        { Cookie: `${COOKIE_NAME}=${foreign.token}` },
      ];
      for (const credential of credentials) {
        const response = await counted.fetch(path, { method, headers: { ...credential, "Session-Tenant": demo } });
        expect(response.status, `${method} ${path}`).toBe(401);
        expect((await errorOf(response)).code).toBe("invalid_token");
      }
    }
    const socket = await counted.fetch("/v1/session/live", {
      headers: { Upgrade: "websocket", Authorization: `Bearer ${foreign.token}`, "Session-Tenant": demo },
    });
    expect(socket.status).toBe(401);
    expect(counted.uses()).toBe(0);
    // The pin that matches works, and the session was never touched by the refused calls.
    const pinned = await call("GET", "/v1/session", {
      key: null,
      headers: { Authorization: `Bearer ${foreign.token}`, "Session-Tenant": acme },
    });
    expect(pinned.status).toBe(200);
  });

  it("refuses a malformed Session-Tenant with 400 naming it, and a malformed RPC tenant with 400 naming tenant", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    for (const pin of ["", "ACME", "a b", "x".repeat(64), "../acme"]) {
      const response = await call("GET", "/v1/session", {
        key: null,
        headers: { Authorization: `Bearer ${issued.token}`, "Session-Tenant": pin },
      });
      expect(response.status, JSON.stringify(pin)).toBe(400);
      expect((await errorOf(response)).field).toBe("Session-Tenant");
    }
    for (const pin of [undefined, null, "", "Bad!", 42, { tenant }]) {
      const result = await sessions.validate(pin as never, issued.token);
      expect(result, JSON.stringify(pin)).toMatchObject({ ok: false, error: { code: "bad_request", field: "tenant" } });
    }
  });
});

describe("M1: a planted cookie cannot shadow the session cookie", () => {
  it("ignores a cookie whose name is padded with Unicode whitespace, and uses the real one beside it", async () => {
    const tenant = await createTenant();
    const [victim, attacker] = [
      await createSession(tenant, { userId: "victim" }),
      await createSession(tenant, { userId: "attacker" }),
    ];
    const padded = `\u2000${COOKIE_NAME}=${attacker.token}; ${COOKIE_NAME}=${victim.token}`;
    const response = await call("GET", "/v1/session", { key: null, headers: { Cookie: padded } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { session: { userId: string } }).session.userId).toBe("victim");
    const alone = await call("GET", "/v1/session", {
      key: null,
      headers: { Cookie: `\u2000${COOKIE_NAME}=${attacker.token}` },
    });
    expect(alone.status).toBe(401);
  });

  it("refuses two session cookies with 401 in either order, and rotates neither", async () => {
    const tenant = await createTenant();
    const [victim, attacker] = [await createSession(tenant), await createSession(tenant)];
    for (const cookie of [
      `${COOKIE_NAME}=${attacker.token}; ${COOKIE_NAME}=${victim.token}`,
      `${COOKIE_NAME}=${victim.token}; ${COOKIE_NAME}=${attacker.token}`,
    ]) {
      expect((await call("GET", "/v1/session", { key: null, headers: { Cookie: cookie } })).status).toBe(401);
      expect((await call("POST", "/v1/session/rotate", { key: null, headers: { Cookie: cookie } })).status).toBe(401);
    }
    expect((await call("GET", "/v1/session", withToken(victim.token))).status).toBe(200);
    expect((await call("GET", "/v1/session", withToken(attacker.token))).status).toBe(200);
  });
});

describe("L1: forged tenant keys reveal nothing and wake no Durable Object", () => {
  it("answers 401 for a forged key whether its tenant exists or not, without any Durable Object call", async () => {
    const tenant = await createTenant();
    const genuine = await mintKey(tenant);
    const counted = countingWorker();
    const shaped = (name: string) => `tk2.${name}.AAAAAAAAAAAAAAAA.${"A".repeat(43)}.k2.${"A".repeat(43)}`;
    const forgeries = [
      shaped(tenant),
      shaped(freshTenantName("ghost")),
      genuine.replace(`.${tenant}.`, `.${freshTenantName("ghost")}.`),
      genuine.slice(0, -1) + (genuine.endsWith("A") ? "B" : "A"),
      `tk1.${tenant}.AAAAAAAAAAAAAAAA.${"A".repeat(43)}`,
    ];
    for (const key of forgeries) {
      const target = key.split(".")[1]!;
      for (const [method, path] of [
        ["GET", `/v1/tenants/${target}`],
        ["GET", `/v1/tenants/${target}/sessions`],
      ] as const) {
        const response = await counted.fetch(path, { method, headers: { Authorization: `Bearer ${key}` } });
        expect(response.status, `${key.slice(0, 40)} ${path}`).toBe(401);
        expect(await errorOf(response)).toEqual({
          code: "unauthorized",
          message: "a valid API key is required: Authorization: Bearer <key>",
        });
      }
    }
    expect(counted.uses()).toBe(0);
  });

  it("refuses a genuine key on another tenant with 403 without asking either store", async () => {
    const [tenant, other] = [await createTenant(), await createTenant()];
    const key = await mintKey(tenant);
    const counted = countingWorker();
    const response = await counted.fetch(`/v1/tenants/${other}/sessions`, {
      headers: { Authorization: `Bearer ${key}` },
    });
    expect(response.status).toBe(403);
    expect(counted.uses()).toBe(0);
  });
});

describe("L2: credentials are checked before the body is read", () => {
  it("answers 401 for a forged key and 403 for a key without the reach, before looking at an invalid body", async () => {
    const tenant = await createTenant();
    const key = await mintKey(tenant);
    const forged = `tk2.${tenant}.AAAAAAAAAAAAAAAA.${"A".repeat(43)}.k2.${"A".repeat(43)}`;
    const invalid = { rawBody: "{not json", headers: { "Content-Type": "application/json" } };
    expect((await call("POST", `/v1/tenants/${tenant}/sessions`, { ...invalid, key: forged })).status).toBe(401);
    expect((await call("PUT", `/v1/tenants/${tenant}`, { ...invalid, key: forged })).status).toBe(401);
    expect((await call("PUT", `/v1/tenants/${tenant}`, { ...invalid, key })).status).toBe(403);
    expect((await call("POST", `/v1/tenants/${tenant}/sessions`, { ...invalid, key })).status).toBe(400);
  });

  it("answers a body that breaks off mid-stream with a 400, not a logged 500", async () => {
    const broken = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode('{"userId": "u'));
          controller.error(new Error("connection reset by peer"));
        },
      });
    // The reader itself throws, as it does when the client's connection drops mid-body.
    const dropped = {
      headers: new Headers({ "Content-Type": "application/json" }),
      body: broken(),
    } as unknown as Request;
    expect(await readJsonBody(dropped)).toEqual({
      ok: false,
      error: { code: "bad_request", message: "the body could not be read to its end" },
    });
  });
});

describe("L3 and L4: a broken configuration is loud and writes nothing", () => {
  const SOUND_KEYS = env.SESSION_SIGNING_KEYS;
  const broken: [string, Partial<Env>, string][] = [
    ["missing signing keys", { SESSION_SIGNING_KEYS: "" }, "SESSION_SIGNING_KEYS is not set"],
    [
      "a short signing secret",
      { SESSION_SIGNING_KEYS: "k1:tooshort" },
      "SESSION_SIGNING_KEYS: the secret of key k1 is shorter than 32 characters",
    ],
    [
      "a duplicated key id",
      { SESSION_SIGNING_KEYS: `${SOUND_KEYS},k2:yet-another-signing-secret-0123456789abcdef` },
      "SESSION_SIGNING_KEYS: key id k2 appears twice",
    ],
    ["a bad cookie name", { SESSION_COOKIE_NAME: "bad name;" }, "SESSION_COOKIE_NAME is not a valid cookie name"],
  ];

  it.each(broken)(
    "reports %s on /health with 503, naming the variable and never its value",
    async (_label, overrides, problem) => {
      const counted = countingWorker(overrides);
      const response = await counted.fetch("/health");
      expect(response.status).toBe(503);
      const body = (await response.json()) as { ok: boolean; problems: string[] };
      expect(body.ok).toBe(false);
      expect(body.problems).toEqual([problem]);
      expect(JSON.stringify(body)).not.toContain("tooshort");
      expect(JSON.stringify(body)).not.toContain("signing-secret");
    },
  );

  it.each(broken)(
    "answers 503 not_configured on every route that needs it with %s, and writes nothing",
    async (_label, overrides) => {
      const tenant = await createTenant();
      const issued = await createSession(tenant);
      const counted = countingWorker(overrides);
      const attempts: [string, string, RequestInit][] = [
        [
          "POST",
          `/v1/tenants/${tenant}/sessions`,
          { body: JSON.stringify({ userId: "u" }), headers: { "Content-Type": "application/json" } },
        ],
        [
          "PUT",
          `/v1/tenants/${tenant}`,
          { body: JSON.stringify({ idleTimeoutSeconds: 60 }), headers: { "Content-Type": "application/json" } },
        ],
        ["DELETE", `/v1/tenants/${tenant}/sessions`, {}],
        ["POST", `/v1/tenants/${tenant}/keys`, {}],
      ];
      for (const [method, path, init] of attempts) {
        const headers = { ...(init.headers as Record<string, string>), Authorization: `Bearer ${ADMIN_KEY}` };
        const response = await counted.fetch(path, { ...init, method, headers });
        expect(response.status, `${method} ${path}`).toBe(503);
        expect((await errorOf(response)).code).toBe("not_configured");
      }
      for (const [method, path] of [
        ["GET", "/v1/session"],
        ["DELETE", "/v1/session"],
        ["POST", "/v1/session/rotate"],
      ] as const) {
        const response = await counted.fetch(path, { method, headers: { Authorization: `Bearer ${issued.token}` } });
        expect(response.status, `${method} ${path}`).toBe(503);
      }
      const service = new SessionService(createExecutionContext(), counted.env);
      expect(await service.createSession(tenant, { userId: "u" })).toMatchObject({
        ok: false,
        error: { code: "not_configured" },
      });
      expect(await service.validate(tenant, issued.token)).toMatchObject({
        ok: false,
        error: { code: "not_configured" },
      });
      expect(counted.uses()).toBe(0);
      expect(await liveCount(tenant)).toBe(1);
      expect((await call("GET", "/v1/session", withBearer(issued.token))).status).toBe(200);
    },
  );

  it("refuses an admin key under 32 characters: /health says so, admin calls are 503, tenant keys still work", async () => {
    const tenant = await createTenant();
    const key = await mintKey(tenant);
    for (const ADMIN_API_KEY of ["a", "", "x".repeat(31)]) {
      const counted = countingWorker({ ADMIN_API_KEY });
      const health = await counted.fetch("/health");
      expect(health.status).toBe(503);
      const { problems } = (await health.json()) as { problems: string[] };
      expect(problems).toEqual([
        ADMIN_API_KEY === "" ? "ADMIN_API_KEY is not set" : "ADMIN_API_KEY is shorter than 32 characters",
      ]);
      if (ADMIN_API_KEY !== "") {
        const asAdmin = await counted.fetch(`/v1/tenants/${tenant}`, {
          method: "PUT",
          headers: { Authorization: `Bearer ${ADMIN_API_KEY}` },
        });
        expect(asAdmin.status).toBe(503);
        expect((await errorOf(asAdmin)).code).toBe("not_configured");
      }
      expect(
        (await counted.fetch(`/v1/tenants/${tenant}`, { headers: { Authorization: `Bearer ${key}` } })).status,
      ).toBe(200);
    }
  });
});

describe("L5: dot segments never carry a tenant key across tenants", () => {
  it("lets the runtime resolve `..` to the route it names, where a tenant key of another tenant stays 403", async () => {
    const [tenant, other] = [await createTenant(), await createTenant()];
    const key = await mintKey(tenant);
    for (const path of [
      `/v1/tenants/${tenant}/../${other}/sessions`,
      `/v1/tenants/${tenant}/%2e%2e/${other}/sessions`,
    ]) {
      // The URL is resolved before the Worker sees it: this is a request for the other tenant's sessions.
      expect(new URL(`${BASE}${path}`).pathname).toBe(`/v1/tenants/${other}/sessions`);
      expect((await call("GET", path, { key })).status, path).toBe(403);
      expect((await call("POST", path, { key, body: { userId: "u" } })).status, path).toBe(403);
    }
    expect(await liveCount(other)).toBe(0);
  });
});

describe("L6: a rotation by a thief does not survive the victim's logout", () => {
  it("ends the session when logging out with a token that rotation superseded, and records the superseded use", async () => {
    const tenant = await createTenant();
    const victim = await createSession(tenant);
    const rotated = await call("POST", "/v1/session/rotate", withBearer(victim.token)); // the thief's rotation
    const thief = ((await rotated.json()) as { token: string }).token;
    expect((await call("DELETE", "/v1/session", withToken(victim.token))).status).toBe(204);
    expect((await call("GET", "/v1/session", withBearer(thief))).status).toBe(401);
    const log = await events(tenant);
    expect(log.slice(0, 2).map((e) => [e.type, e.reason])).toEqual([
      ["revoked", "logout"],
      ["superseded_token_used", undefined],
    ]);
  });

  it("ends the session whichever wins, over 60 races of rotate against logout on one token", async () => {
    const tenant = await createTenant();
    for (let round = 0; round < 60; round++) {
      const issued = await createSession(tenant, { userId: `u${round}` });
      const [rotate, logout] = await Promise.all([
        call("POST", "/v1/session/rotate", withBearer(issued.token)),
        call("DELETE", "/v1/session", withBearer(issued.token)),
      ]);
      expect(logout.status).toBe(204);
      if (rotate.status === 200) {
        const successor = ((await rotate.json()) as { token: string }).token;
        expect((await call("GET", "/v1/session", withBearer(successor))).status, `round ${round}`).toBe(401);
      }
    }
    expect(await liveCount(tenant)).toBe(0);
  });

  it("ends the session with the victim's token even after 20 rotations by the thief", async () => {
    const tenant = await createTenant();
    const victim = await createSession(tenant);
    let thief = victim.token;
    for (let i = 0; i < 20; i++) {
      const rotated = await call("POST", "/v1/session/rotate", withBearer(thief));
      thief = ((await rotated.json()) as { token: string }).token;
    }
    expect((await call("DELETE", "/v1/session", withToken(victim.token))).status).toBe(204);
    expect((await call("GET", "/v1/session", withBearer(thief))).status).toBe(401);
    expect((await events(tenant)).slice(0, 2).map((e) => [e.type, e.reason])).toEqual([
      ["revoked", "logout"],
      ["superseded_token_used", undefined],
    ]);
  });

  it("records each superseded token's first use only, and still refuses it", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const rotated = await call("POST", "/v1/session/rotate", withBearer(issued.token));
    const current = ((await rotated.json()) as { token: string }).token;
    for (let i = 0; i < 5; i++) expect((await call("GET", "/v1/session", withBearer(issued.token))).status).toBe(401);
    expect(await sessions.rotate(tenant, issued.token)).toEqual(INVALID);
    const used = (await events(tenant)).filter((e) => e.type === "superseded_token_used");
    expect(used).toEqual([expect.objectContaining({ actor: "session", sessionId: issued.session.id, userId: "u_42" })]);
    expect((await call("GET", "/v1/session", withBearer(current))).status).toBe(200);
  });
});

describe("I1: Sec-Fetch-Site: cross-site is refused whatever Origin says", () => {
  it("refuses a cross-site cookie state change even with the service's own origin or a listed one", async () => {
    const APP = "https://app.example.com";
    const tenant = await createTenant({ allowedOrigins: [APP] });
    const issued = await createSession(tenant);
    for (const origin of [BASE, APP]) {
      const response = await call(
        "POST",
        "/v1/session/rotate",
        withToken(issued.token, { Origin: origin, "Sec-Fetch-Site": "cross-site" }),
      );
      expect(response.status, origin).toBe(403);
      expect((await errorOf(response)).code).toBe("origin_not_allowed");
    }
    const sameSiteWithoutOrigin = await call(
      "POST",
      "/v1/session/rotate",
      withToken(issued.token, { "Sec-Fetch-Site": "same-site" }),
    );
    expect(sameSiteWithoutOrigin.status).toBe(403);
    expect((await call("GET", "/v1/session", withToken(issued.token))).status).toBe(200);
  });
});

describe("I2: identifiers that deceive are refused", () => {
  it.each([
    "202a",
    "202e",
    "2066",
    "2069",
    "200e",
    "200f",
    "061c",
    "200b",
    "feff",
    "2028",
    "2029",
    "2060",
    "2064",
    "00ad",
    "180e",
    "fff9",
    "e0001",
  ])("refuses a user id containing U+%s", async (code) => {
    const tenant = await createTenant();
    const userId = `adm${String.fromCodePoint(parseInt(code, 16))}in`;
    const response = await call("POST", `/v1/tenants/${tenant}/sessions`, { body: { userId } });
    expect(response.status).toBe(400);
    expect((await errorOf(response)).field).toBe("userId");
    expect((await call("DELETE", `/v1/tenants/${tenant}/users/${encodeURIComponent(userId)}/sessions`)).status).toBe(
      400,
    );
    expect(await liveCount(tenant)).toBe(0);
  });

  it.each([
    ["emoji joined by U+200D", "dev-\u{1F469}\u200D\u{1F4BB}"],
    ["an emoji with a variation selector", "\u2764\uFE0F-fan"],
    ["a subdivision flag (tag characters)", "\u{1F3F4}\u{E0067}\u{E0062}\u{E0065}\u{E006E}\u{E0067}\u{E007F}"],
    ["Persian with a zero-width non-joiner", "\u0645\u06CC\u200C\u062E\u0648\u0627\u0647\u0645"],
  ])("keeps %s working", async (_label, userId) => {
    const tenant = await createTenant();
    expect((await createSession(tenant, { userId })).session.userId).toBe(userId);
  });

  it.each([":::::::::::::::", "1:2:3:4:5:6:7:8:9", "::1::", "12345::", "1.2.3.4:"])(
    "refuses the IPv6 address %j",
    async (ip) => {
      const tenant = await createTenant();
      const response = await call("POST", `/v1/tenants/${tenant}/sessions`, { body: { userId: "u", ip } });
      expect(response.status).toBe(400);
      expect((await errorOf(response)).field).toBe("ip");
    },
  );

  it.each(["2001:db8::1", "::1", "::ffff:192.0.2.1", "fe80::1:2:3:4"])("accepts the IPv6 address %j", async (ip) => {
    const tenant = await createTenant();
    expect((await createSession(tenant, { userId: "u", ip })).session.ip).toBe(ip);
  });

  it.each(["https://*.example.com", "https://*", "https://app.*.com"])(
    "refuses the wildcard origin %j",
    async (origin) => {
      const tenant = await createTenant();
      const response = await call("PUT", `/v1/tenants/${tenant}`, { body: { allowedOrigins: [origin] } });
      expect(response.status).toBe(400);
      expect((await errorOf(response)).field).toBe("allowedOrigins");
    },
  );
});

describe("I3 and I7: nosniff on every answer, HEAD answered as GET", () => {
  it("sends X-Content-Type-Options: nosniff on successes, errors and logout", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const answers = [
      await call("GET", "/health"),
      await call("GET", `/v1/tenants/${tenant}`),
      await call("GET", "/v1/session", withToken(issued.token)),
      await call("GET", "/v1/nope"),
      await call("DELETE", "/v1/session", withToken(issued.token)),
    ];
    for (const answer of answers) expect(answer.headers.get("X-Content-Type-Options")).toBe("nosniff");
  });

  it("never opens a socket for HEAD, even with an upgrade and a valid token", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    // Straight into the Worker: a fetch() through the runtime turns any upgrade request into a GET.
    const head = new Request(`${BASE}/v1/session/live`, {
      method: "HEAD",
      headers: { Upgrade: "websocket", Authorization: `Bearer ${issued.token}` },
    });
    const response = await worker.fetch(head, env);
    expect(response.status).toBe(426);
    expect(response.webSocket).toBeNull();
  });

  it("answers HEAD /health with 200 and no body", async () => {
    const response = await call("HEAD", "/health");
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("");
  });
});
