// The checklist's bad-input matrix, route by route: every case gets a 4xx JSON error, never
// a 500, and changes nothing. Adding a route means adding its rows to ROUTES.

import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_KEY, BASE, call, COOKIE_NAME, createSession, createTenant, errorOf, type CallOptions } from "./helpers";

interface RouteCase {
  method: string;
  /** `{tenant}` is replaced by a fresh tenant's name. */
  path: string;
  /** Takes a JSON body. */
  body?: Record<string, unknown>;
  /** The status without any credential. */
  anonymous: number;
}

const ROUTES: RouteCase[] = [
  { method: "GET", path: "/health", anonymous: 200 },
  { method: "GET", path: "/v1/tenants", anonymous: 401 },
  { method: "PUT", path: "/v1/tenants/{tenant}", body: { idleTimeoutSeconds: 600 }, anonymous: 401 },
  { method: "GET", path: "/v1/tenants/{tenant}", anonymous: 401 },
  { method: "DELETE", path: "/v1/tenants/{tenant}", anonymous: 401 },
  { method: "GET", path: "/v1/tenants/{tenant}/activity", anonymous: 401 },
  { method: "GET", path: "/v1/tenants/{tenant}/keys", anonymous: 401 },
  { method: "POST", path: "/v1/tenants/{tenant}/keys", anonymous: 401 },
  { method: "DELETE", path: "/v1/tenants/{tenant}/keys/AAAAAAAAAAAAAAAA", anonymous: 401 },
  { method: "POST", path: "/v1/tenants/{tenant}/sessions", body: { userId: "u1" }, anonymous: 401 },
  { method: "GET", path: "/v1/tenants/{tenant}/sessions", anonymous: 401 },
  { method: "DELETE", path: "/v1/tenants/{tenant}/sessions", anonymous: 401 },
  { method: "GET", path: "/v1/tenants/{tenant}/sessions/AAAAAAAAAAAAAAAAAAAAAA", anonymous: 401 },
  { method: "DELETE", path: "/v1/tenants/{tenant}/sessions/AAAAAAAAAAAAAAAAAAAAAA", anonymous: 401 },
  { method: "DELETE", path: "/v1/tenants/{tenant}/users/u1/sessions", anonymous: 401 },
  { method: "GET", path: "/v1/tenants/{tenant}/events", anonymous: 401 },
  {
    method: "POST",
    path: "/v1/tenants/{tenant}/webhooks",
    body: { url: "https://hooks.example.com/in", format: "standard-webhooks" },
    anonymous: 401,
  },
  { method: "GET", path: "/v1/tenants/{tenant}/webhooks", anonymous: 401 },
  { method: "DELETE", path: "/v1/tenants/{tenant}/webhooks/wh_AAAAAAAAAAAAAAAA", anonymous: 401 },
  { method: "GET", path: "/v1/tenants/{tenant}/webhooks/wh_AAAAAAAAAAAAAAAA/deliveries", anonymous: 401 },
  { method: "GET", path: "/v1/session", anonymous: 401 },
  { method: "DELETE", path: "/v1/session", anonymous: 204 },
  { method: "POST", path: "/v1/session/rotate", anonymous: 401 },
  { method: "GET", path: "/v1/session/siblings", anonymous: 401 },
  { method: "DELETE", path: "/v1/session/siblings", anonymous: 401 },
  { method: "POST", path: "/v1/session/binding", anonymous: 401 },
  // A refresh of no session tells the browser to drop its bound session: 200 `continue: false`.
  { method: "POST", path: "/v1/session/binding/refresh", anonymous: 200 },
  // Without an Upgrade header the socket route answers 426 before looking at credentials.
  { method: "GET", path: "/v1/session/live", anonymous: 426 },
];

async function expectJsonError(response: Response, statuses: number[], label: string): Promise<void> {
  expect(statuses, `${label}: got ${response.status}`).toContain(response.status);
  if (response.status !== 204 && responseHasBody(response)) {
    expect(response.headers.get("Content-Type"), label).toBe("application/json; charset=utf-8");
    const error = await errorOf(response);
    expect(error.code, label).toMatch(/^[a-z_]+$/);
    expect(error.message, label).toEqual(expect.any(String));
  }
}

function responseHasBody(response: Response): boolean {
  return response.headers.get("Content-Type") !== null;
}

