// OpenID Connect Back-Channel Logout 1.0 at the receiver: a logout token validated as section 2.6
// says, ending the sessions its `sid` names (or, with `sub` alone, every session of that user
// from that provider), at once and on every shard; answered 200 or 400 `invalid_request`,
// the same token twice ending nothing more, and every refusal recorded without the token.

import { runInDurableObject } from "cloudflare:test";
import { shardOf } from "../src/core/placement";
import { describe, expect, it } from "vitest";
import { call, createSession, createTenant, SHARD_COUNTS, status, storeStub, type IssuedBody } from "./helpers";
import { connect } from "./support/live-socket";
import { logoutClaims, logoutForm, newProvider, postLogout, register, type TestProvider } from "./support/provider";

async function tenantWithProvider(shards = 1): Promise<{ tenant: string; provider: TestProvider }> {
  const tenant = await createTenant(shards === 1 ? {} : { shards });
  const provider = await newProvider();
  expect((await register(tenant, "corp", provider)).status).toBe(201);
  return { tenant, provider };
}

function linked(tenant: string, userId: string, sub: string, sid?: string): Promise<IssuedBody> {
  return createSession(tenant, { userId, idp: { provider: "corp", sub, ...(sid !== undefined && { sid }) } });
}

async function events(
  tenant: string,
): Promise<{ type: string; reason?: string; provider?: string; sessionId?: string; actor: string }[]> {
  const response = await call("GET", `/v1/tenants/${tenant}/events?limit=1000`);
  return ((await response.json()) as { events: never[] }).events;
}

