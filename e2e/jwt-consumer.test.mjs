// The JWT consumer example (examples/jwt-consumer), a real `wrangler dev` process beside a real
// session service: it accepts a JWT minted from a live session, checked alone against the
// JWKS with jose, and refuses `alg: none`, HS256 signed with the public key, a swapped or
// unknown `kid`, another tenant's JWT (another issuer), another audience and an expired JWT.

import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ADMIN_KEY, startConsumer, startService } from "./servers.mjs";

const AUDIENCE = "https://api.example.com";
const dir = mkdtempSync(join(tmpdir(), "session-jwt-"));
const env = { WRANGLER_REGISTRY_PATH: join(dir, "registry") };
let service;
let consumer;
let expiring;
let expiringAt;

async function api(method, path, body, token = ADMIN_KEY) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`${service.url}${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function whoami(jwt) {
  const response = await fetch(`${consumer.url}/whoami`, { headers: { Authorization: `Bearer ${jwt}` } });
  return { status: response.status, body: await response.json() };
}

const b64url = (value) => Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");
const parts = (jwt) =>
  jwt.split(".").map((part, i) => (i < 2 ? JSON.parse(Buffer.from(part, "base64url").toString()) : part));

async function mintFor(userId, audience = AUDIENCE, tenant = "consumer-demo", fields = {}) {
  const session = (await api("POST", `/v1/tenants/${tenant}/sessions`, { userId, ...fields })).body;
  const minted = await api("POST", "/v1/session/token", { audience }, session.token);
  assert.equal(minted.status, 200, JSON.stringify(minted.body));
  return { session, jwt: minted.body.jwt, expiresAt: minted.body.expiresAt };
}

before(async () => {
  service = await startService(dir, env);
  consumer = await startConsumer(dir, env, service.url, "consumer-demo");
  assert.equal(
    (await api("PUT", "/v1/tenants/consumer-demo", { jwt: { audiences: [AUDIENCE, "billing"], ttlSeconds: 60 } }))
      .status,
    201,
  );
  assert.equal((await api("PUT", "/v1/tenants/consumer-other", { jwt: { audiences: [AUDIENCE] } })).status, 201);
  // Minted first, checked last: it expires while the other tests run.
  ({ jwt: expiring, expiresAt: expiringAt } = await mintFor("soon"));
});

after(async () => {
  await consumer?.stop();
  await service?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("the JWT consumer example", () => {
  it("accepts a JWT minted from a live session, with no call to the service", async () => {
    const { session, jwt } = await mintFor("alice");
    assert.deepEqual(await whoami(jwt), {
      status: 200,
      body: { user: "alice", session: session.session.id, tenant: "consumer-demo" },
    });
  });

  it("wants a recent sign-in for a transfer, from auth_time alone, and answers RFC 9470's challenge", async () => {
    const transfer = (jwt) =>
      fetch(`${consumer.url}/transfer`, { method: "POST", headers: { Authorization: `Bearer ${jwt}` } });
    const fresh = await transfer((await mintFor("alice")).jwt);
    assert.equal(fresh.status, 200);
    const old = await mintFor("alice", AUDIENCE, "consumer-demo", { authTime: Math.floor(Date.now() / 1000) - 600 });
    const refused = await transfer(old.jwt);
    assert.equal(refused.status, 401);
    assert.equal(
      refused.headers.get("WWW-Authenticate"),
      'Bearer error="insufficient_user_authentication", error_description="a transfer needs a recent sign-in", max_age=300',
    );
  });

  it("refuses alg none, HS256 signed with the public key, and a kid swapped or unknown", async () => {
    const { jwt } = await mintFor("mallory");
    const [header, payload, signature] = parts(jwt);
    const none = `${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}.`;
    assert.equal((await whoami(none)).status, 401);
    const jwks = await (await fetch(`${service.url}/.well-known/jwks.json`)).json();
    for (const secret of [JSON.stringify(jwks.keys[0]), Buffer.from(jwks.keys[0].x, "base64url")]) {
      const signed = `${b64url({ alg: "HS256", typ: "JWT", kid: header.kid })}.${b64url(payload)}`;
      const hs256 = `${signed}.${createHmac("sha256", secret).update(signed).digest("base64url")}`;
      assert.equal((await whoami(hs256)).status, 401);
    }
    const unknownKid = `${b64url({ ...header, kid: "nope" })}.${b64url(payload)}.${signature}`;
    assert.equal((await whoami(unknownKid)).status, 401);
    // Another published key (a rotation's next key) named on this signature.
    const rotated = await api("POST", "/v1/signing-keys/rotate");
    const other = rotated.body.keys.find((key) => key.kid !== header.kid).kid;
    const swapped = `${b64url({ ...header, kid: other })}.${b64url(payload)}.${signature}`;
    assert.equal((await whoami(swapped)).status, 401);
    assert.equal((await whoami(jwt)).status, 200); // the genuine one still passes
  });

  it("refuses another tenant's JWT for the same audience: its issuer is not the one pinned", async () => {
    const { jwt } = await mintFor("bob", AUDIENCE, "consumer-other");
    assert.equal(parts(jwt)[1].iss, `${service.url}/tenants/consumer-other`);
    assert.deepEqual(await whoami(jwt), { status: 401, body: { error: "ERR_JWT_CLAIM_VALIDATION_FAILED" } });
  });

  it("refuses a JWT minted for another audience", async () => {
    const { jwt } = await mintFor("bob", "billing");
    assert.equal((await whoami(jwt)).status, 401);
  });

  it("refuses an expired JWT", { timeout: 90_000 }, async () => {
    assert.equal((await whoami(expiring)).status, 200);
    const wait = Date.parse(expiringAt) - Date.now() + 1_500;
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const late = await whoami(expiring);
    assert.equal(late.status, 401);
    assert.equal(late.body.error, "ERR_JWT_EXPIRED");
  });
});
