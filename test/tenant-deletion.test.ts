// DELETE /v1/tenants/:tenant?confirm=<tenant>: everything the tenant holds is erased on every
// shard, at once and for good, and its name is free again. A shard that cannot be reached is
// a 503, and the home's alarm (or a repeated call) finishes the deletion. Nothing of the
// deleted tenant (a late copy, a token, a key, an isolate's memory of where it lived) works
// for a tenant made later under the same name.

import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fail } from "../src/core/errors";
import { shardOf } from "../src/core/placement";
import { SessionStore } from "../durable-objects/session-store/session-store";
import {
  alarmUntil,
  call,
  createSession,
  createTenant,
  errorOf,
  seed,
  SHARD_COUNTS,
  status,
  storeStub,
  withBearer,
  directoryOf,
} from "./helpers";
import { connect, expectRevoked } from "./support/live-socket";
import { type TenantCopy, readCopy } from "../durable-objects/session-store/replication";

function shardOfToken(token: string): number {
  return Number(token.split(".")[2]!.split("-").at(-1));
}

/** Whether a store holds anything at all: tables, rows or an alarm. */
function holdsAnything(tenant: string, shard: number): Promise<boolean> {
  return runInDurableObject(storeStub(tenant, shard), async (_instance, state) => {
    const tables = state.storage.sql
      .exec("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf\\_%' ESCAPE '\\'")
      .one().n as number;
    return tables > 0 || (await state.storage.getAlarm()) !== null;
  });
}

async function listedTenants(): Promise<string[]> {
  const names: string[] = [];
  let cursor: string | null = null;
  do {
    const page = (await (
      await call("GET", `/v1/tenants?limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`)
    ).json()) as { tenants: { tenant: string }[]; nextCursor: string | null };
    names.push(...page.tenants.map((t) => t.tenant));
    cursor = page.nextCursor;
  } while (cursor !== null);
  return names;
}

function remove(tenant: string, confirm: string | null = tenant): Promise<Response> {
  return call("DELETE", `/v1/tenants/${tenant}${confirm === null ? "" : `?confirm=${encodeURIComponent(confirm)}`}`);
}

const USERS = Array.from({ length: 12 }, (_, i) => `user-${i}`);

describe.each(SHARD_COUNTS)("DELETE /v1/tenants/:tenant, %i shard(s)", (shards) => {
  it("erases every shard and frees the name: tokens, sockets, keys and listings of the tenant stop at once", async () => {
    const tenant = await createTenant({ shards });
    const sessions = await seed(tenant, USERS);
    const key = (await (await call("POST", `/v1/tenants/${tenant}/keys`)).json()) as { id: string; key: string };
    const hook = await call("POST", `/v1/tenants/${tenant}/webhooks`, {
      body: { url: "https://hooks.example.com/in", format: "standard-webhooks" },
    });
    expect(hook.status).toBe(201);
    const farthest = sessions.reduce((a, b) => (shardOfToken(b.token) > shardOfToken(a.token) ? b : a));
    const live = [await connect(sessions[0]!.token), await connect(farthest.token)];
    expect(await listedTenants()).toContain(tenant);

    const deleted = await remove(tenant);
    expect(deleted.status).toBe(200);
    expect(await deleted.json()).toEqual({ deleted: tenant });

    for (const socket of live) await expectRevoked(socket, "revoked");
    for (const s of sessions) expect(await status(s.token)).toBe(401);
    expect((await errorOf(await call("GET", `/v1/tenants/${tenant}`))).code).toBe("tenant_not_found");
    expect((await call("GET", `/v1/tenants/${tenant}/sessions`, { key: key.key })).status).toBe(404);
    expect(await listedTenants()).not.toContain(tenant);
    for (let shard = 0; shard < shards; shard++) expect(await holdsAnything(tenant, shard)).toBe(false);
    expect((await remove(tenant)).status).toBe(404);

    // The name is free: a new, empty tenant, which nothing of the old one reaches.
    const again = await call("PUT", `/v1/tenants/${tenant}`, { body: { shards: 1 } });
    expect(again.status).toBe(201);
    const view = (await (await call("GET", `/v1/tenants/${tenant}`)).json()) as {
      tenant: { counts: Record<string, number> };
    };
    expect(view.tenant.counts).toEqual({ sessions: 0, keys: 0, webhooks: 0, disabledWebhooks: 0 });
    // The new tenant's log starts with its own creation: nothing of the deleted one.
    expect(
      ((await (await call("GET", `/v1/tenants/${tenant}/events`)).json()) as { events: unknown[] }).events,
    ).toEqual([{ at: expect.any(String), type: "tenant_created", actor: "admin" }]);
    expect(
      ((await (await call("GET", `/v1/tenants/${tenant}/webhooks`)).json()) as { webhooks: unknown[] }).webhooks,
    ).toEqual([]);
    expect((await call("GET", `/v1/tenants/${tenant}`, { key: key.key })).status).toBe(401);
    for (const s of sessions) expect(await status(s.token)).toBe(401);
    expect(await status((await createSession(tenant, { userId: USERS[1]! })).token)).toBe(200);
  });
});

