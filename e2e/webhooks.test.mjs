// Webhooks delivered for real: a `wrangler dev` session service (WEBHOOKS_ALLOW_LOOPBACK=true)
// pushing to Node HTTP receivers on loopback ports. Standard Webhooks deliveries are verified
// with the `standardwebhooks` package (the specification's reference implementation), CAEP
// Security Event Tokens with `jose` against the service's JWKS; never with the service's code.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { Webhook } from "standardwebhooks";
import { ADMIN_KEY, startService } from "./servers.mjs";
import { startReceiver, until } from "./receiver.mjs";

const dir = mkdtempSync(join(tmpdir(), "session-webhooks-"));
const env = { WRANGLER_REGISTRY_PATH: join(dir, "registry") };
const VARS = { WEBHOOKS_ALLOW_LOOPBACK: "true" };
let service;
const receivers = [];

async function api(method, path, body, token = ADMIN_KEY) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function receiver(port) {
  const started = await startReceiver(port);
  receivers.push(started);
  return started;
}

async function tenantWithWebhook(name, url, format = "standard-webhooks", settings = {}) {
  assert.equal((await api("PUT", `/v1/tenants/${name}`, settings)).status, 201);
  const created = await api("POST", `/v1/tenants/${name}/webhooks`, { url, format });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body;
}

/** Each delivered (2xx) request's verified event, by the reference implementation. */
function verifiedEvents(received, secret) {
  const webhook = new Webhook(secret);
  return received.filter((r) => r.status >= 200 && r.status < 300).map((r) => webhook.verify(r.body, r.headers));
}

// Expiry is pushed when the purge removes the session: within about a minute of it (the purge
// runs at most once a minute). The session is made first and its event checked last.
let expiry;

before(async () => {
  service = await startService(dir, env, VARS);
  const hook = await receiver();
  const { secret } = await tenantWithWebhook("wh-expiry", `${hook.url}/in`, "standard-webhooks", {
    idleTimeoutSeconds: 2,
  });
  const { session } = (await api("POST", "/v1/tenants/wh-expiry/sessions", { userId: "eve" })).body;
  expiry = { hook, secret, session };
});

