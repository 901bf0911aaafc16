// Nothing authoritative lives in a Durable Object's memory: evicting the store between every
// step of a session's life changes no result. And /health answers without any store.

import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createSession, createsCutByAbort, createTenant, withBearer } from "./helpers";

describe("eviction between steps", () => {
  it("create, validate, rotate and logout give the same results with the store evicted before each", async () => {
    const tenant = await createTenant({ touchIntervalSeconds: 0 });
    const stub = env.SESSION_STORE.get(env.SESSION_STORE.idFromName(tenant));
    await evictDurableObject(stub);
    const issued = await createSession(tenant);
    await evictDurableObject(stub);
    expect((await call("GET", "/v1/session", withBearer(issued.token))).status).toBe(200);
    await evictDurableObject(stub);
    const rotated = (await (await call("POST", "/v1/session/rotate", withBearer(issued.token))).json()) as {
      token: string;
    };
    await evictDurableObject(stub);
    expect((await call("GET", "/v1/session", withBearer(issued.token))).status).toBe(401);
    expect((await call("GET", "/v1/session", withBearer(rotated.token))).status).toBe(200);
    await evictDurableObject(stub);
    expect((await call("DELETE", "/v1/session", withBearer(rotated.token))).status).toBe(204);
    await evictDurableObject(stub);
    expect((await call("GET", "/v1/session", withBearer(rotated.token))).status).toBe(401);
  });
});

describe("hard abort mid-request", () => {
  it("leaves every create either whole (session and its audit event) or absent", async () => {
    const tenant = await createTenant();
    const stub = env.SESSION_STORE.get(env.SESSION_STORE.idFromName(tenant));
    // 300 creates in flight; the store is aborted while they run.
    const committed = await createsCutByAbort(tenant, 300);
    const { sessions, events } = await runInDurableObject(stub, (_instance, state) => ({
      sessions: state.storage.sql
        .exec("SELECT id FROM sessions")
        .toArray()
        .map((row) => String(row.id)),
      events: state.storage.sql
        .exec("SELECT session_id FROM events WHERE type = 'created'")
        .toArray()
        .map((row) => String(row.session_id)),
    }));
    expect(sessions.sort()).toEqual(events.sort()); // never a session without its event, nor the reverse
    expect(sessions.length).toBeGreaterThanOrEqual(committed); // every 201 was committed
  });
});
