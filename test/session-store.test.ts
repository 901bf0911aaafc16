// The SessionStore's own behaviour, inside its real Durable Object and SQLite, with the
// clock as an argument: expiry, sliding, write coalescing, eviction, storage contents.

import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { applyMigrations, hasSchema, schemaVersion } from "../durable-objects/migrations";
import { describe, expect, it } from "vitest";
import type { SessionStore } from "../durable-objects/session-store/session-store";
import { isLive } from "../src/core/session";
import { hashSecret, newSecret } from "../src/core/token";
import { call, createSession, createTenant, freshTenantName, secretOf, withToken, unplacedId } from "./helpers";
import { migrate, MIGRATIONS, SCHEMA_VERSION } from "../durable-objects/session-store/schema";
import { createSession as createStoreSession, validateSession } from "../durable-objects/session-store/sessions";
import { type LiveContext, SESSION_COLUMNS, sessionRecords } from "../durable-objects/session-store/sessions-sql";
import { listLiveSessions } from "../durable-objects/session-store/listings-sql";
import { getTenant, storeOf } from "../durable-objects/session-store/tenant";

const T0 = Date.UTC(2026, 10, 22, 10, 0, 0);
const SECOND = 1000;

function stubOf(tenant: string): DurableObjectStub<SessionStore> {
  return env.SESSION_STORE.get(env.SESSION_STORE.idFromName(tenant));
}

/** Runs `body` in the tenant's store with a fresh session created at `createdAt`. */
async function inStore<R>(
  tenant: string,
  body: (sql: SqlStorage, storage: DurableObjectStorage) => R | Promise<R>,
): Promise<R> {
  return runInDurableObject(stubOf(tenant), (_instance: SessionStore, state) => body(state.storage.sql, state.storage));
}

async function newSession(sql: SqlStorage, userId: string, now: number) {
  const id = unplacedId();
  const secretHash = hashSecret(newSecret());
  const input = { userId, data: "{}", ip: null, userAgent: null, assurance: {} };
  const created = createStoreSession(storeOf(sql), { kind: "admin" }, id, secretHash, input, 1, now);
  if (!created.ok) throw new Error(created.error.message);
  return { id, secretHash };
}

/** The store's SQL handle, counting the statements that write. */
function countingWrites(sql: SqlStorage): { sql: SqlStorage; writes: () => number } {
  let writes = 0;
  const counting = {
    exec(query: string, ...bindings: SqlStorageValue[]) {
      if (/^\s*(INSERT|UPDATE|DELETE)/i.test(query)) writes += 1;
      return sql.exec(query, ...bindings);
    },
  } as unknown as SqlStorage;
  return { sql: counting, writes: () => writes };
}

