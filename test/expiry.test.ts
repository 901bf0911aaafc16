// Expiry across changes of settings, and the end of every session recorded once: the findings
// of the correctness review of 2026-11-30 (A-H and the suspected ones), each shown the way the
// review showed it, inside the real Durable Object with a fixed clock or over HTTP with the real
// one. The property test at the end runs random sequences of settings changes, uses and clock
// steps against a model of the rules in docs/EXPIRY.md.

import { env } from "cloudflare:workers";
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SessionStore } from "../durable-objects/session-store/session-store";
import { killOn, siblingsOn } from "./support/store-kills";
import { DEFAULT_SETTINGS } from "../src/core/settings";
import { hashSecret, newSecret } from "../src/core/token";
import { call, createSession, createTenant, errorOf, freshTenantName, withBearer, unplacedId } from "./helpers";
import { OPERATOR_EVENT_TYPES } from "../durable-objects/session-store/audit";
import { purgeStep } from "../durable-objects/session-store/purge";
import { MIGRATIONS, migrate } from "../durable-objects/session-store/schema";
import { getSession, listSiblings } from "../durable-objects/session-store/listings";
import { createSession as createStoreSession, validateSession } from "../durable-objects/session-store/sessions";
import { getTenant, putTenant, readTenantState, storeOf } from "../durable-objects/session-store/tenant";

const T0 = Date.UTC(2026, 10, 30, 10, 0, 0);
const SECOND = 1000;
const HOUR = 3600 * SECOND;
const ADMIN = { kind: "admin" } as const;

function stubOf(tenant: string): DurableObjectStub<SessionStore> {
  return env.SESSION_STORE.get(env.SESSION_STORE.idFromName(tenant));
}

/** A tenant's store, driven with an explicit clock through its operations. */
function storeClock(tenant: string, storage: DurableObjectStorage) {
  const sql = storage.sql;
  const inTransaction = <T>(run: () => T): T => storage.transactionSync(run);
  return {
    sql,
    create(userId: string, now: number) {
      const id = unplacedId();
      const secretHash = hashSecret(newSecret());
      const created = inTransaction(() =>
        createStoreSession(
          storeOf(sql),
          ADMIN,
          id,
          secretHash,
          { userId, data: "{}", ip: null, userAgent: null, assurance: {} },
          1,
          now,
        ),
      );
      if (!created.ok) throw new Error(created.error.message);
      return { id, secretHash };
    },
    put(patch: Record<string, unknown>, now: number) {
      const result = inTransaction(() => putTenant(storage, tenant, patch, "admin", now));
      if (!result.ok) throw new Error(result.error.message);
    },
    valid(session: { id: string; secretHash: ArrayBuffer }, now: number) {
      return validateSession(storeOf(sql), session.id, session.secretHash, null, now).ok;
    },
    /** Whether an operator's read finds the session live: no sliding. */
    seen(session: { id: string }, now: number) {
      return getSession(storeOf(sql), ADMIN, session.id, now).ok;
    },
    count(now: number) {
      const view = inTransaction(() => getTenant(storeOf(sql), ADMIN, now));
      return view.ok ? view.tenant.counts.sessions : -1;
    },
    purge(now: number) {
      while (inTransaction(() => purgeStep(storeOf(sql), now)) > 0);
    },
    events() {
      const rows = sql
        .exec<{ type: string; reason: string | null; session_id: string | null; at: number }>(
          "SELECT type, reason, session_id, at FROM events ORDER BY seq",
        )
        .toArray();
      return rows.filter((row) => !OPERATOR_EVENT_TYPES.has(row.type));
    },
  };
}

function inStore<R>(
  tenant: string,
  body: (store: ReturnType<typeof storeClock>, storage: DurableObjectStorage) => R | Promise<R>,
): Promise<R> {
  return runInDurableObject(stubOf(tenant), (_instance: SessionStore, state) =>
    body(storeClock(tenant, state.storage), state.storage),
  );
}

async function liveCount(tenant: string): Promise<number> {
  const body = (await (await call("GET", `/v1/tenants/${tenant}`)).json()) as {
    tenant: { counts: { sessions: number } };
  };
  return body.tenant.counts.sessions;
}

