// GET /v1/tenants: the platform's list of tenants, kept by the TenantDirectory. Every tenant is
// recorded by its own store at creation and at each settings change, retried by the store's
// alarm until the directory has heard of it.

import { env } from "cloudflare:workers";
import { evictDurableObject, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SessionStore } from "../durable-objects/session-store/session-store";
import { alarmUntil, call, createTenant, directoryOf, errorOf, freshTenantName } from "./helpers";

interface Listing {
  tenants: { tenant: string; settings: { idleTimeoutSeconds: number }; createdAt: string; updatedAt: string }[];
  nextCursor: string | null;
}

const storeOf = (tenant: string) =>
  env.SESSION_STORE.get(env.SESSION_STORE.idFromName(tenant)) as DurableObjectStub<SessionStore>;

/** Every tenant the directory lists, page by page, with the names in the order they came. */
async function listAllTenants(limit: number): Promise<Listing["tenants"]> {
  const all: Listing["tenants"] = [];
  let cursor: string | null = null;
  do {
    const response = await call(
      "GET",
      `/v1/tenants?limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    expect(response.status).toBe(200);
    const page = (await response.json()) as Listing;
    expect(page.tenants.length).toBeLessThanOrEqual(limit);
    all.push(...page.tenants);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return all;
}

describe("GET /v1/tenants", () => {
  it("lists every tenant by name, each once, with its settings and creation time", async () => {
    const prefix = freshTenantName("dir");
    const names = [`${prefix}-b`, `${prefix}-a`, `${prefix}-c`];
    for (const name of names)
      expect((await call("PUT", `/v1/tenants/${name}`, { body: { idleTimeoutSeconds: 600 } })).status).toBe(201);
    const all = await listAllTenants(2);
    const listed = all.map((t) => t.tenant);
    expect(listed).toEqual([...listed].sort());
    expect(new Set(listed).size).toBe(listed.length);
    const ours = all.filter((t) => t.tenant.startsWith(prefix));
    expect(ours.map((t) => t.tenant)).toEqual([...names].sort());
    for (const t of ours) {
      expect(t.settings.idleTimeoutSeconds).toBe(600);
      expect(Date.parse(t.createdAt)).toBeGreaterThan(Date.now() - 60_000);
    }
  });

  it("shows a tenant's settings as last changed", async () => {
    const tenant = await createTenant();
    await call("PUT", `/v1/tenants/${tenant}`, { body: { idleTimeoutSeconds: 900 } });
    const entry = (await listAllTenants(1000)).find((t) => t.tenant === tenant);
    expect(entry?.settings.idleTimeoutSeconds).toBe(900);
  });

  it("is for the platform admin only: 401 without a key, 403 with a tenant key", async () => {
    const tenant = await createTenant();
    const { key } = (await (await call("POST", `/v1/tenants/${tenant}/keys`)).json()) as { key: string };
    expect((await call("GET", "/v1/tenants", { key: null })).status).toBe(401);
    const forbidden = await call("GET", "/v1/tenants", { key });
    expect(forbidden.status).toBe(403);
    expect((await errorOf(forbidden)).code).toBe("forbidden");
  });

  it.each([
    ["limit=0", "limit"],
    ["limit=1001", "limit"],
    ["limit=-1", "limit"],
    ["cursor=forged", "cursor"],
    ["cursor=c1.acme.k2.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "cursor"],
    ["name=acme", "name"],
    ["limit=1&limit=2", "limit"],
  ])("refuses ?%s with 400 naming %s", async (query, field) => {
    const response = await call("GET", `/v1/tenants?${query}`);
    expect(response.status).toBe(400);
    expect((await errorOf(response)).field).toBe(field);
  });

  it("refuses a cursor of another listing", async () => {
    const tenant = await createTenant();
    for (let i = 0; i < 3; i++) await call("POST", `/v1/tenants/${tenant}/sessions`, { body: { userId: "u" } });
    const sessions = (await (await call("GET", `/v1/tenants/${tenant}/sessions?limit=1`)).json()) as {
      nextCursor: string;
    };
    const response = await call("GET", `/v1/tenants?cursor=${encodeURIComponent(sessions.nextCursor)}`);
    expect(response.status).toBe(400);
  });
});

describe("recording tenants in the directory", () => {
  it("records again, from the store's alarm, a tenant the directory did not hear of", async () => {
    const tenant = await createTenant();
    // The directory loses the tenant (as if its call had failed), and the store knows it is pending.
    await runInDurableObject(directoryOf(tenant), (_instance, state) =>
      state.storage.sql.exec("DELETE FROM tenants WHERE name = ?", tenant),
    );
    await runInDurableObject(storeOf(tenant), (_instance, state) =>
      state.storage.sql.exec("UPDATE tenant SET registry_pending = 1"),
    );
    expect((await listAllTenants(1000)).some((t) => t.tenant === tenant)).toBe(false);
    // A restart's constructor arms the alarm for it; the alarm records it.
    await evictDurableObject(storeOf(tenant));
    await call("GET", `/v1/tenants/${tenant}`);
    const pending = () =>
      runInDurableObject(
        storeOf(tenant),
        (_instance, state) => state.storage.sql.exec("SELECT registry_pending AS p FROM tenant").one().p,
      );
    await alarmUntil(storeOf(tenant), async () => (await pending()) === 0);
    expect((await listAllTenants(1000)).some((t) => t.tenant === tenant)).toBe(true);
  });

  it("answers a PUT while the directory fails, and records the tenant from the alarm once it works again", async () => {
    const tenant = freshTenantName("down");
    await directoryOf(tenant).claim(tenant, null); // claimed, as a PUT does first: finding the tenant needs no record
    await runInDurableObject(directoryOf(tenant), (_instance, state) => {
      state.storage.sql.exec("ALTER TABLE tenants RENAME TO tenants_away"); // every record() now throws
    });
    expect((await call("PUT", `/v1/tenants/${tenant}`, { body: {} })).status).toBe(201);
    const pending = () =>
      runInDurableObject(
        storeOf(tenant),
        (_instance, state) => state.storage.sql.exec("SELECT registry_pending AS p FROM tenant").one().p,
      );
    expect(await pending()).toBe(1);
    const alarm = await runInDurableObject(storeOf(tenant), (_instance, state) => state.storage.getAlarm());
    expect(alarm).toEqual(expect.any(Number)); // armed to ask again
    await runInDurableObject(directoryOf(tenant), (_instance, state) => {
      state.storage.sql.exec("ALTER TABLE tenants_away RENAME TO tenants");
    });
    await alarmUntil(storeOf(tenant), async () => (await pending()) === 0);
    expect((await listAllTenants(1000)).some((t) => t.tenant === tenant)).toBe(true);
  });

  it("keeps the newest settings when copies arrive out of order", async () => {
    const name = freshTenantName("order");
    const settings = (idle: number) => ({
      idleTimeoutSeconds: idle,
      absoluteTimeoutSeconds: 604_800,
      touchIntervalSeconds: 0,
      maxSessionsPerUser: null,
      allowedOrigins: [],
      sameSite: "Lax" as const,
      undoWindowSeconds: 900,
      shards: 1,
      jurisdiction: null,
      jwt: null,
      acrValues: ["aal1", "aal2", "aal3"],
      impersonationMaxSeconds: 3600,
      privilegedRequirement: null,
      deviceBinding: "off" as const,
      boundCookieSeconds: 600,
      bindingGraceSeconds: 60,
      bindingViolation: "record" as const,
    });
    await directoryOf(name).record(name, settings(300), 1000, 2000);
    await directoryOf(name).record(name, settings(100), 1000, 1500); // an older copy, late
    const listed = await directoryOf(name).list(undefined, 1000);
    expect(listed.ok && listed.tenants.find((t) => t.tenant === name)?.settings.idleTimeoutSeconds).toBe(300);
  });
});