describe("POST .../identity-providers/:id/backchannel-logout", () => {
  for (const shards of SHARD_COUNTS) {
    it(`ends the sessions of the token's sid at once, and nothing else (${shards} shard${shards > 1 ? "s" : ""})`, async () => {
      const { tenant, provider } = await tenantWithProvider(shards);
      const ended = await linked(tenant, "alice", "sub-alice", "sid-1");
      const otherSid = await linked(tenant, "alice", "sub-alice", "sid-2");
      const notLinked = await createSession(tenant, { userId: "alice" });
      const bob = await linked(tenant, "bob", "sub-bob", "sid-1b");
      const live = await connect(ended.token);

      const token = await provider.sign(logoutClaims(provider, { sub: "sub-alice", sid: "sid-1" }), {
        typ: "logout+jwt",
      });
      const response = await postLogout(tenant, "corp", logoutForm(token));
      expect(response.status).toBe(200);
      expect(response.headers.get("Cache-Control")).toBe("no-store");
      expect(await response.text()).toBe("");

      expect(await status(ended.token)).toBe(401);
      for (const kept of [otherSid, notLinked, bob]) expect(await status(kept.token)).toBe(200);
      await expect.poll(() => live.messages.length).toBe(1);
      expect(JSON.parse(live.messages[0]!)).toMatchObject({ type: "revoked" });

      const recorded = await events(tenant);
      expect(recorded.find((event) => event.type === "revoked" && event.reason === "idp")).toMatchObject({
        sessionId: ended.session.id,
        actor: "idp:corp",
        provider: "corp",
      });
      expect(recorded.find((event) => event.type === "signal_received")).toMatchObject({
        reason: "backchannel_logout",
        provider: "corp",
      });
    });

    it(`with sub alone ends every session of that user from that provider, only those (${shards} shard${shards > 1 ? "s" : ""})`, async () => {
      const { tenant, provider } = await tenantWithProvider(shards);
      const first = await linked(tenant, "alice", "sub-alice", "sid-1");
      const second = await linked(tenant, "alice", "sub-alice");
      const notLinked = await createSession(tenant, { userId: "alice" });
      const token = await provider.sign(logoutClaims(provider, { sub: "sub-alice" }));
      expect((await postLogout(tenant, "corp", logoutForm(token))).status).toBe(200);
      expect(await status(first.token)).toBe(401);
      expect(await status(second.token)).toBe(401);
      expect(await status(notLinked.token)).toBe(200);
    });
  }

  it("asks only the stores of the linked user on a 16-shard tenant, and the kill can be undone", async () => {
    const { tenant, provider } = await tenantWithProvider(16);
    const sessions = await Promise.all(
      ["a", "b", "c", "d"].map((user) => linked(tenant, user, `sub-${user}`, `sid-${user}`)),
    );
    const token = await provider.sign(logoutClaims(provider, { sid: "sid-c" }));
    expect((await postLogout(tenant, "corp", logoutForm(token))).status).toBe(200);
    const changes = await runInDurableObject(storeStub(tenant, 0), (_instance, state) =>
      state.storage.sql
        .exec<{ id: string; kind: string; shards: string }>("SELECT id, kind, shards FROM changes")
        .toArray(),
    );
    expect(changes).toHaveLength(1);
    expect(changes[0]!.kind).toBe("idp");
    // The linked user's stores: its shard under each count the tenant had (1, then 16), not all 16.
    expect(JSON.parse(changes[0]!.shards)).toEqual([0, shardOf("c", 16)]);
    expect(await Promise.all(sessions.map((session) => status(session.token)))).toEqual([200, 200, 401, 200]);
    const undone = await call("POST", `/v1/tenants/${tenant}/kills/${changes[0]!.id}/undo`, { body: {} });
    expect(await undone.json()).toMatchObject({ restored: 1 });
    expect(await status(sessions[2]!.token)).toBe(200);
  });

  it("answers the same token again the same way, and ends nothing more; another token with its jti is refused", async () => {
    const { tenant, provider } = await tenantWithProvider();
    const first = await linked(tenant, "alice", "sub-alice", "sid-1");
    const claims = logoutClaims(provider, { sid: "sid-1" });
    const token = await provider.sign(claims);
    expect((await postLogout(tenant, "corp", logoutForm(token))).status).toBe(200);
    // A session made since with the same sid is not the one the provider ended.
    const later = await linked(tenant, "alice", "sub-alice", "sid-1");
    expect((await postLogout(tenant, "corp", logoutForm(token))).status).toBe(200);
    expect(await status(first.token)).toBe(401);
    expect(await status(later.token)).toBe(200);
    const reused = await provider.sign({ ...claims, sid: "sid-2" });
    const refused = await postLogout(tenant, "corp", logoutForm(reused));
    expect(refused.status).toBe(400);
    expect(await refused.json()).toEqual({
      error: "invalid_request",
      error_description: "this jti was already used by another token",
    });
    const recorded = await events(tenant);
    expect(recorded.filter((event) => event.type === "signal_received")).toHaveLength(1);
    expect(recorded.filter((event) => event.type === "revoked")).toHaveLength(1);
    expect(recorded.find((event) => event.type === "signal_refused")).toMatchObject({ reason: "replayed" });
  });

  it("answers 200 for a subject or session it does not know, as for one it does", async () => {
    const { tenant, provider } = await tenantWithProvider();
    const token = await provider.sign(logoutClaims(provider, { sub: "nobody", sid: "nothing" }));
    expect((await postLogout(tenant, "corp", logoutForm(token))).status).toBe(200);
  });

  it("refuses every malformed or untrustworthy token with 400 invalid_request, ends nothing, and records why without the token", async () => {
    const { tenant, provider } = await tenantWithProvider();
    const session = await linked(tenant, "alice", "sub-alice", "sid-1");
    const stranger = await newProvider();
    const now = Math.floor(Date.now() / 1000);
    const base = () => logoutClaims(provider, { sub: "sub-alice", sid: "sid-1" });
    const none = `${btoa(JSON.stringify({ alg: "none" })).replace(/=+$/, "")}.${btoa(JSON.stringify(base())).replace(/=+$/, "")}.`;
    const cases: [string, string | Promise<string>, string][] = [
      ["signed by another key", stranger.sign(base(), { kid: provider.kid }), "bad_signature"],
      ["alg none", none, "bad_signature"],
      ["expired", provider.sign({ ...base(), exp: now - 120 }), "invalid_claims"],
      ["iat too old", provider.sign({ ...base(), iat: now - 3600 }), "invalid_claims"],
      ["iat in the future", provider.sign({ ...base(), iat: now + 3600 }), "invalid_claims"],
      ["no iat", provider.sign({ ...base(), iat: undefined }), "invalid_claims"],
      ["a nonce", provider.sign({ ...base(), nonce: "n" }), "invalid_claims"],
      ["neither sub nor sid", provider.sign({ ...base(), sub: undefined, sid: undefined }), "invalid_claims"],
      ["no logout event", provider.sign({ ...base(), events: { "urn:other": {} } }), "invalid_claims"],
      ["no events", provider.sign({ ...base(), events: undefined }), "invalid_claims"],
      ["no jti", provider.sign({ ...base(), jti: undefined }), "invalid_claims"],
      ["another issuer", provider.sign({ ...base(), iss: "https://evil.example.com" }), "invalid_issuer"],
      ["another audience", provider.sign({ ...base(), aud: "client-2" }), "invalid_audience"],
      ["an ID token's typ", provider.sign(base(), { typ: "at+jwt" }), "invalid_claims"],
      ["an unknown kid", provider.sign(base(), { kid: "nope" }), "unknown_key"],
      ["not a JWT", "abc.def", "malformed"],
    ];
    const tokens: string[] = [];
    for (const [what, pending] of cases) {
      const token = await pending;
      tokens.push(token);
      const response = await postLogout(tenant, "corp", logoutForm(token));
      expect(response.status, what).toBe(400);
      const body = (await response.json()) as { error: string; error_description: string };
      expect(body.error, what).toBe("invalid_request");
      expect(body.error_description.length, what).toBeGreaterThan(0);
    }
    expect(await status(session.token)).toBe(200);
    // Each reason audited at most once a minute (a flood of bad tokens must not push the real
    // events out of the log), naming the provider, never the token.
    const reasons = new Set(cases.map(([, , reason]) => reason));
    const refusals = (await events(tenant)).filter((event) => event.type === "signal_refused");
    expect(new Set(refusals.map((event) => event.reason))).toEqual(reasons);
    expect(refusals).toHaveLength(reasons.size);
    for (const event of refusals) expect(event).toMatchObject({ provider: "corp", actor: "idp:corp" });
    for (const token of tokens) expect(JSON.stringify(refusals)).not.toContain(token.slice(0, 20));
  });

  it("refuses a body that is not one logout_token in a form: other types, two tokens, none, a huge body", async () => {
    const { tenant, provider } = await tenantWithProvider();
    const token = await provider.sign(logoutClaims(provider, { sid: "sid-1" }));
    const cases: [string, string][] = [
      [logoutForm(token), "application/json"],
      [`logout_token=${token}&logout_token=${token}`, "application/x-www-form-urlencoded"],
      ["other=1", "application/x-www-form-urlencoded"],
      [`logout_token=${"a".repeat(17_000)}`, "application/x-www-form-urlencoded"],
    ];
    for (const [form, type] of cases) {
      const response = await postLogout(tenant, "corp", form, type);
      expect(response.status).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe("invalid_request");
    }
  });

  it("refuses a provider the tenant does not have, and a tenant that does not exist, alike", async () => {
    const { tenant, provider } = await tenantWithProvider();
    const token = await provider.sign(logoutClaims(provider, { sid: "sid-1" }));
    const unknownProvider = await postLogout(tenant, "other", logoutForm(token));
    const unknownTenant = await postLogout("no-such-tenant-xyz", "corp", logoutForm(token));
    for (const response of [unknownProvider, unknownTenant]) {
      expect(response.status).toBe(400);
      expect(await response.json()).toEqual({
        error: "invalid_request",
        error_description: "no such identity provider for this tenant",
      });
    }
    // A provider's name in the path is the sender's choice: refusing it leaves no audit event.
    expect((await events(tenant)).filter((event) => event.type === "signal_refused")).toEqual([]);
  });
});