async function sessionCount(tenant: string): Promise<number> {
  const body = (await (await call("GET", `/v1/tenants/${tenant}`)).json()) as {
    tenant: { counts: { sessions: number } };
  };
  return body.tenant.counts.sessions;
}

async function tenantSnapshot(tenant: string): Promise<unknown> {
  return (await call("GET", `/v1/tenants/${tenant}`)).json();
}

describe("credentials on every route", () => {
  for (const route of ROUTES) {
    it(`${route.method} ${route.path} without credentials is ${route.anonymous}, and with a wrong key or token 401`, async () => {
      const tenant = await createTenant();
      const path = route.path.replace("{tenant}", tenant);
      const options = route.body ? { body: route.body } : {};
      const anonymous = await call(route.method, path, { ...options, key: null });
      expect(anonymous.status).toBe(route.anonymous);
      if (route.anonymous === 401) {
        await expectJsonError(anonymous, [401], "anonymous");
        const wrong = await call(route.method, path, {
          ...options,
          key: `tk2.${tenant}.AAAAAAAAAAAAAAAA.${"A".repeat(43)}.k2.${"A".repeat(43)}`,
        });
        await expectJsonError(wrong, [401], "wrong key");
      }
    });
  }
});

describe("methods on every path", () => {
  for (const route of ROUTES) {
    for (const method of ["HEAD", "OPTIONS", "TRACE", "PATCH"]) {
      // Review of 2026-11-30, I7: HEAD of a GET route answers as GET would, without a body.
      if (method === "HEAD" && ROUTES.some((other) => other.path === route.path && other.method === "GET")) {
        it(`HEAD ${route.path} answers as GET, without a body`, async () => {
          const tenant = await createTenant();
          const path = route.path.replace("{tenant}", tenant);
          const [head, get] = [await call("HEAD", path), await call("GET", path)];
          expect(head.status).toBe(get.status);
          expect(head.headers.get("Content-Type")).toBe(get.headers.get("Content-Type"));
          expect(head.headers.get("X-Content-Type-Options")).toBe("nosniff");
          expect(await head.text()).toBe("");
        });
        continue;
      }
      it(`${method} ${route.path} is 405 with Allow`, async () => {
        const tenant = await createTenant();
        const response = await call(method, route.path.replace("{tenant}", tenant));
        expect(response.status).toBe(405);
        expect(response.headers.get("Allow")).toContain(route.method);
        expect(response.headers.get("X-Content-Type-Options")).toBe("nosniff");
      });
    }
  }
});

describe("path tricks reach no route", () => {
  it.each([
    "//v1/session",
    "/V1/session",
    "/v1/Session",
    "/v1/session.",
    "/v1/session%2Frotate",
    "/v1%2Fsession",
    "/v1/tenants/acme%2F..%2Fother",
    "/v1/session/rotate/..",
    "/v1/../v1/session",
    "/v1/Tenants",
    "/",
    "/nope",
  ])("%s is a 4xx JSON error", async (path) => {
    const response = await call("GET", path);
    await expectJsonError(response, [400, 401, 404, 405], path);
  });
});

