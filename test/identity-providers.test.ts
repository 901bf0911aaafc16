// A tenant's identity providers: registered by discovery (or a given key set), shown with the
// URLs to give the provider, at most 10, refused loudly when their documents cannot be read or
// their settings are unsafe; and a session's link to one, checked against the registry.

import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { usersLinked } from "../durable-objects/session-store/identity-providers-sql";
import { describe, expect, it } from "vitest";
import worker from "../src/worker/index.ts";
import { ADMIN_KEY, BASE, call, createSession, createTenant, errorOf, storeStub } from "./helpers";
import { newProvider, register } from "./support/provider";

describe("PUT /v1/tenants/:tenant/identity-providers/:id", () => {
  it("finds the key set by discovery, fetches it, and shows the provider with its receivers' URLs", async () => {
    const tenant = await createTenant();
    const provider = await newProvider();
    const response = await register(tenant, "corp", provider);
    expect(response.status).toBe(201);
    const { identityProvider, created } = (await response.json()) as {
      identityProvider: Record<string, unknown>;
      created: boolean;
    };
    expect(created).toBe(true);
    expect(identityProvider).toMatchObject({
      id: "corp",
      issuer: provider.issuer,
      audience: "client-1",
      jwksUri: provider.jwksUri,
      algorithms: ["RS256", "PS256", "ES256", "EdDSA"],
      pushAuthorization: false,
      endpoints: {
        backchannelLogout: `${BASE}/v1/tenants/${tenant}/identity-providers/corp/backchannel-logout`,
        events: `${BASE}/v1/tenants/${tenant}/identity-providers/corp/events`,
        globalTokenRevocation: `${BASE}/v1/tenants/${tenant}/identity-providers/corp/global-token-revocation`,
      },
    });
    expect(await provider.hits()).toBe(1);

    const again = await register(tenant, "corp", provider, { audience: "client-2", algorithms: ["ES256"] });
    expect(again.status).toBe(200);
    expect(((await again.json()) as { created: boolean }).created).toBe(false);
    const got = await call("GET", `/v1/tenants/${tenant}/identity-providers/corp`);
    expect(
      ((await got.json()) as { identityProvider: { audience: string; algorithms: string[] } }).identityProvider,
    ).toMatchObject({
      audience: "client-2",
      algorithms: ["ES256"],
    });
    const listed = await call("GET", `/v1/tenants/${tenant}/identity-providers`);
    expect(
      ((await listed.json()) as { identityProviders: { id: string }[] }).identityProviders.map((p) => p.id),
    ).toEqual(["corp"]);

    const deleted = await call("DELETE", `/v1/tenants/${tenant}/identity-providers/corp`);
    expect(await deleted.json()).toEqual({ deleted: "corp" });
    expect((await call("GET", `/v1/tenants/${tenant}/identity-providers/corp`)).status).toBe(404);
    expect((await call("DELETE", `/v1/tenants/${tenant}/identity-providers/corp`)).status).toBe(404);

    const events = (await (await call("GET", `/v1/tenants/${tenant}/events`)).json()) as {
      events: { type: string; provider?: string }[];
    };
    expect(events.events.filter((event) => event.provider === "corp").map((event) => event.type)).toEqual([
      "identity_provider_deleted",
      "identity_provider_saved",
      "identity_provider_saved",
    ]);
  });

  it("takes a key set URL instead of discovery, and the tenant's own key", async () => {
    const tenant = await createTenant();
    const provider = await newProvider("RS256");
    const key = (await (await call("POST", `/v1/tenants/${tenant}/keys`, { body: {} })).json()) as { key: string };
    const response = await call("PUT", `/v1/tenants/${tenant}/identity-providers/direct`, {
      key: key.key,
      body: { issuer: "https://idp.example.com", audience: "client-1", jwksUri: provider.jwksUri },
    });
    expect(response.status).toBe(201);
    const other = await createTenant();
    const refused = await call("PUT", `/v1/tenants/${other}/identity-providers/direct`, {
      key: key.key,
      body: { issuer: "https://idp.example.com", audience: "client-1", jwksUri: provider.jwksUri },
    });
    expect(refused.status).toBe(403);
  });

  it("refuses bad settings with a 400 naming the field, and registers nothing", async () => {
    const tenant = await createTenant();
    const provider = await newProvider();
    const cases: [Record<string, unknown>, string][] = [
      [{ issuer: provider.issuer, audience: "client-1", extra: 1 }, "extra"],
      [{ audience: "client-1" }, "issuer"],
      [{ issuer: "https://10.0.0.1/idp", audience: "client-1" }, "issuer"],
      [{ issuer: "https://idp.example.com/?tenant=1", audience: "client-1", jwksUri: provider.jwksUri }, "issuer"],
      [{ issuer: "ftp://idp.example.com", audience: "client-1" }, "issuer"],
      [{ issuer: provider.issuer }, "audience"],
      [{ issuer: provider.issuer, audience: "" }, "audience"],
      [{ issuer: provider.issuer, audience: "a\u0000b" }, "audience"],
      [{ issuer: provider.issuer, audience: "client-1", jwksUri: "https://169.254.169.254/keys" }, "jwksUri"],
      [{ issuer: provider.issuer, audience: "client-1", algorithms: ["HS256"] }, "algorithms"],
      [{ issuer: provider.issuer, audience: "client-1", algorithms: ["none"] }, "algorithms"],
      [{ issuer: provider.issuer, audience: "client-1", algorithms: [] }, "algorithms"],
      [{ issuer: provider.issuer, audience: "client-1", algorithms: ["ES256", "ES256"] }, "algorithms"],
      [{ issuer: provider.issuer, audience: "client-1", authorizationHeader: "" }, "authorizationHeader"],
    ];
    for (const [body, field] of cases) {
      const response = await call("PUT", `/v1/tenants/${tenant}/identity-providers/corp`, { body });
      expect(response.status, JSON.stringify(body)).toBe(400);
      expect((await errorOf(response)).field, JSON.stringify(body)).toBe(field);
    }
    const badId = await call("PUT", `/v1/tenants/${tenant}/identity-providers/Corp_1`, {
      body: { issuer: provider.issuer, audience: "client-1" },
    });
    expect(badId.status).toBe(400);
    const notJson = await call("PUT", `/v1/tenants/${tenant}/identity-providers/corp`, {
      rawBody: "{",
      headers: { "Content-Type": "application/json" },
    });
    expect(notJson.status).toBe(400);
    const listed = await call("GET", `/v1/tenants/${tenant}/identity-providers`);
    expect(await listed.json()).toEqual({ identityProviders: [] });
  });

  it("refuses a provider whose documents cannot be read: no discovery document, another issuer, no keys", async () => {
    const tenant = await createTenant();
    const provider = await newProvider();
    const missing = await call("PUT", `/v1/tenants/${tenant}/identity-providers/corp`, {
      body: { issuer: `${provider.issuer}-nobody`, audience: "client-1" },
    });
    expect(missing.status).toBe(400);
    const error = await errorOf(missing);
    expect(error.code).toBe("discovery_failed");
    expect(error.message).toContain("answered 404");
    // Discovery names the provider's own issuer: one written differently is not it.
    const otherIssuer = await call("PUT", `/v1/tenants/${tenant}/identity-providers/corp`, {
      body: { issuer: `${provider.issuer}/`, audience: "client-1" },
    });
    expect(await errorOf(otherIssuer)).toMatchObject({ code: "discovery_failed" });
    const noKeys = await call("PUT", `/v1/tenants/${tenant}/identity-providers/corp`, {
      body: { issuer: "https://idp.example.com", audience: "client-1", jwksUri: `${provider.issuer}-none/jwks` },
    });
    expect(await errorOf(noKeys)).toMatchObject({ code: "discovery_failed" });
    const privateKeys = await newProvider();
    await privateKeys.publish({ extra: [{ kty: "oct", k: "c2VjcmV0" }] });
    const symmetric = await errorOf(await register(tenant, "corp", privateKeys));
    expect(symmetric.code).toBe("discovery_failed");
    expect(symmetric.message).toContain("public RSA, EC or OKP keys only");
  });

  it("takes a loopback provider only where WEBHOOKS_ALLOW_LOOPBACK=true", async () => {
    const tenant = await createTenant();
    const provider = await newProvider();
    const request = new Request(`${BASE}/v1/tenants/${tenant}/identity-providers/corp`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ issuer: provider.issuer, audience: "client-1" }),
    });
    const refused = await worker.fetch(request, { ...env, WEBHOOKS_ALLOW_LOOPBACK: "false" });
    expect(refused.status).toBe(400);
    expect(await errorOf(refused)).toMatchObject({ field: "issuer", message: "issuer must be https" });
  });

  it("keeps at most 10 providers per tenant", async () => {
    const tenant = await createTenant();
    const provider = await newProvider();
    for (let i = 0; i < 10; i++) expect((await register(tenant, `p${i}`, provider)).status).toBe(201);
    const eleventh = await register(tenant, "p10", provider);
    expect(eleventh.status).toBe(409);
    expect(await errorOf(eleventh)).toMatchObject({ code: "too_many_identity_providers" });
    expect((await register(tenant, "p3", provider)).status).toBe(200); // a replacement is no eleventh
  });

  it("is the same over RPC", async () => {
    const tenant = await createTenant();
    const provider = await newProvider();
    const put = await env.SESSIONS.putIdentityProvider(tenant, "corp", {
      issuer: provider.issuer,
      audience: "client-1",
    });
    expect(put).toMatchObject({ ok: true, created: true, identityProvider: { id: "corp" } });
    expect(await env.SESSIONS.getIdentityProvider(tenant, "corp")).toMatchObject({ ok: true });
    expect(await env.SESSIONS.listIdentityProviders(tenant)).toMatchObject({
      ok: true,
      identityProviders: [{ id: "corp" }],
    });
    expect(await env.SESSIONS.deleteIdentityProvider(tenant, "corp")).toEqual({ ok: true, deleted: "corp" });
    expect(await env.SESSIONS.getIdentityProvider(tenant, "corp")).toMatchObject({
      ok: false,
      error: { code: "identity_provider_not_found" },
    });
  });
});