describe("SessionStore expiry", () => {
  it("accepts a session 1 ms before its idle timeout and refuses it 1 ms after", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 60 });
    await inStore(tenant, async (sql) => {
      const early = await newSession(sql, "u1", T0);
      expect(validateSession(storeOf(sql), early.id, early.secretHash, null, T0 + 60 * SECOND - 1).ok).toBe(true);
      const late = await newSession(sql, "u1", T0);
      expect(validateSession(storeOf(sql), late.id, late.secretHash, null, T0 + 60 * SECOND + 1)).toEqual({
        ok: false,
        error: { code: "invalid_token", message: "the session token is invalid, expired or revoked" },
      });
    });
  });

  it("slides the idle expiry on use but never past the absolute lifetime", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 60, absoluteTimeoutSeconds: 120, touchIntervalSeconds: 0 });
    await inStore(tenant, async (sql) => {
      const s = await newSession(sql, "u1", T0);
      for (const at of [50, 100, 115]) {
        const result = validateSession(storeOf(sql), s.id, s.secretHash, null, T0 + at * SECOND);
        expect(result.ok, `at ${at}s`).toBe(true);
      }
      expect(validateSession(storeOf(sql), s.id, s.secretHash, null, T0 + 120 * SECOND - 1).ok).toBe(true);
      expect(validateSession(storeOf(sql), s.id, s.secretHash, null, T0 + 120 * SECOND + 1).ok).toBe(false);
    });
  });

  it("reports expiresAt as the earlier of the idle and absolute expiries", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 60, absoluteTimeoutSeconds: 90, touchIntervalSeconds: 0 });
    await inStore(tenant, async (sql) => {
      const s = await newSession(sql, "u1", T0);
      const at50 = validateSession(storeOf(sql), s.id, s.secretHash, null, T0 + 50 * SECOND);
      expect(at50.ok && at50.session.expiresAt).toBe(new Date(T0 + 90 * SECOND).toISOString());
      expect(at50.ok && at50.session.lastSeenAt).toBe(new Date(T0 + 50 * SECOND).toISOString());
    });
  });

  it("applies a tightened idle timeout to existing sessions at once", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 3600 });
    const s = await inStore(tenant, (sql) => newSession(sql, "u1", T0));
    await call("PUT", `/v1/tenants/${tenant}`, { body: { idleTimeoutSeconds: 60 } });
    await inStore(tenant, (sql) => {
      expect(validateSession(storeOf(sql), s.id, s.secretHash, null, T0 + 61 * SECOND).ok).toBe(false);
    });
  });

  it("refuses an expired session without writing anything", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 60 });
    await inStore(tenant, async (sql) => {
      const s = await newSession(sql, "u1", T0);
      const counter = countingWrites(sql);
      expect(validateSession(storeOf(counter.sql), s.id, s.secretHash, null, T0 + 61 * SECOND).ok).toBe(false);
      expect(counter.writes()).toBe(0);
    });
  });

  it("caps a ttlSeconds session's lifetime below the tenant's absolute timeout", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant, { userId: "u1", ttlSeconds: 600 });
    const created = Date.parse(issued.session.createdAt as string);
    expect(Date.parse(issued.session.absoluteExpiresAt as string) - created).toBe(600 * SECOND);
  });
});

describe("the LIVE rule", () => {
  it("decides the same in SQL (listings, counts) and in JS (reads by id) at every boundary", async () => {
    const tenant = await createTenant();
    const MINUTE = 60 * SECOND;
    const verdicts = await inStore(tenant, (sql) => {
      sql.exec("DELETE FROM sessions");
      // Rows around each boundary: the floors, the stored expiries and the recomputed ones.
      let seq = 0;
      for (const createdAt of [T0 - 10 * MINUTE, T0 - 5 * MINUTE, T0]) {
        for (const lastSeenAt of [createdAt, createdAt + MINUTE]) {
          for (const idleExpiresAt of [T0 - 1, T0, T0 + 1, T0 + 30 * MINUTE]) {
            for (const absoluteExpiresAt of [T0, T0 + 1, T0 + 7 * 24 * 60 * MINUTE]) {
              seq += 1;
              sql.exec(
                `INSERT INTO sessions (seq, id, user_id, secret_hash, created_at, last_seen_at, idle_expires_at, absolute_expires_at, data)
                 VALUES (?, ?, ?, x'00', ?, ?, ?, ?, '{}')`,
                seq,
                `row${seq}`,
                `user${seq % 3}`,
                createdAt,
                lastSeenAt,
                idleExpiresAt,
                absoluteExpiresAt,
              );
            }
          }
        }
      }
      const records = sessionRecords(sql.exec(`SELECT ${SESSION_COLUMNS} FROM sessions s`));
      const userFloors: Record<string, number> = { user0: 0, user1: 20, user2: 50 };
      const contexts: LiveContext[] = [];
      for (const now of [T0 - 1, T0, T0 + 1]) {
        for (const idleTimeoutSeconds of [60, 300, 1800]) {
          for (const absoluteTimeoutSeconds of [300, 604_800]) {
            for (const tenantFloor of [0, 10, seq + 1]) {
              for (const withUserFloors of [false, true]) {
                // Idle lines and past absolute timeouts: none, and on the instants the rows were created and last seen.
                const histories = [
                  [],
                  [[T0 - 5 * MINUTE, 4 * MINUTE]],
                  [
                    [T0 - 10 * MINUTE, MINUTE],
                    [T0, 6 * MINUTE],
                  ],
                ] as const;
                for (const [idleLine, absoluteHistory] of [
                  [0, histories[0]],
                  [T0 - 10 * MINUTE + MINUTE, histories[1]],
                  [0, histories[2]],
                  [T0, histories[1]],
                ] as const) {
                  const settings = {
                    idleTimeoutSeconds,
                    absoluteTimeoutSeconds,
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
                  };
                  contexts.push({
                    now,
                    rules: { settings, idleLine, absoluteHistory },
                    tenantFloor,
                    userFloors: withUserFloors,
                  });
                }
              }
            }
          }
        }
      }
      const disagreements: string[] = [];
      let live = 0;
      for (const context of contexts) {
        sql.exec("DELETE FROM user_revocations");
        if (context.userFloors)
          for (const [user, floor] of Object.entries(userFloors))
            sql.exec("INSERT INTO user_revocations (user_id, revoked_below_seq) VALUES (?, ?)", user, floor);
        const liveInSql = new Set(listLiveSessions(sql, context, { limit: 10_000 }).map((record) => record.id));
        for (const record of records) {
          const floors = { tenant: context.tenantFloor, user: context.userFloors ? userFloors[record.userId]! : 0 };
          const liveInJs = isLive(record, floors, context.rules, context.now);
          if (liveInJs !== liveInSql.has(record.id)) disagreements.push(`${record.id} ${JSON.stringify(context)}`);
          if (liveInJs) live += 1;
        }
      }
      sql.exec("DELETE FROM user_revocations");
      return { disagreements, live, checked: contexts.length * records.length };
    });
    expect(verdicts.disagreements).toEqual([]);
    expect(verdicts.live).toBeGreaterThan(0); // both verdicts occur
    expect(verdicts.live).toBeLessThan(verdicts.checked);
  });
});

