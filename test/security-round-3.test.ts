// The findings of the security review of 2026-12-06 on undo and operator actions (F1, F10,
// the audit of operator actions), each shown as an attacker or an operator would meet it.
// The issuer findings are in security-round-3-issuer.test.ts, the outbound ones in
// security-round-3-outbound.test.ts; docs/SECURITY.md lists them all.

import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import * as kills from "../durable-objects/session-store/kills";
import { lateKill } from "./support/store-kills";
import { hashSecret, newSecret } from "../src/core/token";
import {
  alarmUntil,
  call,
  createTenant,
  errorOf,
  failingObject,
  reachThrough,
  seed,
  shardOfToken,
  status,
  storeStub,
  unplacedId,
  directoryAlarmsUntil,
  directoryOf,
} from "./helpers";
import { purgeStep } from "../durable-objects/session-store/purge";
import { createSession, validateSession } from "../durable-objects/session-store/sessions";
import { type Store, putTenant, storeOf } from "../durable-objects/session-store/tenant";

const ADMIN = { kind: "admin" } as const;
const SECOND = 1000;

async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

async function mintKey(tenant: string): Promise<string> {
  return (await json<{ key: string }>(await call("POST", `/v1/tenants/${tenant}/keys`))).key;
}

/** How many kill records (tombstones included) and unfinished changes each store of the tenant holds for this id. */
function traces(tenant: string, shards: number, killId: string): Promise<number[]> {
  return Promise.all(
    Array.from({ length: shards }, (_, shard) =>
      runInDurableObject(
        storeStub(tenant, shard),
        (_instance, state) =>
          state.storage.sql
            .exec<{ n: number }>(
              "SELECT (SELECT count(*) FROM kills WHERE id = ?1) + (SELECT count(*) FROM changes WHERE id = ?1 AND next_at IS NOT NULL) AS n",
              killId,
            )
            .one().n,
      ),
    ),
  );
}

describe("F1: an undo cannot pre-empt a kill it may not undo", () => {
  it("a tenant key that posts the platform kill's id before the kill reaches its tenant gets 404, and the kill still applies there", async () => {
    const reached = await createTenant();
    const target = await createTenant();
    const key = await mintKey(target);
    const [victim] = await seed(target, ["alice"]);
    await reachThrough(directoryOf(target), failingObject(target, "kill"));
    let killId: string;
    try {
      const response = await call("DELETE", "/v1/sessions");
      expect(response.status).toBe(202);
      killId = (await json<{ kill: { id: string } }>(response)).kill.id;
      expect(await status((await seed(reached, ["bob"]))[0]!.token)).toBe(200); // created after the kill: spared
      // The attacker has the id (its audit log shows it once the kill lands; here, from the operator).
      const early = await call("POST", `/v1/tenants/${target}/kills/${killId}/undo`, { key });
      expect(early.status).toBe(404);
      expect((await errorOf(early)).code).toBe("kill_not_found");
      // The same over RPC (a consumer Worker's service binding).
      expect(await env.SESSIONS.undoKill(target, killId)).toMatchObject({
        ok: false,
        error: { code: "kill_not_found" },
      });
      expect(await traces(target, 1, killId)).toEqual([0]);
      expect(await status(victim!.token)).toBe(200);
    } finally {
      await reachThrough(directoryOf(target), env);
    }
    await directoryAlarmsUntil(
      async () => (await json<{ kill: { done: boolean } }>(await call("GET", `/v1/kills/${killId}`))).kill.done,
    );
    expect(await status(victim!.token)).toBe(401);
    // Once it landed, the tenant's own route still may not undo the platform's kill.
    expect((await call("POST", `/v1/tenants/${target}/kills/${killId}/undo`, { key })).status).toBe(404);
    expect(await status(victim!.token)).toBe(401);
  });

  it("an undo answered 409 does not cancel the background finish of a kill that missed a shard, even with no undo window", async () => {
    const tenant = await createTenant({ shards: 4, undoWindowSeconds: 0 });
    const key = await mintKey(tenant);
    const issued = await seed(
      tenant,
      Array.from({ length: 24 }, (_, i) => `user-${i}`),
    );
    // Shard 2 is out of reach of the home, which coordinates the kill.
    await reachThrough(storeStub(tenant, 0), failingObject(`${tenant}/2`, "applyKill"));
    const killed = await call("DELETE", `/v1/tenants/${tenant}/sessions`);
    expect(killed.status).toBe(503);
    const killId = await runInDurableObject(
      storeStub(tenant, 0),
      (_instance, state) => state.storage.sql.exec<{ id: string }>("SELECT id FROM kills").one().id,
    );
    const before = await traces(tenant, 4, killId);
    const refused = await call("POST", `/v1/tenants/${tenant}/kills/${killId}/undo`, { key });
    expect(refused.status).toBe(409);
    expect((await errorOf(refused)).code).toBe("undo_window_passed");
    expect(await traces(tenant, 4, killId)).toEqual(before); // no tombstone, no cancelled finish
    const pending = () =>
      runInDurableObject(
        storeStub(tenant, 0),
        (_instance, state) =>
          state.storage.sql.exec("SELECT count(*) AS n FROM changes WHERE next_at IS NOT NULL").one().n as number,
      );
    expect(await status(issued.find((s) => shardOfToken(s.token) === 2)!.token)).toBe(200);
    // Shard 2 is back, and the finish's next try is due now rather than after its backoff.
    await reachThrough(storeStub(tenant, 0), env);
    await runInDurableObject(storeStub(tenant, 0), (_instance, state) =>
      state.storage.sql.exec("UPDATE changes SET next_at = 0 WHERE next_at IS NOT NULL"),
    );
    await alarmUntil(storeStub(tenant, 0), async () => (await pending()) === 0);
    for (const session of issued) expect(await status(session.token)).toBe(401);
  });
});

