// Sharded tenants: growth keeps every earlier token working and every operation covers every
// era; a shard that fails mid-kill is a 503, and the kill is finished in the background; a
// jurisdiction the runtime refuses fails closed. (The revocation, listing, live-socket and undo
// suites also run on 16 shards: see SHARD_COUNTS.)

import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../src/worker/index.ts";
import { shardOf } from "../src/core/placement";
import {
  ADMIN_KEY,
  alarmUntil,
  BASE,
  call,
  createSession,
  createTenant,
  errorOf,
  failingObject,
  freshTenantName,
  listAll,
  reachThrough,
  seed,
  shardOfToken,
  status,
  storeStub,
  withBearer,
  type IssuedBody,
  directoryOf,
} from "./helpers";

async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

const USERS = Array.from({ length: 12 }, (_, i) => `user-${i}`);

describe("shard growth", () => {
  it("keeps tokens of every shard count working, and kill-user, siblings, listings and undo cover every era", async () => {
    const tenant = await createTenant();
    const eras: IssuedBody[][] = [await seed(tenant, USERS)];
    for (const shards of [4, 16]) {
      const grown = await call("PUT", `/v1/tenants/${tenant}`, { body: { shards } });
      expect(grown.status).toBe(200);
      expect((await json<{ tenant: { settings: { shards: number } } }>(grown)).tenant.settings.shards).toBe(shards);
      const era = await seed(tenant, USERS);
      for (const [i, issued] of era.entries()) expect(shardOfToken(issued.token)).toBe(shardOf(USERS[i]!, shards));
      eras.push(era);
    }
    expect(new Set(eras[2]!.map((issued) => shardOfToken(issued.token))).size).toBeGreaterThan(4); // spread, not piled on one
    for (const issued of eras.flat()) expect(await status(issued.token)).toBe(200);

    const listed = await listAll(tenant, "?limit=5");
    expect(listed).toHaveLength(36);
    expect(new Set(listed).size).toBe(36);
    expect(new Set(listed)).toEqual(new Set(eras.flat().map((issued) => issued.session.id)));
    const tenantView = await json<{ tenant: { counts: { sessions: number } } }>(
      await call("GET", `/v1/tenants/${tenant}`),
    );
    expect(tenantView.tenant.counts.sessions).toBe(36);

    const victim = 3;
    const siblings = await json<{ sessions: { id: string; current: boolean }[] }>(
      await call("GET", "/v1/session/siblings", withBearer(eras[2]![victim]!.token)),
    );
    expect(siblings.sessions.map((s) => s.id).sort()).toEqual(eras.map((era) => era[victim]!.session.id).sort());
    expect(siblings.sessions.filter((s) => s.current)).toHaveLength(1);

    const killed = await json<{ revoked: number; killId: string }>(
      await call("DELETE", `/v1/tenants/${tenant}/users/${USERS[victim]}/sessions`),
    );
    expect(killed.revoked).toBe(3);
    for (const era of eras) expect(await status(era[victim]!.token)).toBe(401);
    expect(await status(eras[0]![victim + 1]!.token)).toBe(200);
    const { events } = await json<{ events: { type: string; count?: number; killId?: string }[] }>(
      await call("GET", `/v1/tenants/${tenant}/events?limit=1`),
    );
    expect(events[0]).toMatchObject({ type: "revoked", count: 3, killId: killed.killId }); // one event for the whole kill, with the total

    expect(await json(await call("POST", `/v1/tenants/${tenant}/kills/${killed.killId}/undo`))).toEqual({
      restored: 3,
      killId: killed.killId,
    });
    for (const era of eras) expect(await status(era[victim]!.token)).toBe(200);

    const others = await json<{ revoked: number }>(
      await call("DELETE", "/v1/session/siblings", withBearer(eras[0]![victim]!.token)),
    );
    expect(others.revoked).toBe(2);
    expect(await status(eras[0]![victim]!.token)).toBe(200);
    for (const era of eras.slice(1)) expect(await status(era[victim]!.token)).toBe(401);
  });

  it("keeps a user within maxSessionsPerUser over every shard their sessions are on", async () => {
    const tenant = await createTenant({ maxSessionsPerUser: 2 });
    const user = USERS.find((u) => shardOf(u, 16) !== 0)!; // a user whose sessions move shard when the tenant grows
    const [first, second] = await seed(tenant, [user, user]);
    await call("PUT", `/v1/tenants/${tenant}`, { body: { shards: 16 } });
    const third = await createSession(tenant, { userId: user });
    expect(shardOfToken(third.token)).not.toBe(shardOfToken(first!.token));
    expect(await status(first!.token)).toBe(401); // the least recently seen, on the other shard
    expect(await status(second!.token)).toBe(200);
    expect(await status(third.token)).toBe(200);
    expect(await listAll(tenant, `?userId=${user}`)).toHaveLength(2);
  });

  it("refuses a shard count out of bounds (400) and a smaller one (409), changing nothing", async () => {
    const tenant = await createTenant({ shards: 4 });
    for (const bad of [0, 257, 2.5, "8", null]) {
      const response = await call("PUT", `/v1/tenants/${tenant}`, { body: { shards: bad, idleTimeoutSeconds: 60 } });
      expect(response.status).toBe(400);
      expect((await errorOf(response)).field).toBe("shards");
    }
    const shrink = await call("PUT", `/v1/tenants/${tenant}`, { body: { shards: 2, idleTimeoutSeconds: 60 } });
    expect(shrink.status).toBe(409);
    expect(await errorOf(shrink)).toMatchObject({ code: "shards_cannot_shrink", field: "shards" });
    const settings = (
      await json<{ tenant: { settings: { shards: number; idleTimeoutSeconds: number } } }>(
        await call("GET", `/v1/tenants/${tenant}`),
      )
    ).tenant.settings;
    expect(settings).toMatchObject({ shards: 4, idleTimeoutSeconds: 1800 });
    expect((await call("PUT", `/v1/tenants/${tenant}`, { body: { shards: 4 } })).status).toBe(200);
  });
});

