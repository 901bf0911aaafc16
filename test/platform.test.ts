// The platform-wide kill: every tenant of the registry, batch by batch, with durable progress
// that a restart resumes; undone within each tenant's own window. In a file of its own: it
// kills every tenant this file's tests made.

import { env } from "cloudflare:workers";
import { evictDurableObject } from "cloudflare:test";
import { DIRECTORY_SHARDS } from "../src/core/placement";
import { describe, expect, it } from "vitest";
import {
  call,
  createSession,
  createTenant,
  errorOf,
  failingObject,
  reachThrough,
  seed,
  status,
  storeStub,
  withBearer,
  directoryAlarmsUntil,
  directoryAt,
  directoryOf,
} from "./helpers";

async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

describe("DELETE /v1/sessions", () => {
  it("kills every session of every tenant (sharded and in a jurisdiction too), and undo brings them back", async () => {
    const plain = await createTenant();
    const sharded = await createTenant({ shards: 4 });
    const eu = await createTenant({ jurisdiction: "eu" });
    const strict = await createTenant({ undoWindowSeconds: 0 });
    const sessions = [
      ...(await seed(plain, ["a", "b"])),
      ...(await seed(sharded, ["a", "b", "c", "d", "e"])),
      ...(await seed(eu, ["a"])),
    ];
    const [unrestorable] = await seed(strict, ["z"]);

    const response = await call("DELETE", "/v1/sessions");
    expect(response.status).toBe(200);
    const killed = await json<{ tenants: number; revoked: number; killId: string }>(response);
    expect(killed).toEqual({ tenants: 4, revoked: 9, killId: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/) });
    for (const s of [...sessions, unrestorable!]) expect(await status(s.token)).toBe(401);
    const after = await createSession(plain, { userId: "a" });
    expect(await status(after.token)).toBe(200);

    const progress = await json<{ kill: Record<string, unknown> }>(await call("GET", `/v1/kills/${killed.killId}`));
    expect(progress.kill).toMatchObject({
      id: killed.killId,
      tenants: 4,
      applied: 4,
      revoked: 9,
      done: true,
      undone: false,
    });
    const { events } = await json<{ events: { reason?: string; killId?: string; count?: number }[] }>(
      await call("GET", `/v1/tenants/${sharded}/events?limit=1`),
    );
    expect(events[0]).toMatchObject({ reason: "platform", killId: killed.killId, count: 5 });

    // A tenant's own undo route does not take a platform kill.
    expect((await call("POST", `/v1/tenants/${plain}/kills/${killed.killId}/undo`)).status).toBe(404);
    const undone = await call("POST", `/v1/kills/${killed.killId}/undo`);
    expect(undone.status).toBe(200);
    expect(await undone.json()).toEqual({ restored: 8, skipped: 1, killId: killed.killId });
    for (const s of sessions) expect(await status(s.token)).toBe(200);
    expect(await status(unrestorable!.token)).toBe(401);
    expect(await status(after.token)).toBe(200);
    const twice = await call("POST", `/v1/kills/${killed.killId}/undo`);
    expect(twice.status).toBe(409);
    expect((await errorOf(twice)).code).toBe("already_undone");
    expect(
      (await json<{ kill: { undone: boolean } }>(await call("GET", `/v1/kills/${killed.killId}`))).kill.undone,
    ).toBe(true);
  });

  it("is for the platform admin only; unknown kill ids are 404", async () => {
    const tenant = await createTenant();
    const key = (await json<{ key: string }>(await call("POST", `/v1/tenants/${tenant}/keys`))).key;
    const [issued] = await seed(tenant, ["u"]);
    for (const [method, path] of [
      ["DELETE", "/v1/sessions"],
      ["GET", `/v1/kills/${"A".repeat(22)}`],
      ["POST", `/v1/kills/${"A".repeat(22)}/undo`],
    ] as const) {
      expect((await call(method, path, { key })).status).toBe(403);
      expect((await call(method, path, { key: null })).status).toBe(401);
      expect((await call(method, path, withBearer(issued!.token))).status).toBe(401);
    }
    expect(await status(issued!.token)).toBe(200);
    for (const id of ["A".repeat(22), "nope"]) {
      expect((await errorOf(await call("GET", `/v1/kills/${id}`))).code).toBe("kill_not_found");
      expect((await call("POST", `/v1/kills/${id}/undo`)).status).toBe(404);
    }
  });

  it("answers 202 while a tenant cannot be reached, shows the progress, and finishes from the alarm", async () => {
    const reachable = await createTenant();
    const unreachable = await createTenant({ shards: 4 });
    const [early] = await seed(reachable, ["a"]);
    const late = await seed(unreachable, ["a", "b", "c", "d", "e"]);
    await reachThrough(storeStub(unreachable, 0), failingObject(`${unreachable}/3`, "applyKill"));
    let kill: { id: string; tenants: number; applied: number; done: boolean };
    const progress = () => call("GET", `/v1/kills/${kill.id}`).then((r) => json<{ kill: typeof kill }>(r));
    try {
      const response = await call("DELETE", "/v1/sessions");
      expect(response.status).toBe(202);
      ({ kill } = await json<{ kill: typeof kill }>(response));
      // Every tenant this file made is asked (storage is kept between its tests); one is out of reach.
      expect(kill).toMatchObject({
        id: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/),
        applied: kill.tenants - 1,
        done: false,
      });
      expect(await status(early!.token)).toBe(401);
      expect((await progress()).kill).toMatchObject({ applied: kill.tenants - 1, done: false });
    } finally {
      await reachThrough(storeStub(unreachable, 0), env);
    }
    // The tenant's home finishes its own kill too: only `applied` shows that the directory did.
    await directoryAlarmsUntil(async () => (await progress()).kill.done);
    expect((await progress()).kill.applied).toBe(kill!.tenants);
    for (const s of late) expect(await status(s.token)).toBe(401);
  });

  it("keeps its progress in storage: a restart mid-way resumes from the alarm and reaches every tenant", async () => {
    const tenants = [];
    for (let i = 0; i < 30; i++) tenants.push(await createTenant({}, "many"));
    const sessions = [];
    for (const tenant of tenants) sessions.push(await createSession(tenant, { userId: "u" }));
    // One tenant's home cannot be reached from its directory object: the kill stops mid-way there.
    const late = tenants[7]!;
    await reachThrough(directoryOf(late), failingObject(late, "kill"));
    const response = await call("DELETE", "/v1/sessions");
    expect(response.status).toBe(202);
    const killId = (await json<{ kill: { id: string; applied: number; tenants: number } }>(response)).kill.id;
    expect(await status(sessions[7]!.token)).toBe(200);
    // The restart: nothing in memory survives, in the coordinator or in any part (the failure
    // injected above included).
    for (let shard = 0; shard < DIRECTORY_SHARDS; shard++) await evictDurableObject(directoryAt(shard));
    await directoryAlarmsUntil(
      async () => (await json<{ kill: { done: boolean } }>(await call("GET", `/v1/kills/${killId}`))).kill.done,
    );
    const progress = await json<{ kill: { tenants: number; applied: number } }>(
      await call("GET", `/v1/kills/${killId}`),
    );
    expect(progress.kill.applied).toBe(progress.kill.tenants);
    for (const s of sessions) expect(await status(s.token)).toBe(401);
  });
});