describe("SessionStore sliding writes", () => {
  it("writes once for 100 validates inside one touch interval", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 1800 }); // touch interval defaults to 180 s
    await inStore(tenant, async (sql) => {
      const s = await newSession(sql, "u1", T0);
      const counter = countingWrites(sql);
      for (let i = 0; i < 100; i++) {
        const at = T0 + 180 * SECOND + i * SECOND;
        expect(validateSession(storeOf(counter.sql), s.id, s.secretHash, null, at).ok).toBe(true);
      }
      expect(counter.writes()).toBe(1);
    });
  });

  it("writes on every use when the touch interval is 0", async () => {
    const tenant = await createTenant({ idleTimeoutSeconds: 1800, touchIntervalSeconds: 0 });
    await inStore(tenant, async (sql) => {
      const s = await newSession(sql, "u1", T0);
      const counter = countingWrites(sql);
      for (let i = 1; i <= 100; i++) validateSession(storeOf(counter.sql), s.id, s.secretHash, null, T0 + i);
      expect(counter.writes()).toBe(100);
    });
  });

  it("leaves lastSeenAt untouched by 100 real validates over HTTP within the interval", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    for (let i = 0; i < 100; i++) {
      const response = await call("GET", "/v1/session", withToken(issued.token));
      expect(response.status).toBe(200);
    }
    const lastSeen = await inStore(
      tenant,
      (sql) => sql.exec("SELECT last_seen_at FROM sessions WHERE id = ?", issued.session.id).one().last_seen_at,
    );
    expect(new Date(lastSeen as number).toISOString()).toBe(issued.session.lastSeenAt);
  });
});

describe("SessionStore per-user cap", () => {
  it("evicts the least recently seen session of that user only", async () => {
    const tenant = await createTenant({ maxSessionsPerUser: 2, touchIntervalSeconds: 0 });
    await inStore(tenant, async (sql) => {
      const first = await newSession(sql, "u1", T0);
      const second = await newSession(sql, "u1", T0 + 1);
      const other = await newSession(sql, "u2", T0 + 2);
      expect(validateSession(storeOf(sql), first.id, first.secretHash, null, T0 + 3).ok).toBe(true); // first is now more recent
      const third = await newSession(sql, "u1", T0 + 4);
      const live = (s: { id: string; secretHash: ArrayBuffer }) =>
        validateSession(storeOf(sql), s.id, s.secretHash, null, T0 + 5).ok;
      expect([live(first), live(second), live(third), live(other)]).toEqual([true, false, true, true]);
    });
  });
});