describe("a session linked to its provider", () => {
  it("shows the link, and refuses a provider the tenant does not have", async () => {
    const tenant = await createTenant();
    const provider = await newProvider();
    await register(tenant, "corp", provider);
    const issued = await createSession(tenant, { userId: "u1", idp: { provider: "corp", sub: "s-1", sid: "sid-1" } });
    expect(issued.session.idp).toEqual({ provider: "corp", sub: "s-1", sid: "sid-1" });
    const plain = await createSession(tenant, { userId: "u1" });
    expect(plain.session.idp).toBeNull();
    const unknown = await call("POST", `/v1/tenants/${tenant}/sessions`, {
      body: { userId: "u1", idp: { provider: "other", sub: "s-1" } },
    });
    expect(unknown.status).toBe(404);
    expect(await errorOf(unknown)).toMatchObject({ code: "identity_provider_not_found", field: "idp" });
    for (const idp of [
      "corp",
      { provider: "corp" },
      { provider: "corp", sub: "" },
      { provider: "corp", sub: "x".repeat(256) },
      { provider: "corp", sub: "s", sid: 1 },
      { provider: "corp", sub: "s", extra: 1 },
      { provider: "Corp!", sub: "s" },
    ]) {
      const response = await call("POST", `/v1/tenants/${tenant}/sessions`, { body: { userId: "u1", idp } });
      expect(response.status, JSON.stringify(idp)).toBe(400);
      expect((await errorOf(response)).field).toBe("idp");
    }
  });
});

