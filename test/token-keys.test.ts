// The per-tenant emergency lever: retiring one tenant's session token keys ends every session
// of that tenant at the front Worker, in one request and with no store call, and a restore
// within the tenant's undo window brings them back. Other tenants are untouched throughout.

import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { changesAfter } from "../durable-objects/key-ring/token-generations";
import { keyRing } from "../durable-objects/stubs";
import { REFRESH_MS, isRetired, tokenGenerations } from "../src/worker/token-generations";
import { ADMIN_KEY, COOKIE_NAME, countingWorker, createSession, createTenant, errorOf } from "./helpers";

const ADMIN = { Authorization: `Bearer ${ADMIN_KEY}` };

function cookie(token: string): RequestInit {
  return { headers: { Cookie: `${COOKIE_NAME}=${token}` } };
}

/** A session made through `front`, which mints under the generation that isolate knows. */
async function createVia(
  front: ReturnType<typeof isolate>,
  tenant: string,
  userId: string,
): Promise<{ token: string }> {
  const created = await front.fetch(`/v1/tenants/${tenant}/sessions`, {
    method: "POST",
    headers: { ...ADMIN, "Content-Type": "application/json" },
    body: JSON.stringify({ userId }),
  });
  expect(created.status).toBe(201);
  return (await created.json()) as { token: string };
}

interface KeysBody {
  keys: { tenant: string; generation: number; floor: number; retiredBy: string | null; restorable: boolean };
}

/** The Worker as one isolate sees it: the KeyRing reached through a binding of its own, so its copy of the generations is its own. */
function isolate(keyRingBinding: Env["KEY_RING"] = wrap(env.KEY_RING)) {
  return countingWorker({ KEY_RING: keyRingBinding });
}

function wrap(namespace: Env["KEY_RING"]): Env["KEY_RING"] {
  return {
    idFromName: (name: string) => namespace.idFromName(name),
    get: (id: DurableObjectId) => namespace.get(id),
  } as unknown as Env["KEY_RING"];
}

