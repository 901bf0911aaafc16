// Undoing a kill: every kill answer carries a killId; undo within the tenant's window restores
// exactly what that kill ended, once; the purge keeps what undo may still need; the count a
// kill answers is exact however it is computed.

import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SessionStore } from "../durable-objects/session-store/session-store";
import * as kills from "../durable-objects/session-store/kills";
import { killOn, lateKill, undoOn } from "./support/store-kills";
import type { SessionServiceBinding } from "../packages/client/src/types";
import { hashSecret, newSecret } from "../src/core/token";
import {
  call,
  createSession,
  createTenant,
  errorOf,
  list,
  seed,
  SHARD_COUNTS,
  status,
  withBearer,
  type Listed,
  unplacedId,
} from "./helpers";
import { unkilledRows } from "../durable-objects/session-store/floors-sql";
import { EVENT_RETENTION_DAYS, UNDO_SETTLE_GRACE_MS, purgeStep } from "../durable-objects/session-store/purge";
import { migrate } from "../durable-objects/session-store/schema";
import {
  createSession as createStoreSession,
  logout,
  validateSession,
} from "../durable-objects/session-store/sessions";
import { type Store, getTenant, putTenant, storeOf } from "../durable-objects/session-store/tenant";

const sessions: SessionServiceBinding = env.SESSIONS;
const ADMIN = { kind: "admin" } as const;
const SECOND = 1000;

function stubOf(tenant: string): DurableObjectStub<SessionStore> {
  return env.SESSION_STORE.get(env.SESSION_STORE.idFromName(tenant));
}

async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

function undo(tenant: string, killId: string, key?: string): Promise<Response> {
  return call("POST", `/v1/tenants/${tenant}/kills/${killId}/undo`, key === undefined ? {} : { key });
}

async function liveIds(tenant: string): Promise<string[]> {
  return (await json<Listed>(await list(tenant, "?limit=1000"))).sessions.map((s) => s.id).sort();
}