const T0 = Date.UTC(2026, 11, 6, 12, 0, 0);

/** A store of `tenant` (undo window 60 s) holding one session of user "u", made at T0; `run` runs an operation in a transaction. */
function withOneSession(storage: DurableObjectStorage, tenant: string) {
  const run = <T>(operation: (store: Store) => T): T => storage.transactionSync(() => operation(storeOf(storage.sql)));
  run(() => putTenant(storage, tenant, { undoWindowSeconds: 60 }, "admin", T0));
  const id = unplacedId();
  const secretHash = hashSecret(newSecret());
  run((store) =>
    createSession(
      store,
      ADMIN,
      id,
      secretHash,
      { userId: "u", data: "{}", ip: null, userAgent: null, assurance: {} },
      1,
      T0,
    ),
  );
  return { run, id, secretHash };
}

describe("F10: a kill's undo window runs from when it was asked, on every store", () => {
  it("a store that applied the kill late refuses its undo when the window has passed, and restores nothing", async () => {
    const tenant = `f10-${crypto.randomUUID().slice(0, 8)}`;
    await runInDurableObject(storeStub(tenant), (_instance, state) => {
      const { run, id, secretHash } = withOneSession(state.storage, tenant);
      // Asked at T0 + 1 s, reaching this store 50 s later (a background finish).
      expect(run((store) => lateKill(store, "late", "user", "u", T0 + SECOND, 60 * SECOND, T0 + 51 * SECOND)).ok).toBe(
        true,
      );
      const at = T0 + 70 * SECOND; // 69 s after it was asked, 19 s after it reached this store
      expect(run((store) => kills.checkUndo(store, ADMIN, "late", false, at, at))).toMatchObject({
        ok: false,
        error: { code: "undo_window_passed" },
      });
      expect(state.storage.sql.exec("SELECT undo_until FROM kills WHERE id = 'late'").one().undo_until).toBe(
        T0 + 61 * SECOND,
      );
      expect(run((store) => validateSession(store, id, secretHash, null, at)).ok).toBe(false);
    });
  });

  it("an undo judged open just before the window ends still restores on a store whose alarm ran in between", async () => {
    const tenant = `f10-grace-${crypto.randomUUID().slice(0, 8)}`;
    await runInDurableObject(storeStub(tenant), (_instance, state) => {
      const { run, id, secretHash } = withOneSession(state.storage, tenant);
      run((store) => lateKill(store, "edge", "user", "u", T0 + SECOND, 60 * SECOND, T0 + SECOND)); // its window ends at T0 + 61 s
      const decidedAt = T0 + 61 * SECOND - 1;
      expect(run((store) => kills.checkUndo(store, ADMIN, "edge", false, decidedAt, decidedAt))).toMatchObject({
        ok: true,
        kill: { kind: "user" },
      });
      while (run((store) => purgeStep(store, T0 + 62 * SECOND)) > 0); // the alarm, between the decision and this store's part
      expect(run((store) => kills.applyUndo(store, "edge", T0 + 62 * SECOND))).toMatchObject({ ok: true, restored: 1 });
      expect(run((store) => validateSession(store, id, secretHash, null, T0 + 63 * SECOND)).ok).toBe(true);
    });
  });
});

