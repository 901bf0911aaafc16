// Operator routes: tenant settings and tenant API keys, with their scoping rules.

import { describe, expect, it } from "vitest";
import { shardOf } from "../src/core/placement";
import { ADMIN_KEY, call, createSession, createTenant, errorOf, freshTenantName, status } from "./helpers";

async function mintKey(tenant: string): Promise<{ id: string; key: string }> {
  const response = await call("POST", `/v1/tenants/${tenant}/keys`);
  expect(response.status).toBe(201);
  return (await response.json()) as { id: string; key: string };
}

describe("PUT /v1/tenants/:tenant", () => {
  it("creates a tenant with default settings (201), then merges updates (200)", async () => {
    const tenant = freshTenantName();
    const created = await call("PUT", `/v1/tenants/${tenant}`, { body: {} });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { tenant: Record<string, unknown>; created: boolean };
    expect(body.created).toBe(true);
    expect(body.tenant).toEqual({
      tenant,
      settings: {
        idleTimeoutSeconds: 1800,
        absoluteTimeoutSeconds: 604800,
        touchIntervalSeconds: 180,
        maxSessionsPerUser: null,
        allowedOrigins: [],
        sameSite: "Lax",
        undoWindowSeconds: 900,
        shards: 1,
        jurisdiction: null,
        jwt: null,
        acrValues: ["aal1", "aal2", "aal3"],
        impersonationMaxSeconds: 3600,
        privilegedRequirement: null,
        deviceBinding: "off",
        boundCookieSeconds: 600,
        bindingGraceSeconds: 60,
        bindingViolation: "record",
      },
      createdAt: expect.any(String),
      updatedAt: expect.any(String),
      counts: { sessions: 0, keys: 0, webhooks: 0, disabledWebhooks: 0 },
    });
    const updated = await call("PUT", `/v1/tenants/${tenant}`, {
      body: { idleTimeoutSeconds: 600, sameSite: "Strict" },
    });
    expect(updated.status).toBe(200);
    const after = (await updated.json()) as { tenant: { settings: Record<string, unknown> }; created: boolean };
    expect(after.created).toBe(false);
    expect(after.tenant.settings).toMatchObject({
      idleTimeoutSeconds: 600,
      touchIntervalSeconds: 60,
      absoluteTimeoutSeconds: 604800,
      sameSite: "Strict",
    });
  });

  it("keeps an explicit touch interval, and refuses one above the idle timeout", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 600, touchIntervalSeconds: 0 });
    const get = (await (await call("GET", `/v1/tenants/${tenant}`)).json()) as {
      tenant: { settings: { touchIntervalSeconds: number } };
    };
    expect(get.tenant.settings.touchIntervalSeconds).toBe(0);
    const response = await call("PUT", `/v1/tenants/${tenant}`, { body: { touchIntervalSeconds: 601 } });
    expect(response.status).toBe(400);
    expect((await errorOf(response)).field).toBe("touchIntervalSeconds");
  });

  it.each([
    [{ idleTimeoutSeconds: 0 }, "idleTimeoutSeconds"],
    [{ idleTimeoutSeconds: -1 }, "idleTimeoutSeconds"],
    [{ idleTimeoutSeconds: 34_560_001 }, "idleTimeoutSeconds"],
    [{ idleTimeoutSeconds: 1.5 }, "idleTimeoutSeconds"],
    [{ idleTimeoutSeconds: "600" }, "idleTimeoutSeconds"],
    [{ idleTimeoutSeconds: 2 ** 53 + 1 }, "idleTimeoutSeconds"],
    [{ idleTimeoutSeconds: null }, "idleTimeoutSeconds"],
    [{ absoluteTimeoutSeconds: 60 }, "absoluteTimeoutSeconds"],
    [{ touchIntervalSeconds: -1 }, "touchIntervalSeconds"],
    [{ maxSessionsPerUser: 0 }, "maxSessionsPerUser"],
    [{ maxSessionsPerUser: 10_001 }, "maxSessionsPerUser"],
    [{ maxSessionsPerUser: "5" }, "maxSessionsPerUser"],
    [{ allowedOrigins: "https://a.example" }, "allowedOrigins"],
    [{ allowedOrigins: ["https://a.example/"] }, "allowedOrigins"],
    [{ allowedOrigins: ["https://a.example/path"] }, "allowedOrigins"],
    [{ allowedOrigins: ["https://a.example; Domain=evil"] }, "allowedOrigins"],
    [{ allowedOrigins: ["https://a.example\r\nX: y"] }, "allowedOrigins"],
    [{ allowedOrigins: ["https://a.example,https://b.example"] }, "allowedOrigins"],
    [{ allowedOrigins: ["javascript:alert(1)"] }, "allowedOrigins"],
    [{ allowedOrigins: Array.from({ length: 51 }, (_, i) => `https://a${i}.example`) }, "allowedOrigins"],
    [{ sameSite: "None" }, "sameSite"],
    [{ sameSite: "lax" }, "sameSite"],
    [{ sameSite: "Lax; Domain=evil" }, "sameSite"],
    [{ unknownSetting: 1 }, "unknownSetting"],
  ])("refuses %j with 400 naming %s, and changes nothing", async (patch, field) => {
    const tenant = await createTenant({ idleTimeoutSeconds: 600, absoluteTimeoutSeconds: 3600 });
    const before = await (await call("GET", `/v1/tenants/${tenant}`)).json();
    const response = await call("PUT", `/v1/tenants/${tenant}`, { body: { sameSite: "Strict", ...patch } });
    expect(response.status).toBe(400);
    const error = await errorOf(response);
    expect(error.code).toBe("bad_request");
    expect(error.field).toBe(field);
    expect(await (await call("GET", `/v1/tenants/${tenant}`)).json()).toEqual(before);
  });

  it("refuses tenant names outside the pattern", async () => {
    for (const name of [
      "Acme",
      "-acme",
      "acme-",
      "a".repeat(64),
      "acme%2F..",
      "..",
      "ac_me",
      "%00",
      "' OR 1=1--",
      "a*",
      "%25",
      "😀",
      encodeURIComponent("ａcme"),
    ]) {
      const response = await call("PUT", `/v1/tenants/${name}`, { body: {} });
      expect([400, 404], name).toContain(response.status);
      expect(response.headers.get("Content-Type"), name).toContain("application/json");
    }
  });

  it("is for the platform admin only", async () => {
    const tenant = await createTenant();
    const { key } = await mintKey(tenant);
    const response = await call("PUT", `/v1/tenants/${tenant}`, { key, body: { idleTimeoutSeconds: 60 } });
    expect(response.status).toBe(403);
    expect((await call("PUT", `/v1/tenants/${tenant}`, { key: "wrong", body: {} })).status).toBe(401);
    expect((await call("PUT", `/v1/tenants/${tenant}`, { key: null, body: {} })).status).toBe(401);
  });
});

