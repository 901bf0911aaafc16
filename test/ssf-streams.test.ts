// Shared Signals streams (SSF 1.0) against a transmitter written with jose in the tests
// (test/support/provider-server.mjs): set up for poll (RFC 8936: the tenant's alarm polls,
// acknowledges what it took, reports what it refused) or for push (the transmitter is given
// this service's receiver and an Authorization value that pushes must carry).

import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, inject, it } from "vitest";
import { BASE, call, createSession, createTenant, errorOf, status, storeStub } from "./helpers";
import { RISC } from "./support/provider";

interface Transmitter {
  name: string;
  issuer: string;
  management: string;
  emit(claims: Record<string, unknown>[]): Promise<string[]>;
  received(): Promise<{
    acked: string[];
    errors: Record<string, { err: string; description: string }>;
    streams: {
      stream_id: string;
      delivery: { method: string; endpoint_url?: string; authorization_header?: string };
    }[];
    pushes: { url: string; authorization: string; token: string }[];
  }>;
}

let made = 0;
async function newTransmitter(): Promise<Transmitter> {
  made += 1;
  const name = `tr-${made}-${crypto.randomUUID().slice(0, 8)}`;
  const base = `${inject("providerServer")}/${name}`;
  const { issuer, management } = (await (
    await fetch(`${base}/transmitter`, { method: "POST", body: JSON.stringify({ audience: "client-1" }) })
  ).json()) as { issuer: string; management: string };
  return {
    name,
    issuer,
    management,
    async emit(claims) {
      const response = await fetch(`${base}/emit`, { method: "POST", body: JSON.stringify({ claims }) });
      return ((await response.json()) as { tokens: string[] }).tokens;
    },
    async received() {
      return (await (await fetch(`${base}/received`)).json()) as never;
    },
  };
}

async function setUp(method: "push" | "poll") {
  const tenant = await createTenant();
  const transmitter = await newTransmitter();
  const put = await call("PUT", `/v1/tenants/${tenant}/identity-providers/corp`, {
    body: { issuer: transmitter.issuer, audience: "client-1" },
  });
  expect(put.status).toBe(201);
  const stream = await call("POST", `/v1/tenants/${tenant}/identity-providers/corp/stream`, {
    body: { method, authorizationHeader: transmitter.management },
  });
  return { tenant, transmitter, stream };
}

/** Runs the home's alarm with the poll due now. */
async function pollNow(tenant: string): Promise<void> {
  await runInDurableObject(storeStub(tenant, 0), (_instance, state) => {
    state.storage.sql.exec("UPDATE identity_providers SET poll_next_at = ? WHERE poll_next_at IS NOT NULL", Date.now());
  });
  await runDurableObjectAlarm(storeStub(tenant, 0));
}

async function recorded(tenant: string): Promise<{ type: string; reason?: string }[]> {
  return ((await (await call("GET", `/v1/tenants/${tenant}/events?limit=1000`)).json()) as { events: never[] }).events;
}