describe("DELETE /v1/tenants/:tenant refuses, changing nothing", () => {
  it("without the name repeated in ?confirm=, with another parameter, for a tenant key, without a key, for an unknown tenant", async () => {
    const tenant = await createTenant();
    const session = await createSession(tenant);
    const key = (await (await call("POST", `/v1/tenants/${tenant}/keys`)).json()) as { key: string };
    const cases: [Promise<Response>, number, string, string?][] = [
      [remove(tenant, null), 400, "bad_request", "confirm"],
      [remove(tenant, ""), 400, "bad_request", "confirm"],
      [remove(tenant, tenant.toUpperCase()), 400, "bad_request", "confirm"],
      [remove(tenant, `${tenant} `), 400, "bad_request", "confirm"],
      [call("DELETE", `/v1/tenants/${tenant}?confirm=${tenant}&confirm=${tenant}`), 400, "bad_request", "confirm"],
      [call("DELETE", `/v1/tenants/${tenant}?confirm=${tenant}&force=1`), 400, "bad_request", "force"],
      [call("DELETE", `/v1/tenants/${tenant}?confirm=${tenant}`, { key: key.key }), 403, "forbidden"],
      [call("DELETE", `/v1/tenants/${tenant}?confirm=${tenant}`, { key: null }), 401, "unauthorized"],
      [call("DELETE", `/v1/tenants/${tenant}?confirm=${tenant}`, withBearer(session.token)), 401, "unauthorized"],
      [remove("no-such-tenant-anywhere"), 404, "tenant_not_found"],
      [call("DELETE", "/v1/tenants/Not_A_Name?confirm=Not_A_Name"), 400, "bad_request", "tenant"],
    ];
    for (const [answer, code, error, field] of cases) {
      const response = await answer;
      expect(response.status).toBe(code);
      expect(await errorOf(response)).toMatchObject({ code: error, ...(field ? { field } : {}) });
    }
    expect(await status(session.token)).toBe(200);
    expect((await call("GET", `/v1/tenants/${tenant}`, { key: key.key })).status).toBe(200);
    expect(await listedTenants()).toContain(tenant);
  });
});

/** Stores marked here cannot erase themselves, as an overloaded or unreachable object could not. */
const unreachable = new WeakSet<SessionStore>();

function setUnreachable(tenant: string, shard: number, on: boolean): Promise<void> {
  return runInDurableObject(storeStub(tenant, shard), (instance) => {
    if (on) unreachable.add(instance);
    else unreachable.delete(instance);
  });
}

