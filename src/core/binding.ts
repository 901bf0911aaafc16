// Device Bound Session Credentials (W3C WebAppSec draft, as Chromium 156 speaks it): the
// headers' values, the proofs a browser signs with the key it keeps (verified with jose), and
// the short-lived bound cookie the service signs, naming the session and the key's thumbprint.

import { calculateJwkThumbprint, decodeProtectedHeader, importJWK, type JWK, jwtVerify } from "jose";
import { randomBase64url } from "./crypto";
import { fail, ok, type Result } from "./errors";
import { signPayload, type SigningKeys, verifySignedParts } from "./token";

/** What a browser may sign its proofs with (the draft's registration lists them, strongest first). */
export const BINDING_ALGORITHMS = ["ES256", "RS256"] as const;
export type BindingAlgorithm = (typeof BINDING_ALGORITHMS)[number];
/** A challenge is good for this long, once. */
export const CHALLENGE_TTL_MS = 5 * 60_000;
/** A proof is a small JWT; anything longer is refused before it is parsed. */
const MAX_PROOF_CHARS = 4096;
const BOUND_COOKIE_VERSION = "bc1";

/** The key a session is bound to, as its registration proved it. */
export interface BoundKey {
  jwk: JWK;
  alg: BindingAlgorithm;
  /** RFC 7638 thumbprint (SHA-256, base64url): what the bound cookie names. */
  thumbprint: string;
}

export function newChallenge(): string {
  return randomBase64url(32);
}

/** `Secure-Session-Registration`: the algorithms, the registration path and a fresh challenge. */
export function registrationHeader(path: string, challenge: string): string {
  return `(${BINDING_ALGORITHMS.join(" ")});path="${path}";challenge="${challenge}"`;
}

/** A structured-field string as Chromium sends it, quoted or not; null when absent or malformed. */
export function fieldString(value: string | null): string | null {
  if (value === null) return null;
  const trimmed = value.trim();
  const unquoted =
    trimmed.startsWith('"') && trimmed.endsWith('"') && trimmed.length >= 2 ? trimmed.slice(1, -1) : trimmed;
  return unquoted.length > 0 && unquoted.length <= MAX_PROOF_CHARS && /^[\x21-\x7e]+$/.test(unquoted) ? unquoted : null;
}

const BAD_PROOF = (why: string) => fail("bad_request", `the binding proof is refused: ${why}`);

function proofHeader(proof: string): Result<{ alg: BindingAlgorithm; jwk: JWK | undefined }> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(proof);
  } catch {
    return BAD_PROOF("not a signed JWT");
  }
  if (header.typ !== "dbsc+jwt") return BAD_PROOF("typ must be dbsc+jwt");
  if (!BINDING_ALGORITHMS.includes(header.alg as BindingAlgorithm)) return BAD_PROOF("alg must be ES256 or RS256");
  return ok({ alg: header.alg as BindingAlgorithm, jwk: header.jwk as JWK | undefined });
}

/**
 * A registration proof: a `dbsc+jwt` carrying the browser's public key in its header and the
 * challenge as its `jti`, signed by that key. Answers the key and the challenge (which the
 * store then checks and consumes).
 */
export async function verifyRegistration(proof: string): Promise<Result<{ key: BoundKey; challenge: string }>> {
  if (proof.length > MAX_PROOF_CHARS) return BAD_PROOF("too long");
  const header = proofHeader(proof);
  if (!header.ok) return header;
  const { alg, jwk } = header;
  const expected = alg === "ES256" ? "EC" : "RSA";
  if (!jwk || jwk.kty !== expected || "d" in jwk || (alg === "ES256" && jwk.crv !== "P-256"))
    return BAD_PROOF(`the header must carry the public ${expected} key`);
  const publicJwk: JWK =
    alg === "ES256" ? { kty: "EC", crv: "P-256", x: jwk.x, y: jwk.y } : { kty: "RSA", n: jwk.n, e: jwk.e };
  let payload: { jti?: unknown };
  try {
    ({ payload } = await jwtVerify(proof, await importJWK(publicJwk, alg), { algorithms: [alg], typ: "dbsc+jwt" }));
  } catch {
    return BAD_PROOF("its signature does not verify with the key it carries");
  }
  if (typeof payload.jti !== "string" || payload.jti.length === 0) return BAD_PROOF("jti (the challenge) is required");
  return ok({
    key: { jwk: publicJwk, alg, thumbprint: await calculateJwkThumbprint(publicJwk) },
    challenge: payload.jti,
  });
}

/** A refresh proof: signed by the key the session is bound to, its `jti` a challenge the store issued. */
export async function verifyRefresh(proof: string, key: BoundKey): Promise<Result<{ challenge: string }>> {
  if (proof.length > MAX_PROOF_CHARS) return BAD_PROOF("too long");
  const header = proofHeader(proof);
  if (!header.ok) return header;
  if (header.alg !== key.alg) return BAD_PROOF("signed with another algorithm than the bound key's");
  let payload: { jti?: unknown };
  try {
    ({ payload } = await jwtVerify(proof, await importJWK(key.jwk, key.alg), {
      algorithms: [key.alg],
      typ: "dbsc+jwt",
    }));
  } catch {
    return BAD_PROOF("its signature does not verify with the session's key");
  }
  if (typeof payload.jti !== "string" || payload.jti.length === 0) return BAD_PROOF("jti (the challenge) is required");
  return ok({ challenge: payload.jti });
}

/** The bound cookie's value: `bc1.<tenant>.<session id>.<thumbprint>.<expiry, seconds>`, signed like a token. */
export function boundCookieValue(
  keys: SigningKeys,
  tenant: string,
  sessionId: string,
  thumbprint: string,
  expiresAt: number,
): string {
  return signPayload(
    keys,
    `${BOUND_COOKIE_VERSION}.${tenant}.${sessionId}.${thumbprint}.${Math.floor(expiresAt / 1000)}`,
  );
}

/** What a bound cookie signed by us says, or null: not ours, another session's, or expired. */
export function readBoundCookie(
  keys: SigningKeys,
  value: string | null,
  tenant: string,
  sessionId: string,
  now: number,
): { thumbprint: string; expiresAt: number } | null {
  if (value === null || value.length > 512) return null;
  const parts = verifySignedParts(keys, value, 5);
  if (!parts) return null;
  const [version, cookieTenant, cookieSession, thumbprint, expiry] = parts as [string, string, string, string, string];
  const expiresAt = Number(expiry) * 1000;
  if (version !== BOUND_COOKIE_VERSION || cookieTenant !== tenant || cookieSession !== sessionId) return null;
  return Number.isSafeInteger(expiresAt) && expiresAt > now ? { thumbprint, expiresAt } : null;
}