describe("Operator actions are audited: an event with its actor in the tenant's log, and a log line", () => {
  let lines: string[] = [];
  beforeEach(() => {
    lines = [];
    vi.spyOn(console, "log").mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(" ")));
  });
  afterEach(() => vi.restoreAllMocks());

  it("records settings changes (naming the fields), keys minted and revoked, webhooks added and deleted", async () => {
    const tenant = await createTenant({ shards: 2 });
    expect(
      (await call("PUT", `/v1/tenants/${tenant}`, { body: { idleTimeoutSeconds: 600, sameSite: "Lax" } })).status,
    ).toBe(200);
    expect((await call("PUT", `/v1/tenants/${tenant}`, { body: { idleTimeoutSeconds: 600 } })).status).toBe(200); // changes nothing: no event
    const { id: keyId, key } = await json<{ id: string; key: string }>(
      await call("POST", `/v1/tenants/${tenant}/keys`),
    );
    const created = await call("POST", `/v1/tenants/${tenant}/webhooks`, {
      key,
      body: { url: "https://hooks.example.com/in", format: "standard-webhooks" },
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const hook = await json<{ webhook: { id: string } }>(created);
    expect((await call("DELETE", `/v1/tenants/${tenant}/webhooks/${hook.webhook.id}`, { key })).status).toBe(200);
    expect((await call("DELETE", `/v1/tenants/${tenant}/keys/${keyId}`)).status).toBe(200);
    const { events } = await json<{ events: Record<string, unknown>[] }>(
      await call("GET", `/v1/tenants/${tenant}/events`),
    );
    expect(events.reverse().map(({ at: _at, ...event }) => event)).toEqual([
      { type: "tenant_created", actor: "admin" },
      { type: "settings_changed", actor: "admin", fields: ["idleTimeoutSeconds"] },
      { type: "key_created", actor: "admin", keyId },
      { type: "webhook_created", actor: `tenant_key:${keyId}`, webhookId: hook.webhook.id },
      { type: "webhook_deleted", actor: `tenant_key:${keyId}`, webhookId: hook.webhook.id },
      { type: "key_revoked", actor: "admin", keyId },
    ]);
    const logged = lines
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => String(line.event).startsWith("operator.") && line.tenant === tenant);
    expect(logged.map((line) => line.event)).toEqual([
      "operator.tenant_created",
      "operator.settings_changed",
      "operator.key_created",
      "operator.webhook_created",
      "operator.webhook_deleted",
      "operator.key_revoked",
    ]);
    expect(lines.join("\n")).not.toContain(key);
  });

  it("logs the platform's actions: a platform kill and its undo, a tenant deleted, a signing key rotated", async () => {
    const tenant = await createTenant();
    const kill = await json<{ kill?: { id: string }; killId?: string }>(await call("DELETE", "/v1/sessions"));
    const killId = kill.killId ?? kill.kill!.id;
    await directoryAlarmsUntil(
      async () => (await json<{ kill: { done: boolean } }>(await call("GET", `/v1/kills/${killId}`))).kill.done,
    );
    expect((await call("POST", `/v1/kills/${killId}/undo`)).status).toBe(200);
    expect((await call("DELETE", `/v1/tenants/${tenant}?confirm=${tenant}`)).status).toBe(200);
    expect((await call("POST", "/v1/signing-keys/rotate")).status).toBe(200);
    const logged = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(logged).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ event: "operator.platform_kill", actor: "admin", killId }),
        expect.objectContaining({ event: "operator.platform_kill_undone", actor: "admin", killId }),
        expect.objectContaining({ event: "tenant.deleted", actor: "admin", tenant }),
        expect.objectContaining({ event: "operator.signing_key_rotated", actor: "admin" }),
      ]),
    );
  });
});