describe.each(SHARD_COUNTS)("undo a kill, %i shard(s)", (shards) => {
  it("brings back one killed session, once; an unknown or malformed id is 404", async () => {
    const tenant = await createTenant({ shards });
    const [a, b] = await seed(tenant, ["u", "u"]);
    const killed = await json<{ revoked: number; killId: string }>(
      await call("DELETE", `/v1/tenants/${tenant}/sessions/${a!.session.id}`),
    );
    // The kill's id names the session's store, which coordinated it.
    expect(killed).toEqual({ revoked: 1, killId: expect.stringMatching(/^[A-Za-z0-9_-]{28}$/) });
    expect(await status(a!.token)).toBe(401);
    const undone = await undo(tenant, killed.killId);
    expect(undone.status).toBe(200);
    expect(await undone.json()).toEqual({ restored: 1, killId: killed.killId });
    expect(await status(a!.token)).toBe(200);
    expect(await status(b!.token)).toBe(200);
    const again = await undo(tenant, killed.killId);
    expect(again.status).toBe(409);
    expect((await errorOf(again)).code).toBe("already_undone");
    expect((await errorOf(await undo(tenant, "A".repeat(22)))).code).toBe("kill_not_found");
    expect((await errorOf(await undo(tenant, "A".repeat(28)))).code).toBe("kill_not_found");
    const malformed = await undo(tenant, "not-a-kill-id");
    expect(malformed.status).toBe(404);
    expect((await errorOf(malformed)).code).toBe("kill_not_found");
  });

  it("restores exactly what a user kill ended: a session logged out, or killed again since, stays ended", async () => {
    const tenant = await createTenant({ shards });
    const [a, b, c, other] = await seed(tenant, ["victim", "victim", "victim", "bystander"]);
    const killed = await json<{ revoked: number; killId: string }>(
      await call("DELETE", `/v1/tenants/${tenant}/users/victim/sessions`),
    );
    expect(killed.revoked).toBe(3);
    // Logging out with a killed session's token ends it for good.
    expect((await call("DELETE", "/v1/session", withBearer(a!.token))).status).toBe(204);
    const fresh = await createSession(tenant, { userId: "victim" }); // after the kill: not its business
    expect(await json(await undo(tenant, killed.killId))).toEqual({ restored: 2, killId: killed.killId });
    expect(await status(a!.token)).toBe(401);
    expect(await status(b!.token)).toBe(200);
    expect(await status(c!.token)).toBe(200);
    expect(await status(fresh.token)).toBe(200);
    expect(await status(other!.token)).toBe(200);
    expect(await liveIds(tenant)).toEqual([b!.session.id, c!.session.id, fresh.session.id, other!.session.id].sort());
  });

  it("a later kill that covers the same sessions keeps them ended until it is undone too", async () => {
    const tenant = await createTenant({ shards });
    const [a, b] = await seed(tenant, ["u", "v"]);
    const first = await json<{ killId: string }>(await call("DELETE", `/v1/tenants/${tenant}/users/u/sessions`));
    const second = await json<{ revoked: number; killId: string }>(
      await call("DELETE", `/v1/tenants/${tenant}/sessions`),
    );
    expect(second.revoked).toBe(1); // only v was still live
    expect(await json(await undo(tenant, first.killId))).toEqual({ restored: 0, killId: first.killId });
    expect(await status(a!.token)).toBe(401);
    // With both undone, nothing of either kill remains: u's session is back as well.
    expect(await json(await undo(tenant, second.killId))).toEqual({ restored: 2, killId: second.killId });
    expect(await status(b!.token)).toBe(200);
    expect(await status(a!.token)).toBe(200);
  });

  it("undoes a tenant kill and a siblings kill, over HTTP and RPC", async () => {
    const tenant = await createTenant({ shards });
    const issued = await seed(tenant, ["a", "a", "a", "b"]);
    const siblings = await json<{ revoked: number; killId: string }>(
      await call("DELETE", "/v1/session/siblings", withBearer(issued[0]!.token)),
    );
    expect(siblings.revoked).toBe(2);
    const all = await sessions.revokeTenant(tenant);
    if (!all.ok) throw new Error(all.error.message);
    expect(all.revoked).toBe(2);
    expect(await sessions.undoKill(tenant, all.killId)).toEqual({ ok: true, restored: 2, killId: all.killId });
    expect(await sessions.undoKill(tenant, siblings.killId)).toEqual({
      ok: true,
      restored: 2,
      killId: siblings.killId,
    });
    for (const s of issued) expect(await status(s.token)).toBe(200);
    expect(await sessions.undoKill(tenant, "nope")).toMatchObject({ ok: false, error: { code: "kill_not_found" } });
  });

  it("records kill_undone with its actor and killId; the kill's own event carries the killId", async () => {
    const tenant = await createTenant({ shards });
    await seed(tenant, ["u"]);
    const key = await json<{ key: string }>(await call("POST", `/v1/tenants/${tenant}/keys`));
    const killed = await json<{ killId: string }>(
      await call("DELETE", `/v1/tenants/${tenant}/users/u/sessions`, { key: key.key }),
    );
    await undo(tenant, killed.killId, key.key);
    const { events } = await json<{ events: Record<string, unknown>[] }>(
      await call("GET", `/v1/tenants/${tenant}/events?limit=2`),
    );
    const keyId = key.key.split(".")[2];
    expect(events[0]).toMatchObject({
      type: "kill_undone",
      actor: `tenant_key:${keyId}`,
      userId: "u",
      count: 1,
      killId: killed.killId,
    });
    expect(events[1]).toMatchObject({ type: "revoked", reason: "user", count: 1, killId: killed.killId });
  });

  it("a tenant key undoes only its own tenant's kills", async () => {
    const tenant = await createTenant({ shards });
    const other = await createTenant({ shards });
    await seed(tenant, ["u"]);
    const killed = await json<{ killId: string }>(await call("DELETE", `/v1/tenants/${tenant}/sessions`));
    const otherKey = await json<{ key: string }>(await call("POST", `/v1/tenants/${other}/keys`));
    expect((await undo(tenant, killed.killId, otherKey.key)).status).toBe(403);
    expect((await undo(other, killed.killId, otherKey.key)).status).toBe(404); // another tenant's kill is unknown here
    expect((await undo(tenant, killed.killId, "not-a-key")).status).toBe(401);
    expect((await undo("no-such-tenant-x", killed.killId)).status).toBe(404);
    expect((await undo(tenant, killed.killId)).status).toBe(200);
  });

  it("with undoWindowSeconds 0 a kill cannot be undone; the setting is checked", async () => {
    const tenant = await createTenant({ undoWindowSeconds: 0, shards });
    await seed(tenant, ["u"]);
    const killed = await json<{ killId: string }>(await call("DELETE", `/v1/tenants/${tenant}/sessions`));
    const late = await undo(tenant, killed.killId);
    expect(late.status).toBe(409);
    expect((await errorOf(late)).code).toBe("undo_window_passed");
    for (const bad of [-1, 86_401, 1.5, "900", null]) {
      const response = await call("PUT", `/v1/tenants/${tenant}`, { body: { undoWindowSeconds: bad } });
      expect(response.status).toBe(400);
      expect((await errorOf(response)).field).toBe("undoWindowSeconds");
    }
    expect(
      (await json<{ tenant: { settings: { undoWindowSeconds: number } } }>(await call("GET", `/v1/tenants/${tenant}`)))
        .tenant.settings.undoWindowSeconds,
    ).toBe(0);
  });

  it("the purge keeps restorable sessions, and a restart between kill and undo loses nothing", async () => {
    const tenant = await createTenant({ shards });
    const issued = await seed(tenant, ["u", "u", "v"]);
    const one = await json<{ killId: string }>(
      await call("DELETE", `/v1/tenants/${tenant}/sessions/${issued[2]!.session.id}`),
    );
    const user = await json<{ killId: string }>(await call("DELETE", `/v1/tenants/${tenant}/users/u/sessions`));
    await runDurableObjectAlarm(stubOf(tenant));
    await evictDurableObject(stubOf(tenant));
    await runDurableObjectAlarm(stubOf(tenant));
    expect(await json(await undo(tenant, user.killId))).toMatchObject({ restored: 2 });
    expect(await json(await undo(tenant, one.killId))).toMatchObject({ restored: 1 });
    for (const s of issued) expect(await status(s.token)).toBe(200);
  });

  it("restored sessions count against maxSessionsPerUser: the least recently seen beyond it are evicted, with events", async () => {
    const tenant = await createTenant({ maxSessionsPerUser: 2, shards });
    const [old1, old2] = await seed(tenant, ["u", "u"]);
    const killed = await json<{ killId: string }>(await call("DELETE", `/v1/tenants/${tenant}/users/u/sessions`));
    const [new1, new2] = await seed(tenant, ["u", "u"]);
    expect(await status(new1!.token)).toBe(200); // seen last: kept
    expect(await status(new2!.token)).toBe(200);
    expect(await json(await undo(tenant, killed.killId))).toMatchObject({ restored: 2 });
    const live = await liveIds(tenant);
    expect(live).toHaveLength(2);
    expect(live).toEqual([new1!.session.id, new2!.session.id].sort());
    for (const s of [old1, old2]) expect(await status(s!.token)).toBe(401);
    const { events } = await json<{ events: { type: string; reason?: string }[] }>(
      await call("GET", `/v1/tenants/${tenant}/events?limit=3`),
    );
    expect(events.filter((e) => e.type === "revoked" && e.reason === "evicted")).toHaveLength(2);
  });
});

