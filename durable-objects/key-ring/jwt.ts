// Minting the short-lived JWTs other services check alone (against GET /.well-known/jwks.json),
// once the session's store has validated the session; and signing CAEP security events. Each
// tenant's are issued by its own issuer (src/core/issuer.ts). Keys: see currentKey. The JWS compact
// form is three base64url encodings around WebCrypto's Ed25519 (tests verify only with `jose`).

import { publicUrlOf } from "../../src/core/config";
import { fail, ok, type Result } from "../../src/core/errors";
import { base64url, randomBase64url } from "../../src/core/crypto";
import { issuerOf } from "../../src/core/issuer";
import type { Session } from "../../src/core/session";
import { keyRing } from "../stubs";

interface SigningKey {
  kid: string;
  key: CryptoKey;
  until: number;
}

/**
 * The current key per KeyRing binding (one per deployment), kept in memory until the ring says
 * to ask again (a minute at most, less before a rotation takes over): minting then costs one
 * Durable Object call, the session's store. The only state this module keeps across requests.
 */
const signingKeys = new WeakMap<object, SigningKey>();

const KEYS_UNREACHABLE = fail("overloaded", "the signing keys could not be reached; retry after a moment");

async function currentKey(env: Env): Promise<Result<{ signing: SigningKey }>> {
  const kept = signingKeys.get(env.KEY_RING);
  if (kept && kept.until > Date.now()) return ok({ signing: kept });
  let answer: Result<{ kid: string; pkcs8: ArrayBuffer; until: number }>;
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
 * A JWS in compact form over `claims`, signed with the current key. Compact serialization by
 * hand (RFC 7515: base64url of header, claims and signature, joined by dots): a general JOSE
 * library doubled the cost of a mint.
 */
async function signJws(env: Env, typ: "JWT" | "secevent+jwt", claims: object): Promise<Result<{ token: string }>> {
  const current = await currentKey(env);
  if (!current.ok) return current;
  const signingInput = `${encodeJson({ alg: "EdDSA", kid: current.signing.kid, typ })}.${encodeJson(claims)}`;
  const signature = await crypto.subtle.sign("Ed25519", current.signing.key, new TextEncoder().encode(signingInput));
  return ok({ token: `${signingInput}.${base64url(signature)}` });
}

/**
 * A JWT for `audience` naming this session: claims iss, aud, sub (the user id), sid (the
 * session's public id), tid, iat, exp, jti, auth_time, amr and acr (when `assured`), act (an
 * impersonation), and nothing from the session's `data`. It lives
 * `ttlSeconds`, but never past the session's absolute end, which no use can move.
 */
export async function mintJwt(
  env: Env,
  publicUrl: string,
  session: Session,
  assured: boolean,
  audience: string,
  ttlSeconds: number,
  now = Date.now(),
): Promise<Result<{ jwt: string; expiresAt: string }>> {
  const iat = Math.floor(now / 1000);
  const claims = {
    iss: issuerOf(publicUrl, session.tenant),
    aud: audience,
    sub: session.userId,
    sid: session.id,
    tid: session.tenant,
    iat,
    exp: Math.min(iat + ttlSeconds, Math.floor(Date.parse(session.absoluteExpiresAt) / 1000)),
    jti: randomBase64url(16),
    // How sure the session is of its user (OpenID Connect Core's claims), so a service can ask
    // for a fresh login itself; only where it may be vouched for (`assured`: not an
    // impersonation, not below a re-authentication floor). An impersonation names who acts
    // (RFC 8693's `act`).
    ...(assured && {
      auth_time: Math.floor(Date.parse(session.authTime) / 1000),
      ...(session.amr.length > 0 && { amr: session.amr }),
      acr: session.acr,
    }),
    ...(session.actor !== null && { act: { sub: session.actor.id } }),
  };
  const signed = await signJws(env, "JWT", claims);
  return signed.ok ? ok({ jwt: signed.token, expiresAt: new Date(claims.exp * 1000).toISOString() }) : signed;
}

/**
 * A Security Event Token for a CAEP webhook of `tenant`, its claims made for the tenant's
 * issuer. Sent from an alarm, with no request to learn a loopback origin from: without
 * PUBLIC_URL this is not_configured, and the delivery is retried on its schedule.
 */
export async function signSecurityEvent(
  env: Env,
  tenant: string,
  claims: (issuer: string) => object,
): Promise<Result<{ token: string }>> {
  const at = publicUrlOf(env, null);
  return at.ok ? signJws(env, "secevent+jwt", claims(issuerOf(at.publicUrl, tenant))) : at;
}