describe("the links a signal finds its users by", () => {
  it("are read by an index for a session id, a subject, and an opaque id that may be either", async () => {
    const tenant = await createTenant();
    const provider = await newProvider();
    await register(tenant, "corp", provider);
    await createSession(tenant, { userId: "u1", idp: { provider: "corp", sub: "s-1", sid: "sid-1" } });
    const plans = await runInDurableObject(storeStub(tenant, 0), (_instance, state) => {
      const sql = state.storage.sql;
      const plan = (query: string, ...bindings: (string | null)[]) =>
        sql
          .exec<{ detail: string }>(`EXPLAIN QUERY PLAN ${query}`, ...bindings)
          .toArray()
          .map((row) => row.detail)
          .join("; ");
      return {
        sid: plan(
          "SELECT user_id FROM idp_links WHERE provider = ?1 AND sid = ?2 AND (?3 IS NULL OR sub = ?3)",
          "corp",
          "sid-1",
          null,
        ),
        sub: plan("SELECT user_id FROM idp_links WHERE provider = ?1 AND sub = ?2", "corp", "s-1"),
        found: [
          usersLinked(sql, { provider: "corp", sub: null, sid: "sid-1" }),
          usersLinked(sql, { provider: "corp", sub: "s-1", sid: null }),
          usersLinked(sql, { provider: "corp", sub: "sid-1", sid: "sid-1", either: true }),
          usersLinked(sql, { provider: "corp", sub: "s-1", sid: "s-1", either: true }),
          usersLinked(sql, { provider: "corp", sub: "nobody", sid: "nothing", either: true }),
        ],
      };
    });
    expect(plans.sid).toContain("idp_links_by_sid (provider=? AND sid=?)");
    expect(plans.sub).toContain("PRIMARY KEY (provider=? AND sub=?)");
    expect(plans.found).toEqual([["u1"], ["u1"], ["u1"], ["u1"], []]);
  });
});

describe("removing a provider", () => {
  it("forgets the links its sessions left, so nothing a later provider of that name says reaches them", async () => {
    const tenant = await createTenant();
    const provider = await newProvider();
    await register(tenant, "corp", provider);
    await createSession(tenant, { userId: "u1", idp: { provider: "corp", sub: "s-1", sid: "sid-1" } });
    expect((await call("DELETE", `/v1/tenants/${tenant}/identity-providers/corp`)).status).toBe(200);
    const left = await runInDurableObject(storeStub(tenant, 0), (_instance, state) =>
      usersLinked(state.storage.sql, { provider: "corp", sub: "s-1", sid: null }),
    );
    expect(left).toEqual([]);
  });
});