/** A store driven through its operations with an explicit clock. */
function clocked(storage: DurableObjectStorage, tenant: string) {
  const sql = storage.sql;
  const run = <T>(operation: (store: Store) => T): T => storage.transactionSync(() => operation(storeOf(sql)));
  return {
    sql,
    put: (patch: Record<string, unknown>, now: number) => run(() => putTenant(storage, tenant, patch, "admin", now)),
    create(userId: string, now: number) {
      const id = unplacedId();
      const secretHash = hashSecret(newSecret());
      run((store) =>
        createStoreSession(
          store,
          ADMIN,
          id,
          secretHash,
          { userId, data: "{}", ip: null, userAgent: null, assurance: {} },
          1,
          now,
        ),
      );
      return { id, secretHash };
    },
    valid: (session: { id: string; secretHash: ArrayBuffer }, now: number) =>
      run((store) => validateSession(store, session.id, session.secretHash, null, now).ok),
    purge: (now: number) => {
      while (run((store) => purgeStep(store, now)) > 0);
    },
    rows: () =>
      sql
        .exec<{ n: number }>("SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM killed_sessions) AS n")
        .one().n,
    /** The kept count against a full count of rows killed by nothing. */
    unkilled: () => ({
      kept: unkilledRows(sql),
      counted: sql
        .exec<{ n: number }>(
          `SELECT count(*) AS n FROM sessions s WHERE s.seq >= (SELECT revoked_below_seq FROM tenant)
             AND s.seq >= coalesce((SELECT revoked_below_seq FROM user_revocations r WHERE r.user_id = s.user_id), 0)`,
        )
        .one().n,
    }),
    run,
  };
}

