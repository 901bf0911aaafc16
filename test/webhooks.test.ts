// Webhooks: the routes and their rules (https only, no private hosts, loopback only with the
// local flag), the secret sealed at rest, and the outbox: one row per event and webhook,
// written in the change's own transaction (a rolled-back change queues nothing), one event per
// mass kill, copied to every shard. Deliveries to a real receiver are in e2e/webhooks.test.mjs.

import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { SessionStore } from "../durable-objects/session-store/session-store";
import { MAX_OUTBOX_PER_WEBHOOK, recordAttempt, trimOutbox } from "../durable-objects/session-store/webhook-operations";
import type { SessionServiceBinding } from "../packages/client/src/types";
import type { OutboxRow } from "../durable-objects/session-store/webhooks-sql";
import { unseal } from "../src/core/sealing";
import worker from "../src/worker/index.ts";
import { secretContext, webhookSealingKey } from "../src/core/webhooks";
import {
  ADMIN_KEY,
  alarmUntil,
  BASE,
  call,
  createsCutByAbort,
  createSession,
  createTenant,
  errorOf,
  seed,
  storeStub,
  withBearer,
} from "./helpers";
import { insertEvent } from "../durable-objects/session-store/audit-sql";
import { storeOf } from "../durable-objects/session-store/tenant";

const RECEIVER = "https://hooks.example.com/in";

interface Created {
  webhook: { id: string; url: string; format: string; events: string[]; createdAt: string; disabledAt: string | null };
  secret: string | null;
}

interface OutboxItem {
  webhook_id: string;
  event_id: string;
  type: string;
  data: Record<string, unknown>;
}

async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

function addWebhook(
  tenant: string,
  body: Record<string, unknown> = { url: RECEIVER, format: "standard-webhooks" },
  key?: string,
): Promise<Response> {
  return call("POST", `/v1/tenants/${tenant}/webhooks`, key === undefined ? { body } : { body, key });
}

function inStore<T>(tenant: string, read: (sql: SqlStorage) => T, shard = 0): Promise<T> {
  return runInDurableObject(storeStub(tenant, shard), (_instance, state) => read(state.storage.sql));
}

async function outbox(tenant: string, shard = 0): Promise<OutboxItem[]> {
  const rows = await inStore(
    tenant,
    (sql) =>
      sql
        .exec<{ webhook_id: string; event_id: string; type: string; data: string }>(
          "SELECT webhook_id, event_id, type, data FROM outbox ORDER BY seq",
        )
        .toArray(),
    shard,
  );
  return rows.map((row) => ({ ...row, data: JSON.parse(row.data) as Record<string, unknown> }));
}

