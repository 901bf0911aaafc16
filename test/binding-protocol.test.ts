// Device binding's protocol pieces, against keys WebCrypto makes as a browser would: the proofs
// (registration with the key in the header, refresh with the stored key), the bound cookie.

import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import {
  boundCookieValue,
  fieldString,
  readBoundCookie,
  registrationHeader,
  verifyRefresh,
  verifyRegistration,
} from "../src/core/binding";
import { keysOf } from "./helpers";

async function browserKey(alg: "ES256" | "RS256") {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk = await exportJWK(publicKey);
  return {
    jwk,
    proof: (jti: unknown, header: Record<string, unknown> = {}) =>
      new SignJWT((jti === undefined ? {} : { jti }) as never)
        .setProtectedHeader({ alg, typ: "dbsc+jwt", ...header } as never)
        .sign(privateKey),
  };
}

describe("registration and refresh proofs", () => {
  for (const alg of ["ES256", "RS256"] as const) {
    it(`takes a ${alg} registration signed by the key it carries, and refreshes signed by that key only`, async () => {
      const browser = await browserKey(alg);
      const registered = await verifyRegistration(await browser.proof("challenge-1", { jwk: browser.jwk }));
      expect(registered.ok).toBe(true);
      if (!registered.ok) return;
      expect(registered.challenge).toBe("challenge-1");
      expect(registered.key.alg).toBe(alg);
      expect(registered.key.thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect(await verifyRefresh(await browser.proof("challenge-2"), registered.key)).toEqual({
        ok: true,
        challenge: "challenge-2",
      });
      const other = await browserKey(alg);
      expect((await verifyRefresh(await other.proof("challenge-2"), registered.key)).ok).toBe(false);
    });
  }

  it("refuses a proof signed by another key than it carries, alg none, HS256, another typ, no jti, a private key, a huge one", async () => {
    const browser = await browserKey("ES256");
    const other = await browserKey("ES256");
    const unsigned = `${btoa(JSON.stringify({ alg: "none", typ: "dbsc+jwt", jwk: browser.jwk })).replace(/=+$/, "")}.${btoa('{"jti":"c"}').replace(/=+$/, "")}.`;
    const cases: [string, string][] = [
      ["another key", await other.proof("c", { jwk: browser.jwk })],
      ["alg none", unsigned],
      ["no key", await browser.proof("c")],
      ["another typ", await browser.proof("c", { jwk: browser.jwk, typ: "JWT" })],
      ["no jti", await browser.proof(undefined, { jwk: browser.jwk })],
      ["a number as jti", await browser.proof(7, { jwk: browser.jwk })],
      ["a private key in the header", await browser.proof("c", { jwk: { ...browser.jwk, d: "AAAA" } })],
      ["huge", "a".repeat(5000)],
      ["not a JWT", "nonsense"],
    ];
    for (const [what, proof] of cases) {
      const verified = await verifyRegistration(proof);
      expect(verified.ok, what).toBe(false);
      if (!verified.ok) expect(verified.error.code, what).toBe("bad_request");
    }
  });
});

describe("the bound cookie", () => {
  const keys = keysOf("k1:first-signing-secret-0123456789abcdef");
  it("names its tenant, session and key, and is refused once expired, edited or another session's", () => {
    const now = Date.now();
    const value = boundCookieValue(keys, "acme", "session-1", "thumb", now + 60_000);
    expect(readBoundCookie(keys, value, "acme", "session-1", now)).toEqual({
      thumbprint: "thumb",
      expiresAt: Math.floor((now + 60_000) / 1000) * 1000,
    });
    expect(readBoundCookie(keys, value, "acme", "session-2", now)).toBeNull();
    expect(readBoundCookie(keys, value, "other", "session-1", now)).toBeNull();
    expect(readBoundCookie(keys, value, "acme", "session-1", now + 61_000)).toBeNull();
    expect(readBoundCookie(keys, value.replace("thumb", "thumc"), "acme", "session-1", now)).toBeNull();
    expect(readBoundCookie(keys, null, "acme", "session-1", now)).toBeNull();
  });
});

describe("the headers", () => {
  it("writes them as Chromium reads them, and reads structured-field strings quoted or not", () => {
    expect(registrationHeader("/reg", "abc")).toBe('(ES256 RS256);path="/reg";challenge="abc"');
    expect(fieldString('"abc"')).toBe("abc");
    expect(fieldString("abc")).toBe("abc");
    expect(fieldString(" ")).toBeNull();
    expect(fieldString(null)).toBeNull();
    expect(fieldString('"a b"')).toBeNull();
  });
});
