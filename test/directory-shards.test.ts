// The tenant directory spread over DIRECTORY_SHARDS objects: names that share an object,
// the names kept by the one directory of before moved out to where their hash says (found
// meanwhile), and the platform kill worked as a tree over every object.

import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { DIRECTORY_SHARDS, directoryShardOf } from "../src/core/placement";
import {
  call,
  createSession,
  createTenant,
  directoryAlarmsUntil,
  directoryAt,
  directoryOf,
  freshTenantName,
  status,
} from "./helpers";

/** `count` fresh names that the same directory object keeps. */
function collidingNames(count: number): string[] {
  const byShard = new Map<number, string[]>();
  for (;;) {
    const name = freshTenantName("same");
    const names = byShard.get(directoryShardOf(name)) ?? [];
    names.push(name);
    byShard.set(directoryShardOf(name), names);
    if (names.length === count) return names;
  }
}

describe("names that one directory object keeps", () => {
  it("are each found, listed and deleted alone", async () => {
    const [a, b, c] = collidingNames(3) as [string, string, string];
    for (const [name, jurisdiction] of [
      [a, null],
      [b, "eu"],
      [c, null],
    ] as const)
      expect((await call("PUT", `/v1/tenants/${name}`, { body: jurisdiction ? { jurisdiction } : {} })).status).toBe(
        201,
      );
    expect(await directoryOf(b).locate(b)).toEqual({ ok: true, known: true, jurisdiction: "eu" });
    const listed = (await (await call("GET", "/v1/tenants?limit=1000")).json()) as { tenants: { tenant: string }[] };
    expect(listed.tenants.map((t) => t.tenant)).toEqual(expect.arrayContaining([a, b, c]));
    expect((await call("DELETE", `/v1/tenants/${b}?confirm=${b}`)).status).toBe(200);
    expect(await directoryOf(b).locate(b)).toEqual({ ok: true, known: false, jurisdiction: null });
    expect(await directoryOf(a).locate(a)).toEqual({ ok: true, known: true, jurisdiction: null });
    expect((await call("GET", `/v1/tenants/${c}`)).status).toBe(200);
  });

  it("lists every tenant once, in name order, page by page over every object", async () => {
    const made = [];
    for (let i = 0; i < 12; i++) made.push(await createTenant({}, "page"));
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const response = await call("GET", `/v1/tenants?limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      const page = (await response.json()) as { tenants: { tenant: string }[]; nextCursor: string | null };
      seen.push(...page.tenants.map((t) => t.tenant));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([...new Set(seen)].sort());
    expect(seen).toEqual(expect.arrayContaining(made));
  });
});

describe("names the one directory of before kept", () => {
  it("are found where their hash says before they are moved, then moved by shard 0's alarm", async () => {
    const names = Array.from({ length: 40 }, () => freshTenantName("legacy")).filter(
      (name) => directoryShardOf(name) !== 0,
    );
    const at = Date.now();
    // As the one directory kept them: every name at shard 0, and no object told that the move is done.
    await runInDurableObject(directoryAt(0), (_instance, state) => {
      for (const name of names)
        state.storage.sql.exec("INSERT INTO claims (name, jurisdiction, claimed_at) VALUES (?, 'eu', ?)", name, at);
      state.storage.sql.exec("DELETE FROM directory_state");
    });
    for (const shard of new Set(names.map(directoryShardOf)))
      await runInDurableObject(directoryAt(shard), (_instance, state) =>
        state.storage.sql.exec("DELETE FROM directory_state"),
      );
    const [first, ...rest] = names as [string, ...string[]];
    expect(await directoryOf(first).locate(first)).toEqual({ ok: true, known: true, jurisdiction: "eu" });
    // Shard 0 starts (as after the release that spread the directory) and moves them from its alarm.
    await evictDurableObject(directoryAt(0));
    await directoryAt(0).held(first);
    // Its alarm is due at once, and may run by itself: run it, or wait for the run under way.
    const moved = () =>
      runInDurableObject(
        directoryAt(0),
        (_instance, state) =>
          state.storage.sql.exec("SELECT 1 FROM directory_state WHERE key = 'legacy_moved'").toArray().length > 0,
      );
    for (let tries = 0; !(await moved()) && tries < 100; tries++)
      if (!(await runDurableObjectAlarm(directoryAt(0)))) await new Promise((resolve) => setTimeout(resolve, 20));
    const left = await runInDurableObject(directoryAt(0), (_instance, state) => ({
      names: state.storage.sql.exec("SELECT count(*) AS n FROM claims WHERE claimed_at = ?", at).one().n,
      moved: state.storage.sql.exec("SELECT value FROM directory_state WHERE key = 'legacy_moved'").toArray(),
    }));
    expect(left).toEqual({ names: 0, moved: [{ value: "1" }] });
    for (const name of rest)
      expect(await directoryOf(name).locate(name)).toEqual({ ok: true, known: true, jurisdiction: "eu" });
  });
});

describe("the platform kill as a tree", () => {
  it("is worked by every directory object over its own tenants, and counts tenants and their stores", async () => {
    const plain = await createTenant();
    const sharded = await createTenant({ shards: 8 });
    const [one] = await Promise.all([createSession(plain, { userId: "u" })]);
    const two = await createSession(sharded, { userId: "v" });
    const response = await call("DELETE", "/v1/sessions");
    const body = (await response.json()) as { killId?: string; kill?: { id: string } };
    const killId = body.killId ?? body.kill!.id;
    await directoryAlarmsUntil(
      async () => ((await (await call("GET", `/v1/kills/${killId}`)).json()) as { kill: { done: boolean } }).kill.done,
    );
    const { kill } = (await (await call("GET", `/v1/kills/${killId}`)).json()) as {
      kill: { tenants: number; applied: number; shards: number; shardsApplied: number };
    };
    expect(kill.applied).toBe(kill.tenants);
    expect(kill.shardsApplied).toBe(kill.shards);
    expect(kill.shards).toBeGreaterThanOrEqual(kill.tenants + 7);
    expect(await status(one!.token)).toBe(401);
    expect(await status(two.token)).toBe(401);
    const parts = await runInDurableObject(
      directoryAt(0),
      (_instance, state) =>
        state.storage.sql
          .exec("SELECT count(*) AS n FROM platform_kill_parts WHERE kill_id = ? AND done = 1", killId)
          .one().n,
    );
    expect(parts).toBe(DIRECTORY_SHARDS);
  });
});