/** The Worker with WEBHOOKS_ALLOW_LOOPBACK set to `value`. */
function withLoopback(value: string, method: string, path: string, body?: unknown): Promise<Response> {
  const headers: Record<string, string> = { Authorization: `Bearer ${ADMIN_KEY}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const request = new Request(`${BASE}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return worker.fetch(request, { ...env, WEBHOOKS_ALLOW_LOOPBACK: value });
}

describe("webhook routes", () => {
  it("creates a standard-webhooks webhook, shows its secret once, lists it, and deletes it", async () => {
    const tenant = await createTenant();
    const response = await addWebhook(tenant);
    expect(response.status).toBe(201);
    const created = await json<Created>(response);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(created.webhook).toMatchObject({ url: RECEIVER, format: "standard-webhooks", disabledAt: null });
    expect(created.webhook.events).toHaveLength(13);
    const listed = await json<{ webhooks: Record<string, unknown>[] }>(
      await call("GET", `/v1/tenants/${tenant}/webhooks`),
    );
    expect(listed.webhooks).toEqual([{ ...created.webhook, lastDelivery: null }]);
    expect(JSON.stringify(listed)).not.toContain(created.secret!.slice(6));
    expect(await json(await call("DELETE", `/v1/tenants/${tenant}/webhooks/${created.webhook.id}`))).toEqual({
      deleted: created.webhook.id,
    });
    expect((await json<{ webhooks: unknown[] }>(await call("GET", `/v1/tenants/${tenant}/webhooks`))).webhooks).toEqual(
      [],
    );
    const again = await call("DELETE", `/v1/tenants/${tenant}/webhooks/${created.webhook.id}`);
    expect(again.status).toBe(404);
    expect((await errorOf(again)).code).toBe("webhook_not_found");
  });

  it("creates a caep webhook for revocations only, with no shared secret", async () => {
    const tenant = await createTenant();
    const created = await json<Created>(await addWebhook(tenant, { url: RECEIVER, format: "caep" }));
    expect(created.secret).toBeNull();
    expect(created.webhook.events).toEqual(["session.revoked", "user.sessions_revoked", "tenant.sessions_revoked"]);
    const refused = await addWebhook(tenant, { url: RECEIVER, format: "caep", events: ["session.created"] });
    expect(refused.status).toBe(400);
    expect((await errorOf(refused)).field).toBe("events");
  });

  it("lets a tenant key manage its own tenant's webhooks, and no other's", async () => {
    const [tenant, other] = [await createTenant(), await createTenant()];
    const { key } = await json<{ key: string }>(await call("POST", `/v1/tenants/${tenant}/keys`));
    expect((await addWebhook(tenant, undefined, key)).status).toBe(201);
    expect((await addWebhook(other, undefined, key)).status).toBe(403);
    expect((await call("GET", `/v1/tenants/${other}/webhooks`, { key })).status).toBe(403);
    expect((await addWebhook(tenant, undefined, null as unknown as string)).status).toBe(401);
  });

  it("answers 404 for an unknown tenant and an unknown webhook's deliveries", async () => {
    const tenant = await createTenant();
    expect((await errorOf(await call("GET", "/v1/tenants/no-such-tenant-here/webhooks"))).code).toBe(
      "tenant_not_found",
    );
    const unknown = await call("GET", `/v1/tenants/${tenant}/webhooks/wh_AAAAAAAAAAAAAAAA/deliveries`);
    expect(unknown.status).toBe(404);
    expect((await errorOf(unknown)).code).toBe("webhook_not_found");
    expect((await call("GET", `/v1/tenants/${tenant}/webhooks/not-an-id/deliveries`)).status).toBe(404);
  });

  it("keeps at most 10 webhooks per tenant: the 11th is 409", async () => {
    const tenant = await createTenant();
    for (let i = 0; i < 10; i++)
      expect((await addWebhook(tenant, { url: `${RECEIVER}/${i}`, format: "standard-webhooks" })).status).toBe(201);
    const refused = await addWebhook(tenant);
    expect(refused.status).toBe(409);
    expect((await errorOf(refused)).code).toBe("too_many_webhooks");
  });

  it.each([
    [{ url: "http://hooks.example.com/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://127.0.0.1/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://2130706433/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://0x7f.1/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://localhost/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://hooks.localhost/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://10.1.2.3/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://172.16.0.1/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://192.168.1.1/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://169.254.169.254/latest/meta-data", format: "standard-webhooks" }, "url"],
    [{ url: "https://100.64.0.1/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://0.0.0.0/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://[::1]/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://[::ffff:127.0.0.1]/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://intranet/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://localhost./in", format: "standard-webhooks" }, "url"],
    [{ url: "https://hooks.localhost./in", format: "standard-webhooks" }, "url"],
    [{ url: "https://192.0.2.10/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://198.18.0.1/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://user:pass@hooks.example.com/in", format: "standard-webhooks" }, "url"],
    [{ url: "https://hooks.example.com/in#frag", format: "standard-webhooks" }, "url"],
    [{ url: "ftp://hooks.example.com/in", format: "standard-webhooks" }, "url"],
    [{ url: "hooks.example.com/in", format: "standard-webhooks" }, "url"],
    [{ url: `https://hooks.example.com/${"x".repeat(2100)}`, format: "standard-webhooks" }, "url"],
    [{ url: 42, format: "standard-webhooks" }, "url"],
    [{ format: "standard-webhooks" }, "url"],
    [{ url: RECEIVER, format: "svix" }, "format"],
    [{ url: RECEIVER }, "format"],
    [{ url: RECEIVER, format: "standard-webhooks", events: [] }, "events"],
    [{ url: RECEIVER, format: "standard-webhooks", events: ["session.created", "session.created"] }, "events"],
    [{ url: RECEIVER, format: "standard-webhooks", events: ["session.nope"] }, "events"],
    [{ url: RECEIVER, format: "standard-webhooks", events: "session.created" }, "events"],
    [{ url: RECEIVER, format: "standard-webhooks", secret: "whsec_mine" }, "secret"],
  ])("refuses %j with 400 naming %s, and makes nothing", async (body, field) => {
    const tenant = await createTenant();
    // As deployed: the test run allows loopback for its stand-in identity provider (vitest.config.ts).
    const response = await withLoopback("false", "POST", `/v1/tenants/${tenant}/webhooks`, body);
    expect(response.status).toBe(400);
    expect((await errorOf(response)).field).toBe(field);
    expect((await json<{ webhooks: unknown[] }>(await call("GET", `/v1/tenants/${tenant}/webhooks`))).webhooks).toEqual(
      [],
    );
  });

  it("takes http(s) to 127.0.0.1 and localhost only with WEBHOOKS_ALLOW_LOOPBACK=true, and still no private host", async () => {
    const tenant = await createTenant();
    const path = `/v1/tenants/${tenant}/webhooks`;
    for (const url of ["http://127.0.0.1:9/in", "http://localhost:9/in"]) {
      expect((await withLoopback("false", "POST", path, { url, format: "standard-webhooks" })).status).toBe(400);
      expect((await withLoopback("true", "POST", path, { url, format: "standard-webhooks" })).status).toBe(201);
    }
    expect(
      (await withLoopback("true", "POST", path, { url: "http://10.0.0.1/in", format: "standard-webhooks" })).status,
    ).toBe(400);
    expect(
      (await withLoopback("true", "POST", path, { url: "http://hooks.example.com/in", format: "standard-webhooks" }))
        .status,
    ).toBe(400);
  });

  it("reports a WEBHOOKS_ALLOW_LOOPBACK that is neither true nor false on /health, by name", async () => {
    const health = await json<{ ok: boolean; problems: string[] }>(await withLoopback("yes", "GET", "/health"));
    expect(health.ok).toBe(false);
    expect(health.problems).toEqual([expect.stringMatching(/^WEBHOOKS_ALLOW_LOOPBACK must be true/)]);
    const tenant = await createTenant();
    // Fails closed: loopback stays refused.
    expect(
      (
        await withLoopback("yes", "POST", `/v1/tenants/${tenant}/webhooks`, {
          url: "http://127.0.0.1:9/in",
          format: "standard-webhooks",
        })
      ).status,
    ).toBe(400);
  });

  it("keeps the secret sealed at rest: usable by the store, never in clear in any table", async () => {
    const tenant = await createTenant();
    const { webhook, secret } = await json<Created>(await addWebhook(tenant));
    const dump = await inStore(tenant, (sql) => {
      const cells: string[] = [];
      for (const { name } of sql
        .exec<{ name: string }>(
          "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE '\\_cf%' ESCAPE '\\'",
        )
        .toArray()) {
        for (const row of sql.exec(`SELECT * FROM "${name}"`))
          for (const value of Object.values(row))
            cells.push(value instanceof ArrayBuffer ? new TextDecoder("latin1").decode(value) : String(value));
      }
      return cells.join("\n");
    });
    expect(dump).toContain(webhook.id);
    const keyBytes = atob(secret!.slice("whsec_".length));
    for (const needle of [secret!, secret!.slice(6), keyBytes]) expect(dump).not.toContain(needle);
    const sealed = await inStore(tenant, (sql) =>
      sql
        .exec<{ iv: ArrayBuffer; sealed: ArrayBuffer }>("SELECT secret_iv AS iv, sealed_secret AS sealed FROM webhooks")
        .one(),
    );
    const key = await webhookSealingKey((env as Env).KEY_ENCRYPTION_SECRET!);
    expect(new TextDecoder().decode(await unseal(key, sealed, secretContext(tenant, webhook.id)))).toBe(secret);
    // Bound to its tenant and webhook: sealed for one, it opens for no other.
    await expect(unseal(key, sealed, secretContext("other", webhook.id))).rejects.toThrow();
  });
});

describe("the outbox", () => {
  it("queues every kind of event, a mass kill as one event, and never a token", async () => {
    const tenant = await createTenant({ jwt: null });
    const { webhook } = await json<Created>(await addWebhook(tenant));
    const [a1, a2, b] = await seed(tenant, ["alice", "alice", "bob"]);
    const rotated = await json<{ token: string }>(await call("POST", "/v1/session/rotate", withBearer(a1!.token)));
    expect((await call("DELETE", "/v1/session", withBearer(rotated.token))).status).toBe(204);
    const one = await json<{ killId: string }>(await call("DELETE", `/v1/tenants/${tenant}/sessions/${b!.session.id}`));
    await seed(tenant, ["bob", "bob"]);
    const user = await json<{ killId: string; revoked: number }>(
      await call("DELETE", `/v1/tenants/${tenant}/users/bob/sessions`),
    );
    const all = await json<{ killId: string; revoked: number }>(await call("DELETE", `/v1/tenants/${tenant}/sessions`));
    await call("POST", `/v1/tenants/${tenant}/kills/${user.killId}/undo`);
    const queued = await outbox(tenant);
    expect(queued.every((item) => item.webhook_id === webhook.id)).toBe(true);
    expect(queued.map((item) => item.type)).toEqual([
      "session.created",
      "session.created",
      "session.created",
      "session.rotated",
      "session.revoked",
      "session.revoked",
      "session.created",
      "session.created",
      "user.sessions_revoked",
      "tenant.sessions_revoked",
      "kill.undone",
    ]);
    expect(queued[3]!.data).toEqual({ tenant, actor: "session", sessionId: a1!.session.id, userId: "alice" });
    expect(queued[4]!.data).toEqual({
      tenant,
      actor: "session",
      sessionId: a1!.session.id,
      userId: "alice",
      reason: "logout",
    });
    expect(queued[5]!.data).toEqual({
      tenant,
      actor: "admin",
      sessionId: b!.session.id,
      userId: "bob",
      reason: "one",
      killId: one.killId,
    });
    expect(queued[8]!.data).toEqual({
      tenant,
      actor: "admin",
      userId: "bob",
      reason: "user",
      killId: user.killId,
      revoked: 2,
    });
    expect(queued[9]!.data).toEqual({
      tenant,
      actor: "admin",
      reason: "tenant",
      killId: all.killId,
      revoked: all.revoked,
    });
    expect(queued[10]!.data).toEqual({ tenant, actor: "admin", userId: "bob", killId: user.killId, restored: 0 });
    expect(new Set(queued.map((item) => item.event_id)).size).toBe(queued.length);
    const text = JSON.stringify(queued);
    for (const token of [a1!.token, a2!.token, b!.token, rotated.token])
      expect(text).not.toContain(token.split(".").at(-3));
  });

  it("queues for each subscribed webhook only what it asked for; a caep webhook only revocations", async () => {
    const tenant = await createTenant();
    const onlyCreated = await json<Created>(
      await addWebhook(tenant, { url: RECEIVER, format: "standard-webhooks", events: ["session.created"] }),
    );
    const caep = await json<Created>(await addWebhook(tenant, { url: RECEIVER, format: "caep" }));
    const issued = await createSession(tenant, { userId: "u" });
    await call("DELETE", "/v1/session", withBearer(issued.token));
    const queued = await outbox(tenant);
    expect(queued.map((item) => [item.webhook_id, item.type])).toEqual([
      [onlyCreated.webhook.id, "session.created"],
      [caep.webhook.id, "session.revoked"],
    ]);
    // The same event is one id for every webhook that gets it.
    const both = await json<Created>(
      await addWebhook(tenant, { url: RECEIVER, format: "standard-webhooks", events: ["session.revoked"] }),
    );
    const other = await createSession(tenant, { userId: "v" });
    await call("DELETE", "/v1/session", withBearer(other.token));
    const revoked = (await outbox(tenant)).filter((item) => item.type === "session.revoked").slice(1);
    expect(revoked.map((item) => item.webhook_id).sort()).toEqual([caep.webhook.id, both.webhook.id].sort());
    expect(revoked[0]!.event_id).toBe(revoked[1]!.event_id);
  });

  it("never queues 'log out my other devices' for a caep webhook, which cannot express it", async () => {
    const tenant = await createTenant();
    const caep = await json<Created>(await addWebhook(tenant, { url: RECEIVER, format: "caep" }));
    const standard = await json<Created>(
      await addWebhook(tenant, { url: RECEIVER, format: "standard-webhooks", events: ["user.sessions_revoked"] }),
    );
    const [kept] = await seed(tenant, ["u", "u", "u"]);
    expect((await call("DELETE", "/v1/session/siblings", withBearer(kept!.token))).status).toBe(200);
    await call("DELETE", `/v1/tenants/${tenant}/users/u/sessions`);
    const queued = (await outbox(tenant)).map((item) => `${item.data.reason} to ${item.webhook_id}`);
    expect(queued.sort()).toEqual(
      [`siblings to ${standard.webhook.id}`, `user to ${caep.webhook.id}`, `user to ${standard.webhook.id}`].sort(),
    );
  });

  it("queues nothing for a change that rolls back", async () => {
    const tenant = await createTenant();
    await addWebhook(tenant);
    const before = (await outbox(tenant)).length;
    await runInDurableObject(storeStub(tenant), (_instance, state) => {
      expect(() =>
        state.storage.transactionSync(() => {
          insertEvent(
            state.storage.sql,
            { type: "created", actor: "admin", sessionId: "rolled-back", userId: "u" },
            Date.now(),
          );
          expect(state.storage.sql.exec("SELECT count(*) AS n FROM outbox").one().n).toBe(before + 1); // queued inside...
          throw new Error("the change fails after its event");
        }),
      ).toThrow("the change fails after its event");
    });
    expect(await outbox(tenant)).toHaveLength(before); // ...and gone with the rollback
  });

  it("leaves every create, aborted mid-flight or not, with both its audit event and its queued event, or neither", async () => {
    const tenant = await createTenant();
    await addWebhook(tenant);
    const committed = await createsCutByAbort(tenant, 200);
    const { sessions, queued } = await inStore(tenant, (sql) => ({
      sessions: sql
        .exec("SELECT id FROM sessions")
        .toArray()
        .map((row) => String(row.id)),
      queued: sql
        .exec("SELECT json_extract(data, '$.sessionId') AS id FROM outbox WHERE type = 'session.created'")
        .toArray()
        .map((row) => String(row.id)),
    }));
    expect(queued.sort()).toEqual(sessions.sort());
    expect(sessions.length).toBeGreaterThanOrEqual(committed);
  });

  it("queues nothing once the webhook is deleted, and drops what it had yet to receive", async () => {
    const tenant = await createTenant();
    const { webhook } = await json<Created>(await addWebhook(tenant));
    await createSession(tenant, { userId: "u" });
    expect(await outbox(tenant)).toHaveLength(1);
    await call("DELETE", `/v1/tenants/${tenant}/webhooks/${webhook.id}`);
    await createSession(tenant, { userId: "u" });
    expect(await outbox(tenant)).toHaveLength(0);
  });
});

describe("webhooks on a sharded tenant", () => {
  it("reach every shard before the answer; each shard queues the events it records; a kill over shards is one event with the total", async () => {
    const tenant = await createTenant({ shards: 4 });
    const { webhook } = await json<Created>(await addWebhook(tenant));
    for (let shard = 1; shard < 4; shard++) {
      expect(
        await inStore(
          tenant,
          (sql) =>
            sql
              .exec("SELECT id FROM webhooks")
              .toArray()
              .map((row) => row.id),
          shard,
        ),
      ).toEqual([webhook.id]);
    }
    const users = Array.from({ length: 24 }, (_, i) => `user-${i}`);
    await seed(tenant, users);
    const created = (await Promise.all([0, 1, 2, 3].map((shard) => outbox(tenant, shard)))).flat();
    expect(created.map((item) => item.data.userId).sort()).toEqual([...users].sort());
    const killed = await json<{ killId: string; revoked: number }>(
      await call("DELETE", `/v1/tenants/${tenant}/sessions`),
    );
    expect(killed.revoked).toBe(24);
    const kills = (await Promise.all([0, 1, 2, 3].map((shard) => outbox(tenant, shard))))
      .flat()
      .filter((item) => item.type === "tenant.sessions_revoked");
    expect(kills).toHaveLength(1);
    expect(kills[0]!.data).toMatchObject({ killId: killed.killId, revoked: 24 });
    await call("DELETE", `/v1/tenants/${tenant}/webhooks/${webhook.id}`);
    for (let shard = 0; shard < 4; shard++)
      expect(await inStore(tenant, (sql) => sql.exec("SELECT count(*) AS n FROM webhooks").one().n, shard)).toBe(0);
  });
});

describe("delivery bookkeeping", () => {
  const outcome = (status: number | null, retryAfterMs: number | null = null) => ({
    status,
    error: status === null ? "no answer" : null,
    delivered: status !== null && status < 300,
    gone: status === 410,
    retryAfterMs,
  });
  const DAY = 24 * 3600_000;

  it("gives an event up by its age, not by its count of attempts: a short Retry-After cannot end it sooner", async () => {
    const tenant = await createTenant();
    const { webhook } = await json<Created>(await addWebhook(tenant));
    await createSession(tenant, { userId: "u" });
    const result = await runInDurableObject(storeStub(tenant), (_instance, state) => {
      const sql = state.storage.sql;
      const store = storeOf(sql);
      const row = () => sql.exec<OutboxRow>("SELECT * FROM outbox").toArray()[0];
      const now = Date.now();
      sql.exec("UPDATE outbox SET attempts = 20");
      recordAttempt(store, row()!, outcome(503, 1000), false, now); // the 21st attempt, a minute old: tried again in a day, Retry-After: 1 or not
      const kept = row()?.next_attempt_at;
      sql.exec("UPDATE outbox SET at = ?", now - 3 * DAY - 3 * 3600_000); // older than the schedule, with 1 h to spare
      recordAttempt(store, row()!, outcome(503), false, now);
      const events = sql
        .exec("SELECT type, reason, count, webhook_id FROM events WHERE type LIKE 'webhook_events%'")
        .toArray();
      return { kept, left: row() ?? null, events };
    });
    expect(result.kept).toBeGreaterThan(Date.now() - 1000);
    expect(result.left).toBeNull();
    expect(result.events).toEqual([
      { type: "webhook_events_dropped", reason: "gave_up", count: 1, webhook_id: webhook.id },
    ]);
  });

  it("records nothing for an attempt whose row went meanwhile (its webhook deleted)", async () => {
    const tenant = await createTenant();
    const { webhook } = await json<Created>(await addWebhook(tenant));
    await createSession(tenant, { userId: "u" });
    const attempts = await runInDurableObject(storeStub(tenant), (_instance, state) => {
      const sql = state.storage.sql;
      const row = sql.exec<OutboxRow>("SELECT * FROM outbox").one();
      sql.exec("DELETE FROM outbox");
      sql.exec("DELETE FROM webhook_attempts");
      recordAttempt(storeOf(sql), row, outcome(500), true, Date.now());
      return sql.exec("SELECT count(*) AS n FROM webhook_attempts WHERE webhook_id = ?", webhook.id).one().n;
    });
    expect(attempts).toBe(0);
  });

  it("counts a secret that cannot be unsealed as a failed attempt, and the alarm run goes on", async () => {
    const tenant = await createTenant();
    const { webhook } = await json<Created>(await addWebhook(tenant));
    await inStore(tenant, (sql) => sql.exec("UPDATE webhooks SET sealed_secret = randomblob(64)"));
    await createSession(tenant, { userId: "u" });
    await alarmUntil(
      storeStub(tenant),
      async () =>
        (
          await json<{ deliveries: unknown[] }>(
            await call("GET", `/v1/tenants/${tenant}/webhooks/${webhook.id}/deliveries`),
          )
        ).deliveries.length > 0,
    );
    const [attempt] = (
      await json<{ deliveries: { status: number | null; error: string; nextAttemptAt: string | null }[] }>(
        await call("GET", `/v1/tenants/${tenant}/webhooks/${webhook.id}/deliveries`),
      )
    ).deliveries;
    expect(attempt).toMatchObject({ status: null, error: expect.stringContaining("cannot be unsealed") });
    expect(attempt!.nextAttemptAt).not.toBeNull();
    expect(await outbox(tenant)).toHaveLength(1); // kept for later
  });

  it("disables a webhook on every shard from the home, each shard recording what it dropped", async () => {
    const tenant = await createTenant({ shards: 4 });
    const { webhook } = await json<Created>(await addWebhook(tenant));
    await seed(
      tenant,
      Array.from({ length: 16 }, (_, i) => `user-${i}`),
    );
    const queued = await Promise.all([0, 1, 2, 3].map(async (shard) => (await outbox(tenant, shard)).length));
    const home = storeStub(tenant) as unknown as { disableWebhook(id: string): Promise<unknown> };
    await home.disableWebhook(webhook.id);
    for (let shard = 0; shard < 4; shard++) {
      const state = await inStore(
        tenant,
        (sql) => ({
          disabled: sql.exec("SELECT disabled_at FROM webhooks").one().disabled_at !== null,
          outbox: sql.exec("SELECT count(*) AS n FROM outbox").one().n,
          dropped: sql
            .exec("SELECT coalesce(sum(count), 0) AS n FROM events WHERE type = 'webhook_events_dropped'")
            .one().n,
        }),
        shard,
      );
      expect(state).toEqual({ disabled: true, outbox: 0, dropped: queued[shard] });
    }
    const listed = await json<{ webhooks: { disabledAt: string | null }[] }>(
      await call("GET", `/v1/tenants/${tenant}/webhooks`),
    );
    expect(listed.webhooks[0]!.disabledAt).not.toBeNull();
    await addWebhook(tenant, { url: `${RECEIVER}/other`, format: "standard-webhooks" });
    const { tenant: view } = await json<{ tenant: { counts: Record<string, number> } }>(
      await call("GET", `/v1/tenants/${tenant}`),
    );
    expect(view.counts).toMatchObject({ webhooks: 2, disabledWebhooks: 1 });
  });
});

describe("webhooks over RPC", () => {
  const sessions: SessionServiceBinding = env.SESSIONS;

  it("creates, lists, shows deliveries of and deletes a webhook; bad input comes back as a value", async () => {
    const tenant = await createTenant();
    const created = await sessions.createWebhook(tenant, {
      url: RECEIVER,
      format: "standard-webhooks",
      events: ["session.created"],
    });
    if (!created.ok) throw new Error(created.error.message);
    expect(created.secret).toMatch(/^whsec_/);
    const listed = await sessions.listWebhooks(tenant);
    expect(listed.ok && listed.webhooks.map((webhook) => [webhook.id, webhook.events])).toEqual([
      [created.webhook.id, ["session.created"]],
    ]);
    expect(await sessions.webhookDeliveries(tenant, created.webhook.id)).toEqual({ ok: true, deliveries: [] });
    expect(await sessions.createWebhook(tenant, { url: "http://hooks.example.com", format: "caep" })).toMatchObject({
      ok: false,
      error: { code: "bad_request", field: "url" },
    });
    expect(await sessions.deleteWebhook(tenant, created.webhook.id)).toEqual({ ok: true, deleted: created.webhook.id });
    expect(await sessions.deleteWebhook(tenant, created.webhook.id)).toMatchObject({
      ok: false,
      error: { code: "webhook_not_found" },
    });
  });
});

describe("the outbox's bound", () => {
  it("keeps at most MAX_OUTBOX_PER_WEBHOOK undelivered events per webhook, dropping the oldest with an audit event", async () => {
    const tenant = await createTenant();
    const { webhook } = await json<Created>(await addWebhook(tenant));
    const result = await runInDurableObject(storeStub(tenant), (_instance, state) => {
      const sql = state.storage.sql;
      sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO outbox (webhook_id, event_id, type, at, data, next_attempt_at) SELECT ?, 'evt_' || i, 'session.created', i, '{}', ? FROM n`,
        MAX_OUTBOX_PER_WEBHOOK + 5,
        webhook.id,
        Date.now() + 3600_000,
      );
      const dropped = trimOutbox(storeOf(sql), Date.now());
      return {
        dropped,
        left: sql.exec("SELECT count(*) AS n, min(at) AS oldest FROM outbox").one(),
        events: sql
          .exec("SELECT reason, count, webhook_id FROM events WHERE type = 'webhook_events_dropped'")
          .toArray(),
      };
    });
    expect(result.dropped).toBe(5);
    expect(result.left).toEqual({ n: MAX_OUTBOX_PER_WEBHOOK, oldest: 6 });
    expect(result.events).toEqual([{ reason: "outbox_full", count: 5, webhook_id: webhook.id }]);
  });

  it("bug 9: keeps the outbox within its cap on every alarm run, not only when a purge is due", async () => {
    const tenant = await createTenant();
    const { webhook } = await json<Created>(await addWebhook(tenant));
    const left = await runInDurableObject(storeStub(tenant), async (instance: SessionStore, state) => {
      const sql = state.storage.sql;
      // 500 beyond the cap, none due yet (a receiver that is down): nothing else for the purge to do.
      sql.exec(
        `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
         INSERT INTO outbox (webhook_id, event_id, type, at, data, next_attempt_at) SELECT ?, 'evt_' || i, 'session.created', i, '{}', ? FROM n`,
        MAX_OUTBOX_PER_WEBHOOK + 500,
        webhook.id,
        Date.now() + 3600_000,
      );
      await instance.alarm();
      return sql.exec<{ n: number }>("SELECT count(*) AS n FROM outbox").one().n;
    });
    expect(left).toBe(MAX_OUTBOX_PER_WEBHOOK);
  });
});