describe("POST .../identity-providers/:id/stream", () => {
  it("sets up a poll stream: the alarm polls, acts on each event, acknowledges it, and reports what it refused", async () => {
    const { tenant, transmitter, stream } = await setUp("poll");
    expect(stream.status).toBe(201);
    expect(await stream.json()).toEqual({
      stream: {
        id: "stream-1",
        method: "poll",
        status: "enabled",
        eventsDelivered: expect.arrayContaining([`${RISC}account-disabled`]),
      },
    });
    const provider = (await (await call("GET", `/v1/tenants/${tenant}/identity-providers/corp`)).json()) as {
      identityProvider: {
        streamId: string;
        poll: { endpoint: string; intervalSeconds: number; failure: string | null };
      };
    };
    expect(provider.identityProvider.streamId).toBe("stream-1");
    expect(provider.identityProvider.poll).toMatchObject({
      endpoint: `${transmitter.issuer}/poll`,
      intervalSeconds: 300,
      failure: null,
    });

    const alice = await createSession(tenant, { userId: "alice", idp: { provider: "corp", sub: "sub-a" } });
    const bob = await createSession(tenant, { userId: "bob", idp: { provider: "corp", sub: "sub-b" } });
    const subject = { format: "iss_sub", iss: transmitter.issuer, sub: "sub-a" };
    const [disabled, misaddressed] = await transmitter.emit([
      { sub_id: subject, events: { [`${RISC}account-disabled`]: {} } },
      { sub_id: subject, aud: "someone-else", events: { [`${RISC}account-disabled`]: {} } },
    ]);
    await pollNow(tenant);
    expect(await status(alice.token)).toBe(401);
    expect(await status(bob.token)).toBe(200);
    const received = (await recorded(tenant)).filter((event) => event.type === "signal_received").map((e) => e.reason);
    expect(received.sort()).toEqual(["risc.account-disabled", "ssf.verification"]);

    // The next poll acknowledges what this one took, and reports the token it refused.
    await pollNow(tenant);
    const seen = await transmitter.received();
    const jti = (token: string) => (JSON.parse(atob(token.split(".")[1]!)) as { jti: string }).jti;
    expect(seen.acked).toContain(jti(disabled!));
    expect(seen.acked).toHaveLength(2); // the verification event and the disabled account
    expect(seen.errors).toEqual({
      [jti(misaddressed!)]: { err: "invalid_audience", description: "aud does not name this receiver" },
    });
  });

  it("sets up a push stream: the transmitter gets this receiver's URL and an Authorization value that pushes must carry", async () => {
    const { tenant, transmitter, stream } = await setUp("push");
    expect(stream.status).toBe(201);
    expect(((await stream.json()) as { stream: { method: string } }).stream.method).toBe("push");
    const seen = await transmitter.received();
    const delivery = seen.streams[0]!.delivery;
    expect(delivery).toMatchObject({
      method: "urn:ietf:rfc:8935",
      endpoint_url: `${BASE}/v1/tenants/${tenant}/identity-providers/corp/events`,
    });
    expect(delivery.authorization_header).toMatch(/^Bearer [A-Za-z0-9_-]{43}$/);
    // The verification event the transmitter would push: refused without the value, taken with it.
    const [push] = seen.pushes;
    const post = (authorization?: string) =>
      call("POST", `/v1/tenants/${tenant}/identity-providers/corp/events`, {
        key: null,
        rawBody: push!.token,
        headers: { "Content-Type": "application/secevent+jwt", ...(authorization && { Authorization: authorization }) },
      });
    expect((await post()).status).toBe(401);
    expect((await post(push!.authorization)).status).toBe(202);
    expect((await recorded(tenant)).find((event) => event.type === "signal_received")).toMatchObject({
      reason: "ssf.verification",
    });
    const provider = (await (await call("GET", `/v1/tenants/${tenant}/identity-providers/corp`)).json()) as {
      identityProvider: { pushAuthorization: boolean; poll: unknown };
    };
    expect(provider.identityProvider).toMatchObject({ pushAuthorization: true, poll: null });
  });

  it("refuses a bad body, an unknown provider, and a transmitter that refuses the credential, changing nothing", async () => {
    const tenant = await createTenant();
    const transmitter = await newTransmitter();
    await call("PUT", `/v1/tenants/${tenant}/identity-providers/corp`, {
      body: { issuer: transmitter.issuer, audience: "client-1" },
    });
    const path = `/v1/tenants/${tenant}/identity-providers/corp/stream`;
    for (const [body, field] of [
      [{ authorizationHeader: "x" }, "method"],
      [{ method: "email", authorizationHeader: "x" }, "method"],
      [{ method: "poll" }, "authorizationHeader"],
      [{ method: "push", authorizationHeader: "x", intervalSeconds: 60 }, "intervalSeconds"],
      [{ method: "poll", authorizationHeader: "x", other: 1 }, "other"],
    ] as const) {
      const response = await call("POST", path, { body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await errorOf(response)).field).toBe(field);
    }
    const unknown = await call("POST", `/v1/tenants/${tenant}/identity-providers/other/stream`, {
      body: { method: "poll", authorizationHeader: transmitter.management },
    });
    expect(unknown.status).toBe(404);
    const refused = await call("POST", path, { body: { method: "poll", authorizationHeader: "Bearer wrong" } });
    expect(refused.status).toBe(400);
    expect((await errorOf(refused)).code).toBe("discovery_failed");
    const provider = (await (await call("GET", `/v1/tenants/${tenant}/identity-providers/corp`)).json()) as {
      identityProvider: { streamId: string | null; poll: unknown };
    };
    expect(provider.identityProvider).toMatchObject({ streamId: null, poll: null });
  });
});