describe("retiring a tenant's token keys", () => {
  it("refuses every token of the tenant at the front Worker, in one request, with no store call; new sessions work", async () => {
    const front = isolate();
    const tenant = await createTenant({ shards: 16 });
    const bystander = await createTenant();
    const before = await Promise.all(["ann", "bob", "cat"].map((userId) => createSession(tenant, { userId })));
    const other = await createSession(bystander, { userId: "dan" });
    for (const issued of before) expect((await front.fetch("/v1/session", cookie(issued.token))).status).toBe(200);

    const beforeRetiring = front.uses();
    const retired = await front.fetch(`/v1/tenants/${tenant}/token-keys/retire`, { method: "POST", headers: ADMIN });
    expect(retired.status).toBe(200);
    expect(front.uses(), "the retirement called no store: it works when they are down").toBe(beforeRetiring);
    expect(((await retired.json()) as KeysBody).keys).toMatchObject({
      tenant,
      generation: 1,
      floor: 1,
      retiredBy: "admin",
      restorable: true,
    });

    const uses = front.uses();
    for (const issued of before) {
      const refused = await front.fetch("/v1/session", cookie(issued.token));
      expect(refused.status).toBe(401);
      expect((await errorOf(refused)).code).toBe("invalid_token");
      const rotated = await front.fetch("/v1/session/rotate", { method: "POST", ...cookie(issued.token) });
      expect(rotated.status).toBe(401);
    }
    expect(front.uses(), "no store was called for a retired token").toBe(uses);

    // Another tenant's sessions, and the tenant's new ones (minted under the next generation), work.
    expect((await front.fetch("/v1/session", cookie(other.token))).status).toBe(200);
    const { token } = await createVia(front, tenant, "ann");
    expect(token.startsWith(`v3.${tenant}.`)).toBe(true);
    expect(token.split(".")[3]).toBe("1");
    const rotated = await front.fetch("/v1/session/rotate", { method: "POST", ...cookie(token) });
    expect(rotated.status).toBe(200);
    const next = ((await rotated.json()) as { token: string }).token;
    expect(next.split(".")[3], "a rotation mints under the current generation").toBe("1");
    expect((await front.fetch("/v1/session", cookie(next))).status).toBe(200);
  });

  it("restores within the undo window: the retired tokens work again, and those minted since too", async () => {
    const front = isolate();
    const tenant = await createTenant({ shards: 4 });
    const old = await createSession(tenant, { userId: "ann" });
    await front.fetch(`/v1/tenants/${tenant}/token-keys/retire`, { method: "POST", headers: ADMIN });
    const during = await createVia(front, tenant, "bob");
    expect((await front.fetch("/v1/session", cookie(old.token))).status).toBe(401);

    const restored = await front.fetch(`/v1/tenants/${tenant}/token-keys/restore`, { method: "POST", headers: ADMIN });
    expect(restored.status).toBe(200);
    expect(((await restored.json()) as KeysBody).keys).toMatchObject({ generation: 1, floor: 0, restorable: false });
    expect((await front.fetch("/v1/session", cookie(old.token))).status).toBe(200);
    expect((await front.fetch("/v1/session", cookie(during.token))).status).toBe(200);

    const again = await front.fetch(`/v1/tenants/${tenant}/token-keys/restore`, { method: "POST", headers: ADMIN });
    expect(again.status).toBe(409);
    expect((await errorOf(again)).code).toBe("already_undone");

    // A second retirement refuses both generations; its restore brings back the second only.
    await front.fetch(`/v1/tenants/${tenant}/token-keys/retire`, { method: "POST", headers: ADMIN });
    const third = await createVia(front, tenant, "cat");
    expect(third.token.split(".")[3]).toBe("2");
    for (const issued of [old, during])
      expect((await front.fetch("/v1/session", cookie(issued.token))).status).toBe(401);
    await front.fetch(`/v1/tenants/${tenant}/token-keys/restore`, { method: "POST", headers: ADMIN });
    for (const issued of [old, during, third])
      expect((await front.fetch("/v1/session", cookie(issued.token))).status).toBe(200);
  });

  it("refuses a restore after the tenant's undo window, and the tokens stay retired", async () => {
    const front = isolate();
    const tenant = await createTenant({ undoWindowSeconds: 0 });
    const old = await createSession(tenant, { userId: "ann" });
    await front.fetch(`/v1/tenants/${tenant}/token-keys/retire`, { method: "POST", headers: ADMIN });
    await new Promise((resolve) => setTimeout(resolve, 5));
    const late = await front.fetch(`/v1/tenants/${tenant}/token-keys/restore`, { method: "POST", headers: ADMIN });
    expect(late.status).toBe(409);
    expect((await errorOf(late)).code).toBe("undo_window_passed");
    expect((await front.fetch("/v1/session", cookie(old.token))).status).toBe(401);
    const shown = (await (
      await front.fetch(`/v1/tenants/${tenant}/token-keys`, { headers: ADMIN })
    ).json()) as KeysBody;
    expect(shown.keys, "past the window, nothing can be restored").toMatchObject({
      generation: 1,
      floor: 1,
      restorable: false,
    });
  });

  it("ends a session logged out with a retired token: a restore does not bring it back", async () => {
    const front = isolate();
    const tenant = await createTenant();
    const [ended, kept] = [await createVia(front, tenant, "ann"), await createVia(front, tenant, "bob")];
    await front.fetch(`/v1/tenants/${tenant}/token-keys/retire`, { method: "POST", headers: ADMIN });
    const logout = await front.fetch("/v1/session", { method: "DELETE", ...cookie(ended.token) });
    expect(logout.status).toBe(204);
    await front.fetch(`/v1/tenants/${tenant}/token-keys/restore`, { method: "POST", headers: ADMIN });
    expect((await front.fetch("/v1/session", cookie(ended.token))).status).toBe(401);
    expect((await front.fetch("/v1/session", cookie(kept.token))).status).toBe(200);
  });

  it("keeps a token's generation through a rotation on an isolate that has not heard of the retirement", async () => {
    const tenant = await createTenant();
    const [heard, stale] = [isolate(), isolate()];
    const before = await createVia(stale, tenant, "ann"); // the stale isolate's copy: generation 0
    expect((await stale.fetch("/v1/session", cookie(before.token))).status).toBe(200);
    await heard.fetch(`/v1/tenants/${tenant}/token-keys/retire`, { method: "POST", headers: ADMIN });
    const after = await createVia(heard, tenant, "bob");
    expect(after.token.split(".")[3]).toBe("1");
    const rotated = await stale.fetch("/v1/session/rotate", { method: "POST", ...cookie(after.token) });
    expect(rotated.status).toBe(200);
    const next = ((await rotated.json()) as { token: string }).token;
    expect(next.split(".")[3], "never minted below the token's own generation").toBe("1");
    expect((await heard.fetch("/v1/session", cookie(next))).status).toBe(200);
  });

  it("answers bad input with a clear 4xx and changes nothing", async () => {
    const front = isolate();
    const tenant = await createTenant();
    const issued = await createSession(tenant, { userId: "ann" });
    const minted = await front.fetch(`/v1/tenants/${tenant}/keys`, { method: "POST", headers: ADMIN });
    const tenantKey = ((await minted.json()) as { key: string }).key;
    const cases: [string, Record<string, string>, number, string][] = [
      [`/v1/tenants/${tenant}/token-keys/retire`, {}, 401, "unauthorized"],
      [`/v1/tenants/${tenant}/token-keys/retire`, { Authorization: `Bearer ${tenantKey}` }, 403, "forbidden"],
      [`/v1/tenants/${tenant}/token-keys/restore`, { Authorization: `Bearer ${tenantKey}` }, 403, "forbidden"],
      ["/v1/tenants/Not_A_Name/token-keys/retire", ADMIN, 400, "bad_request"],
      ["/v1/tenants/no-such-tenant-here/token-keys/retire", ADMIN, 404, "tenant_not_found"],
      ["/v1/tenants/no-such-tenant-here/token-keys/restore", ADMIN, 404, "tenant_not_found"],
      [`/v1/tenants/${tenant}/token-keys/restore`, ADMIN, 409, "already_undone"],
    ];
    for (const [path, headers, status, code] of cases) {
      const response = await front.fetch(path, { method: "POST", headers });
      expect(response.status, path).toBe(status);
      expect((await errorOf(response)).code, path).toBe(code);
    }
    const read = await front.fetch(`/v1/tenants/${tenant}/token-keys`, {
      headers: { Authorization: `Bearer ${tenantKey}` },
    });
    expect(read.status).toBe(403);
    const shown = (await (
      await front.fetch(`/v1/tenants/${tenant}/token-keys`, { headers: ADMIN })
    ).json()) as KeysBody;
    expect(shown.keys).toMatchObject({ generation: 0, floor: 0, retiredBy: null, restorable: false });
    expect((await front.fetch("/v1/session", cookie(issued.token))).status).toBe(200);
  });
});

