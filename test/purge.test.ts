// Expiry and revocation cleanup by alarms, kill-all at scale, and the query plans behind them.
// Correctness never waits for an alarm: what it deletes was already refused.

import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SessionStore } from "../durable-objects/session-store/session-store";
import { hashSecret, signToken } from "../src/core/token";
import { alarmUntil, call, createSession, createTenant, withToken, keysOf, storeStub as storeStubOf } from "./helpers";
import { PURGE_ROWS_PER_RUN, purgeStep } from "../durable-objects/session-store/purge";
import { nextKillToSettle, SETTLES_AT } from "../durable-objects/session-store/kills-sql";
import { PURGE_BATCH, storeOf } from "../durable-objects/session-store/tenant";

const SEED_SECRET = "S".repeat(43);

function stubOf(tenant: string): DurableObjectStub<SessionStore> {
  return env.SESSION_STORE.get(env.SESSION_STORE.idFromName(tenant));
}

function inStore<R>(
  tenant: string,
  body: (sql: SqlStorage, storage: DurableObjectStorage) => R | Promise<R>,
): Promise<R> {
  return runInDurableObject(stubOf(tenant), (_instance: SessionStore, state) => body(state.storage.sql, state.storage));
}

/** Inserts `count` sessions straight into the store's table, all with SEED_SECRET, ids seed000…n. */
async function seedRows(tenant: string, count: number, options: { expiresAt: number; users: number }): Promise<void> {
  const secretHash = hashSecret(SEED_SECRET);
  await inStore(tenant, (sql) => {
    sql.exec(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO sessions (id, user_id, secret_hash, created_at, last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent, data)
       SELECT printf('seed%018d', i), 'user' || CAST(i % ? AS INTEGER), ?, ?, ?, ?, ?, NULL, NULL, '{}' FROM n`,
      count,
      options.users,
      secretHash,
      Date.now() - 1000,
      Date.now() - 1000,
      options.expiresAt,
      options.expiresAt,
    );
  });
}

async function seededToken(tenant: string, i: number): Promise<string> {
  const id = `seed${String(i).padStart(18, "0")}`;
  return signToken(keysOf(env.SESSION_SIGNING_KEYS), { tenant, shard: 0, jurisdiction: null }, id, SEED_SECRET, 0);
}

/** Lets the purge finish: runs the store's alarm until `done` holds. */
function purgeUntil(tenant: string, done: () => Promise<boolean>): Promise<void> {
  return alarmUntil(stubOf(tenant), done);
}

function countRows(tenant: string, table: string, where = "1 = 1"): Promise<number> {
  return inStore(tenant, (sql) => sql.exec(`SELECT count(*) AS n FROM ${table} WHERE ${where}`).one().n as number);
}

describe("purge alarm", () => {
  it("deletes expired sessions in bounded batches, recording an expired event for each", async () => {
    const tenant = await createTenant();
    const live = await createSession(tenant);
    await seedRows(tenant, 1200, { expiresAt: Date.now() - 1, users: 10 });
    expect((await call("GET", "/v1/session", withToken(await seededToken(tenant, 7)))).status).toBe(401);
    const firstStep = await inStore(tenant, (sql) => purgeStep(storeOf(sql), Date.now()));
    expect(firstStep).toBe(PURGE_BATCH);
    expect(await runDurableObjectAlarm(stubOf(tenant))).toBe(true);
    expect(await countRows(tenant, "sessions")).toBe(1);
    expect(await countRows(tenant, "events", "type = 'expired'")).toBe(1200);
    expect((await call("GET", "/v1/session", withToken(live.token))).status).toBe(200);
  });

  it("deletes a bounded number of rows per run and re-arms for right away while a backlog remains", async () => {
    const tenant = await createTenant();
    // Written behind the store's back: expired, and no alarm armed for them.
    await seedRows(tenant, PURGE_ROWS_PER_RUN * 2 + 100, { expiresAt: Date.now() - 1, users: 5 });
    const afterOneRun = await runInDurableObject(stubOf(tenant), async (instance: SessionStore, state) => {
      await instance.alarm();
      const left = state.storage.sql.exec("SELECT count(*) AS n FROM sessions").one().n;
      return { left, nextRun: await state.storage.getAlarm() };
    });
    expect(afterOneRun.left).toBe(PURGE_ROWS_PER_RUN + 100);
    expect(afterOneRun.nextRun).not.toBeNull();
    expect(afterOneRun.nextRun!).toBeLessThanOrEqual(Date.now());
    await purgeUntil(tenant, async () => (await countRows(tenant, "sessions")) === 0);
    expect(await countRows(tenant, "events", "type = 'expired'")).toBe(PURGE_ROWS_PER_RUN * 2 + 100);
  });

  it("ends in the same state when run twice, after a run that failed midway, or never", async () => {
    const tenant = await createTenant();
    await seedRows(tenant, 700, { expiresAt: Date.now() - 1, users: 3 });
    const token = await seededToken(tenant, 3);
    expect((await call("GET", "/v1/session", withToken(token))).status).toBe(401); // no alarm has run yet
    await inStore(tenant, (sql, storage) => {
      // A run that dies after deleting a batch: its transaction rolls back whole.
      expect(() =>
        storage.transactionSync(() => {
          purgeStep(storeOf(sql), Date.now());
          throw new Error("crash mid-purge");
        }),
      ).toThrow("crash mid-purge");
    });
    expect(await countRows(tenant, "sessions")).toBe(700);
    // Rows written behind the store's back armed nothing; a restart's constructor re-arms.
    await evictDurableObject(stubOf(tenant));
    await call("GET", `/v1/tenants/${tenant}`);
    await purgeUntil(tenant, async () => (await countRows(tenant, "sessions")) === 0);
    await runInDurableObject(stubOf(tenant), (instance: SessionStore) => instance.alarm()); // a second, redundant run
    expect(await countRows(tenant, "sessions")).toBe(0);
    expect(await countRows(tenant, "events", "type = 'expired'")).toBe(700);
    await inStore(tenant, (_sql, storage) => storage.deleteAlarm());
    expect((await call("GET", "/v1/session", withToken(token))).status).toBe(401);
  });

  it("deletes the rows of killed users and tenants later, and drops spent user floors", async () => {
    const tenant = await createTenant({ undoWindowSeconds: 0 }); // no undo: rows go at the next purge
    await seedRows(tenant, 1100, { expiresAt: Date.now() + 3_600_000, users: 2 });
    expect(await (await call("DELETE", `/v1/tenants/${tenant}/users/user1/sessions`)).json()).toEqual({
      revoked: 550,
      killId: expect.any(String),
    });
    await purgeUntil(tenant, async () => (await countRows(tenant, "user_revocations")) === 0);
    expect(await countRows(tenant, "sessions")).toBe(550);
    expect(await (await call("DELETE", `/v1/tenants/${tenant}/sessions`)).json()).toEqual({
      revoked: 550,
      killId: expect.any(String),
    });
    await purgeUntil(tenant, async () => (await countRows(tenant, "sessions")) === 0);
  });

  it("refuses a killed user's sessions in the very next read, with or without an earlier user floor", async () => {
    const tenant = await createTenant({ undoWindowSeconds: 0 }); // no undo: floors go at the next purge
    await seedRows(tenant, 4, { expiresAt: Date.now() + 3_600_000, users: 4 }); // seed i belongs to user (i % 4)
    const secretHash = hashSecret(SEED_SECRET);
    const seedId = (i: number) => `seed${String(i).padStart(18, "0")}`;
    // Kill and read back in one synchronous stretch, so no alarm can run in between.
    const killThenRead = (user: number) =>
      runInDurableObject(stubOf(tenant), async (instance: SessionStore) => {
        const before = instance.validateSession(seedId(user), secretHash).ok;
        const killing = instance.kill({ kind: "admin" }, crypto.randomUUID(), { kind: "user", userId: `user${user}` });
        const after = instance.validateSession(seedId(user), secretHash).ok;
        const others = [1, 2, 3, 4]
          .filter((i) => i % 4 !== user)
          .map((i) => instance.validateSession(seedId(i), secretHash).ok);
        await killing;
        return { before, after, others };
      });
    // The tenant's first user floor, on a store that has been answering without any.
    expect(await killThenRead(1)).toEqual({ before: true, after: false, others: [true, true, true] });
    // A second floor while the first still exists.
    expect(await killThenRead(2)).toEqual({ before: true, after: false, others: [false, true, true] });
    await purgeUntil(tenant, async () => (await countRows(tenant, "user_revocations")) === 0);
    // Once the purge has dropped every floor, a new one counts at once again.
    expect(await killThenRead(3)).toEqual({ before: true, after: false, others: [false, false, true] });
  });

  it("is re-armed by the constructor when the alarm was lost (as across a local restart)", async () => {
    const tenant = await createTenant();
    await createSession(tenant);
    const stub = stubOf(tenant);
    await runInDurableObject(stub, (_instance, state) => state.storage.deleteAlarm());
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).toBeNull();
    await evictDurableObject(stub);
    await call("GET", `/v1/tenants/${tenant}`); // wakes the store: its constructor runs
    expect(await runInDurableObject(stub, (_instance, state) => state.storage.getAlarm())).toEqual(expect.any(Number));
  });
});

describe("kill-all at scale", () => {
  it("kills a tenant of 200,000 sessions in one quick call, every token 401 at once", {
    timeout: 120_000,
  }, async () => {
    const tenant = await createTenant();
    await seedRows(tenant, 200_000, { expiresAt: Date.now() + 3_600_000, users: 5000 });
    const sample = await Promise.all([1, 2, 777, 99_999, 150_000, 200_000].map((i) => seededToken(tenant, i)));
    expect((await call("GET", "/v1/session", withToken(sample[0]!))).status).toBe(200);

    const started = performance.now();
    const response = await call("DELETE", `/v1/tenants/${tenant}/sessions`);
    const elapsedMs = performance.now() - started;
    expect(await response.json()).toEqual({ revoked: 200_000, killId: expect.any(String) });
    console.log(`kill-tenant of 200,000 sessions: ${elapsedMs.toFixed(1)} ms for the call`);

    for (const token of sample) expect((await call("GET", "/v1/session", withToken(token))).status).toBe(401);
    const counts = (await (await call("GET", `/v1/tenants/${tenant}`)).json()) as {
      tenant: { counts: { sessions: number } };
    };
    expect(counts.tenant.counts.sessions).toBe(0);
  });

  it("kills all 10,000 sessions of one user in one call", { timeout: 60_000 }, async () => {
    const tenant = await createTenant();
    await seedRows(tenant, 10_000, { expiresAt: Date.now() + 3_600_000, users: 1 });
    expect(await (await call("DELETE", `/v1/tenants/${tenant}/users/user0/sessions`)).json()).toEqual({
      revoked: 10_000,
      killId: expect.any(String),
    });
    expect((await call("GET", "/v1/session", withToken(await seededToken(tenant, 5000)))).status).toBe(401);
  });
});

describe("query plans", () => {
  it("lists by user, lists by time, finds expired sessions and counts with indexes", async () => {
    const tenant = await createTenant();
    const plans = await inStore(tenant, (sql) => {
      const plan = (query: string, ...bindings: SqlStorageValue[]) =>
        sql
          .exec(`EXPLAIN QUERY PLAN ${query}`, ...bindings)
          .toArray()
          .map((row) => String(row.detail))
          .join(" | ");
      return {
        byUser: plan(
          "SELECT * FROM sessions s WHERE s.user_id = ? AND s.seq < ? ORDER BY s.seq DESC LIMIT 10",
          "u",
          100,
        ),
        byTime: plan("SELECT * FROM sessions s WHERE s.seq < ? ORDER BY s.seq DESC LIMIT 10", 100),
        expired: plan("SELECT seq FROM sessions WHERE min(idle_expires_at, absolute_expires_at) <= ? LIMIT 500", 1),
        byId: plan("SELECT * FROM sessions s WHERE s.id = ?", "x"),
        events: plan("SELECT * FROM events WHERE seq < ? ORDER BY seq DESC LIMIT 10", 100),
      };
    });
    console.log("query plans:", JSON.stringify(plans, null, 1));
    expect(plans.byUser).toContain("USING INDEX sessions_by_user");
    expect(plans.byTime).toMatch(/USING INTEGER PRIMARY KEY/);
    expect(plans.expired).toContain("sessions_by_expiry");
    expect(plans.byId).toMatch(/USING INDEX sqlite_autoindex_sessions/);
    expect(plans.events).toMatch(/USING INTEGER PRIMARY KEY/);
  });
});

describe("what each kill reads of the kills and changes kept", () => {
  it("finds the next settlement and the next change due by their indexes, not by reading every one kept", async () => {
    const tenant = await createTenant();
    await createSession(tenant, { userId: "u1" });
    await call("DELETE", `/v1/tenants/${tenant}/users/u1/sessions`);
    const plans = await runInDurableObject(storeStubOf(tenant), (_instance, state) => {
      const plan = (query: string) =>
        state.storage.sql
          .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${query}`)
          .toArray()
          .map((row) => row.detail)
          .join("; ");
      return {
        settle: plan(`SELECT min(${SETTLES_AT}) AS at FROM kills WHERE settled = 0 AND undone_at IS NULL`),
        change: plan("SELECT min(next_at) AS at FROM changes WHERE next_at IS NOT NULL"),
        settleAt: nextKillToSettle(state.storage.sql),
      };
    });
    expect(plans.settle).toContain("kills_settling");
    expect(plans.change).toContain("changes_due");
    expect(plans.settleAt).toBeGreaterThan(Date.now());
  });
});