function pendingKills(tenant: string): Promise<number> {
  return runInDurableObject(
    storeStub(tenant, 0),
    (_instance, state) =>
      state.storage.sql.exec("SELECT count(*) AS n FROM changes WHERE next_at IS NOT NULL").one().n as number,
  );
}

describe("a shard that fails mid-kill", () => {
  it("answers 503 with Retry-After, and the kill is finished in the background; repeating it is safe", async () => {
    const tenant = await createTenant({ shards: 4 });
    const issued = await seed(tenant, USERS);
    const onShard = (shard: number) => issued.filter((s) => shardOfToken(s.token) === shard);
    expect(onShard(2).length).toBeGreaterThan(0);
    await reachThrough(storeStub(tenant, 0), failingObject(`${tenant}/2`, "applyKill"));
    const response = await call("DELETE", `/v1/tenants/${tenant}/sessions`);
    await reachThrough(storeStub(tenant, 0), env);
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).not.toBeNull();
    expect((await errorOf(response)).code).toBe("shard_unavailable");
    for (const s of issued.filter((s) => shardOfToken(s.token) !== 2)) expect(await status(s.token)).toBe(401);
    // The home recorded the kill before asking any shard: its alarm finishes it (the next try
    // made due now rather than after its backoff), through the real binding.
    await runInDurableObject(storeStub(tenant, 0), (_instance, state) =>
      state.storage.sql.exec("UPDATE changes SET next_at = 0 WHERE next_at IS NOT NULL"),
    );
    await alarmUntil(storeStub(tenant, 0), async () => (await pendingKills(tenant)) === 0);
    for (const s of onShard(2)) expect(await status(s.token)).toBe(401);
    const again = await json<{ revoked: number }>(await call("DELETE", `/v1/tenants/${tenant}/sessions`));
    expect(again.revoked).toBe(0);
  });

  it("answers 503 for a user kill that misses one of the user's shards, and finishes it", async () => {
    const tenant = await createTenant();
    const user = USERS.find((u) => shardOf(u, 4) !== 0)!;
    const [early] = await seed(tenant, [user]);
    await call("PUT", `/v1/tenants/${tenant}`, { body: { shards: 4 } });
    const late = await createSession(tenant, { userId: user });
    const lateShard = shardOfToken(late.token);
    await reachThrough(storeStub(tenant, 0), failingObject(`${tenant}/${lateShard}`, "applyKill"));
    const response = await call("DELETE", `/v1/tenants/${tenant}/users/${user}/sessions`);
    await reachThrough(storeStub(tenant, 0), env);
    expect(response.status).toBe(503);
    expect(await status(early!.token)).toBe(401);
    await runInDurableObject(storeStub(tenant, 0), (_instance, state) =>
      state.storage.sql.exec("UPDATE changes SET next_at = 0 WHERE next_at IS NOT NULL"),
    );
    await alarmUntil(storeStub(tenant, 0), async () => (await pendingKills(tenant)) === 0);
    expect(await status(late.token)).toBe(401);
  });
});