describe("A: an expired session never comes back", () => {
  it("stays ended when a tightened idle timeout is loosened again (fixed clock)", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 3600 });
    await inStore(tenant, (store) => {
      const s = store.create("u", T0);
      store.put({ idleTimeoutSeconds: 1 }, T0 + 10 * SECOND);
      expect(store.valid(s, T0 + 11.5 * SECOND)).toBe(false);
      store.put({ idleTimeoutSeconds: 3600 }, T0 + 12 * SECOND);
      expect(store.valid(s, T0 + 13 * SECOND)).toBe(false);
      expect(store.count(T0 + 13 * SECOND)).toBe(0);
    });
  });

  it("stays ended when a tightened absolute timeout is loosened again (fixed clock)", async () => {
    const tenant = await createTenant({
      idleTimeoutSeconds: 3600,
      absoluteTimeoutSeconds: 86_400,
      touchIntervalSeconds: 0,
    });
    await inStore(tenant, (store) => {
      const s = store.create("u", T0);
      store.put({ absoluteTimeoutSeconds: 3600 }, T0 + 60 * SECOND);
      expect(store.valid(s, T0 + 0.5 * HOUR)).toBe(true);
      expect(store.valid(s, T0 + HOUR + 1)).toBe(false);
      store.put({ absoluteTimeoutSeconds: 86_400 }, T0 + 1.2 * HOUR); // last used at 0.5 h: idle alone would keep it to 1.5 h
      expect(store.valid(s, T0 + 1.4 * HOUR)).toBe(false);
      expect(store.count(T0 + 1.4 * HOUR)).toBe(0);
    });
  });

  it("stays ended over HTTP: idle 3600 -> 1 s, wait 1.5 s, idle -> 3600", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 3600 });
    const issued = await createSession(tenant);
    await call("PUT", `/v1/tenants/${tenant}`, { body: { idleTimeoutSeconds: 1 } });
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await call("GET", "/v1/session", withBearer(issued.token))).status).toBe(401);
    expect(await liveCount(tenant)).toBe(0);
    await call("PUT", `/v1/tenants/${tenant}`, { body: { idleTimeoutSeconds: 3600 } });
    expect((await call("GET", "/v1/session", withBearer(issued.token))).status).toBe(401);
    expect(await liveCount(tenant)).toBe(0);
  });

  it("lets sessions still alive at a loosening keep the loosened timeout", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 60 });
    await inStore(tenant, (store) => {
      const s = store.create("u", T0);
      store.put({ idleTimeoutSeconds: 600 }, T0 + 50 * SECOND);
      expect(store.valid(s, T0 + 500 * SECOND)).toBe(true);
    });
  });
});

describe("B: loosening the idle timeout never ends a session in active use", () => {
  it("accepts a session used at +30, +55 and +59 s at +61 s after idle went 60 -> 3600 s", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 60 });
    await inStore(tenant, (store) => {
      const s = store.create("u", T0);
      store.put({ idleTimeoutSeconds: 3600 }, T0 + 1 * SECOND); // the touch interval becomes 360 s
      for (const at of [30, 55, 59, 61, 1000]) expect(store.valid(s, T0 + at * SECOND), `+${at} s`).toBe(true);
    });
  });
});

describe("C: a touch interval must be below the idle timeout", () => {
  it("refuses touchIntervalSeconds equal to the idle timeout, naming the field that made it so", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 600 });
    const equal = await call("PUT", `/v1/tenants/${tenant}`, { body: { touchIntervalSeconds: 600 } });
    expect(equal.status).toBe(400);
    expect((await errorOf(equal)).field).toBe("touchIntervalSeconds");
    expect((await call("PUT", `/v1/tenants/${tenant}`, { body: { touchIntervalSeconds: 599 } })).status).toBe(200);
    const shorterIdle = await call("PUT", `/v1/tenants/${tenant}`, { body: { idleTimeoutSeconds: 599 } });
    expect(shorterIdle.status).toBe(400);
    expect((await errorOf(shorterIdle)).field).toBe("idleTimeoutSeconds");
  });
});