describe("a deletion that misses a shard", () => {
  const eraseShard = SessionStore.prototype.eraseShard;
  beforeAll(() => {
    SessionStore.prototype.eraseShard = function (this: SessionStore, name: string, createdAt: number) {
      // A failure answered, not thrown: the test pool reports every exception of an object as uncaught.
      return unreachable.has(this)
        ? Promise.resolve(fail("overloaded", "injected: this shard cannot be reached"))
        : eraseShard.call(this, name, createdAt);
    };
  });
  afterAll(() => {
    SessionStore.prototype.eraseShard = eraseShard;
  });

  it("answers 503, refuses the tenant meanwhile, and is finished by the home's alarm or a repeated call", async () => {
    for (const finish of ["alarm", "repeat"] as const) {
      const tenant = await createTenant({ shards: 4 });
      const sessions = await seed(tenant, USERS);
      const onShard2 = sessions.filter((s) => shardOfToken(s.token) === 2);
      expect(onShard2.length).toBeGreaterThan(0);
      // Shard 2 cannot be reached: its erasure throws, as a call to an unreachable object would.
      await setUnreachable(tenant, 2, true);
      const response = await remove(tenant);
      expect(response.status).toBe(503);
      expect(response.headers.get("Retry-After")).not.toBeNull();
      expect((await errorOf(response)).code).toBe("shard_unavailable");
      // The home's alarm is armed to try again: one attempt counted, the next in about 5 s.
      const retry = await runInDurableObject(storeStub(tenant, 0), async (_instance, state) => ({
        attempts: state.storage.sql.exec("SELECT attempts FROM erasure").one().attempts as number,
        alarm: await state.storage.getAlarm(),
      }));
      expect(retry.attempts).toBe(1);
      expect(retry.alarm! - Date.now()).toBeGreaterThan(3000);
      expect(retry.alarm! - Date.now()).toBeLessThanOrEqual(5000);

      // Under way: the tenant is gone to every route, but its name is not free yet.
      expect((await call("GET", `/v1/tenants/${tenant}`)).status).toBe(404);
      expect((await call("POST", `/v1/tenants/${tenant}/sessions`, { body: { userId: "x" } })).status).toBe(404);
      const put = await call("PUT", `/v1/tenants/${tenant}`, { body: {} });
      expect(put.status).toBe(409);
      expect((await errorOf(put)).code).toBe("tenant_deleting");
      for (const s of sessions.filter((s) => shardOfToken(s.token) !== 2)) expect(await status(s.token)).toBe(401);
      for (const s of onShard2) expect(await status(s.token)).toBe(401); // marked before its erasure was tried
      expect(await listedTenants()).toContain(tenant);

      await setUnreachable(tenant, 2, false);
      if (finish === "alarm") await alarmUntil(storeStub(tenant, 0), async () => !(await holdsAnything(tenant, 0)));
      else expect(await (await remove(tenant)).json()).toEqual({ deleted: tenant });
      for (let shard = 0; shard < 4; shard++) expect(await holdsAnything(tenant, shard)).toBe(false);
      for (const s of onShard2) expect(await status(s.token)).toBe(401);
      expect(await listedTenants()).not.toContain(tenant);
      expect((await call("PUT", `/v1/tenants/${tenant}`, { body: {} })).status).toBe(201);
    }
  });
});