describe("bodies", () => {
  const cases: [string, CallOptions][] = [
    ["not JSON", { rawBody: "userId=u1", headers: { "Content-Type": "application/json" } }],
    ["truncated JSON", { rawBody: '{"userId": "u', headers: { "Content-Type": "application/json" } }],
    ["empty body", { rawBody: "", headers: { "Content-Type": "application/json" } }],
    ["null", { rawBody: "null", headers: { "Content-Type": "application/json" } }],
    ["an array", { rawBody: '[{"userId":"u1"}]', headers: { "Content-Type": "application/json" } }],
    ["a string", { rawBody: '"u1"', headers: { "Content-Type": "application/json" } }],
    [
      "duplicate keys",
      {
        rawBody: '{"userId":"u1","userId":"u2","idleTimeoutSeconds":60,"idleTimeoutSeconds":61}',
        headers: { "Content-Type": "application/json" },
      },
    ],
    [
      "10,000 levels deep",
      { rawBody: "[".repeat(10_000) + "]".repeat(10_000), headers: { "Content-Type": "application/json" } },
    ],
    [
      "10 MB",
      { rawBody: `{"userId":"${"x".repeat(10 * 1024 * 1024)}"}`, headers: { "Content-Type": "application/json" } },
    ],
    [
      "just over 16 KiB",
      { rawBody: `{"userId":"${"x".repeat(16 * 1024)}"}`, headers: { "Content-Type": "application/json" } },
    ],
    ["no content type", { rawBody: '{"userId":"u1"}' }],
    ["a wrong content type", { rawBody: '{"userId":"u1"}', headers: { "Content-Type": "text/plain" } }],
    [
      "form content type",
      { rawBody: '{"userId":"u1"}', headers: { "Content-Type": "application/x-www-form-urlencoded" } },
    ],
    [
      "invalid UTF-8",
      {
        rawBody: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
        headers: { "Content-Type": "application/json" },
      },
    ],
    ["NaN", { rawBody: '{"userId":"u1","ttlSeconds":NaN}', headers: { "Content-Type": "application/json" } }],
  ];
  for (const route of ROUTES.filter((r) => r.body)) {
    for (const [label, options] of cases) {
      it(`${route.method} ${route.path} with ${label}: 4xx, nothing written`, async () => {
        const tenant = await createTenant();
        const before = await tenantSnapshot(tenant);
        const response = await call(route.method, route.path.replace("{tenant}", tenant), options);
        await expectJsonError(response, [400, 413, 415], label);
        expect(await tenantSnapshot(tenant)).toEqual(before);
      });
    }
  }

  it("names the status for each kind of bad body", async () => {
    const tenant = await createTenant();
    const path = `/v1/tenants/${tenant}/sessions`;
    const status = async (options: CallOptions) => (await call("POST", path, options)).status;
    const json = { "Content-Type": "application/json" };
    expect(await status({ rawBody: "{", headers: json })).toBe(400);
    expect(await status({ rawBody: `{"userId":"${"x".repeat(20_000)}"}`, headers: json })).toBe(413);
    expect(await status({ rawBody: "{}", headers: { "Content-Type": "text/plain" } })).toBe(415);
    expect(
      await status({ rawBody: '{"userId":"u1"}', headers: { "Content-Type": "application/json; charset=utf-8" } }),
    ).toBe(201);
  });

  it("takes a body of exactly 16 KiB and refuses one byte more, declared or not", async () => {
    const tenant = await createTenant();
    const path = `/v1/tenants/${tenant}/sessions`;
    const json = { "Content-Type": "application/json" };
    const body = (bytes: number) => '{"userId":"u1"}'.padEnd(bytes, " ");
    expect((await call("POST", path, { rawBody: body(16 * 1024), headers: json })).status).toBe(201);
    expect((await call("POST", path, { rawBody: body(16 * 1024 + 1), headers: json })).status).toBe(413);
    const undeclared = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(body(16 * 1024 + 1)));
        controller.close();
      },
    });
    expect((await call("POST", path, { rawBody: undeclared, headers: json })).status).toBe(413);
    const understated = new Request(`${BASE}${path}`, {
      method: "POST",
      headers: { ...json, Authorization: `Bearer ${ADMIN_KEY}`, "Content-Length": "15" },
      body: body(16 * 1024 + 1),
    });
    expect((await exports.default.fetch(understated)).status).toBe(413);
    expect(await sessionCount(tenant)).toBe(1);
  });
});