after(async () => {
  for (const r of receivers) await r.stop();
  await service?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("webhook deliveries", () => {
  it("delivers every kind of event, signed per Standard Webhooks; a mass kill is one event", async () => {
    const hook = await receiver();
    const { secret } = await tenantWithWebhook("wh-kinds", `${hook.url}/in`);
    const session = async (userId, tenant = "wh-kinds") =>
      (await api("POST", `/v1/tenants/${tenant}/sessions`, { userId })).body;
    const a = await session("alice");
    const rotated = (await api("POST", "/v1/session/rotate", undefined, a.token)).body;
    assert.equal((await api("DELETE", "/v1/session", undefined, rotated.token)).status, 204);
    const b = await session("bob");
    await api("DELETE", `/v1/tenants/wh-kinds/sessions/${b.session.id}`);
    await session("bob");
    await session("bob");
    const userKill = (await api("DELETE", "/v1/tenants/wh-kinds/users/bob/sessions")).body;
    assert.equal((await api("POST", `/v1/tenants/wh-kinds/kills/${userKill.killId}/undo`)).status, 200);
    const tenantKill = (await api("DELETE", "/v1/tenants/wh-kinds/sessions")).body;
    const kinds = [
      "session.created",
      "session.rotated",
      "session.revoked",
      "user.sessions_revoked",
      "kill.undone",
      "tenant.sessions_revoked",
    ];
    await until(
      () => kinds.every((type) => verifiedEvents(hook.received, secret).some((event) => event.type === type)),
      30_000,
      "every kind of event",
    );
    const events = verifiedEvents(hook.received, secret);
    assert.ok(hook.received.every((r) => r.headers["content-type"] === "application/json" && r.path === "/in"));
    const byType = (type) => events.filter((event) => event.type === type);
    assert.deepEqual(
      byType("user.sessions_revoked").map((e) => e.data),
      [{ tenant: "wh-kinds", actor: "admin", userId: "bob", reason: "user", killId: userKill.killId, revoked: 2 }],
    );
    assert.deepEqual(
      byType("kill.undone").map((e) => e.data),
      [{ tenant: "wh-kinds", actor: "admin", userId: "bob", killId: userKill.killId, restored: 2 }],
    );
    assert.deepEqual(
      byType("tenant.sessions_revoked").map((e) => e.data),
      [
        {
          tenant: "wh-kinds",
          actor: "admin",
          reason: "tenant",
          killId: tenantKill.killId,
          revoked: tenantKill.revoked,
        },
      ],
    );
    for (const event of events) {
      assert.match(event.id, /^evt_/);
      assert.ok(!Number.isNaN(Date.parse(event.timestamp)));
      for (const token of [a.token, b.token, rotated.token])
        assert.ok(!JSON.stringify(event).includes(token.split(".")[4]));
    }
    // Each event once here (the receiver always took them): ids are unique.
    assert.equal(new Set(events.map((e) => e.id)).size, events.length);
    const deliveries = await api("GET", `/v1/tenants/wh-kinds/webhooks`);
    assert.equal(deliveries.body.webhooks[0].lastDelivery.status, 204);
  });

  it("pushes revocations to a caep webhook as Security Event Tokens verified with jose", async () => {
    const hook = await receiver();
    hook.answer = () => ({ status: 202 });
    await tenantWithWebhook("wh-caep", `${hook.url}/caep`, "caep");
    const s = (await api("POST", "/v1/tenants/wh-caep/sessions", { userId: "carol" })).body;
    await api("DELETE", `/v1/tenants/wh-caep/sessions/${s.session.id}`);
    await api("POST", "/v1/tenants/wh-caep/sessions", { userId: "carol" });
    await api("DELETE", "/v1/tenants/wh-caep/users/carol/sessions");
    await until(() => hook.received.length >= 2, 30_000, "two SETs");
    const jwks = createLocalJWKSet((await api("GET", "/.well-known/jwks.json")).body);
    const sets = [];
    for (const r of hook.received) {
      assert.equal(r.headers["content-type"], "application/secevent+jwt");
      assert.equal(decodeProtectedHeader(r.body).typ, "secevent+jwt");
      const { payload } = await jwtVerify(r.body, jwks, {
        algorithms: ["EdDSA"],
        typ: "secevent+jwt",
        audience: `${hook.url}/caep`,
        issuer: `${service.url}/tenants/wh-caep`,
      });
      sets.push(payload);
    }
    const SESSION_REVOKED = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";
    assert.deepEqual(sets[0].sub_id, {
      format: "complex",
      tenant: { format: "opaque", id: "wh-caep" },
      user: { format: "opaque", id: "carol" },
      session: { format: "opaque", id: s.session.id },
    });
    assert.equal(sets[0].events[SESSION_REVOKED].initiating_entity, "admin");
    assert.equal(typeof sets[0].events[SESSION_REVOKED].event_timestamp, "number");
    assert.deepEqual(sets[1].sub_id, {
      format: "complex",
      tenant: { format: "opaque", id: "wh-caep" },
      user: { format: "opaque", id: "carol" },
    });
    assert.ok(sets.every((set) => typeof set.jti === "string" && Object.keys(set.events).length === 1));
  });

  it("retries a 500 with the same webhook-id, and sends nothing more after a 410", async () => {
    const hook = await receiver();
    let calls = 0;
    hook.answer = () => (++calls === 1 ? { status: 500 } : { status: 200 });
    const { secret, webhook } = await tenantWithWebhook("wh-retry", `${hook.url}/in`);
    await api("POST", "/v1/tenants/wh-retry/sessions", { userId: "u" });
    await until(() => hook.received.length >= 2, 20_000, "the retry after a 500");
    const [first, second] = hook.received;
    assert.equal(first.status, 500);
    assert.equal(second.headers["webhook-id"], first.headers["webhook-id"]);
    assert.ok(
      second.at - first.at >= 4_000 && second.at - first.at < 10_000,
      `retried after ${second.at - first.at} ms`,
    );
    assert.equal(verifiedEvents([second], secret).length, 1);
    const attempts = (await api("GET", `/v1/tenants/wh-retry/webhooks/${webhook.id}/deliveries`)).body.deliveries;
    assert.deepEqual(
      attempts.map((a) => [a.attempt, a.status]),
      [
        [2, 200],
        [1, 500],
      ],
    );

    hook.answer = () => ({ status: 410 });
    await api("POST", "/v1/tenants/wh-retry/sessions", { userId: "u" });
    await until(() => hook.received.length >= 3, 20_000, "the 410");
    await api("POST", "/v1/tenants/wh-retry/sessions", { userId: "u" });
    await new Promise((resolve) => setTimeout(resolve, 7_000)); // past the first retry's delay
    assert.equal(hook.received.length, 3);
    const listed = (await api("GET", "/v1/tenants/wh-retry/webhooks")).body.webhooks[0];
    assert.ok(listed.disabledAt !== null);
    const events = (await api("GET", "/v1/tenants/wh-retry/events")).body.events;
    assert.ok(events.some((e) => e.type === "webhook_disabled" && e.webhookId === webhook.id));
  });

  it("costs one bounded attempt for a receiver that never answers, while another webhook still gets its events", async () => {
    const hanging = await receiver();
    hanging.answer = () => "hang";
    const healthy = await receiver();
    const { webhook } = await tenantWithWebhook("wh-hang", `${hanging.url}/in`);
    await api("POST", "/v1/tenants/wh-hang/webhooks", { url: `${healthy.url}/in`, format: "standard-webhooks" });
    const started = Date.now();
    await api("POST", "/v1/tenants/wh-hang/sessions", { userId: "u" });
    await until(() => healthy.received.length >= 1, 10_000, "the healthy webhook's delivery");
    assert.ok(healthy.received[0].at - started < 5_000, "the hanging receiver did not hold up the other");
    await until(
      async () =>
        (await api("GET", `/v1/tenants/wh-hang/webhooks/${webhook.id}/deliveries`)).body.deliveries.length >= 1,
      25_000,
      "the hanging attempt's end",
    );
    const [attempt] = (await api("GET", `/v1/tenants/wh-hang/webhooks/${webhook.id}/deliveries`)).body.deliveries;
    assert.equal(attempt.status, null);
    assert.match(attempt.error, /no answer within 15 s/);
    const waited = Date.parse(attempt.at) - started;
    assert.ok(waited >= 14_000 && waited < 25_000, `the attempt ended ${waited} ms after the event`);
    assert.ok(attempt.nextAttemptAt !== null);
    assert.equal(hanging.received.length, 1);
  });

  it("delivers 1,000 events to a receiver refusing 10% of first attempts at random: every event at least once", async () => {
    const hook = await receiver();
    // Each event is refused at most once: a Retry-After is followed no sooner than 30 s, and
    // after five failures no sooner than the schedule (hours).
    const refused = new Set();
    hook.answer = (request) => {
      const id = request.headers["webhook-id"];
      if (refused.has(id) || Math.random() >= 0.1) return { status: 204 };
      refused.add(id);
      return { status: 503, headers: { "Retry-After": "1" } };
    };
    const { secret } = await tenantWithWebhook("wh-flaky", `${hook.url}/in`);
    const tokens = [];
    for (let i = 0; i < 500; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, j) =>
          api("POST", "/v1/tenants/wh-flaky/sessions", { userId: `u${(i + j) % 37}` }),
        ),
      );
      tokens.push(...batch.map((r) => r.body.token));
    }
    for (let i = 0; i < tokens.length; i += 50)
      await Promise.all(tokens.slice(i, i + 50).map((token) => api("DELETE", "/v1/session", undefined, token)));
    const delivered = () => new Set(verifiedEvents(hook.received, secret).map((event) => event.id));
    await until(() => delivered().size >= 1000, 240_000, "1,000 distinct events delivered");
    const failed = hook.received.filter((r) => r.status === 503).length;
    const ok = hook.received.length - failed;
    console.log(
      `1,000 events: ${hook.received.length} attempts, ${failed} answered 503, ${ok} delivered, ${delivered().size} distinct events, ${ok - delivered().size} delivered twice`,
    );
    assert.equal(delivered().size, 1000);
    const distinct = new Map(verifiedEvents(hook.received, secret).map((event) => [event.id, event.type]));
    assert.equal([...distinct.values()].filter((type) => type === "session.created").length, 500);
    assert.equal([...distinct.values()].filter((type) => type === "session.revoked").length, 500);
  });

  it("pushes a session's expiry once the purge has removed it", async () => {
    const expired = () =>
      verifiedEvents(expiry.hook.received, expiry.secret).find((event) => event.type === "session.expired");
    await until(() => expired() !== undefined, 90_000, "the expiry");
    assert.deepEqual(expired().data, {
      tenant: "wh-expiry",
      actor: "system",
      sessionId: expiry.session.id,
      userId: "eve",
    });
  });

  it("delivers, after a restart, events made while the receiver was down and the service was killed", async () => {
    const hook = await receiver();
    const port = hook.port;
    const { secret } = await tenantWithWebhook("wh-restart", `${hook.url}/in`);
    await hook.stop(); // down: every attempt fails to connect
    for (let i = 0; i < 5; i++) await api("POST", "/v1/tenants/wh-restart/sessions", { userId: `u${i}` });
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // the first attempts fail
    await service.stop({ hard: true }); // SIGKILL with undelivered rows
    const back = await receiver(port);
    service = await startService(dir, env, VARS);
    // Locally, workerd keeps no alarm across a restart: the store re-arms it from its outbox when
    // it next starts, which the first request to the tenant does. (Deployed, the alarm persists.)
    await api("GET", "/v1/tenants/wh-restart");
    await until(() => verifiedEvents(back.received, secret).length >= 5, 30_000, "the five events after the restart");
    assert.deepEqual(
      verifiedEvents(back.received, secret)
        .map((e) => e.data.userId)
        .sort(),
      ["u0", "u1", "u2", "u3", "u4"],
    );
  });
});
