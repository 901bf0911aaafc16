// Ids that name their store: a session's public id names its shard, so get, kill-one and the
// undo of that kill ask one store whatever the tenant's shard count; an id from before (which
// names none) still works through every store; an id made up, mistyped or of another tenant
// costs no store call.

import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { newPlacedId, shardNamedBy } from "../src/core/placed-id";
import { forgetLocation } from "../src/worker/locate";
import worker from "../src/worker/index.ts";
import {
  ADMIN_KEY,
  BASE,
  call,
  countingWorker,
  createSession,
  createTenant,
  errorOf,
  failingObject,
  shardOfToken,
  status,
  storeStub,
  unplacedSession,
} from "./helpers";

const ADMIN = { headers: { Authorization: `Bearer ${ADMIN_KEY}` } };
const USERS = Array.from({ length: 12 }, (_, i) => `user-${i}`);

describe("placed ids (pure)", () => {
  it("name the shard they were made for, for their tenant only, and a changed character fails the check", () => {
    for (const shard of [0, 1, 63, 64, 200, 255]) {
      const id = newPlacedId("acme", shard);
      expect(id).toMatch(/^[A-Za-z0-9_-]{28}$/);
      expect(shardNamedBy("acme", id)).toBe(shard);
      expect(shardNamedBy("acme-2", id)).toBeNull();
      for (const at of [0, 19, 20, 21, 27]) {
        const changed = id.slice(0, at) + (id[at] === "A" ? "B" : "A") + id.slice(at + 1);
        expect(shardNamedBy("acme", changed)).toBeNull();
      }
    }
    expect(shardNamedBy("acme", "A".repeat(22))).toBe("any");
    expect(shardNamedBy("acme", "A".repeat(28))).toBeNull();
    expect(shardNamedBy("acme", "A".repeat(23))).toBeNull();
    expect(shardNamedBy("acme", `${"A".repeat(21)}!`)).toBeNull();
  });
});

// A tenant of 256 shards takes seconds to make (its settings are copied to every store).
describe.each([1, 16, 256])(
  "routes by id on %i shard(s)",
  (shards) => {
    it("get, kill-one and its undo each ask the one store the id names", async () => {
      const tenant = await createTenant({ shards });
      const sessions = await Promise.all(USERS.map((userId) => createSession(tenant, { userId })));
      const counted = countingWorker();
      // This isolate learns the tenant's shard count once (the home is asked once).
      await counted.fetch(`/v1/tenants/${tenant}/sessions/${sessions[0]!.session.id}`, ADMIN);
      for (const issued of sessions) {
        const id = issued.session.id;
        expect(shardNamedBy(tenant, id)).toBe(shardOfToken(issued.token));
        let before = counted.stubs();
        const got = await counted.fetch(`/v1/tenants/${tenant}/sessions/${id}`, ADMIN);
        expect(got.status).toBe(200);
        expect(((await got.json()) as { session: { id: string } }).session.id).toBe(id);
        expect(counted.stubs() - before).toBe(1);

        before = counted.stubs();
        const killed = await counted.fetch(`/v1/tenants/${tenant}/sessions/${id}`, { ...ADMIN, method: "DELETE" });
        expect(killed.status).toBe(200);
        const { killId, revoked } = (await killed.json()) as { killId: string; revoked: number };
        expect(revoked).toBe(1);
        expect(counted.stubs() - before).toBe(1);
        expect(shardNamedBy(tenant, killId)).toBe(shardOfToken(issued.token));
        expect(await status(issued.token)).toBe(401);

        before = counted.stubs();
        const undone = await counted.fetch(`/v1/tenants/${tenant}/kills/${killId}/undo`, { ...ADMIN, method: "POST" });
        expect(undone.status).toBe(200);
        expect(await undone.json()).toEqual({ restored: 1, killId });
        expect(counted.stubs() - before).toBe(1);
        expect(await status(issued.token)).toBe(200);
      }
      // The kill was the session's store's alone: it asked no other store.
      const last = sessions.at(-1)!;
      const shard = shardOfToken(last.token);
      const changes = await runInDurableObject(storeStub(tenant, shard), (_instance, state) =>
        state.storage.sql.exec<{ shards: string; kind: string }>("SELECT shards, kind FROM changes").toArray(),
      );
      expect(changes.filter((change) => change.kind === "one").map((change) => change.shards)).toContain(
        JSON.stringify([shard]),
      );
    });

    it("an id made up, mistyped or of another tenant is 404 with no store call", async () => {
      const tenant = await createTenant({ shards });
      const other = await createTenant();
      const mine = await createSession(tenant, { userId: "u" });
      const theirs = await createSession(other, { userId: "u" });
      const counted = countingWorker();
      await counted.fetch(`/v1/tenants/${tenant}/sessions/${mine.session.id}`, ADMIN);
      const id = mine.session.id;
      const mistyped = id.slice(0, 5) + (id[5] === "x" ? "y" : "x") + id.slice(6);
      for (const bad of [mistyped, theirs.session.id, "A".repeat(28)]) {
        const before = counted.stubs();
        for (const [method, path] of [
          ["GET", `/v1/tenants/${tenant}/sessions/${bad}`],
          ["DELETE", `/v1/tenants/${tenant}/sessions/${bad}`],
          ["POST", `/v1/tenants/${tenant}/kills/${bad}/undo`],
        ] as const) {
          const response = await counted.fetch(path, { ...ADMIN, method });
          expect(response.status).toBe(404);
          expect((await errorOf(response)).code).toBe(method === "POST" ? "kill_not_found" : "session_not_found");
        }
        expect(counted.stubs() - before).toBe(0);
      }
      expect(await status(theirs.token)).toBe(200);
    });

    it("an id from before, which names no store, is still found, killed and restored", async () => {
      const tenant = await createTenant({ shards });
      const old = await unplacedSession(tenant, "old-user", shards);
      const got = await call("GET", `/v1/tenants/${tenant}/sessions/${old.id}`);
      expect(got.status).toBe(200);
      const killed = await call("DELETE", `/v1/tenants/${tenant}/sessions/${old.id}`);
      expect(killed.status).toBe(200);
      const { killId } = (await killed.json()) as { killId: string };
      expect(killId).toMatch(/^[A-Za-z0-9_-]{22}$/); // coordinated by the home, as before
      expect(await status(old.token)).toBe(401);
      expect((await call("POST", `/v1/tenants/${tenant}/kills/${killId}/undo`)).status).toBe(200);
      expect(await status(old.token)).toBe(200);
    });
  },
  30_000,
);