describe("the provider's keys", () => {
  it("are cached for their max-age, and fetched again for an unknown kid at most once a minute", async () => {
    const tenant = await createTenant();
    const provider = await newProvider();
    await provider.publish({ maxAge: 3600 });
    expect((await register(tenant, "corp", provider)).status).toBe(201);
    const registered = await provider.hits();
    for (let i = 0; i < 3; i++) {
      const token = await provider.sign(logoutClaims(provider, { sid: `s-${i}` }));
      expect((await postLogout(tenant, "corp", logoutForm(token))).status).toBe(200);
    }
    expect(await provider.hits()).toBe(registered); // the registration's fetch serves them all
    // The provider rotates to a new key; the last fetch was more than a minute ago.
    const rotated = await newProvider();
    await provider.publish({ maxAge: 3600, extra: [rotated.publicJwk] });
    await runInDurableObject(storeStub(tenant, 0), (_instance, state) => {
      state.storage.sql.exec("UPDATE identity_providers SET jwks_attempted_at = ?", Date.now() - 61_000);
    });
    const signedByNew = await rotated.sign(logoutClaims(provider, { sid: "s-new" }));
    expect((await postLogout(tenant, "corp", logoutForm(signedByNew))).status).toBe(200);
    expect(await provider.hits()).toBe(registered + 1);
    // Unknown kids within the minute after do not make the service fetch again.
    for (let i = 0; i < 3; i++) {
      const unknown = await provider.sign(logoutClaims(provider, { sid: "s" }), { kid: `missing-${i}` });
      expect((await postLogout(tenant, "corp", logoutForm(unknown))).status).toBe(400);
    }
    expect(await provider.hits()).toBe(registered + 1);
  });

  it("past their max-age are fetched again before use", async () => {
    const { tenant, provider } = await tenantWithProvider();
    const registered = await provider.hits();
    await runInDurableObject(storeStub(tenant, 0), (_instance, state) => {
      state.storage.sql.exec("UPDATE identity_providers SET jwks_expires_at = ?", Date.now() - 1);
    });
    // Fetched within the last minute (at registration): the stale keys serve meanwhile.
    const early = await provider.sign(logoutClaims(provider, { sid: "s0" }));
    expect((await postLogout(tenant, "corp", logoutForm(early))).status).toBe(200);
    expect(await provider.hits()).toBe(registered);
    await runInDurableObject(storeStub(tenant, 0), (_instance, state) => {
      state.storage.sql.exec("UPDATE identity_providers SET jwks_attempted_at = ?", Date.now() - 61_000);
    });
    const token = await provider.sign(logoutClaims(provider, { sid: "s" }));
    expect((await postLogout(tenant, "corp", logoutForm(token))).status).toBe(200);
    expect(await provider.hits()).toBe(registered + 1);
  });

  it("that cannot be fetched when needed answer 503 with Retry-After: the provider sends it again", async () => {
    const { tenant, provider } = await tenantWithProvider();
    const session = await linked(tenant, "alice", "sub-alice", "sid-1");
    await runInDurableObject(storeStub(tenant, 0), (_instance, state) => {
      state.storage.sql.exec("UPDATE identity_providers SET jwks = NULL, jwks_expires_at = NULL");
    });
    await provider.unpublish();
    const token = await provider.sign(logoutClaims(provider, { sid: "sid-1" }));
    const response = await postLogout(tenant, "corp", logoutForm(token));
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("5");
    expect(((await response.json()) as { error: string }).error).toBe("temporarily_unavailable");
    expect((await events(tenant)).find((event) => event.type === "signal_refused")).toMatchObject({
      reason: "keys_unavailable",
    });
    await provider.publish();
    expect((await postLogout(tenant, "corp", logoutForm(token))).status).toBe(200);
    expect(await status(session.token)).toBe(401);
  });
});
