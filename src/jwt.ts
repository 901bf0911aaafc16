// Minting the short-lived JWTs other services check alone (against GET /.well-known/jwks.json),
// once the session's store has validated the session. Signed under the KeyRing's current
// Ed25519 key, which each isolate keeps in memory until the ring says to ask again (a minute at
// most, less before a rotation takes over): minting costs one Durable Object call, the
// session's store, not two. The signature is WebCrypto's Ed25519; around it, the JWS compact
// form (RFC 7515: base64url of the header, of the claims, of the signature, joined by dots) is
// three encodings, done here because a general JOSE library doubled the cost of a mint. Every
// JWT the tests mint is verified with `jose`, never with this code.
// Claims: iss (PUBLIC_URL), aud, sub (the user id), sid (the session's public id), tid (the
// tenant), iat, exp, jti. Never anything from the session's `data`.

import { fail, ok, type Result } from "./errors";
import { base64url, randomBase64url } from "./crypto";
import type { Session } from "./session";
import { keyRing } from "./signing-keys";

const DEFAULT_ISSUER = "http://127.0.0.1:8787";

interface SigningKey {
  kid: string;
  key: CryptoKey;
  until: number;
}

/** The current key per KeyRing binding (one per deployment): the only state kept across requests. */
const signingKeys = new WeakMap<object, SigningKey>();

const KEYS_UNREACHABLE = fail("overloaded", "the signing keys could not be reached; retry after a moment");

async function currentKey(env: Env): Promise<Result<{ signing: SigningKey }>> {
  const kept = signingKeys.get(env.KEY_RING);
  if (kept && kept.until > Date.now()) return ok({ signing: kept });
  let answer;
  try {
    answer = (await keyRing(env).signingKey()) as Result<{ kid: string; pkcs8: ArrayBuffer; until: number }>;
  } catch {
    return KEYS_UNREACHABLE;
  }
  if (!answer.ok) return answer;
  const key = await crypto.subtle.importKey("pkcs8", answer.pkcs8, { name: "Ed25519" }, false, ["sign"]);
  const signing = { kid: answer.kid, key, until: answer.until };
  signingKeys.set(env.KEY_RING, signing);
  return ok({ signing });
}

function encodeJson(value: object): string {
  return base64url(new TextEncoder().encode(JSON.stringify(value)));
}

/**
 * A JWS in compact form over `claims`, signed with the current key: the JWTs minted here and
 * the Security Event Tokens of CAEP webhooks (`typ` tells them apart).
 */
export async function signJws(env: Env, typ: "JWT" | "secevent+jwt", claims: object): Promise<Result<{ token: string }>> {
  const current = await currentKey(env);
  if (!current.ok) return current;
  const signingInput = `${encodeJson({ alg: "EdDSA", kid: current.signing.kid, typ })}.${encodeJson(claims)}`;
  const signature = await crypto.subtle.sign("Ed25519", current.signing.key, new TextEncoder().encode(signingInput));
  return ok({ token: `${signingInput}.${base64url(signature)}` });
}

/** Who issues the JWTs and events: the deployment's public URL. */
export function issuerOf(env: Env): string {
  return env.PUBLIC_URL || DEFAULT_ISSUER;
}

/** A JWT for `audience` naming this session, living `ttlSeconds`. */
export async function mintJwt(env: Env, session: Session, audience: string, ttlSeconds: number): Promise<Result<{ jwt: string; expiresAt: string }>> {
  const now = Math.floor(Date.now() / 1000);
  const claims = {
    iss: issuerOf(env),
    aud: audience,
    sub: session.userId,
    sid: session.id,
    tid: session.tenant,
    iat: now,
    exp: now + ttlSeconds,
    jti: randomBase64url(16),
  };
  const signed = await signJws(env, "JWT", claims);
  return signed.ok ? ok({ jwt: signed.token, expiresAt: new Date(claims.exp * 1000).toISOString() }) : signed;
}