describe("undo windows, with a fixed clock", () => {
  const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);

  it("refuses an undo at the window's end, and the purge deletes the rows only then", async () => {
    const tenant = `undo-window-${crypto.randomUUID().slice(0, 8)}`;
    await runInDurableObject(stubOf(tenant), (_instance: SessionStore, state) => {
      const store = clocked(state.storage, tenant);
      store.put({ undoWindowSeconds: 60 }, T0);
      const [a, b] = [store.create("u", T0), store.create("v", T0)];
      const user = store.run((s) => killOn(s, "kill-user", { kind: "user", userId: "u" }, T0 + SECOND));
      const one = store.run((s) => killOn(s, "kill-one", { kind: "one", sessionId: b.id }, T0 + SECOND));
      expect([user.ok, one.ok]).toEqual([true, true]);
      store.purge(T0 + 60 * SECOND); // one second before the window ends
      expect(store.rows()).toBe(2);
      const late = store.run((s) => undoOn(s, "kill-user", T0 + 61 * SECOND));
      expect(late).toMatchObject({ ok: false, error: { code: "undo_window_passed" } });
      // The rows stay a grace beyond the window, for an undo judged inside it whose second step is on its way.
      store.purge(T0 + 61 * SECOND + UNDO_SETTLE_GRACE_MS - SECOND);
      expect(store.rows()).toBe(2);
      store.purge(T0 + 61 * SECOND + UNDO_SETTLE_GRACE_MS);
      expect(store.rows()).toBe(0);
      expect(store.valid(a, T0 + 62 * SECOND)).toBe(false);
    });
  });

  it("a session that expired while killed stays ended after undo, and its end is no expiry event", async () => {
    const tenant = `undo-expiry-${crypto.randomUUID().slice(0, 8)}`;
    await runInDurableObject(stubOf(tenant), (_instance: SessionStore, state) => {
      const store = clocked(state.storage, tenant);
      store.put({ idleTimeoutSeconds: 60, absoluteTimeoutSeconds: 3600, undoWindowSeconds: 600 }, T0);
      const early = store.create("u", T0);
      const late = store.create("u", T0 + 50 * SECOND);
      store.run((s) => killOn(s, "kill", { kind: "user", userId: "u" }, T0 + 55 * SECOND));
      store.purge(T0 + 70 * SECOND); // `early` expired at T0 + 60 s, killed: deleted without an expiry event
      const undone = store.run((s) => undoOn(s, "kill", T0 + 70 * SECOND));
      expect(undone).toMatchObject({ ok: true, restored: 1, killId: "kill" });
      expect(store.valid(early, T0 + 70 * SECOND)).toBe(false);
      expect(store.valid(late, T0 + 70 * SECOND)).toBe(true);
      const types = store.sql
        .exec<{ type: string }>("SELECT type FROM events ORDER BY seq")
        .toArray()
        .map((e) => e.type);
      expect(types).toEqual(["tenant_created", "created", "created", "revoked", "kill_undone"]);
    });
  });

  it("a kill that reaches a store after it was undone there kills nothing, and a late kill spares sessions created since it was asked", async () => {
    const tenant = `undo-late-${crypto.randomUUID().slice(0, 8)}`;
    await runInDurableObject(stubOf(tenant), (_instance: SessionStore, state) => {
      const store = clocked(state.storage, tenant);
      store.put({}, T0);
      const early = store.create("u", T0);
      // The undo came first (this store had missed the kill, another had it): judged, then made; a tombstone is kept.
      expect(store.run((s) => kills.checkUndo(s, ADMIN, "missed", false, T0 + SECOND, T0 + SECOND))).toEqual({
        ok: true,
        kill: null,
      });
      expect(store.run((s) => kills.applyUndo(s, "missed", T0 + SECOND))).toEqual({ ok: true, restored: 0, users: [] });
      expect(store.run((s) => lateKill(s, "missed", "tenant", null, T0, 900 * SECOND, T0 + 2 * SECOND))).toEqual({
        ok: true,
        revoked: 0,
        userId: null,
      });
      expect(store.valid(early, T0 + 3 * SECOND)).toBe(true);
      // A kill asked at T0 + 5 s and applied at T0 + 20 s ends what existed at T0 + 5 s only.
      const late = store.create("u", T0 + 10 * SECOND);
      expect(
        store.run((s) => lateKill(s, "asked-earlier", "user", "u", T0 + 5 * SECOND, 900 * SECOND, T0 + 20 * SECOND)),
      ).toEqual({ ok: true, revoked: 1, userId: null });
      expect(store.valid(early, T0 + 21 * SECOND)).toBe(false);
      expect(store.valid(late, T0 + 21 * SECOND)).toBe(true);
      const { kept, counted } = store.unkilled();
      expect(kept).toBe(counted);
    });
  });

  it("a session killed alone stays ended once a user kill that covers it can no longer be undone", async () => {
    const tenant = `undo-settled-${crypto.randomUUID().slice(0, 8)}`;
    await runInDurableObject(stubOf(tenant), (_instance: SessionStore, state) => {
      const store = clocked(state.storage, tenant);
      store.put({ undoWindowSeconds: 3600 }, T0);
      const alone = store.create("u", T0);
      store.run((s) => killOn(s, "one", { kind: "one", sessionId: alone.id }, T0 + SECOND));
      store.put({ undoWindowSeconds: 60 }, T0 + 2 * SECOND);
      store.run((s) => killOn(s, "user", { kind: "user", userId: "u" }, T0 + 3 * SECOND));
      const settled = T0 + 64 * SECOND + UNDO_SETTLE_GRACE_MS;
      store.purge(settled); // the user kill settles (a grace after its window); the purge drops its floor
      expect(store.sql.exec("SELECT count(*) AS n FROM user_revocations").one().n).toBe(0);
      expect(store.run((s) => undoOn(s, "one", settled + SECOND))).toMatchObject({
        ok: true,
        restored: 0,
        killId: "one",
      });
      expect(store.valid(alone, settled + 2 * SECOND)).toBe(false);
    });
  });

  it("forgets a kill and its coordinator's record once the audit log's retention has passed", async () => {
    const tenant = `undo-retention-${crypto.randomUUID().slice(0, 8)}`;
    await runInDurableObject(stubOf(tenant), (_instance: SessionStore, state) => {
      const store = clocked(state.storage, tenant);
      store.put({ undoWindowSeconds: 60 }, T0);
      store.create("u", T0);
      store.run((s) => killOn(s, "old", { kind: "user", userId: "u" }, T0 + SECOND));
      const records = () =>
        store.sql.exec<{ n: number }>("SELECT (SELECT count(*) FROM kills) + (SELECT count(*) FROM changes) AS n").one()
          .n;
      store.purge(T0 + 29 * 24 * 3600 * SECOND);
      expect(records()).toBe(2);
      store.purge(T0 + (EVENT_RETENTION_DAYS * 24 * 3600 + 2) * SECOND);
      expect(records()).toBe(0);
      expect(store.run((s) => undoOn(s, "old", T0 + 31 * 24 * 3600 * SECOND))).toMatchObject({
        ok: false,
        error: { code: "kill_not_found" },
      });
    });
  });

  it("keeps the live count exact through any sequence of creates, kills, undos, logouts and purges", async () => {
    const tenant = `undo-count-${crypto.randomUUID().slice(0, 8)}`;
    const step = fc.oneof(
      fc.record({ op: fc.constant("create" as const), user: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ op: fc.constant("killUser" as const), user: fc.integer({ min: 0, max: 3 }) }),
      fc.record({ op: fc.constant("killTenant" as const) }),
      fc.record({ op: fc.constant("killOne" as const), pick: fc.nat() }),
      fc.record({ op: fc.constant("undo" as const), pick: fc.nat() }),
      fc.record({ op: fc.constant("logout" as const), pick: fc.nat() }),
      fc.record({ op: fc.constant("wait" as const), seconds: fc.integer({ min: 1, max: 90 }) }),
    );
    await runInDurableObject(stubOf(tenant), (_instance: SessionStore, state) => {
      fc.assert(
        fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
          migrate(state.storage);
          for (const table of [
            "sessions",
            "killed_sessions",
            "kills",
            "changes",
            "user_revocations",
            "events",
            "tenant",
          ])
            state.storage.sql.exec(`DELETE FROM ${table}`);
          const store = clocked(state.storage, tenant);
          let now = T0;
          store.put({ idleTimeoutSeconds: 120, absoluteTimeoutSeconds: 3600, undoWindowSeconds: 60 }, now);
          const made: { id: string; secretHash: ArrayBuffer }[] = [];
          const killIds: string[] = [];
          for (const s of steps) {
            if (s.op === "create") made.push(store.create(`user${s.user}`, now));
            else if (s.op === "wait") {
              now += s.seconds * SECOND;
              store.purge(now);
            } else if (s.op === "undo" && killIds.length > 0)
              store.run((st) => undoOn(st, killIds[s.pick % killIds.length]!, now));
            else if ((s.op === "killOne" || s.op === "logout") && made.length > 0) {
              const session = made[s.pick % made.length]!;
              if (s.op === "logout") store.run((st) => logout(st, session.id, session.secretHash, null, now));
              else {
                const id = crypto.randomUUID();
                if (store.run((st) => killOn(st, id, { kind: "one", sessionId: session.id }, now)).ok) killIds.push(id);
              }
            } else if (s.op === "killUser" || s.op === "killTenant") {
              const id = crypto.randomUUID();
              const live = store.run((st) => getTenant(st, ADMIN, now));
              const killed = store.run((st) =>
                killOn(
                  st,
                  id,
                  s.op === "killUser" ? { kind: "user", userId: `user${s.user}` } : { kind: "tenant" },
                  now,
                ),
              );
              if (!killed.ok || !live.ok) throw new Error("kill failed");
              if (s.op === "killTenant") expect(killed.revoked).toBe(live.tenant.counts.sessions);
              killIds.push(id);
            }
            const { kept, counted } = store.unkilled();
            expect(kept).toBe(counted);
          }
        }),
        { numRuns: 60 },
      );
    });
  });
});
