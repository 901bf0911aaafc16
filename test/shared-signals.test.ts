// The Shared Signals receiver (RFC 8935 push of RFC 8417 Security Event Tokens, CAEP and RISC
// events) and Global Token Revocation (Okta's Universal Logout): what each event does to the
// sessions, the errors each standard names, and the per-provider rate limit.

import { describe, expect, it } from "vitest";
import { BASE, call, createSession, createTenant, errorOf, status } from "./helpers";
import { initiatingEntity } from "../src/core/webhooks";
import {
  BACKCHANNEL_LOGOUT,
  CAEP,
  RISC,
  newProvider,
  pushEvent,
  register,
  setClaims,
  type TestProvider,
} from "./support/provider";

async function setup(body: Record<string, unknown> = {}): Promise<{ tenant: string; provider: TestProvider }> {
  const tenant = await createTenant();
  const provider = await newProvider();
  expect((await register(tenant, "corp", provider, body)).status).toBe(201);
  return { tenant, provider };
}

const SET = { typ: "secevent+jwt" };

async function recorded(tenant: string): Promise<{ type: string; reason?: string; userId?: string }[]> {
  return ((await (await call("GET", `/v1/tenants/${tenant}/events?limit=1000`)).json()) as { events: never[] }).events;
}

describe("POST .../identity-providers/:id/events (Shared Signals push)", () => {
  it("CAEP session-revoked ends the session named by a complex subject's session, 202", async () => {
    const { tenant, provider } = await setup();
    const ended = await createSession(tenant, {
      userId: "alice",
      idp: { provider: "corp", sub: "sub-a", sid: "sid-1" },
    });
    const kept = await createSession(tenant, {
      userId: "alice",
      idp: { provider: "corp", sub: "sub-a", sid: "sid-2" },
    });
    const subject = {
      format: "complex",
      user: { format: "iss_sub", iss: provider.issuer, sub: "sub-a" },
      session: { format: "opaque", id: "sid-1" },
    };
    const token = await provider.sign(
      setClaims(provider, `${CAEP}session-revoked`, { event_timestamp: 1 }, subject),
      SET,
    );
    const response = await pushEvent(tenant, "corp", token);
    expect(response.status).toBe(202);
    expect(await response.text()).toBe("");
    expect(await status(ended.token)).toBe(401);
    expect(await status(kept.token)).toBe(200);
  });

  it("CAEP session-revoked with an opaque subject ends the session of that sid, as CAEP's own example writes it", async () => {
    const { tenant, provider } = await setup();
    const sid = "dMTlD|1600802906337.16|16008.16";
    const ended = await createSession(tenant, { userId: "alice", idp: { provider: "corp", sub: "sub-a", sid } });
    const kept = await createSession(tenant, {
      userId: "alice",
      idp: { provider: "corp", sub: "sub-a", sid: "other" },
    });
    // CAEP 1.0's session-revoked example, with this provider's issuer and audience and a fresh iat.
    const claims = {
      iss: provider.issuer,
      jti: "24c63fb56e5a2d77a6b512616ca9fa24",
      iat: Math.floor(Date.now() / 1000),
      aud: "client-1",
      txn: 8675309,
      sub_id: { format: "opaque", id: sid },
      events: { [`${CAEP}session-revoked`]: { event_timestamp: 1615304991643 } },
    };
    expect((await pushEvent(tenant, "corp", await provider.sign(claims, SET))).status).toBe(202);
    expect(await status(ended.token)).toBe(401);
    expect(await status(kept.token)).toBe(200);
  });

  for (const event of [
    `${CAEP}credential-change`,
    `${RISC}account-disabled`,
    `${RISC}account-purged`,
    `${RISC}sessions-revoked`,
    `${RISC}credential-compromise`,
  ]) {
    it(`${event.split("/").pop()} ends every session of the linked user, linked or not`, async () => {
      const { tenant, provider } = await setup();
      const linked = await createSession(tenant, { userId: "alice", idp: { provider: "corp", sub: "sub-a" } });
      const other = await createSession(tenant, { userId: "alice" });
      const bob = await createSession(tenant, { userId: "bob", idp: { provider: "corp", sub: "sub-b" } });
      const subject = { format: "iss_sub", iss: provider.issuer, sub: "sub-a" };
      expect(
        (await pushEvent(tenant, "corp", await provider.sign(setClaims(provider, event, {}, subject), SET))).status,
      ).toBe(202);
      expect(await status(linked.token)).toBe(401);
      expect(await status(other.token)).toBe(401);
      expect(await status(bob.token)).toBe(200);
      expect((await recorded(tenant)).find((e) => e.type === "revoked")).toMatchObject({
        reason: "user",
        userId: "alice",
      });
    });
  }

  it("CAEP assurance-level-change (lowered) makes the user's sessions prove it again; nobody is logged out", async () => {
    const { tenant, provider } = await setup();
    const session = await createSession(tenant, {
      userId: "alice",
      acr: "aal2",
      idp: { provider: "corp", sub: "sub-a" },
    });
    const subject = { format: "iss_sub", iss: provider.issuer, sub: "sub-a" };
    const body = {
      namespace: "NIST-AAL",
      current_level: "nist-aal1",
      previous_level: "nist-aal2",
      change_direction: "decrease",
    };
    const token = await provider.sign(setClaims(provider, `${CAEP}assurance-level-change`, body, subject), SET);
    expect((await pushEvent(tenant, "corp", token)).status).toBe(202);
    expect(await status(session.token)).toBe(200);
    const required = await call("GET", "/v1/session?acr=aal2", {
      key: null,
      headers: { Authorization: `Bearer ${session.token}` },
    });
    expect(required.status).toBe(401);
    expect(await errorOf(required)).toMatchObject({ code: "step_up_required" });
  });

  it("records and acknowledges what it does not act on: token-claims-change, a raised level, an unknown event, RFC 8417's examples", async () => {
    const { tenant, provider } = await setup();
    const session = await createSession(tenant, { userId: "alice", idp: { provider: "corp", sub: "sub-a", sid: "s" } });
    const subject = { format: "iss_sub", iss: provider.issuer, sub: "sub-a" };
    const tokens = [
      setClaims(provider, `${CAEP}token-claims-change`, { claims: { role: "ro" } }, subject),
      setClaims(provider, `${CAEP}assurance-level-change`, { change_direction: "increase" }, subject),
      setClaims(provider, "https://example.com/event/unknown", {}, subject),
      setClaims(provider, `${RISC}account-disabled`, {}, { format: "email", email: "a@example.com" }),
      // RFC 8417, figure 1 (a SCIM event) and figure 2 (a logout in a SET's clothes), re-issued by this provider.
      {
        iss: provider.issuer,
        iat: Math.floor(Date.now() / 1000),
        jti: "4d3559ec67504aaba65d40b0363faad8",
        aud: ["https://scim.example.com/Feeds/98d52461fa5bbc879593b7754", "client-1"],
        events: {
          "urn:ietf:params:scim:event:create": {
            ref: "https://scim.example.com/Users/44f6142df96bd6ab61e7521d9",
            attributes: ["id", "name", "userName", "password", "emails"],
          },
        },
      },
      {
        iss: provider.issuer,
        sub: "248289761001",
        aud: "client-1",
        iat: Math.floor(Date.now() / 1000),
        jti: "bWJq",
        sid: "08a5019c-17e1-4977-8f42-65a12843ea02",
        events: { [BACKCHANNEL_LOGOUT]: {} },
      },
    ];
    for (const claims of tokens)
      expect((await pushEvent(tenant, "corp", await provider.sign(claims, SET))).status).toBe(202);
    expect(await status(session.token)).toBe(200);
    const received = (await recorded(tenant)).filter((e) => e.type === "signal_received").map((e) => e.reason);
    expect(received.sort()).toEqual(
      [
        "caep.token-claims-change",
        "caep.assurance-level-change",
        "https://example.com/event/unknown",
        "risc.account-disabled",
        "urn:ietf:params:scim:event:create",
        BACKCHANNEL_LOGOUT,
      ].sort(),
    );
  });

  it("answers RFC 8935's errors: two events, no typ, another issuer or audience, a wrong key, a replayed jti", async () => {
    const { tenant, provider } = await setup();
    const stranger = await newProvider();
    const subject = { format: "iss_sub", iss: provider.issuer, sub: "sub-a" };
    const claims = () => setClaims(provider, `${RISC}account-disabled`, {}, subject);
    const replayed = claims();
    await pushEvent(tenant, "corp", await provider.sign(replayed, SET));
    const cases: [string, Promise<string>, string][] = [
      ["two events", provider.sign({ ...claims(), events: { a: {}, b: {} } }, SET), "invalid_request"],
      ["no typ", provider.sign(claims()), "invalid_request"],
      ["a logout token's typ", provider.sign(claims(), { typ: "logout+jwt" }), "invalid_request"],
      ["another issuer", provider.sign({ ...claims(), iss: "https://evil.example.com" }, SET), "invalid_issuer"],
      ["another audience", provider.sign({ ...claims(), aud: "client-2" }, SET), "invalid_audience"],
      ["a wrong key", stranger.sign(claims(), { ...SET, kid: provider.kid }), "invalid_key"],
      ["no jti", provider.sign({ ...claims(), jti: undefined }, SET), "invalid_request"],
      ["an old iat", provider.sign({ ...claims(), iat: 1_000_000 }, SET), "invalid_request"],
      ["a replayed jti", provider.sign({ ...replayed, txn: 2 }, SET), "invalid_request"],
    ];
    for (const [what, token, err] of cases) {
      const response = await pushEvent(tenant, "corp", await token);
      expect(response.status, what).toBe(400);
      const body = (await response.json()) as { err: string; description: string };
      expect(body.err, what).toBe(err);
      expect(body.description.length, what).toBeGreaterThan(0);
    }
    const wrongType = await call("POST", `/v1/tenants/${tenant}/identity-providers/corp/events`, {
      key: null,
      rawBody: await provider.sign(claims(), SET),
      headers: { "Content-Type": "application/jwt" },
    });
    expect(wrongType.status).toBe(400);
  });

  it("requires the configured Authorization value, answering 401 authentication_failed without it", async () => {
    const { tenant, provider } = await setup({ authorizationHeader: "Bearer push-secret-0123456789" });
    const subject = { format: "iss_sub", iss: provider.issuer, sub: "sub-a" };
    const token = await provider.sign(setClaims(provider, `${RISC}account-disabled`, {}, subject), SET);
    for (const authorization of [undefined, "Bearer wrong"]) {
      const response = await pushEvent(
        tenant,
        "corp",
        token,
        authorization === undefined ? {} : { Authorization: authorization },
      );
      expect(response.status).toBe(401);
      expect(((await response.json()) as { err: string }).err).toBe("authentication_failed");
    }
    expect((await pushEvent(tenant, "corp", token, { Authorization: "Bearer push-secret-0123456789" })).status).toBe(
      202,
    );
  });
});

