// Random interleavings of creates, kills, undos, growth and stores that cannot be reached,
// against a model: after the tenant's home has finished what it recorded, every session is
// live or ended exactly as the model says, and every answer that says how many it ended or
// restored says what the model does. The model: a kill covers the sessions of its scope made
// before it was asked (a kill of one session, that session); a session is live while no kill
// that covers it is in force; an undo puts a kill out of force once.

import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import worker from "../src/worker/index.ts";
import {
  ADMIN_KEY,
  alarmUntil,
  BASE,
  call,
  createSession,
  createTenant,
  failingObject,
  reachThrough,
  status,
  storeStub,
} from "./helpers";

const USERS = ["ann", "bob", "cyd", "dan", "eve"];

interface ModelSession {
  id: string;
  user: string;
  token: string;
}

interface ModelKill {
  id: string;
  covers: Set<string>;
  inForce: boolean;
}

const step = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("create" as const), user: fc.constantFrom(...USERS) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("killUser" as const),
      user: fc.constantFrom(...USERS),
      cut: fc.option(fc.nat(3), { nil: null }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("killTenant" as const), cut: fc.option(fc.nat(3), { nil: null }) }),
  },
  { weight: 2, arbitrary: fc.record({ op: fc.constant("killOne" as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      op: fc.constant("undo" as const),
      pick: fc.nat(),
      cut: fc.option(fc.nat(3), { nil: null }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("grow" as const) }) },
);

type Step = typeof step extends fc.Arbitrary<infer S> ? S : never;

async function json<T>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/** Runs the home's alarm until nothing it coordinates waits on a store, the next try made due now. */
async function settle(tenant: string): Promise<void> {
  const waiting = () =>
    runInDurableObject(storeStub(tenant, 0), (_instance, state) => {
      state.storage.sql.exec("UPDATE changes SET next_at = 0 WHERE next_at IS NOT NULL");
      return state.storage.sql.exec<{ n: number }>("SELECT count(*) AS n FROM changes WHERE next_at IS NOT NULL").one()
        .n;
    });
  await alarmUntil(storeStub(tenant, 0), async () => (await waiting()) === 0);
}

/** A request made while the tenant's home cannot reach shard `cut` (when there is one) for kills and undos. */
async function withCut(
  tenant: string,
  shards: number,
  cut: number | null,
  method: string,
  path: string,
): Promise<Response> {
  const shard = cut === null ? null : cut % shards;
  if (shard === null || shard === 0) return call(method, path);
  await reachThrough(storeStub(tenant, 0), failingObject(`${tenant}/${shard}`, ["applyKill", "applyUndo"]));
  try {
    return await worker.fetch(
      new Request(`${BASE}${path}`, { method, headers: { Authorization: `Bearer ${ADMIN_KEY}` } }),
      env,
    );
  } finally {
    await reachThrough(storeStub(tenant, 0), env);
  }
}

async function run(steps: Step[]): Promise<void> {
  const tenant = await createTenant({ undoWindowSeconds: 3600 });
  let shards = 1;
  const sessions: ModelSession[] = [];
  const kills: ModelKill[] = [];
  const live = (s: ModelSession) => !kills.some((kill) => kill.inForce && kill.covers.has(s.id));
  const kill = async (response: Response, covers: ModelSession[]) => {
    const newlyEnded = covers.filter(live).length;
    if (response.status === 200) {
      const body = await json<{ revoked: number; killId: string }>(response);
      expect(body.revoked).toBe(newlyEnded);
      kills.push({ id: body.killId, covers: new Set(covers.map((s) => s.id)), inForce: true });
      return;
    }
    // Recorded, and finished in the background: its id is the one the home records that the model has not seen.
    expect(response.status).toBe(503);
    await settle(tenant);
    const ids = await runInDurableObject(storeStub(tenant, 0), (_instance, state) =>
      state.storage.sql
        .exec<{ id: string }>("SELECT id FROM changes")
        .toArray()
        .map((row) => row.id),
    );
    const fresh = ids.filter((id) => !kills.some((known) => known.id === id));
    expect(fresh).toHaveLength(1);
    kills.push({ id: fresh[0]!, covers: new Set(covers.map((s) => s.id)), inForce: true });
  };
  for (const s of steps) {
    if (s.op === "create") {
      const issued = await createSession(tenant, { userId: s.user });
      sessions.push({ id: issued.session.id, user: s.user, token: issued.token });
    } else if (s.op === "grow") {
      shards = Math.min(shards * 2, 4);
      expect((await call("PUT", `/v1/tenants/${tenant}`, { body: { shards } })).status).toBe(200);
    } else if (s.op === "killUser") {
      const response = await withCut(tenant, shards, s.cut, "DELETE", `/v1/tenants/${tenant}/users/${s.user}/sessions`);
      await kill(
        response,
        sessions.filter((session) => session.user === s.user),
      );
    } else if (s.op === "killTenant") {
      await kill(await withCut(tenant, shards, s.cut, "DELETE", `/v1/tenants/${tenant}/sessions`), [...sessions]);
    } else if (s.op === "killOne" && sessions.length > 0) {
      const target = sessions[s.pick % sessions.length]!;
      const response = await call("DELETE", `/v1/tenants/${tenant}/sessions/${target.id}`);
      if (live(target)) await kill(response, [target]);
      else expect(response.status).toBe(404);
    } else if (s.op === "undo" && kills.length > 0) {
      const undone = kills[s.pick % kills.length]!;
      const before = sessions.filter(live).length;
      const response = await withCut(tenant, shards, s.cut, "POST", `/v1/tenants/${tenant}/kills/${undone.id}/undo`);
      if (!undone.inForce) {
        expect(response.status).toBe(409);
        continue;
      }
      undone.inForce = false;
      const restored = sessions.filter(live).length - before;
      if (response.status === 200) expect(await json<{ restored: number }>(response)).toMatchObject({ restored });
      else {
        expect(response.status).toBe(503);
        await settle(tenant);
      }
    }
  }
  await settle(tenant);
  for (const session of sessions)
    expect([session.id, await status(session.token)]).toEqual([session.id, live(session) ? 200 : 401]);
  const counted = await json<{ tenant: { counts: { sessions: number } } }>(await call("GET", `/v1/tenants/${tenant}`));
  expect(counted.tenant.counts.sessions).toBe(sessions.filter(live).length);
}

describe("kills and undos against a model", () => {
  it("every session is live or ended as the model says, through growth and stores out of reach", {
    timeout: 300_000,
  }, async () => {
    await fc.assert(fc.asyncProperty(fc.array(step, { minLength: 4, maxLength: 20 }), run), { numRuns: 40 });
  });
});
