// The JWT signing keys: Ed25519 keys made with WebCrypto, published as a JWKS that `jose`
// verifies with, rotated without a gap, and kept at rest only sealed under KEY_ENCRYPTION_SECRET.

import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { createLocalJWKSet, jwtVerify, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import { placed, type KeyRing } from "../durable-objects/key-ring/key-ring";
import type { KeyRow } from "../durable-objects/key-ring/key-ring-sql";
import worker from "../src/worker/index.ts";
import { seal, sealingKey, unseal } from "../src/core/sealing";
import { BASE, call, createTenant } from "./helpers";

function ring(): DurableObjectStub<KeyRing> {
  return env.KEY_RING.get(env.KEY_RING.idFromName("keys"));
}

async function json<T = Record<string, unknown>>(response: Response): Promise<T> {
  return (await response.json()) as T;
}

/** Signs a JWT with the ring's current key, as the mint path will. */
async function signWithCurrent(
  claims: Record<string, unknown>,
): Promise<{ jwt: string; kid: string; pkcs8: ArrayBuffer }> {
  const current = await ring().signingKey();
  if (!current.ok) throw new Error(current.error.message);
  const key = await crypto.subtle.importKey("pkcs8", current.pkcs8, { name: "Ed25519" }, false, ["sign"]);
  const jwt = await new SignJWT(claims)
    .setProtectedHeader({ alg: "EdDSA", kid: current.kid, typ: "JWT" })
    .setIssuedAt()
    .setExpirationTime("5m")
    .sign(key);
  return { jwt, kid: current.kid, pkcs8: current.pkcs8 };
}

describe("GET /.well-known/jwks.json", () => {
  it("publishes Ed25519 public keys, cacheable, that jose verifies the current key's signatures with", async () => {
    const response = await call("GET", "/.well-known/jwks.json", { key: null });
    expect(response.status).toBe(200);
    expect(response.headers.get("Cache-Control")).toBe("public, max-age=300");
    const jwks = await json<{ keys: Record<string, unknown>[] }>(response);
    expect(jwks.keys.length).toBeGreaterThanOrEqual(1);
    for (const key of jwks.keys) {
      expect(key).toEqual({
        kty: "OKP",
        crv: "Ed25519",
        x: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/),
        kid: expect.any(String),
        use: "sig",
        alg: "EdDSA",
      });
    }
    const { jwt, kid } = await signWithCurrent({ sub: "u_42" });
    const verified = await jwtVerify(jwt, createLocalJWKSet(jwks as never), { algorithms: ["EdDSA"] });
    expect(verified.protectedHeader.kid).toBe(kid);
    expect(verified.payload.sub).toBe("u_42");
  });
});

describe("rotation", () => {
  it("publishes the new key at once, and keeps signing with the old one until cached JWKS have expired", async () => {
    const before = await signWithCurrent({ sub: "before" });
    const rotated = await call("POST", "/v1/signing-keys/rotate");
    expect(rotated.status).toBe(200);
    const { keys } = await json<{ keys: { kid: string; state: string; signsFrom: string }[] }>(rotated);
    const next = keys.find((key) => key.state === "next")!;
    expect(Date.parse(next.signsFrom) - Date.now()).toBeGreaterThan(290_000);
    expect(keys.find((key) => key.state === "current")!.kid).toBe(before.kid);
    const jwks = await json<{ keys: { kid: string }[] }>(await call("GET", "/.well-known/jwks.json", { key: null }));
    expect(jwks.keys.map((key) => key.kid)).toEqual(expect.arrayContaining([before.kid, next.kid]));
    // Nothing is signed with the new key yet.
    expect((await signWithCurrent({ sub: "after" })).kid).toBe(before.kid);
    const listed = await json<{ keys: { kid: string; state: string }[] }>(await call("GET", "/v1/signing-keys"));
    expect(listed.keys.map((key) => [key.kid, key.state])).toEqual(
      expect.arrayContaining([
        [before.kid, "current"],
        [next.kid, "next"],
      ]),
    );
  });

  it("over a simulated clock: published before it signs; an old JWT verifies while its key is published, and not after", async () => {
    const before = await signWithCurrent({ sub: "signed-before" });
    const rotated = await json<{ keys: { kid: string; state: string }[] }>(
      await call("POST", "/v1/signing-keys/rotate"),
    );
    const next = rotated.keys.filter((key) => key.state === "next").at(-1)!.kid;
    // The ring's own answer: the Worker's copy of the JWKS lives by real time, not this simulated clock.
    const jwksNow = async () => {
      const published = await ring().jwks();
      if (!published.ok) throw new Error(published.error.message);
      return createLocalJWKSet({ keys: published.keys } as never);
    };
    // Before its time the new key is published, and signs nothing.
    await jwtVerify(before.jwt, await jwksNow());
    expect((await signWithCurrent({})).kid).not.toBe(next);
    // Time passes (moved in storage): the JWKS max-age is over, the new key signs, the old one is retired and still published.
    const shift = (ms: number) =>
      runInDurableObject(ring(), (_instance, state) => {
        state.storage.sql.exec(
          "UPDATE signing_keys SET signs_from = signs_from - ?, created_at = created_at - ?",
          ms,
          ms,
        );
      });
    await shift(301_000);
    const after = await signWithCurrent({ sub: "signed-after" });
    expect(after.kid).toBe(next);
    await jwtVerify(before.jwt, await jwksNow()); // still published: its JWTs may not have expired
    await jwtVerify(after.jwt, await jwksNow());
    // Past every JWT the old key could have signed (900 s after it was replaced): no longer published.
    await shift(900_000);
    await expect(jwtVerify(before.jwt, await jwksNow())).rejects.toThrow();
    await jwtVerify(after.jwt, await jwksNow());
    const states = await json<{ keys: { kid: string; state: string }[] }>(await call("GET", "/v1/signing-keys"));
    expect(states.keys.find((key) => key.kid === before.kid)).toBeUndefined();
  });

  it("moves keys from next to current to retired by time alone, and publishes a retired key until its last JWT expired", () => {
    const T = Date.UTC(2026, 10, 30, 12);
    const row = (kid: string, signsFrom: number) =>
      ({
        kid,
        created_at: signsFrom,
        signs_from: signsFrom,
        public_jwk: "{}",
        sealed_private: new ArrayBuffer(0),
        iv: new ArrayBuffer(0),
      }) as KeyRow;
    const rows = [row("a", T), row("b", T + 300_000)];
    const at = (now: number) => placed(rows, now).map((key) => [key.row.kid, key.state, key.publishedUntil]);
    expect(at(T + 1)).toEqual([
      ["a", "current", null],
      ["b", "next", null],
    ]);
    expect(at(T + 300_000)).toEqual([
      ["a", "retired", T + 300_000 + 900_000],
      ["b", "current", null],
    ]);
  });

  it("is for the platform admin only", async () => {
    const tenant = await createTenant();
    const key = (await json<{ key: string }>(await call("POST", `/v1/tenants/${tenant}/keys`))).key;
    for (const [method, path] of [
      ["POST", "/v1/signing-keys/rotate"],
      ["GET", "/v1/signing-keys"],
    ] as const) {
      expect((await call(method, path, { key })).status).toBe(403);
      expect((await call(method, path, { key: null })).status).toBe(401);
    }
  });
});