describe("C, for tenants stored before the rule", () => {
  it("reads a stored touch interval equal to the idle timeout as one second less, and lets unrelated changes through", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 600 });
    await runInDurableObject(stubOf(tenant), (_instance, state) => {
      state.storage.sql.exec("UPDATE tenant SET settings = json_set(settings, '$.touchIntervalSeconds', 600)");
    });
    const put = await call("PUT", `/v1/tenants/${tenant}`, { body: { sameSite: "Strict" } });
    expect(put.status).toBe(200);
    const { tenant: view } = (await put.json()) as {
      tenant: { settings: { touchIntervalSeconds: number; sameSite: string } };
    };
    expect(view.settings).toMatchObject({ touchIntervalSeconds: 599, sameSite: "Strict" });
  });
});

describe("D: a settings change that ends sessions tells their live sockets", () => {
  it("closes the socket with 4001 expired at the change, not at the old expiry", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 3600 });
    const issued = await createSession(tenant);
    const opened = await call("GET", "/v1/session/live", {
      key: null,
      headers: { Upgrade: "websocket", Authorization: `Bearer ${issued.token}` },
    });
    const socket = opened.webSocket!;
    socket.accept();
    const closed = new Promise<number>((resolve) => socket.addEventListener("close", (event) => resolve(event.code)));
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect((await call("PUT", `/v1/tenants/${tenant}`, { body: { idleTimeoutSeconds: 1 } })).status).toBe(200);
    const code = await Promise.race([closed, new Promise((resolve) => setTimeout(() => resolve("still open"), 1000))]);
    expect(code).toBe(4001);
  });
});

describe("F: empty user floors do not stall the purge", () => {
  it("drops every floor left without rows in one alarm run", async () => {
    const tenant = await createTenant({ undoWindowSeconds: 0 }); // kills that cannot be undone: their floors go at once
    const floors = () =>
      runInDurableObject(
        stubOf(tenant),
        (_i, state) => state.storage.sql.exec("SELECT count(*) AS n FROM user_revocations").one().n,
      );
    // Kills of users without sessions, straight through the operation: no alarm runs in between.
    await runInDurableObject(stubOf(tenant), (_i, state) => {
      for (const user of ["a", "b", "c", "d", "e"])
        state.storage.transactionSync(() =>
          killOn(storeOf(state.storage.sql), crypto.randomUUID(), { kind: "user", userId: user }, Date.now()),
        );
    });
    expect(await floors()).toBe(5);
    // Written behind the running object's back: a fresh one reads them (and its constructor may run the alarm itself).
    await evictDurableObject(stubOf(tenant));
    await runInDurableObject(stubOf(tenant), (instance: SessionStore) => instance.alarm());
    expect(await floors()).toBe(0);
  });
});

describe("G: sessions ended by tightened settings are purged promptly", () => {
  it("deletes them at the next purge, with an expired event dated then, not at their old expiry", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 3600 });
    await inStore(tenant, (store) => {
      const s = store.create("u", T0);
      store.put({ idleTimeoutSeconds: 60 }, T0 + 120 * SECOND);
      store.purge(T0 + 121 * SECOND);
      expect(store.sql.exec("SELECT count(*) AS n FROM sessions").one().n).toBe(0);
      expect(store.events().filter((e) => e.type === "expired")).toEqual([
        { type: "expired", reason: null, session_id: s.id, at: T0 + 121 * SECOND },
      ]);
    });
  });

  it("re-evaluates a large tenant's stored expiries in the background, and never purges a live session early", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 60 });
    await inStore(tenant, (store) => {
      const sessions = Array.from({ length: 2600 }, (_, i) => store.create(`u${i % 50}`, T0));
      store.put({ idleTimeoutSeconds: 3600 }, T0 + 30 * SECOND); // 2,000 rows now, the rest by the alarm
      expect(readTenantState(store.sql)!.reevaluating).toBe(true);
      store.purge(T0 + 120 * SECOND); // past every old stored expiry
      expect(readTenantState(store.sql)!.reevaluating).toBe(false);
      expect(store.count(T0 + 120 * SECOND)).toBe(2600);
      expect(sessions.every((s) => store.valid(s, T0 + 120 * SECOND))).toBe(true);
    });
  });
});