describe("SessionStore storage", () => {
  it("holds no token, secret or tenant key in any table", async () => {
    const tenant = await createTenant();
    const keyResponse = await call("POST", `/v1/tenants/${tenant}/keys`);
    const { key } = (await keyResponse.json()) as { key: string };
    const issued = await createSession(tenant, { userId: "u1" }, key);
    const secret = secretOf(issued.token);
    const keySecret = key.split(".")[3]!;
    const dump = await inStore(tenant, (sql) => {
      const tables = sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\'",
        )
        .toArray();
      const cells: string[] = [];
      for (const { name } of tables) {
        for (const row of sql.exec(`SELECT * FROM "${name}"`)) {
          for (const value of Object.values(row)) {
            cells.push(value instanceof ArrayBuffer ? new TextDecoder("latin1").decode(value) : String(value));
          }
        }
      }
      return { tables: tables.map((t) => t.name), text: cells.join("\n") };
    });
    expect(dump.tables).toEqual(expect.arrayContaining(["sessions", "tenant", "tenant_keys"]));
    expect(dump.text).toContain(issued.session.id); // the dump really holds the rows
    for (const needle of [issued.token, secret, key, keySecret]) expect(dump.text).not.toContain(needle);
  });

  it("writes nothing for a tenant that was never created", async () => {
    const tenant = freshTenantName("ghost");
    const response = await call("GET", `/v1/tenants/${tenant}`);
    expect(response.status).toBe(404);
    const tables = await inStore(tenant, (sql) =>
      sql.exec("SELECT name FROM sqlite_master WHERE name NOT LIKE '\\_cf%' ESCAPE '\\'").toArray(),
    );
    expect(tables).toEqual([]);
  });

  it("brings a store made at the previous schema version up to date, keeping its rows", async () => {
    await inStore(freshTenantName("old"), (sql, storage) => {
      applyMigrations(storage, MIGRATIONS.slice(0, SCHEMA_VERSION - 1));
      sql.exec("INSERT INTO tenant_keys (id, secret_hash, created_at) VALUES ('k', x'00', 1)");
      migrate(storage);
      expect(schemaVersion(sql)).toBe(SCHEMA_VERSION);
      expect(sql.exec("SELECT id, created_at, last_used_at FROM tenant_keys").toArray()).toEqual([
        { id: "k", created_at: 1, last_used_at: null },
      ]);
    });
  });

  it("records a tenant key's use at most once a minute", async () => {
    const tenant = await createTenant();
    const minted = (await (await call("POST", `/v1/tenants/${tenant}/keys`)).json()) as { id: string; key: string };
    const caller = {
      kind: "tenant_key" as const,
      tenant,
      keyId: minted.id,
      secretHash: hashSecret(secretOf(minted.key)),
    };
    const t0 = Date.now() + 3600_000; // later than anything the mint recorded
    const usedAt = (now: number) =>
      inStore(tenant, (sql) => {
        expect(getTenant(storeOf(sql), caller, now).ok).toBe(true);
        return sql.exec("SELECT last_used_at FROM tenant_keys WHERE id = ?", minted.id).one().last_used_at;
      });
    expect(await usedAt(t0)).toBe(t0);
    expect(await usedAt(t0 + 30_000)).toBe(t0);
    expect(await usedAt(t0 + 59_999)).toBe(t0);
    expect(await usedAt(t0 + 60_000)).toBe(t0 + 60_000);
  });

  it("runs migrations in order, once, and idempotently", async () => {
    const tenant = await createTenant();
    await inStore(tenant, (sql, storage) => {
      const schema = () => sql.exec("SELECT type, name, sql FROM sqlite_master ORDER BY name").toArray();
      expect(hasSchema(sql)).toBe(true);
      expect(schemaVersion(sql)).toBe(SCHEMA_VERSION);
      const before = schema();
      migrate(storage);
      migrate(storage);
      expect(schema()).toEqual(before);
      expect(schemaVersion(sql)).toBe(SCHEMA_VERSION);
    });
  });
});
