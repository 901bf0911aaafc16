// GET /v1/tenants/:tenant/activity: sessions created, ended and live over the last 24 hours or
// 7 days, counted from the audit log of every shard.

import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { call, createSession, createTenant, errorOf, freshTenantName } from "./helpers";

interface Activity {
  window: string;
  bucketSeconds: number;
  live: number;
  buckets: { start: string; created: number; ended: number; restored: number; live: number }[];
}

async function activityOf(tenant: string, query = ""): Promise<Activity> {
  const response = await call("GET", `/v1/tenants/${tenant}/activity${query}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { activity: Activity }).activity;
}

const HOUR = 3600_000;

describe("GET /v1/tenants/:tenant/activity", () => {
  it("counts this hour's creations, kills and undos over every shard, and the live line back from now", async () => {
    const tenant = await createTenant({ shards: 4 });
    const sessions = [];
    for (let i = 0; i < 5; i++) sessions.push(await createSession(tenant, { userId: `u${i}` }));
    await call("DELETE", `/v1/tenants/${tenant}/sessions/${sessions[0]!.session.id}`);
    const killed = (await (await call("DELETE", `/v1/tenants/${tenant}/users/u1/sessions`)).json()) as {
      killId: string;
    };
    await call("POST", `/v1/tenants/${tenant}/kills/${killed.killId}/undo`);
    const activity = await activityOf(tenant);
    expect(activity).toMatchObject({ window: "24h", bucketSeconds: 3600, live: 4 });
    expect(activity.buckets).toHaveLength(24);
    // Summed, not read from the last bucket alone: the hour may have turned during the test.
    const sum = (field: "created" | "ended" | "restored") =>
      activity.buckets.reduce((total, bucket) => total + bucket[field], 0);
    expect([sum("created"), sum("ended"), sum("restored")]).toEqual([5, 2, 1]);
    expect(activity.buckets.at(-1)!.live).toBe(4);
    expect(activity.buckets.slice(0, -2).every((bucket) => bucket.live === 0 && bucket.created === 0)).toBe(true);
    const starts = activity.buckets.map((bucket) => Date.parse(bucket.start));
    expect(starts.every((start, index) => index === 0 || start - starts[index - 1]! === HOUR)).toBe(true);
    expect(Date.now() - starts.at(-1)!).toBeLessThan(HOUR);
  });

  it("puts seeded events of past hours and days in their buckets; a mass kill counts what it ended", async () => {
    const tenant = await createTenant();
    await createSession(tenant, { userId: "now" });
    const home = env.SESSION_STORE.get(env.SESSION_STORE.idFromName(tenant));
    const now = Date.now();
    await runInDurableObject(home, (_instance, state) => {
      const insert = (at: number, type: string, count: number | null) =>
        state.storage.sql.exec(
          "INSERT INTO events (at, type, actor, count) VALUES (?, ?, 'admin', ?)",
          at,
          type,
          count,
        );
      insert(now - 3 * HOUR, "created", null);
      insert(now - 3 * HOUR, "created", null);
      insert(now - 2 * HOUR, "revoked", 2);
      insert(now - 3 * 24 * HOUR, "created", null);
      insert(now - 9 * 24 * HOUR, "created", null); // outside both windows
      insert(now - 2 * HOUR, "rotated", null); // no change of the count
    });
    const day = await activityOf(tenant, "?window=24h");
    const totals = (activity: Activity) =>
      activity.buckets.reduce(
        (sum, bucket) => ({ created: sum.created + bucket.created, ended: sum.ended + bucket.ended }),
        { created: 0, ended: 0 },
      );
    expect(totals(day)).toEqual({ created: 3, ended: 2 });
    const byStart = (activity: Activity, at: number) =>
      activity.buckets.find(
        (bucket) => Date.parse(bucket.start) <= at && at < Date.parse(bucket.start) + activity.bucketSeconds * 1000,
      )!;
    expect(byStart(day, now - 3 * HOUR)).toMatchObject({ created: 2, live: 2 });
    expect(byStart(day, now - 2 * HOUR)).toMatchObject({ ended: 2, live: 0 });
    const week = await activityOf(tenant, "?window=7d");
    expect(week).toMatchObject({ window: "7d", bucketSeconds: 6 * 3600, live: 1 });
    expect(week.buckets).toHaveLength(28);
    expect(totals(week)).toEqual({ created: 4, ended: 2 });
  });

  it("refuses an unknown window or parameter (400 naming it), and follows the tenant's access rules", async () => {
    const tenant = await createTenant();
    for (const [query, field] of [
      ["?window=1y", "window"],
      ["?window=constructor", "window"],
      ["?window=__proto__", "window"],
      ["?window=24h&window=7d", "window"],
      ["?since=0", "since"],
    ] as const) {
      const response = await call("GET", `/v1/tenants/${tenant}/activity${query}`);
      expect(response.status, query).toBe(400);
      expect((await errorOf(response)).field).toBe(field);
    }
    expect((await call("GET", `/v1/tenants/${freshTenantName("gone")}/activity`)).status).toBe(404);
    expect((await call("GET", `/v1/tenants/${tenant}/activity`, { key: null })).status).toBe(401);
    const other = await createTenant();
    const minted = (await (await call("POST", `/v1/tenants/${other}/keys`)).json()) as { key: string };
    expect((await call("GET", `/v1/tenants/${tenant}/activity`, { key: minted.key })).status).toBe(403);
    expect((await call("GET", `/v1/tenants/${other}/activity`, { key: minted.key })).status).toBe(200);
  });
});
