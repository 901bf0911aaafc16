// A 2xx means committed: the service is killed outright (as a crash or a local restart would)
// right after its last answer, then started again on the same storage. Every session it
// created must still work, every one it killed must still be refused, and the purge alarm,
// which a restart forgets, must be armed again by the store's constructor.

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ADMIN_KEY, startService } from "./servers.mjs";

const dir = mkdtempSync(join(tmpdir(), "session-restart-"));
const env = { WRANGLER_REGISTRY_PATH: join(dir, "registry") };
let service;

after(async () => {
  await service?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function api(method, path, body) {
  const headers = { Authorization: `Bearer ${ADMIN_KEY}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`${service.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, body: response.status === 204 ? null : await response.json() };
}

async function validate(token) {
  return (await fetch(`${service.url}/v1/session`, { headers: { Authorization: `Bearer ${token}` } })).status;
}

describe("restart with persisted storage", () => {
  it("keeps every committed creation and revocation, and re-arms the purge", async () => {
    service = await startService(dir, env);
    assert.equal((await api("PUT", "/v1/tenants/durable", {})).status, 201);
    assert.equal((await api("PUT", "/v1/tenants/short", { idleTimeoutSeconds: 2, absoluteTimeoutSeconds: 3600 })).status, 201);
    const created = [];
    for (const userId of ["keep1", "keep2", "one", "logout", "user", "user", "rotate"]) {
      const { status, body } = await api("POST", "/v1/tenants/durable/sessions", { userId });
      assert.equal(status, 201);
      created.push(body);
    }
    const [keep1, keep2, one, logout, user1, user2, rotating] = created;
    const expiring = (await api("POST", "/v1/tenants/short/sessions", { userId: "soon" })).body;
    assert.equal((await api("DELETE", `/v1/tenants/durable/sessions/${one.session.id}`)).status, 200);
    assert.equal((await fetch(`${service.url}/v1/session`, { method: "DELETE", headers: { Authorization: `Bearer ${logout.token}` } })).status, 204);
    assert.deepEqual((await api("DELETE", "/v1/tenants/durable/users/user/sessions")).body, { revoked: 2 });
    const rotated = await (await fetch(`${service.url}/v1/session/rotate`, { method: "POST", headers: { Authorization: `Bearer ${rotating.token}` } })).json();

    await service.stop({ hard: true }); // right after the last answer: no graceful shutdown
    service = await startService(dir, env);

    for (const s of [keep1, keep2]) assert.equal(await validate(s.token), 200);
    assert.equal(await validate(rotated.token), 200);
    for (const s of [one, logout, user1, user2, rotating]) assert.equal(await validate(s.token), 401);
    const counts = (await api("GET", "/v1/tenants/durable")).body.tenant.counts;
    assert.equal(counts.sessions, 3);

    // The short tenant's session expires 2 s after its creation; its store's constructor must
    // re-arm the alarm that the restart lost, which then purges it and records the expiry.
    assert.equal((await api("GET", "/v1/tenants/short")).status, 200); // wakes the store
    assert.equal(await validate(expiring.token), 401);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const { events } = (await api("GET", "/v1/tenants/short/events")).body;
      if (events.some((e) => e.type === "expired" && e.sessionId === expiring.session.id)) break;
      assert.ok(Date.now() < deadline, "the purge alarm did not run after the restart");
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  });
});