/** How many rows of `table` each of the tenant's four stores holds. */
function rowsOnEachShard(tenant: string, table: "tenant_keys" | "webhooks"): Promise<number[]> {
  return Promise.all(
    [0, 1, 2, 3].map((shard) =>
      runInDurableObject(
        storeStub(tenant, shard),
        (_instance, state) => state.storage.sql.exec(`SELECT count(*) AS n FROM ${table}`).one().n as number,
      ),
    ),
  );
}

describe("tenant keys and webhooks while a shard cannot be told", () => {
  it("answers a repeated key revocation 503 until every shard refuses the key, and 404 only after that", async () => {
    const tenant = await createTenant({ shards: 4 });
    const user = USERS.find((u) => shardOf(u, 4) === 2)!;
    const minted = await json<{ id: string; key: string }>(await call("POST", `/v1/tenants/${tenant}/keys`));
    // Creating a session of this user is asked of shard 2 alone.
    const createOnShard2 = () =>
      call("POST", `/v1/tenants/${tenant}/sessions`, { key: minted.key, body: { userId: user } });
    expect((await createOnShard2()).status).toBe(201);

    await reachThrough(storeStub(tenant, 0), failingObject(`${tenant}/2`, "applyCopy"));
    const revoke = () => call("DELETE", `/v1/tenants/${tenant}/keys/${minted.id}`);
    const first = await revoke();
    expect(first.status).toBe(503);
    expect(first.headers.get("Retry-After")).not.toBeNull();
    expect((await call("GET", `/v1/tenants/${tenant}`, { key: minted.key })).status).toBe(401); // the home refuses it already
    expect((await createOnShard2()).status).toBe(201); // shard 2 has not been told: it still takes the key
    // Repeating it does not say "no such key" while a shard still takes it.
    const repeated = await revoke();
    expect(repeated.status).toBe(503);
    expect((await errorOf(repeated)).code).toBe("shard_unavailable");

    await reachThrough(storeStub(tenant, 0), env);
    const settled = await revoke();
    expect(settled.status).toBe(404);
    expect((await errorOf(settled)).code).toBe("key_not_found");
    expect((await createOnShard2()).status).toBe(401);
  });

  it("answers a repeated webhook deletion 503 until no shard has the webhook, and 404 only after that", async () => {
    const tenant = await createTenant({ shards: 4 });
    const added = await json<{ webhook: { id: string } }>(
      await call("POST", `/v1/tenants/${tenant}/webhooks`, {
        body: { url: "https://receiver.test/hook", format: "standard-webhooks" },
      }),
    );
    expect(await rowsOnEachShard(tenant, "webhooks")).toEqual([1, 1, 1, 1]);

    await reachThrough(storeStub(tenant, 0), failingObject(`${tenant}/2`, "applyCopy"));
    const remove = () => call("DELETE", `/v1/tenants/${tenant}/webhooks/${added.webhook.id}`);
    expect((await remove()).status).toBe(503);
    expect((await rowsOnEachShard(tenant, "webhooks"))[2]).toBe(1); // shard 2 would still send it events
    const repeated = await remove();
    expect(repeated.status).toBe(503);
    expect((await errorOf(repeated)).code).toBe("shard_unavailable");

    await reachThrough(storeStub(tenant, 0), env);
    const settled = await remove();
    expect(settled.status).toBe(404);
    expect((await errorOf(settled)).code).toBe("webhook_not_found");
    expect(await rowsOnEachShard(tenant, "webhooks")).toEqual([0, 0, 0, 0]);
  });

  for (const [what, path, body, table, said] of [
    ["a key", "keys", undefined, "tenant_keys", "no key was kept"],
    [
      "a webhook",
      "webhooks",
      { url: "https://receiver.test/hook", format: "standard-webhooks" },
      "webhooks",
      "the webhook was not kept",
    ],
  ] as const) {
    it(`keeps no ${what.slice(2)} added while a shard cannot be told: 503, and its secret is never shown`, async () => {
      const tenant = await createTenant({ shards: 4 });
      await reachThrough(storeStub(tenant, 0), failingObject(`${tenant}/2`, "applyCopy"));
      const refused = await call("POST", `/v1/tenants/${tenant}/${path}`, body === undefined ? {} : { body });
      expect(refused.status).toBe(503);
      expect(await errorOf(refused)).toMatchObject({
        code: "shard_unavailable",
        message: expect.stringContaining(said),
      });
      // Shards 1 and 3 got it before shard 2 failed: the home takes it back and tells them at
      // once (its alarm is a minute away, and not run here).
      const deadline = Date.now() + 2000;
      while ((await rowsOnEachShard(tenant, table)).some((n) => n > 0)) {
        expect(Date.now(), "a shard still holds it").toBeLessThan(deadline);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await reachThrough(storeStub(tenant, 0), env);
      const listed = await json<Record<string, unknown[]>>(await call("GET", `/v1/tenants/${tenant}/${path}`));
      expect(listed[path]).toEqual([]);
    });
  }
});

describe("jurisdictions", () => {
  it("creates a tenant in its jurisdiction, names it in the token, and keeps it fixed", async () => {
    const tenant = await createTenant({ jurisdiction: "eu", shards: 4 });
    const issued = await seed(tenant, USERS.slice(0, 6));
    for (const s of issued) {
      expect(s.token.split(".")[2]).toMatch(/^eu-[0-3]$/);
      expect(await status(s.token)).toBe(200);
    }
    const view = await json<{ tenant: { settings: { jurisdiction: string } } }>(
      await call("GET", `/v1/tenants/${tenant}`),
    );
    expect(view.tenant.settings.jurisdiction).toBe("eu");
    for (const other of [null, "fedramp"]) {
      const moved = await call("PUT", `/v1/tenants/${tenant}`, { body: { jurisdiction: other } });
      expect(moved.status).toBe(409);
      expect(await errorOf(moved)).toMatchObject({ code: "jurisdiction_immutable", field: "jurisdiction" });
    }
    expect(
      (await call("PUT", `/v1/tenants/${tenant}`, { body: { jurisdiction: "eu", idleTimeoutSeconds: 600 } })).status,
    ).toBe(200);
    const plain = await createTenant();
    expect((await call("PUT", `/v1/tenants/${plain}`, { body: { jurisdiction: "eu" } })).status).toBe(409);
    const bad = await call("PUT", `/v1/tenants/${freshTenantName("j")}`, { body: { jurisdiction: "us" } });
    expect(bad.status).toBe(400);
    expect((await errorOf(bad)).field).toBe("jurisdiction");
  });

  it("asks the runtime for the jurisdiction's namespace for every store of the tenant", async () => {
    const asked: string[] = [];
    const recording = {
      jurisdiction(name: string) {
        asked.push(name);
        return env.SESSION_STORE; // a runtime that implements jurisdictions hands back its namespace
      },
      idFromName: (name: string) => env.SESSION_STORE.idFromName(name),
      get: (id: DurableObjectId) => env.SESSION_STORE.get(id),
    };
    const testEnv = {
      ...env,
      LOCAL_JURISDICTIONS: undefined,
      SESSION_STORE: recording as unknown as Env["SESSION_STORE"],
    };
    const tenant = freshTenantName("fed");
    const put = await worker.fetch(
      new Request(`${BASE}/v1/tenants/${tenant}`, {
        method: "PUT",
        headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify({ jurisdiction: "fedramp" }),
      }),
      testEnv,
    );
    expect(put.status).toBe(201);
    expect(asked).toContain("fedramp");
    asked.length = 0;
    const created = await worker.fetch(
      new Request(`${BASE}/v1/tenants/${tenant}/sessions`, {
        method: "POST",
        headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify({ userId: "u" }),
      }),
      testEnv,
    );
    expect(created.status).toBe(201);
    const token = (await json<{ token: string }>(created)).token;
    expect(token.split(".")[2]).toBe("fedramp-0");
    expect(asked).toEqual(["fedramp"]);
    const validated = await worker.fetch(
      new Request(`${BASE}/v1/session`, { headers: { Authorization: `Bearer ${token}` } }),
      testEnv,
    );
    expect(validated.status).toBe(200);
    expect(asked).toEqual(["fedramp", "fedramp"]);
  });

  it("reports a LOCAL_JURISDICTIONS other than ignore on /health, and then fails closed", async () => {
    const testEnv = { ...env, LOCAL_JURISDICTIONS: "yes" } as Env;
    const health = await worker.fetch(new Request(`${BASE}/health`), testEnv);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { problems: string[] }).problems).toEqual([
      "LOCAL_JURISDICTIONS must be ignore (local development and tests only) or unset",
    ]);
    const eu = await createTenant({ jurisdiction: "eu" });
    const issued = await createSession(eu, { userId: "u" });
    const validated = await worker.fetch(
      new Request(`${BASE}/v1/session`, { headers: { Authorization: `Bearer ${issued.token}` } }),
      testEnv,
    );
    expect((await errorOf(validated)).code).toBe("jurisdiction_unavailable");
  });

  it("fails closed where the runtime refuses the jurisdiction: 503, and nothing is created elsewhere", async () => {
    const testEnv = { ...env, LOCAL_JURISDICTIONS: undefined } as Env; // workerd implements no jurisdiction
    const tenant = freshTenantName("closed");
    const put = await worker.fetch(
      new Request(`${BASE}/v1/tenants/${tenant}`, {
        method: "PUT",
        headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
        body: JSON.stringify({ jurisdiction: "eu" }),
      }),
      testEnv,
    );
    expect(put.status).toBe(503);
    expect(put.headers.get("Retry-After")).not.toBeNull();
    expect((await errorOf(put)).code).toBe("jurisdiction_unavailable");
    // Nothing in the plain namespace, and the name is not taken: it can still be made elsewhere.
    expect((await call("GET", `/v1/tenants/${tenant}`)).status).toBe(404);
    const directory = directoryOf(tenant);
    expect(await directory.locate(tenant)).toEqual({ ok: true, known: false, jurisdiction: null });
    expect((await call("PUT", `/v1/tenants/${tenant}`, { body: {} })).status).toBe(201);
    // An eu tenant's token, on a deployment that cannot reach eu, is refused the same way.
    const eu = await createTenant({ jurisdiction: "eu" });
    const issued = await createSession(eu, { userId: "u" });
    const validated = await worker.fetch(
      new Request(`${BASE}/v1/session`, { headers: { Authorization: `Bearer ${issued.token}` } }),
      testEnv,
    );
    expect(validated.status).toBe(503);
    expect((await errorOf(validated)).code).toBe("jurisdiction_unavailable");
  });
});
