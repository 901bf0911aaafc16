// Nothing authoritative lives in a Durable Object's memory: evicting the store between every
// step of a session's life changes no result. And /health answers without any store.

import { env } from "cloudflare:workers";
import { evictDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import packageJson from "../package.json";
import { call, createSession, createTenant, withBearer } from "./helpers";

describe("eviction between steps", () => {
  it("create, validate, rotate and logout give the same results with the store evicted before each", async () => {
    const tenant = await createTenant({ touchIntervalSeconds: 0 });
    const stub = env.SESSION_STORE.get(env.SESSION_STORE.idFromName(tenant));
    await evictDurableObject(stub);
    const issued = await createSession(tenant);
    await evictDurableObject(stub);
    expect((await call("GET", "/v1/session", withBearer(issued.token))).status).toBe(200);
    await evictDurableObject(stub);
    const rotated = (await (await call("POST", "/v1/session/rotate", withBearer(issued.token))).json()) as { token: string };
    await evictDurableObject(stub);
    expect((await call("GET", "/v1/session", withBearer(issued.token))).status).toBe(401);
    expect((await call("GET", "/v1/session", withBearer(rotated.token))).status).toBe(200);
    await evictDurableObject(stub);
    expect((await call("DELETE", "/v1/session", withBearer(rotated.token))).status).toBe(204);
    await evictDurableObject(stub);
    expect((await call("GET", "/v1/session", withBearer(rotated.token))).status).toBe(401);
  });
});

describe("GET /health", () => {
  it("answers ok with the version, to anyone", async () => {
    const response = await call("GET", "/health", { key: null });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, version: packageJson.version });
  });
});
