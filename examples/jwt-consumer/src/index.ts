// An API that trusts the session service's JWTs without calling it: `GET /whoami` with
// `Authorization: Bearer <jwt>` answers who the JWT names, or 401. Verified with `jose`
// against the JWKS, cached by jose per isolate (and fetched again for a key id it does not
// know, at most once every 30 s): only EdDSA is accepted (no `none`, no HMAC with the public
// key as secret), `typ` must be JWT (not a security event signed with the same keys), and
// `aud`, `exp` and `iss` (one tenant's issuer: no other tenant's JWT passes) must hold.

import { createRemoteJWKSet, jwtVerify, type JWTPayload } from "jose";

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

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", "Cache-Control": "no-store" },
  });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    if (new URL(request.url).pathname !== "/whoami") return json(404, { error: "not found" });
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
    return json(200, { user: payload.sub, session: payload.sid, tenant: payload.tid });
  },
} satisfies ExportedHandler<Env>;