describe("H: every session has exactly one end event, the first that happened", () => {
  it("leaves an already-expired sibling to the purge's expired event on 'log out my other devices'", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 60, touchIntervalSeconds: 0 });
    await inStore(tenant, (store) => {
      const current = store.create("u", T0);
      const expired = store.create("u", T0);
      const alive = store.create("u", T0 + 50 * SECOND);
      expect(store.valid(current, T0 + 59 * SECOND)).toBe(true);
      const result = store.sql && siblingsOn(storeOf(store.sql), current, "kill-siblings", T0 + 90 * SECOND);
      expect(result).toMatchObject({ ok: true, revoked: 1, killId: "kill-siblings" });
      store.purge(T0 + 90 * SECOND);
      const ends = store.events().filter((e) => e.type !== "created");
      expect(ends.map((e) => [e.type, e.reason, e.session_id])).toEqual([
        ["revoked", "siblings", current.id],
        ["expired", null, expired.id],
      ]);
      expect(store.valid(alive, T0 + 91 * SECOND)).toBe(false);
    });
  });

  it("gives a killed session no expired event when its stored expiry passes before the purge", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 60 });
    await inStore(tenant, (store) => {
      store.create("u", T0);
      store.sql.exec("SELECT 1"); // (the kill runs in its own transaction below)
      storeKill(store, "u", T0 + 10 * SECOND);
      store.purge(T0 + 120 * SECOND);
      expect(
        store
          .events()
          .filter((e) => e.type !== "created")
          .map((e) => [e.type, e.reason]),
      ).toEqual([["revoked", "user"]]);
    });
  });

  it("records an expired event for a session that expired before its user was killed, and does not count it as killed", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 60 });
    await inStore(tenant, (store) => {
      const old = store.create("u", T0);
      store.create("u", T0 + 100 * SECOND);
      const killed = storeKill(store, "u", T0 + 120 * SECOND);
      expect(killed).toEqual({ ok: true, revoked: 1, killId: expect.any(String) });
      store.purge(T0 + 200 * SECOND);
      const ends = store.events().filter((e) => e.type !== "created");
      expect(ends.map((e) => [e.type, e.reason, e.session_id])).toEqual([
        ["expired", null, old.id],
        ["revoked", "user", null],
      ]);
    });
  });
});

function storeKill(store: ReturnType<typeof storeClock>, userId: string, now: number) {
  return killOn(storeOf(store.sql), crypto.randomUUID(), { kind: "user", userId }, now);
}

describe("decided: siblings, eviction, socket closes and alarm retries", () => {
  it("always lists the current session among a user's siblings, even past the 1,000 shown", async () => {
    const tenant = await createTenant();
    await inStore(tenant, (store) => {
      const oldest = store.create("u", T0);
      for (let i = 1; i <= 1000; i++) store.create("u", T0 + i);
      const listed = listSiblings(storeOf(store.sql), oldest.id, oldest.secretHash, T0 + 2000);
      if (!listed.ok) throw new Error(listed.error.message);
      expect(listed.sessions).toHaveLength(1000);
      expect(listed.sessions.filter((s) => s.current).map((s) => s.id)).toEqual([oldest.id]);
      expect(listed.sessions.at(-1)!.id).toBe(oldest.id);
    });
  });

  it("answers a client's close, even a drop without a close frame (1006), with a close of its own", async () => {
    const tenant = await createTenant();
    await runInDurableObject(stubOf(tenant), (instance: SessionStore) => {
      for (const code of [1004, 1005, 1006, 1015, 1000, 1001, 4001]) {
        const [, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
        server.accept();
        expect(() => instance.webSocketClose(server, code, ""), String(code)).not.toThrow();
        expect(server.readyState, String(code)).not.toBe(WebSocket.OPEN); // the close was sent
      }
    });
  });

  it("keeps a failed alarm run's retry: a request right after it does not push the alarm later", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const after = await runInDurableObject(stubOf(tenant), async (instance: SessionStore, state) => {
      const sql = state.storage.sql;
      sql.exec("UPDATE sessions SET idle_expires_at = 1, absolute_expires_at = 1"); // due for the purge
      sql.exec("ALTER TABLE events RENAME TO events_away"); // its expired event cannot be written: the run fails
      await state.storage.deleteAlarm(); // as the runtime does when it fires an alarm
      await expect(instance.alarm()).rejects.toThrow();
      sql.exec("ALTER TABLE events_away RENAME TO events");
      await instance.createSession(
        ADMIN,
        unplacedId(),
        hashSecret(newSecret()),
        { userId: "v", data: "{}", ip: null, userAgent: null, assurance: {} },
        1,
      );
      return state.storage.getAlarm();
    });
    // The runtime retries the failed run within seconds; no later alarm may replace that retry.
    expect(after).toBeNull();
    await runDurableObjectAlarm(stubOf(tenant));
    expect((await call("GET", "/v1/session", withBearer(issued.token))).status).toBe(401);
  });
});

