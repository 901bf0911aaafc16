// An API that trusts the session service's JWTs without calling it: `GET /whoami` with
// `Authorization: Bearer <jwt>` answers who the JWT names, or 401. Verified with `jose`
// against the JWKS, cached by jose per isolate (and fetched again for a key id it does not
// know, at most once every 30 s): only EdDSA is accepted (no `none`, no HMAC with the public
// key as secret), `typ` must be JWT (not a security event signed with the same keys), and
// `aud`, `exp` and `iss` (one tenant's issuer: no other tenant's JWT passes) must hold.
// `POST /transfer` also wants a recent sign-in (the JWT's `auth_time`), or answers RFC 9470's challenge.

import { stepUpChallenge } from "@session-service/client";
import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";

/** A transfer needs a sign-in at most this recent, judged from the JWT alone. */
const TRANSFER_MAX_AUTH_AGE_SECONDS = 300;

interface Env {
  JWKS_URL: string;
  ISSUER: string;
  AUDIENCE: string;
}

let jwks: { url: string; keys: ReturnType<typeof createRemoteJWKSet> } | null = null;

function keysOf(env: Env): ReturnType<typeof createRemoteJWKSet> {
  if (jwks?.url !== env.JWKS_URL)
    jwks = {
      url: env.JWKS_URL,
      keys: createRemoteJWKSet(new URL(env.JWKS_URL), { cacheMaxAge: 300_000, cooldownDuration: 30_000 }),
    };
  return jwks.keys;
}

function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store", ...headers },
  });
}

/** A sensitive action: the user must have signed in within TRANSFER_MAX_AUTH_AGE_SECONDS (`auth_time`). */
function transfer(payload: JWTPayload): Response {
  const authTime = payload.auth_time;
  const age = typeof authTime === "number" ? Date.now() / 1000 - authTime : Number.POSITIVE_INFINITY;
  if (age > TRANSFER_MAX_AUTH_AGE_SECONDS) {
    const required = { maxAuthAgeSeconds: TRANSFER_MAX_AUTH_AGE_SECONDS };
    const message = "a transfer needs a recent sign-in";
    return json(
      401,
      { error: "insufficient_user_authentication", message },
      {
        "WWW-Authenticate": stepUpChallenge(required, message),
      },
    );
  }
  return json(200, { transferred: true, user: payload.sub });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const route = `${request.method} ${new URL(request.url).pathname}`;
    if (route !== "GET /whoami" && route !== "POST /transfer") return json(404, { error: "not found" });
    const header = request.headers.get("Authorization") ?? "";
    if (!header.startsWith("Bearer ")) return json(401, { error: "a bearer JWT is required" });
    let payload: JWTPayload;
    try {
      // typ JWT and these claims: the service signs its CAEP security events with the same keys.
      ({ payload } = await jwtVerify(header.slice("Bearer ".length), keysOf(env), {
        algorithms: ["EdDSA"],
        typ: "JWT",
        audience: env.AUDIENCE,
        issuer: env.ISSUER,
        requiredClaims: ["exp", "sub", "sid", "tid"],
      }));
    } catch (error) {
      return json(401, { error: (error as { code?: string }).code ?? "invalid" });
    }
    if (route === "POST /transfer") return transfer(payload);
    return json(200, { user: payload.sub, session: payload.sid, tenant: payload.tid });
  },
} satisfies ExportedHandler<Env>;