describe("how a retirement reaches every isolate", () => {
  it(`reaches an isolate that did not make it within ${REFRESH_MS / 1000} s, asking the KeyRing only for changes`, async () => {
    const tenant = await createTenant();
    const other = isolate().env;
    const t0 = Date.now();
    const first = await tokenGenerations(other, t0);
    expect(first.ok && isRetired(first.generations, tenant, 0)).toBe(false);

    const retired = await isolate().fetch(`/v1/tenants/${tenant}/token-keys/retire`, {
      method: "POST",
      headers: ADMIN,
    });
    expect(retired.status).toBe(200);
    const stale = await tokenGenerations(other, t0 + REFRESH_MS - 1);
    expect(stale.ok && isRetired(stale.generations, tenant, 0), "its copy serves until it is due").toBe(false);
    const heard = await tokenGenerations(other, t0 + REFRESH_MS);
    expect(heard.ok && isRetired(heard.generations, tenant, 0)).toBe(true);
    expect(heard.ok && isRetired(heard.generations, tenant, 1)).toBe(false);
  });

  it("keeps serving its copy while the KeyRing cannot be reached; an isolate without one answers 503", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant, { userId: "ann" });
    let reachable = true;
    const flaky = {
      idFromName: (name: string) => env.KEY_RING.idFromName(name),
      get: (id: DurableObjectId) => {
        const stub = env.KEY_RING.get(id);
        return new Proxy(stub, {
          get: (target, property) =>
            !reachable && property === "tokenGenerations"
              ? () => Promise.reject(new Error("injected: KeyRing unreachable"))
              : Reflect.get(target, property),
        });
      },
    } as unknown as Env["KEY_RING"];
    const warm = isolate(flaky);
    const t0 = Date.now();
    expect((await tokenGenerations(warm.env, t0)).ok).toBe(true);
    reachable = false;
    const served = await tokenGenerations(warm.env, t0 + REFRESH_MS);
    expect(served.ok, "a copy is kept when the KeyRing cannot be asked").toBe(true);

    const cold = isolate(wrap(flaky));
    const refused = await cold.fetch("/v1/session", cookie(issued.token));
    expect(refused.status).toBe(503);
    expect((await errorOf(refused)).code).toBe("overloaded");
    expect(refused.headers.get("Retry-After")).toBe("1");
    expect(cold.uses(), "nor did it call a store").toBe(0);
    reachable = true;
    expect((await cold.fetch("/v1/session", cookie(issued.token))).status).toBe(200);
  });

  it("gives a copy of another history, or one ahead of the ring, every tenant rather than the changes", async () => {
    const tenant = await createTenant();
    await isolate().fetch(`/v1/tenants/${tenant}/token-keys/retire`, { method: "POST", headers: ADMIN });
    await runInDurableObject(keyRing(env), (_instance, state) => {
      const sql = state.storage.sql;
      const now = changesAfter(sql, null, 0);
      expect(now.complete).toBe(true);
      expect(now.changes).toContainEqual(expect.objectContaining({ tenant, generation: 1, floor: 1 }));
      expect(changesAfter(sql, now.epoch, now.version)).toMatchObject({ complete: false, changes: [] });
      expect(changesAfter(sql, "another-history", now.version).complete).toBe(true);
      expect(changesAfter(sql, now.epoch, now.version + 1).complete).toBe(true);
    });
  });
});
