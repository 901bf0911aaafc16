// Killing sessions: one, a user's, a tenant's, and "log out my other devices", each visible
// to the very next request over HTTP and RPC, and isolated from other users and tenants.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import type { SessionServiceBinding } from "../packages/client/src/types";
import {
  call,
  createSession,
  createTenant,
  list,
  seed,
  SHARD_COUNTS,
  status,
  tenantOf,
  withBearer,
  withToken,
  type Listed,
} from "./helpers";

const sessions: SessionServiceBinding = env.SESSIONS;

async function rpcValid(token: string): Promise<boolean> {
  return (await sessions.validate(tenantOf(token), token)).ok;
}

describe.each(SHARD_COUNTS)("kills, %i shard(s)", (shards) => {
  it("kills one session by id, at once, over HTTP and RPC", async () => {
    const tenant = await createTenant({ shards });
    const [a, b] = await seed(tenant, ["u", "u"]);
    const response = await call("DELETE", `/v1/tenants/${tenant}/sessions/${a!.session.id}`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ revoked: 1, killId: expect.any(String) });
    expect(await status(a!.token)).toBe(401);
    expect(await rpcValid(a!.token)).toBe(false);
    expect(await status(b!.token)).toBe(200);
    expect((await call("DELETE", `/v1/tenants/${tenant}/sessions/${a!.session.id}`)).status).toBe(404);
  });

  it("kills all of a user with the exact count, leaving other users and tenants alone", async () => {
    const tenant = await createTenant({ shards });
    const other = await createTenant({ shards });
    const mine = await seed(tenant, ["victim", "victim", "victim", "bystander"]);
    const elsewhere = await seed(other, ["victim"]);
    const response = await call("DELETE", `/v1/tenants/${tenant}/users/victim/sessions`);
    expect(await response.json()).toEqual({ revoked: 3, killId: expect.any(String) });
    for (const s of mine.slice(0, 3)) {
      expect(await status(s.token)).toBe(401);
      expect(await rpcValid(s.token)).toBe(false);
      expect((await call("POST", "/v1/session/rotate", withBearer(s.token))).status).toBe(401);
    }
    expect(await status(mine[3]!.token)).toBe(200);
    expect(await status(elsewhere[0]!.token)).toBe(200);
    const fresh = await createSession(tenant, { userId: "victim" });
    expect(await status(fresh.token)).toBe(200);
    expect(await (await call("DELETE", `/v1/tenants/${tenant}/users/nobody/sessions`)).json()).toEqual({
      revoked: 0,
      killId: expect.any(String),
    });
  });

  it("kills a user whose id needs escaping in the path", async () => {
    const tenant = await createTenant({ shards });
    const [s] = await seed(tenant, ["team/alice@example.com"]);
    const response = await call(
      "DELETE",
      `/v1/tenants/${tenant}/users/${encodeURIComponent("team/alice@example.com")}/sessions`,
    );
    expect(await response.json()).toEqual({ revoked: 1, killId: expect.any(String) });
    expect(await status(s!.token)).toBe(401);
    expect((await call("DELETE", `/v1/tenants/${tenant}/users/%zz/sessions`)).status).toBe(400);
  });

  it("kills all of a tenant, leaving other tenants alone; new sessions work afterwards", async () => {
    const tenant = await createTenant({ shards });
    const other = await createTenant({ shards });
    const mine = await seed(tenant, ["a", "b", "c"]);
    const theirs = await seed(other, ["a"]);
    const response = await call("DELETE", `/v1/tenants/${tenant}/sessions`);
    expect(await response.json()).toEqual({ revoked: 3, killId: expect.any(String) });
    for (const s of mine) {
      expect(await status(s.token)).toBe(401);
      expect(await rpcValid(s.token)).toBe(false);
    }
    expect(await status(theirs[0]!.token)).toBe(200);
    const fresh = await createSession(tenant, { userId: "a" });
    expect(await status(fresh.token)).toBe(200);
    const listed = (await (await list(tenant)).json()) as Listed;
    expect(listed.sessions.map((s) => s.id)).toEqual([fresh.session.id]);
  });

  it("lets a tenant key kill within its tenant, and refuses it elsewhere with 403", async () => {
    const tenant = await createTenant({ shards });
    const other = await createTenant({ shards });
    const [s] = await seed(other, ["a"]);
    const { key } = (await (await call("POST", `/v1/tenants/${tenant}/keys`)).json()) as { key: string };
    expect((await call("DELETE", `/v1/tenants/${other}/sessions`, { key })).status).toBe(403);
    expect((await call("DELETE", `/v1/tenants/${other}/users/a/sessions`, { key })).status).toBe(403);
    expect((await call("DELETE", `/v1/tenants/${other}/sessions/${s!.session.id}`, { key })).status).toBe(403);
    expect(await status(s!.token)).toBe(200);
    expect((await call("DELETE", `/v1/tenants/${tenant}/sessions`, { key })).status).toBe(200);
  });
});

describe.each(SHARD_COUNTS)("the same user's sessions (self-service), %i shard(s)", (shards) => {
  it("lists the user's sessions with the current one marked, and no one else's", async () => {
    const tenant = await createTenant({ shards });
    const [a1, , a2] = await seed(tenant, ["alice", "bob", "alice"]);
    const response = await call("GET", "/v1/session/siblings", withToken(a1!.token));
    expect(response.status).toBe(200);
    const body = (await response.json()) as Listed;
    expect(body.sessions.map((s) => [s.id, s.current])).toEqual([
      [a2!.session.id, false],
      [a1!.session.id, true],
    ]);
  });

  it("kills every other session of the user and keeps the current one", async () => {
    const tenant = await createTenant({ shards });
    const [current, other1, bob, other2] = await seed(tenant, ["alice", "alice", "bob", "alice"]);
    const response = await call("DELETE", "/v1/session/siblings", withToken(current!.token));
    expect(await response.json()).toEqual({ revoked: 2, killId: expect.any(String) });
    expect(await status(current!.token)).toBe(200);
    expect(await status(other1!.token)).toBe(401);
    expect(await status(other2!.token)).toBe(401);
    expect(await status(bob!.token)).toBe(200);
  });

  it("takes the user only from the token: a body or query naming another user changes nothing", async () => {
    const tenant = await createTenant({ shards });
    const [alice, bob] = await seed(tenant, ["alice", "bob"]);
    const response = await call("DELETE", "/v1/session/siblings?userId=bob", {
      ...withToken(alice!.token),
      body: { userId: "bob" },
    });
    expect(await response.json()).toEqual({ revoked: 0, killId: expect.any(String) });
    expect(await status(bob!.token)).toBe(200);
  });

  it("refuses a cross-site cookie request to kill the others", async () => {
    const tenant = await createTenant({ allowedOrigins: ["https://app.example.com"], shards });
    const [a, b] = await seed(tenant, ["alice", "alice"]);
    const response = await call(
      "DELETE",
      "/v1/session/siblings",
      withToken(a!.token, { Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" }),
    );
    expect(response.status).toBe(403);
    expect(await status(b!.token)).toBe(200);
  });

  it("answers 401 for an invalid token", async () => {
    expect((await call("GET", "/v1/session/siblings", { key: null })).status).toBe(401);
    expect((await call("DELETE", "/v1/session/siblings", withToken("v1.acme.x.y.k1.z"))).status).toBe(401);
  });
});
