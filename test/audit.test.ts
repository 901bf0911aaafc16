// The audit log: every kind of change with its actor, newest first, paged with signed cursors,
// never a secret.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SessionServiceBinding } from "../packages/client/src/types";
import { call, createSession, createTenant, list, secretOf, seed, withBearer, type Listed } from "./helpers";

const sessions: SessionServiceBinding = env.SESSIONS;

describe("GET /v1/tenants/:tenant/events", () => {
  it("records every kind of change with its actor, newest first, and never a secret", async () => {
    const tenant = await createTenant({ maxSessionsPerUser: 2 });
    const { id: keyId, key } = (await (await call("POST", `/v1/tenants/${tenant}/keys`)).json()) as {
      id: string;
      key: string;
    };
    const s1 = await createSession(tenant, { userId: "u1" }, key);
    const s2 = await createSession(tenant, { userId: "u1" });
    const s3 = await createSession(tenant, { userId: "u1" }); // evicts s1
    const rotated = (await (await call("POST", "/v1/session/rotate", withBearer(s2.token))).json()) as {
      token: string;
    };
    await call("DELETE", "/v1/session/siblings", withBearer(rotated.token)); // kills s3
    await call("DELETE", "/v1/session", withBearer(rotated.token)); // logout s2
    const s4 = await createSession(tenant, { userId: "u2" });
    await call("DELETE", `/v1/tenants/${tenant}/sessions/${s4.session.id}`, { key });
    await createSession(tenant, { userId: "u3" });
    await call("DELETE", `/v1/tenants/${tenant}/users/u3/sessions`);
    await createSession(tenant, { userId: "u4" });
    await sessions.revokeTenant(tenant);

    const response = await call("GET", `/v1/tenants/${tenant}/events?limit=1000`);
    const text = await response.text();
    const { events, nextCursor } = JSON.parse(text) as { events: Record<string, unknown>[]; nextCursor: string | null };
    expect(nextCursor).toBeNull();
    const summary = events.map((e) => [
      e.type,
      e.reason ?? null,
      e.actor,
      e.sessionId ?? null,
      e.userId ?? null,
      e.count ?? null,
    ]);
    expect(summary.reverse()).toEqual([
      ["tenant_created", null, "admin", null, null, null],
      ["key_created", null, "admin", null, null, null],
      ["created", null, `tenant_key:${keyId}`, s1.session.id, "u1", null],
      ["created", null, "admin", s2.session.id, "u1", null],
      ["created", null, "admin", s3.session.id, "u1", null],
      ["revoked", "evicted", "system", s1.session.id, "u1", null],
      ["rotated", null, "session", s2.session.id, "u1", null],
      ["revoked", "siblings", "session", s2.session.id, "u1", 1],
      ["revoked", "logout", "session", s2.session.id, "u1", null],
      ["created", null, "admin", s4.session.id, "u2", null],
      ["revoked", "one", `tenant_key:${keyId}`, s4.session.id, "u2", null],
      ["created", null, "admin", expect.any(String), "u3", null],
      ["revoked", "user", "admin", null, "u3", 1],
      ["created", null, "admin", expect.any(String), "u4", null],
      ["revoked", "tenant", "service", null, null, 1],
    ]);
    for (const secret of [
      s1.token,
      s2.token,
      s3.token,
      s4.token,
      rotated.token,
      key,
      key.split(".")[3]!,
      secretOf(s1.token),
    ]) {
      expect(text).not.toContain(secret);
    }
    for (const event of events) expect(Date.parse(event.at as string)).not.toBeNaN();
  });

  it("pages with a cursor and refuses a forged one", async () => {
    const tenant = await createTenant();
    await seed(tenant, ["a", "b", "c", "d", "e"]);
    const first = (await (await call("GET", `/v1/tenants/${tenant}/events?limit=2`)).json()) as {
      events: unknown[];
      nextCursor: string;
    };
    expect(first.events).toHaveLength(2);
    const second = (await (
      await call("GET", `/v1/tenants/${tenant}/events?limit=2&cursor=${first.nextCursor}`)
    ).json()) as { events: unknown[] };
    expect(second.events).toHaveLength(2);
    expect(second.events).not.toEqual(first.events);
    const sessionsCursor = ((await (await list(tenant, "?limit=1")).json()) as Listed).nextCursor!;
    expect((await call("GET", `/v1/tenants/${tenant}/events?cursor=${sessionsCursor}`)).status).toBe(400);
    expect((await call("GET", `/v1/tenants/${tenant}/events?userId=a`)).status).toBe(400);
  });
});