function revoke(tenant: string, id: string, body: unknown, bearer?: string) {
  return call("POST", `/v1/tenants/${tenant}/identity-providers/${id}/global-token-revocation`, {
    key: null,
    rawBody: JSON.stringify(body),
    headers: { "Content-Type": "application/json", ...(bearer !== undefined && { Authorization: `Bearer ${bearer}` }) },
  });
}

describe("subjects that name a user, never another user's session", () => {
  it("reads an opaque id as a subject for an account event, and a complex subject with an unreadable user as nobody", async () => {
    const { tenant, provider } = await setup();
    // Bob's provider session id happens to be alice's subject at the provider.
    const bob = await createSession(tenant, { userId: "bob", idp: { provider: "corp", sub: "sub-b", sid: "sub-a" } });
    const alice = await createSession(tenant, { userId: "alice", idp: { provider: "corp", sub: "sub-a" } });
    const disabled = setClaims(provider, `${RISC}account-disabled`, {}, { format: "opaque", id: "sub-a" });
    expect((await pushEvent(tenant, "corp", await provider.sign(disabled, SET))).status).toBe(202);
    expect(await status(alice.token)).toBe(401);
    expect(await status(bob.token)).toBe(200);
    const foreign = {
      format: "complex",
      user: { format: "iss_sub", iss: "https://other.example.com", sub: "sub-b" },
      session: { format: "opaque", id: "sub-a" },
    };
    const revoked = setClaims(provider, `${CAEP}session-revoked`, {}, foreign);
    expect((await pushEvent(tenant, "corp", await provider.sign(revoked, SET))).status).toBe(202);
    expect(await status(bob.token)).toBe(200);
  });
});