describe("key material at rest", () => {
  it("keeps private keys only sealed: no stored byte run is the key, and no answer carries it", async () => {
    const { pkcs8 } = await signWithCurrent({ sub: "x" });
    const seed = new Uint8Array(pkcs8).slice(-32); // the Ed25519 private key inside the PKCS#8 envelope
    const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    const dump = await runInDurableObject(ring(), (_instance, state) =>
      state.storage.sql
        .exec("SELECT * FROM signing_keys")
        .toArray()
        .map((row) =>
          Object.values(row)
            .map((value) => (value instanceof ArrayBuffer ? hex(new Uint8Array(value)) : String(value)))
            .join("|"),
        )
        .join("\n"),
    );
    expect(dump).not.toContain(hex(seed));
    const d = btoa(String.fromCharCode(...seed))
      .replace(/\+/g, "-")
      .replace(/\//g, "_")
      .replace(/=+$/, "");
    expect(dump).not.toContain(d);
    for (const path of ["/.well-known/jwks.json", "/v1/signing-keys"])
      expect(await (await call("GET", path)).text()).not.toContain(d);
  });

  it("opens a sealed value only with its secret and context, and never once altered", async () => {
    const key = await sealingKey("a-secret-of-at-least-32-characters-here", "purpose");
    const plaintext = new TextEncoder().encode("private key bytes").buffer as ArrayBuffer;
    const sealed = await seal(key, plaintext, "kid-1");
    expect(new TextDecoder().decode(await unseal(key, sealed, "kid-1"))).toBe("private key bytes");
    await expect(unseal(key, sealed, "kid-2")).rejects.toThrow();
    const other = await sealingKey("another-secret-of-at-least-32-characters", "purpose");
    await expect(unseal(other, sealed, "kid-1")).rejects.toThrow();
    const altered = new Uint8Array(sealed.sealed.slice(0));
    altered[0]! ^= 1;
    await expect(unseal(key, { iv: sealed.iv, sealed: altered.buffer as ArrayBuffer }, "kid-1")).rejects.toThrow();
  });

  it("without KEY_ENCRYPTION_SECRET, /health names it and the key routes answer 503", async () => {
    const testEnv = { ...env, KEY_ENCRYPTION_SECRET: undefined } as Env;
    const health = await worker.fetch(new Request(`${BASE}/health`), testEnv);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { problems: string[] }).problems).toEqual(["KEY_ENCRYPTION_SECRET is not set"]);
    const jwks = await worker.fetch(new Request(`${BASE}/.well-known/jwks.json`), testEnv);
    expect(jwks.status).toBe(503);
    expect(((await jwks.json()) as { error: { code: string } }).error.code).toBe("not_configured");
  });
});
