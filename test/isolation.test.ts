// Every operation repeated on a second tenant shows no crosstalk, and interleaved requests
// of two tenants never see each other's data.

import { describe, expect, it } from "vitest";
import { call, createSession, createTenant, withBearer, withToken } from "./helpers";

async function counts(tenant: string) {
  const body = (await (await call("GET", `/v1/tenants/${tenant}`)).json()) as {
    tenant: { counts: { sessions: number } };
  };
  return body.tenant.counts.sessions;
}

describe("tenant isolation", () => {
  it("keeps sessions, settings and logouts of one tenant out of another", async () => {
    const a = await createTenant({ sameSite: "Strict", idleTimeoutSeconds: 600 }, "iso-a");
    const b = await createTenant({}, "iso-b");
    const inA = await createSession(a, { userId: "same-user", data: { tenant: "a" } });
    const inB = await createSession(b, { userId: "same-user", data: { tenant: "b" } });
    expect(inA.setCookie).toContain("SameSite=Strict");
    expect(inB.setCookie).toContain("SameSite=Lax");

    const validA = (await (await call("GET", "/v1/session", withToken(inA.token))).json()) as {
      session: { tenant: string; data: unknown };
    };
    const validB = (await (await call("GET", "/v1/session", withToken(inB.token))).json()) as {
      session: { tenant: string; data: unknown };
    };
    expect([validA.session.tenant, validA.session.data]).toEqual([a, { tenant: "a" }]);
    expect([validB.session.tenant, validB.session.data]).toEqual([b, { tenant: "b" }]);

    // A's session id and secret under B's name: the signature no longer matches.
    expect((await call("GET", "/v1/session", withToken(inA.token.replace(`.${a}.`, `.${b}.`)))).status).toBe(401);

    const rotatedA = (await (await call("POST", "/v1/session/rotate", withBearer(inA.token))).json()) as {
      token: string;
    };
    expect((await call("GET", "/v1/session", withToken(inB.token))).status).toBe(200);
    expect((await call("DELETE", "/v1/session", withToken(rotatedA.token))).status).toBe(204);
    expect((await call("GET", "/v1/session", withToken(inB.token))).status).toBe(200);
    expect([await counts(a), await counts(b)]).toEqual([0, 1]);

    await call("PUT", `/v1/tenants/${a}`, { body: { idleTimeoutSeconds: 60 } });
    const settingsB = (await (await call("GET", `/v1/tenants/${b}`)).json()) as {
      tenant: { settings: { idleTimeoutSeconds: number } };
    };
    expect(settingsB.tenant.settings.idleTimeoutSeconds).toBe(1800);
  });

  it("answers interleaved requests of two tenants each with its own data", async () => {
    const a = await createTenant({}, "mix-a");
    const b = await createTenant({}, "mix-b");
    const issued = await Promise.all(
      Array.from({ length: 20 }, (_, i) => createSession(i % 2 ? a : b, { userId: `user-${i}`, data: { i } })),
    );
    const responses = await Promise.all(issued.map((s) => call("GET", "/v1/session", withToken(s.token))));
    const bodies = (await Promise.all(responses.map((r) => r.json()))) as {
      session: { tenant: string; userId: string; data: { i: number } };
    }[];
    bodies.forEach((body, i) => {
      expect(body.session).toMatchObject({ tenant: i % 2 ? a : b, userId: `user-${i}`, data: { i } });
    });
  });
});