describe("POST .../identity-providers/:id/global-token-revocation (universal logout)", () => {
  const endpoint = (tenant: string) => `${BASE}/v1/tenants/${tenant}/identity-providers/corp/global-token-revocation`;
  const bearer = (provider: TestProvider, tenant: string, claims: Record<string, unknown> = {}) =>
    provider.sign({
      iss: provider.issuer,
      aud: endpoint(tenant),
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 120,
      jti: crypto.randomUUID(),
      ...claims,
    });

  it("ends every session of the user and answers 204, as for a user it does not know", async () => {
    const { tenant, provider } = await setup();
    const linked = await createSession(tenant, { userId: "alice", idp: { provider: "corp", sub: "sub-a" } });
    const other = await createSession(tenant, { userId: "alice" });
    const body = { sub_id: { format: "iss_sub", iss: provider.issuer, sub: "sub-a" } };
    const response = await revoke(tenant, "corp", body, await bearer(provider, tenant));
    expect(response.status).toBe(204);
    expect(await status(linked.token)).toBe(401);
    expect(await status(other.token)).toBe(401);
    const nobody = { sub_id: { format: "iss_sub", iss: provider.issuer, sub: "nobody" } };
    expect((await revoke(tenant, "corp", nobody, await bearer(provider, tenant))).status).toBe(204);
    // The provider's audience (its client id) alone is every ID token's: a user's own must not pass.
    const idTokenLike = await bearer(provider, tenant, { aud: "client-1" });
    expect((await revoke(tenant, "corp", nobody, idTokenLike)).status).toBe(401);
  });

  it("answers 401 for a missing or invalid bearer, 400 for a body naming nobody, 403 for an unknown provider", async () => {
    const { tenant, provider } = await setup();
    const body = { sub_id: { format: "iss_sub", iss: provider.issuer, sub: "sub-a" } };
    const now = Math.floor(Date.now() / 1000);
    const unauthorized: [string, string | undefined][] = [
      ["none", undefined],
      ["another audience", await bearer(provider, tenant, { aud: "https://elsewhere.example.com" })],
      ["no exp", await bearer(provider, tenant, { exp: undefined })],
      ["exp an hour ahead", await bearer(provider, tenant, { exp: now + 3600 })],
      ["expired", await bearer(provider, tenant, { exp: now - 600 })],
      ["another issuer", await bearer(provider, tenant, { iss: "https://evil.example.com" })],
      ["no jti", await bearer(provider, tenant, { jti: undefined })],
      ["an ID token (nonce)", await bearer(provider, tenant, { nonce: "n" })],
      ["an ID token (at_hash)", await bearer(provider, tenant, { at_hash: "h" })],
    ];
    for (const [what, token] of unauthorized) {
      const response = await revoke(tenant, "corp", body, token);
      expect(response.status, what).toBe(401);
      expect(response.headers.get("WWW-Authenticate"), what).toBe('Bearer error="invalid_token"');
    }
    for (const bad of [
      {},
      { sub_id: { format: "email", email: "a@example.com" } },
      { sub_id: { format: "iss_sub", iss: "https://other", sub: "x" } },
    ]) {
      const response = await revoke(tenant, "corp", bad, await bearer(provider, tenant));
      expect(response.status, JSON.stringify(bad)).toBe(400);
      expect(((await response.json()) as { error: string }).error).toBe("invalid_request");
    }
    expect((await revoke(tenant, "other", body, await bearer(provider, tenant))).status).toBe(403);
    // One token, one request: the same bearer naming another user is refused.
    const once = await bearer(provider, tenant);
    expect((await revoke(tenant, "corp", body, once)).status).toBe(204);
    expect((await revoke(tenant, "corp", body, once)).status).toBe(204);
    const other = { sub_id: { format: "iss_sub", iss: provider.issuer, sub: "sub-b" } };
    expect((await revoke(tenant, "corp", other, once)).status).toBe(401);
  });
});

describe("every receiver", () => {
  it("is rate-limited per tenant and provider: 429 with Retry-After past 600 a minute", async () => {
    const tenant = `rate-limited-${crypto.randomUUID().slice(0, 8)}`;
    let limited: Response | null = null;
    // The limit counts per minute-long window: past 1,200, one window has seen more than 600
    // even when the requests straddle a window's end.
    for (let i = 0; i < 1300 && limited === null; i++) {
      const response = await call("POST", `/v1/tenants/${tenant}/identity-providers/corp/backchannel-logout`, {
        key: null,
        rawBody: "logout_token=x",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
      });
      if (response.status === 429) limited = response;
      else expect(response.status).toBe(400);
    }
    expect(limited).not.toBeNull();
    expect(limited!.headers.get("Retry-After")).toBe("60");
    expect(((await limited!.json()) as { error: string }).error).toBe("temporarily_unavailable");
  });
});

describe("what CAEP receivers are told of a provider's signal", () => {
  it("names the identity system, not an operator, as what initiated the revocation", () => {
    expect(initiatingEntity("idp:corp", "idp")).toBe("system");
    expect(initiatingEntity("idp:corp", "user")).toBe("system");
    expect(initiatingEntity("admin", "one")).toBe("admin");
  });
});
