// A stand-in identity provider from a test's side: its own key pair (made with jose), its key set
// published on the provider server (test/support/provider-server.mjs), and tokens signed as it
// would sign them: logout tokens, Security Event Tokens, revocation requests.

import { exportJWK, generateKeyPair, type JWTPayload, SignJWT, type JWK } from "jose";
import { inject } from "vitest";
import { call } from "../helpers";

export const BACKCHANNEL_LOGOUT = "http://schemas.openid.net/event/backchannel-logout";
export const CAEP = "https://schemas.openid.net/secevent/caep/event-type/";
export const RISC = "https://schemas.openid.net/secevent/risc/event-type/";

export interface TestProvider {
  /** Its name on the provider server, and its issuer (`{server}/{name}`). */
  name: string;
  issuer: string;
  jwksUri: string;
  kid: string;
  /** Signs claims with its key (ES256 unless `alg` says otherwise), `typ` as given. */
  sign(claims: JWTPayload, header?: { typ?: string; kid?: string }): Promise<string>;
  /** Publishes its key set (another key pair too, when given), with a Cache-Control max-age. */
  publish(options?: { maxAge?: number; extra?: JWK[] }): Promise<void>;
  /** How many times the service fetched its key set. */
  hits(): Promise<number>;
  /** Its key set no longer served. */
  unpublish(): Promise<void>;
  publicJwk: JWK;
}

let made = 0;

export async function newProvider(alg: "ES256" | "RS256" = "ES256"): Promise<TestProvider> {
  made += 1;
  const server = inject("providerServer");
  const name = `idp-${made}-${crypto.randomUUID().slice(0, 8)}`;
  const issuer = `${server}/${name}`;
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const kid = `k-${crypto.randomUUID().slice(0, 8)}`;
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  const provider: TestProvider = {
    name,
    issuer,
    jwksUri: `${issuer}/jwks`,
    kid,
    publicJwk,
    sign: (claims, header = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg, kid: header.kid ?? kid, ...(header.typ !== undefined && { typ: header.typ }) })
        .sign(privateKey),
    async publish(options = {}) {
      const query = options.maxAge === undefined ? "" : `?maxAge=${options.maxAge}`;
      const response = await fetch(`${issuer}/jwks${query}`, {
        method: "PUT",
        body: JSON.stringify({ keys: [publicJwk, ...(options.extra ?? [])] }),
      });
      if (response.status !== 204) throw new Error(`publishing keys failed: ${response.status}`);
    },
    async unpublish() {
      await fetch(`${issuer}/jwks`, { method: "DELETE" });
    },
    async hits() {
      const response = await fetch(`${issuer}/hits`);
      return ((await response.json()) as { jwks: number }).jwks;
    },
  };
  await provider.publish();
  return provider;
}

/** Registers the provider with the tenant as `id` (audience `client-1`), by discovery unless `body` says otherwise. */
export async function register(
  tenant: string,
  id: string,
  provider: TestProvider,
  body: Record<string, unknown> = {},
): Promise<Response> {
  return call("PUT", `/v1/tenants/${tenant}/identity-providers/${id}`, {
    body: { issuer: provider.issuer, audience: "client-1", ...body },
  });
}

/** A logout token's claims as section 2.4 lists them, fresh, for the audience `client-1`. */
export function logoutClaims(provider: TestProvider, subject: { sub?: string; sid?: string }): JWTPayload {
  return {
    iss: provider.issuer,
    aud: "client-1",
    iat: Math.floor(Date.now() / 1000),
    jti: crypto.randomUUID(),
    events: { [BACKCHANNEL_LOGOUT]: {} },
    ...subject,
  };
}

/** POSTs a form to the back-channel logout receiver of the tenant's provider `id`. */
export function postLogout(
  tenant: string,
  id: string,
  form: string,
  contentType = "application/x-www-form-urlencoded",
) {
  return call("POST", `/v1/tenants/${tenant}/identity-providers/${id}/backchannel-logout`, {
    key: null,
    rawBody: form,
    headers: { "Content-Type": contentType },
  });
}

export function logoutForm(token: string): string {
  return new URLSearchParams({ logout_token: token }).toString();
}

/** A Security Event Token's claims: one event about `subject`, for the audience `client-1`. */
export function setClaims(
  provider: TestProvider,
  event: string,
  body: Record<string, unknown>,
  subject: unknown,
): JWTPayload {
  return {
    iss: provider.issuer,
    aud: "client-1",
    iat: Math.floor(Date.now() / 1000),
    jti: crypto.randomUUID(),
    sub_id: subject,
    events: { [event]: body },
  };
}

export function pushEvent(tenant: string, id: string, token: string, headers: Record<string, string> = {}) {
  return call("POST", `/v1/tenants/${tenant}/identity-providers/${id}/events`, {
    key: null,
    rawBody: token,
    headers: { "Content-Type": "application/secevent+jwt", ...headers },
  });
}