describe("the one store an id names, out of reach", () => {
  it("is 503 shard_unavailable for get, as the fan-out was, and the session is found once it is back", async () => {
    const tenant = await createTenant({ shards: 4 });
    let issued = await createSession(tenant, { userId: "reach-0" });
    for (let i = 1; shardOfToken(issued.token) === 0; i++)
      issued = await createSession(tenant, { userId: `reach-${i}` });
    const broken = failingObject(`${tenant}/${shardOfToken(issued.token)}`, "getSession");
    const path = `/v1/tenants/${tenant}/sessions/${issued.session.id}`;
    const response = await worker.fetch(new Request(`${BASE}${path}`, ADMIN), broken);
    expect(response.status).toBe(503);
    expect((await errorOf(response)).code).toBe("shard_unavailable");
    expect((await call("GET", path)).status).toBe(200);
  });
});

describe("an id naming a shard this isolate has not heard of", () => {
  it("asks the home once (the tenant may have grown since), then the store", async () => {
    const tenant = await createTenant({ shards: 2 });
    expect((await call("PUT", `/v1/tenants/${tenant}`, { body: { shards: 64 } })).status).toBe(200);
    let issued = await createSession(tenant, { userId: "grown-0" });
    for (let i = 1; shardOfToken(issued.token) < 2; i++) issued = await createSession(tenant, { userId: `grown-${i}` });
    forgetLocation(tenant); // as an isolate that last heard of the tenant when it had 2 shards, or never
    const counted = countingWorker();
    const got = await counted.fetch(`/v1/tenants/${tenant}/sessions/${issued.session.id}`, ADMIN);
    expect(got.status).toBe(200);
    expect(counted.stubs()).toBe(2); // the home, then the store
    const again = await counted.fetch(`/v1/tenants/${tenant}/sessions/${issued.session.id}`, ADMIN);
    expect(again.status).toBe(200);
    expect(counted.stubs()).toBe(3);
  });
});