// The model: the rules of docs/EXPIRY.md, on one session, step by step. "use" validates the
// session (which slides it); after other steps an operator's read looks at it without sliding.
type Step = { kind: "advance"; ms: number } | { kind: "use" } | { kind: "settings"; idle: number; absolute: number };

const stepArbitrary: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 1, max: 3 * HOUR }) }),
  fc.record({ kind: fc.constant("use" as const) }),
  fc.record({
    kind: fc.constant("settings" as const),
    idle: fc.constantFrom(60, 600, 3600, 7200),
    absolute: fc.constantFrom(7200, 14_400, 86_400),
  }),
);

describe("expiry properties", () => {
  it("an ended session never validates again, and one used within every idle window lives to its absolute cap", async () => {
    const tenant = await createTenant({
      idleTimeoutSeconds: 3600,
      absoluteTimeoutSeconds: 86_400,
      touchIntervalSeconds: 0,
    });
    let run = 0;
    await inStore(tenant, (store) => {
      fc.assert(
        fc.property(fc.array(stepArbitrary, { minLength: 1, maxLength: 40 }), (steps) => {
          run += 1;
          let now = T0 + run * 400 * 24 * HOUR; // each run far from the last, on its own session
          store.put({ idleTimeoutSeconds: 3600, absoluteTimeoutSeconds: 86_400 }, now);
          const session = store.create(`p${run}`, now);
          const created = now;
          let lastUse = now;
          let idle = 3600 * SECOND;
          let absolute = 86_400 * SECOND;
          let absoluteCap = created + absolute; // fixed at creation, only ever lowered
          let ended = false;
          for (const step of steps) {
            if (step.kind === "advance") now += step.ms;
            if (step.kind === "settings") {
              if (step.idle > step.absolute) continue;
              now += 1;
              // Under the settings in force until now, has it ended?
              if (now >= lastUse + idle || now >= Math.min(absoluteCap, created + absolute)) ended = true;
              idle = step.idle * SECOND;
              absolute = step.absolute * SECOND;
              absoluteCap = Math.min(absoluteCap, created + absolute);
              store.put(
                { idleTimeoutSeconds: step.idle, absoluteTimeoutSeconds: step.absolute, touchIntervalSeconds: 0 },
                now,
              );
            }
            if (now >= lastUse + idle || now >= Math.min(absoluteCap, created + absolute)) ended = true;
            // "use" validates (and slides: the touch interval is 0); other steps only look.
            const live = step.kind === "use" ? store.valid(session, now) : store.seen(session, now);
            expect(live).toBe(!ended);
            if (step.kind === "use" && live) lastUse = now;
          }
        }),
        { numRuns: 150, seed: 20261130 },
      );
    });
  });
});