describe("POST /v1/tenants/:tenant/sessions fields", () => {
  const tooDeep = (depth: number): unknown => (depth === 0 ? 1 : { a: tooDeep(depth - 1) });
  it.each([
    [{}, "userId"],
    [{ userId: "" }, "userId"],
    [{ userId: "x".repeat(257) }, "userId"],
    [{ userId: "x".repeat(16 * 1024 - 20) }, "userId"],
    [{ userId: 42 }, "userId"],
    [{ userId: null }, "userId"],
    [{ userId: "u\u0000" }, "userId"],
    [{ userId: "u\n1" }, "userId"],
    [{ userId: "u\u007f" }, "userId"],
    [{ userId: "\ud800" }, "userId"],
    [{ userId: "u1", data: [] }, "data"],
    [{ userId: "u1", data: "x" }, "data"],
    [{ userId: "u1", data: null }, "data"],
    [{ userId: "u1", data: { big: "x".repeat(4100) } }, "data"],
    [{ userId: "u1", data: tooDeep(40) }, "data"],
    [{ userId: "u1", ttlSeconds: -1 }, "ttlSeconds"],
    [{ userId: "u1", ttlSeconds: 0 }, "ttlSeconds"],
    [{ userId: "u1", ttlSeconds: 59 }, "ttlSeconds"],
    [{ userId: "u1", ttlSeconds: 60.5 }, "ttlSeconds"],
    [{ userId: "u1", ttlSeconds: "600" }, "ttlSeconds"],
    [{ userId: "u1", ttlSeconds: 2 ** 53 + 1 }, "ttlSeconds"],
    [{ userId: "u1", ttlSeconds: 34_560_001 }, "ttlSeconds"],
    [{ userId: "u1", ip: "not an ip" }, "ip"],
    [{ userId: "u1", ip: "999.1.1.1" }, "ip"],
    [{ userId: "u1", ip: 12 }, "ip"],
    [{ userId: "u1", userAgent: "x".repeat(513) }, "userAgent"],
    [{ userId: "u1", userAgent: "a\r\nb" }, "userAgent"],
    [{ userId: "u1", tenant: "other" }, "tenant"],
    [{ userId: "u1", __proto__x: 1 }, "__proto__x"],
  ])("refuses %j naming the field, and creates nothing", async (body, field) => {
    const tenant = await createTenant();
    const response = await call("POST", `/v1/tenants/${tenant}/sessions`, { body });
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toMatchObject({ code: "bad_request", field });
    expect(await sessionCount(tenant)).toBe(0);
  });

  it("refuses 1e309 (Infinity once parsed)", async () => {
    const tenant = await createTenant();
    const response = await call("POST", `/v1/tenants/${tenant}/sessions`, {
      rawBody: '{"userId":"u1","ttlSeconds":1e309}',
      headers: { "Content-Type": "application/json" },
    });
    expect(response.status).toBe(400);
    expect(await sessionCount(tenant)).toBe(0);
  });

  it("refuses __proto__ as a field without polluting anything", async () => {
    const tenant = await createTenant();
    const response = await call("POST", `/v1/tenants/${tenant}/sessions`, {
      rawBody: '{"userId":"u1","__proto__":{"admin":true}}',
      headers: { "Content-Type": "application/json" },
    });
    expect(response.status).toBe(400);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it("accepts odd but valid user ids as themselves: emoji, right-to-left, SQL-ish, NFC and NFD apart", async () => {
    const tenant = await createTenant();
    // Right-to-left text itself is fine; the override control U+202E is refused (security-review.test.ts, I2).
    const ids = ["😀", "\u05e9\u05dc\u05d5\u05dd", "' OR 1=1--", "%", "*", "../", "é", "e\u0301"];
    for (const userId of ids) {
      const issued = await createSession(tenant, { userId });
      expect(issued.session.userId).toBe(userId);
    }
    expect(await sessionCount(tenant)).toBe(ids.length);
  });
});

describe("session cookies and tokens", () => {
  const cookieHeaders: [string, string][] = [
    ["empty", ""],
    ["only separators", "=;"],
    ["empty value", `${COOKIE_NAME}=`],
    ["percent escape", `${COOKIE_NAME}=%zz`],
    ["quoted", `${COOKIE_NAME}="v1.a.b.c.d.e"`],
    ["4,097 bytes", `${COOKIE_NAME}=${"a".repeat(4097)}`],
    ["127 KB", `${COOKIE_NAME}=${"a".repeat(127 * 1024)}`],
    ["500 cookies", Array.from({ length: 500 }, (_, i) => `c${i}=${i}`).join("; ")],
    ["duplicate garbage", `${COOKIE_NAME}=x; ${COOKIE_NAME}=y`],
    ["prototype names", "__proto__=1; constructor=2; toString=3"],
    ["look-alike unicode", `${COOKIE_NAME}=v1.аcme.x`],
  ];
  for (const [label, header] of cookieHeaders) {
    it(`GET /v1/session with ${label} cookie is 401 JSON`, async () => {
      const response = await call("GET", "/v1/session", { key: null, headers: { Cookie: header } });
      await expectJsonError(response, [401], label);
    });
  }

  it("refuses another tenant's token shape and a token of the wrong length", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    for (const token of [
      issued.token.slice(0, 50),
      `${issued.token}${issued.token}`,
      issued.token.replace(tenant, "acme"),
    ]) {
      const response = await call("GET", "/v1/session", { key: null, headers: { Cookie: `${COOKIE_NAME}=${token}` } });
      expect(response.status).toBe(401);
    }
  });
});