describe("poll settings on the provider", () => {
  it("polls the endpoint PUT names, and shows why a poll failed", async () => {
    const tenant = await createTenant();
    const transmitter = await newTransmitter();
    const put = await call("PUT", `/v1/tenants/${tenant}/identity-providers/corp`, {
      body: {
        issuer: transmitter.issuer,
        audience: "client-1",
        poll: { endpoint: `${transmitter.issuer}/poll`, intervalSeconds: 60, authorizationHeader: "Bearer wrong" },
      },
    });
    expect(put.status).toBe(201);
    await pollNow(tenant);
    const provider = (await (await call("GET", `/v1/tenants/${tenant}/identity-providers/corp`)).json()) as {
      identityProvider: { poll: { failure: string | null; intervalSeconds: number; nextAt: string } };
    };
    expect(provider.identityProvider.poll.intervalSeconds).toBe(60);
    expect(provider.identityProvider.poll.failure).toContain("answered 401");
    expect(Date.parse(provider.identityProvider.poll.nextAt)).toBeGreaterThan(Date.now() + 50_000);
    // The credential is kept sealed, never in clear.
    const stored = await runInDurableObject(storeStub(tenant, 0), (_instance, state) =>
      JSON.stringify(state.storage.sql.exec("SELECT * FROM identity_providers").toArray(), (_key, value) =>
        value instanceof ArrayBuffer ? new TextDecoder().decode(value) : value,
      ),
    );
    expect(stored).not.toContain("Bearer wrong");
    for (const poll of [
      { endpoint: "https://10.0.0.1/poll" },
      { endpoint: `${transmitter.issuer}/poll`, intervalSeconds: 5 },
      "x",
    ]) {
      const response = await call("PUT", `/v1/tenants/${tenant}/identity-providers/corp`, {
        body: { issuer: transmitter.issuer, audience: "client-1", poll },
      });
      expect(response.status, JSON.stringify(poll)).toBe(400);
      expect((await errorOf(response)).field).toBe("poll");
    }
  });
});

describe("a provider's stream, across changes", () => {
  it("keeps its push Authorization and poll when a PUT does not mention them; another issuer forgets them", async () => {
    const { tenant, transmitter } = await setUp("push");
    const again = await call("PUT", `/v1/tenants/${tenant}/identity-providers/corp`, {
      body: { issuer: transmitter.issuer, audience: "client-1", algorithms: ["ES256"] },
    });
    expect(again.status).toBe(200);
    const kept = (await again.json()) as { identityProvider: { pushAuthorization: boolean; streamId: string | null } };
    expect(kept.identityProvider).toMatchObject({ pushAuthorization: true, streamId: "stream-1" });
    const other = await newTransmitter();
    const moved = await call("PUT", `/v1/tenants/${tenant}/identity-providers/corp`, {
      body: { issuer: other.issuer, audience: "client-1" },
    });
    const forgotten = (await moved.json()) as {
      identityProvider: { pushAuthorization: boolean; streamId: string | null };
    };
    expect(forgotten.identityProvider).toMatchObject({ pushAuthorization: false, streamId: null });
  });

  it("refuses a poll interval out of bounds at setup", async () => {
    const tenant = await createTenant();
    const transmitter = await newTransmitter();
    await call("PUT", `/v1/tenants/${tenant}/identity-providers/corp`, {
      body: { issuer: transmitter.issuer, audience: "client-1" },
    });
    for (const intervalSeconds of [0, -5, 1.5, 29, 3601]) {
      const response = await call("POST", `/v1/tenants/${tenant}/identity-providers/corp/stream`, {
        body: { method: "poll", authorizationHeader: transmitter.management, intervalSeconds },
      });
      expect(response.status, String(intervalSeconds)).toBe(400);
      expect((await errorOf(response)).field).toBe("intervalSeconds");
    }
  });

  it("neither acknowledges nor refuses an event while the provider's keys cannot be read: it comes again", async () => {
    const { tenant, transmitter } = await setUp("poll");
    await pollNow(tenant); // the verification event, taken
    const subject = { format: "iss_sub", iss: transmitter.issuer, sub: "sub-a" };
    await transmitter.emit([{ sub_id: subject, events: { [`${RISC}account-disabled`]: {} } }]);
    await fetch(`${transmitter.issuer}/jwks`, { method: "DELETE" });
    await runInDurableObject(storeStub(tenant, 0), (_instance, state) => {
      state.storage.sql.exec("UPDATE identity_providers SET jwks = NULL, jwks_expires_at = NULL");
    });
    await pollNow(tenant);
    await pollNow(tenant);
    const seen = await transmitter.received();
    expect(seen.acked).toHaveLength(1); // the verification event only
    expect(seen.errors).toEqual({});
  });
});