describe("absolute timeouts across changes (review of the fixes)", () => {
  it("binds every session alive under a tightened absolute timeout, however far the re-evaluation got", async () => {
    const tenant = await createTenant({
      idleTimeoutSeconds: 3600,
      absoluteTimeoutSeconds: 86_400,
      touchIntervalSeconds: 0,
    });
    await inStore(tenant, (store) => {
      const sessions = Array.from({ length: 2600 }, (_, i) => store.create(`u${i % 40}`, T0));
      store.put({ absoluteTimeoutSeconds: 7200 }, T0 + 60 * SECOND); // 2,000 rows re-evaluated now, the rest later
      store.put({ absoluteTimeoutSeconds: 86_400 }, T0 + 120 * SECOND); // the pass starts over
      const at = T0 + 2.5 * HOUR;
      for (const s of [sessions[0]!, sessions[1999]!, sessions[2000]!, sessions[2599]!])
        store.sql.exec("UPDATE sessions SET last_seen_at = ? WHERE id = ?", at - SECOND, s.id);
      expect(sessions.filter((s) => store.seen(s, at)).length).toBe(0);
      store.purge(at);
      expect(store.count(at)).toBe(0);
    });
  });

  it("gives sessions created after a loosening the loosened absolute timeout", async () => {
    const tenant = await createTenant({
      idleTimeoutSeconds: 3600,
      absoluteTimeoutSeconds: 7200,
      touchIntervalSeconds: 0,
    });
    await inStore(tenant, (store) => {
      store.put({ absoluteTimeoutSeconds: 86_400 }, T0);
      const s = store.create("u", T0 + SECOND);
      for (let half = 1; half <= 47; half++) expect(store.valid(s, T0 + half * 0.5 * HOUR), `${half / 2} h`).toBe(true);
      expect(store.valid(s, T0 + 24 * HOUR + SECOND)).toBe(false);
    });
  });
});

describe("migrating sessions stored by the earlier rule", () => {
  it("keeps every verdict: an ended session stays ended, a live one lives, and the purge deletes only ended ones", async () => {
    const tenant = freshTenantName("migrate");
    const stub = stubOf(tenant);
    const verdicts = await runInDurableObject(stub, (_instance, state) => {
      const sql = state.storage.sql;
      // The schema as it stood before migration 3, with a tenant and three sessions written by the earlier rule.
      sql.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
      sql.exec("INSERT INTO schema_version VALUES (2)");
      for (const statement of [...MIGRATIONS[0]!, ...MIGRATIONS[1]!]) sql.exec(statement);
      const now = Date.now();
      sql.exec(
        "INSERT INTO tenant (id, name, settings, created_at, updated_at) VALUES (1, ?, ?, ?, ?)",
        tenant,
        JSON.stringify({ ...DEFAULT_SETTINGS, idleTimeoutSeconds: 3600 }),
        now - HOUR,
        now - HOUR,
      );
      const insert = (id: string, lastSeenAt: number, idleExpiresAt: number) =>
        sql.exec(
          `INSERT INTO sessions (id, user_id, secret_hash, created_at, last_seen_at, idle_expires_at, absolute_expires_at, data) VALUES (?, 'u', x'00', ?, ?, ?, ?, '{}')`,
          id,
          now - HOUR,
          lastSeenAt,
          idleExpiresAt,
          now + 24 * HOUR,
        );
      // Written when the idle timeout was 60 s, then loosened to 3600 s: the earlier rule ended it at its stored expiry.
      insert("endedEarlierRule00000a", now - 600 * SECOND, now - 540 * SECOND);
      insert("liveBothRules000000000", now - 60 * SECOND, now + 3540 * SECOND);
      insert("liveStoredShorter0000a", now - 30 * SECOND, now + 30 * SECOND); // earlier rule: live for 30 s more
      migrate(state.storage);
      const store = storeOf(sql);
      const seen = (id: string) => getSession(store, ADMIN, id, now).ok;
      const before = {
        ended: seen("endedEarlierRule00000a"),
        live: seen("liveBothRules000000000"),
        shorter: seen("liveStoredShorter0000a"),
        laterShorter: getSession(store, ADMIN, "liveStoredShorter0000a", now + 31 * SECOND).ok,
      };
      while (state.storage.transactionSync(() => purgeStep(storeOf(sql), now)) > 0);
      const left = sql
        .exec<{ id: string }>("SELECT id FROM sessions ORDER BY id")
        .toArray()
        .map((r) => r.id);
      return { before, left };
    });
    expect(verdicts.before).toEqual({ ended: false, live: true, shorter: true, laterShorter: false });
    expect(verdicts.left).toEqual(["liveBothRules000000000", "liveStoredShorter0000a"]);
  });
});
