// Minting the short-lived JWTs other services check alone (against GET /.well-known/jwks.json),
// once the session's store has validated the session. Signed with `jose` under the KeyRing's
// current Ed25519 key, which each isolate keeps in memory until the ring says to ask again (a
// minute at most, less before a rotation takes over): minting costs one Durable Object call,
// the session's store, not two.
// Claims: iss (PUBLIC_URL), aud, sub (the user id), sid (the session's public id), tid (the
// tenant), iat, exp, jti. Never anything from the session's `data`.

import { SignJWT } from "jose";
import { fail, ok, type Result } from "./errors";
import { randomBase64url } from "./crypto";
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

/** A JWT for `audience` naming this session, living `ttlSeconds`. */
export async function mintJwt(env: Env, session: Session, audience: string, ttlSeconds: number): Promise<Result<{ jwt: string; expiresAt: string }>> {
  const current = await currentKey(env);
  if (!current.ok) return current;
  const now = Math.floor(Date.now() / 1000);
  const jwt = await new SignJWT({ sid: session.id, tid: session.tenant })
    .setProtectedHeader({ alg: "EdDSA", kid: current.signing.kid, typ: "JWT" })
    .setIssuer(env.PUBLIC_URL || DEFAULT_ISSUER)
    .setAudience(audience)
    .setSubject(session.userId)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .setJti(randomBase64url(16))
    .sign(current.signing.key);
  return ok({ jwt, expiresAt: new Date((now + ttlSeconds) * 1000).toISOString() });
}