describe("GET /v1/tenants/:tenant", () => {
  it("shows settings and live counts to the admin and the tenant's own key", async () => {
    const tenant = await createTenant();
    const { key } = await mintKey(tenant);
    await createSession(tenant, { userId: "a" });
    await createSession(tenant, { userId: "b" });
    for (const caller of [ADMIN_KEY, key]) {
      const response = await call("GET", `/v1/tenants/${tenant}`, { key: caller });
      expect(response.status).toBe(200);
      const body = (await response.json()) as { tenant: { counts: unknown } };
      expect(body.tenant.counts).toEqual({ sessions: 2, keys: 1, webhooks: 0, disabledWebhooks: 0 });
    }
  });

  it("is 404 tenant_not_found for a tenant never created", async () => {
    const response = await call("GET", `/v1/tenants/${freshTenantName("nope")}`);
    expect(response.status).toBe(404);
    expect((await errorOf(response)).code).toBe("tenant_not_found");
  });
});

describe("tenant keys", () => {
  it("mints a key shown once, usable on its own tenant only", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const { id, key } = await mintKey(tenant);
    expect(key).toMatch(new RegExp(`^tk2\\.${tenant}\\.${id}\\.[A-Za-z0-9_-]{43}\\.k2\\.[A-Za-z0-9_-]{43}$`));
    expect((await call("POST", `/v1/tenants/${tenant}/sessions`, { key, body: { userId: "u1" } })).status).toBe(201);
    const crossing = await call("POST", `/v1/tenants/${other}/sessions`, { key, body: { userId: "u1" } });
    expect(crossing.status).toBe(403);
    expect((await errorOf(crossing)).code).toBe("forbidden");
    expect((await call("GET", `/v1/tenants/${other}`, { key })).status).toBe(403);
  });

  it("refuses a key with a wrong secret, or for a tenant that holds no such key, with 401", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const { key } = await mintKey(tenant);
    const wrongSecret = key.slice(0, -3) + (key.endsWith("AAA") ? "BBB" : "AAA");
    expect((await call("GET", `/v1/tenants/${tenant}`, { key: wrongSecret })).status).toBe(401);
    expect((await call("GET", `/v1/tenants/${other}`, { key: wrongSecret })).status).toBe(401);
    const transplanted = key.replace(`.${tenant}.`, `.${other}.`);
    expect((await call("GET", `/v1/tenants/${other}`, { key: transplanted })).status).toBe(401);
  });

  it("revokes a key with effect on the very next request", async () => {
    const tenant = await createTenant();
    const { id, key } = await mintKey(tenant);
    expect((await call("GET", `/v1/tenants/${tenant}`, { key })).status).toBe(200);
    const revoked = await call("DELETE", `/v1/tenants/${tenant}/keys/${id}`);
    expect(revoked.status).toBe(200);
    expect(await revoked.json()).toEqual({ revoked: 1 });
    expect((await call("GET", `/v1/tenants/${tenant}`, { key })).status).toBe(401);
    expect((await call("POST", `/v1/tenants/${tenant}/sessions`, { key, body: { userId: "u" } })).status).toBe(401);
    expect((await call("DELETE", `/v1/tenants/${tenant}/keys/${id}`)).status).toBe(404);
  });

  it("refuses a revoked key on every route a tenant key may use, changing nothing", async () => {
    const tenant = await createTenant({ shards: 4 });
    const session = await createSession(tenant, { userId: "u1" });
    const hook = (await (
      await call("POST", `/v1/tenants/${tenant}/webhooks`, {
        body: { url: "https://hooks.example.com/in", format: "standard-webhooks" },
      })
    ).json()) as { webhook: { id: string } };
    const killId = (
      (await (await call("DELETE", `/v1/tenants/${tenant}/users/nobody/sessions`)).json()) as { killId: string }
    ).killId;
    const { id, key } = await mintKey(tenant);
    expect((await call("GET", `/v1/tenants/${tenant}/sessions`, { key })).status).toBe(200); // it worked, on every shard
    expect((await call("DELETE", `/v1/tenants/${tenant}/keys/${id}`)).status).toBe(200);
    const t = `/v1/tenants/${tenant}`;
    const routes: [string, string, unknown?][] = [
      ["GET", t],
      ["GET", `${t}/activity`],
      ["GET", `${t}/keys`],
      ["POST", `${t}/sessions`, { userId: "u2" }],
      ["GET", `${t}/sessions`],
      ["GET", `${t}/sessions/${session.session.id}`],
      ["DELETE", `${t}/sessions/${session.session.id}`],
      ["DELETE", `${t}/users/u1/sessions`],
      ["DELETE", `${t}/sessions`],
      ["POST", `${t}/kills/${killId}/undo`],
      ["GET", `${t}/events`],
      ["POST", `${t}/webhooks`, { url: "https://hooks.example.com/other", format: "standard-webhooks" }],
      ["GET", `${t}/webhooks`],
      ["GET", `${t}/webhooks/${hook.webhook.id}/deliveries`],
      ["DELETE", `${t}/webhooks/${hook.webhook.id}`],
    ];
    for (const [method, path, body] of routes) {
      const response = await call(method, path, { key, ...(body === undefined ? {} : { body }) });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect((await errorOf(response)).message, `${method} ${path}`).toBe("the API key is invalid or revoked"); // refused by a store, not the front
    }
    expect(await status(session.token)).toBe(200);
    const hooks = (await (await call("GET", `${t}/webhooks`)).json()) as { webhooks: { id: string }[] };
    expect(hooks.webhooks.map((w) => w.id)).toEqual([hook.webhook.id]);
  });

  it("lets only the platform admin mint or revoke keys", async () => {
    const tenant = await createTenant();
    const { id, key } = await mintKey(tenant);
    expect((await call("POST", `/v1/tenants/${tenant}/keys`, { key })).status).toBe(403);
    expect((await call("DELETE", `/v1/tenants/${tenant}/keys/${id}`, { key })).status).toBe(403);
    expect((await call("GET", `/v1/tenants/${tenant}`, { key })).status).toBe(200);
  });

  it("lists the keys, newest first, with ids and creation times and never a secret; revoked ones are gone", async () => {
    const tenant = await createTenant({ shards: 4 });
    const first = await mintKey(tenant);
    const second = await mintKey(tenant);
    const listed = await call("GET", `/v1/tenants/${tenant}/keys`);
    expect(listed.status).toBe(200);
    const { keys } = (await listed.json()) as { keys: { id: string; createdAt: string }[] };
    expect(keys.map((key) => key.id).sort()).toEqual([first.id, second.id].sort());
    expect(keys[0]!.createdAt >= keys[1]!.createdAt).toBe(true);
    for (const key of keys) expect(Object.keys(key).sort()).toEqual(["createdAt", "id", "lastUsedAt"]);
    expect(JSON.stringify(keys)).not.toContain(first.key.split(".")[3]);
    // A tenant key may read its own tenant's list, not another's.
    expect((await call("GET", `/v1/tenants/${tenant}/keys`, { key: second.key })).status).toBe(200);
    const other = await createTenant();
    expect((await call("GET", `/v1/tenants/${other}/keys`, { key: second.key })).status).toBe(403);
    await call("DELETE", `/v1/tenants/${tenant}/keys/${first.id}`);
    const after = (await (await call("GET", `/v1/tenants/${tenant}/keys`)).json()) as { keys: { id: string }[] };
    expect(after.keys.map((key) => key.id)).toEqual([second.id]);
    expect((await call("GET", `/v1/tenants/${freshTenantName("gone")}/keys`)).status).toBe(404);
    expect((await call("GET", `/v1/tenants/${tenant}/keys`, { key: null })).status).toBe(401);
  });

  it("says when each key was last used on any shard, writing it at most once a minute per store", async () => {
    const tenant = await createTenant({ shards: 4 });
    const used = await mintKey(tenant);
    const idle = await mintKey(tenant);
    const lastUsed = async () => {
      const { keys } = (await (await call("GET", `/v1/tenants/${tenant}/keys`)).json()) as {
        keys: { id: string; lastUsedAt: string | null }[];
      };
      return Object.fromEntries(keys.map((key) => [key.id, key.lastUsedAt]));
    };
    expect(await lastUsed()).toEqual({ [used.id]: null, [idle.id]: null });
    const user = Array.from({ length: 50 }, (_, i) => `u${i}`).find((u) => shardOf(u, 4) !== 0)!;
    const before = new Date().toISOString();
    await createSession(tenant, { userId: user }, used.key); // checked on the user's shard, not the home
    const first = (await lastUsed())[used.id]!;
    expect(first >= before && first <= new Date().toISOString()).toBe(true);
    expect((await lastUsed())[idle.id]).toBeNull();
    await createSession(tenant, { userId: user }, used.key);
    expect((await lastUsed())[used.id]).toBe(first); // within the minute: not written again
    await mintKey(tenant); // a new copy of the keys reaches every shard, and keeps their uses
    expect((await lastUsed())[used.id]).toBe(first);
  });

  it("answers 404 for keys of unknown tenants and malformed key ids", async () => {
    expect((await call("POST", `/v1/tenants/${freshTenantName("gone")}/keys`)).status).toBe(404);
    const tenant = await createTenant();
    for (const keyId of ["nope", "..%2F..", "%00", "a".repeat(5000)]) {
      const response = await call("DELETE", `/v1/tenants/${tenant}/keys/${keyId}`);
      expect(response.status, keyId).toBe(404);
      expect((await errorOf(response)).code).toBe("key_not_found");
    }
  });
});

describe("admin key", () => {
  it("accepts only Authorization: Bearer with the exact key", async () => {
    const tenant = await createTenant();
    const path = `/v1/tenants/${tenant}`;
    expect((await call("GET", path)).status).toBe(200);
    for (const header of [
      `bearer ${ADMIN_KEY}`,
      `Bearer  ${ADMIN_KEY}`,
      `Basic ${ADMIN_KEY}`,
      `Bearer ${ADMIN_KEY}x`,
      `Bearer ${ADMIN_KEY.slice(1)}`,
      ADMIN_KEY,
    ]) {
      const response = await call("GET", path, { key: null, headers: { Authorization: header } });
      expect(response.status, header).toBe(401);
      expect((await errorOf(response)).code).toBe("unauthorized");
    }
  });
});