describe("after a deletion, the tenant made again under the same name", () => {
  it("is reached by an isolate that remembered the old one's placement", async () => {
    const tenant = await createTenant({ shards: 16 });
    const user = USERS.find((u) => shardOf(u, 16) !== 0)!;
    await createSession(tenant, { userId: user }); // this isolate now places the tenant's sessions by 16 shards
    // Deleted and made again (1 shard) without this isolate's front: it still remembers 16.
    const home = storeStub(tenant, 0);
    expect(await home.eraseTenant("admin")).toEqual({ ok: true, erased: true });
    expect((await home.putTenant(tenant, { jurisdiction: null }, "admin")).ok).toBe(true);
    const created = await createSession(tenant, { userId: user });
    expect(shardOfToken(created.token)).toBe(0);
    expect(await status(created.token)).toBe(200);
    expect(await listedTenants()).toContain(tenant); // recorded again by the new home
  });

  it("is not forgotten by the directory when the old deletion is told again, nor listed by a late record of the old one", async () => {
    const tenant = await createTenant();
    const old = await runInDurableObject(storeStub(tenant, 0), (_instance, state) =>
      state.storage.sql.exec("SELECT created_at, settings FROM tenant").one(),
    );
    expect((await remove(tenant)).status).toBe(200);
    const directory = directoryOf(tenant);
    await directory.record(tenant, JSON.parse(old.settings as string), old.created_at as number, Date.now()); // a record of the deleted tenant, arriving late
    expect(await listedTenants()).not.toContain(tenant);
    expect((await call("PUT", `/v1/tenants/${tenant}`, { body: { jurisdiction: "eu" } })).status).toBe(201);
    await directory.forget(tenant, old.created_at as number, "admin"); // the old home told it again
    expect(await listedTenants()).toContain(tenant);
    expect(await directory.locate(tenant)).toEqual({ ok: true, known: true, jurisdiction: "eu" });
  });

  it("is claimed in its jurisdiction by its home's record, if it was made where the directory had no claim", async () => {
    const tenant = await createTenant();
    expect((await remove(tenant)).status).toBe(200);
    // A PUT that found the name known just before the deletion finished reaches the emptied home.
    expect((await storeStub(tenant, 0).putTenant(tenant, { jurisdiction: "eu" }, "admin")).ok).toBe(true);
    const directory = directoryOf(tenant);
    expect(await directory.locate(tenant)).toEqual({ ok: true, known: true, jurisdiction: "eu" });
  });

  it("erases what a late copy of the old tenant left on a shard before taking its own", async () => {
    const tenant = await createTenant({ shards: 4 });
    const oldKey = (await (await call("POST", `/v1/tenants/${tenant}/keys`)).json()) as { id: string };
    const oldCopy = await runInDurableObject(storeStub(tenant, 0), (_instance, state) => readCopy(state.storage.sql));
    expect((await remove(tenant)).status).toBe(200);
    // A copy the old home sent before the deletion lands after shard 2 was erased.
    await storeStub(tenant, 2).applyCopy(oldCopy as TenantCopy, 2);
    expect(await holdsAnything(tenant, 2)).toBe(true);

    expect((await call("PUT", `/v1/tenants/${tenant}`, { body: { shards: 4 } })).status).toBe(201);
    const heldOnShard2 = () =>
      runInDurableObject(storeStub(tenant, 2), (_instance, state) => ({
        createdAt: state.storage.sql.exec("SELECT created_at FROM tenant").one().created_at as number,
        keys: state.storage.sql
          .exec("SELECT id FROM tenant_keys")
          .toArray()
          .map((row) => row.id),
      }));
    const held = await heldOnShard2();
    expect(held.createdAt).not.toBe(oldCopy.createdAt);
    expect(held.keys).not.toContain(oldKey.id);
    // A late copy of the old tenant, landing now, is ignored whatever its version: the shard stays the new tenant's.
    const session = await createSession(tenant, { userId: USERS.find((u) => shardOf(u, 4) === 2)! });
    await storeStub(tenant, 2).applyCopy({ ...(oldCopy as TenantCopy), version: 1000 }, 2);
    expect(await heldOnShard2()).toEqual(held);
    expect(await status(session.token)).toBe(200);
  });

  it("leaves an erased store at rest when an alarm set as it was erased fires", async () => {
    const tenant = await createTenant();
    expect((await remove(tenant)).status).toBe(200);
    await runInDurableObject(storeStub(tenant, 0), (_instance, state) => state.storage.setAlarm(Date.now() + 60_000));
    expect(await runDurableObjectAlarm(storeStub(tenant, 0))).toBe(true);
    expect(await holdsAnything(tenant, 0)).toBe(false);
  });
});
