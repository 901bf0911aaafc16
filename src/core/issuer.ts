// Who issues a tenant's JWTs and CAEP security events: `{PUBLIC_URL}/tenants/{tenant}`. One
// issuer per tenant, so that a consumer pinning its tenant's issuer refuses every other
// tenant's tokens, even for a shared audience or receiver. The discovery document at each
// issuer points to the one JWKS that every tenant shares.

import { publicUrlOf } from "./config";
import { fail, ok, type Result } from "./errors";
import { isTenantName } from "./identifiers";

/** Consumers may cache the discovery document this long: it changes only with PUBLIC_URL. */
export const DISCOVERY_MAX_AGE_SECONDS = 300;

/** A path under /tenants that names no tenant names no issuer either. */
const NO_SUCH_ISSUER = fail("not_found", "no such issuer: tenant names match ^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$");

export function issuerOf(publicUrl: string, tenant: string): string {
  return `${publicUrl}/tenants/${tenant}`;
}

/**
 * The fields of OpenID Connect Discovery 1.0 that apply. This service is no OpenID Provider:
 * it has no authorization or token endpoint, so neither is listed (a consumer needs only the
 * issuer and the keys). `response_types_supported` is required all the same, and libraries
 * check it: `id_token` is the nearest truth, a signed statement about a signed-in user.
 */
export interface OpenIdConfiguration {
  issuer: string;
  jwks_uri: string;
  response_types_supported: ["id_token"];
  subject_types_supported: ["public"];
  id_token_signing_alg_values_supported: ["EdDSA"];
}

/**
 * The discovery document of a tenant's issuer, for anyone, for every well-formed name: it is
 * the same whether the tenant exists or not, so it is answered without asking any object.
 * Asking would tell anyone which tenants exist, and load the one directory with their guesses.
 */
export function discovery(env: Env, tenant: string, requestUrl: string): Result<{ document: OpenIdConfiguration }> {
  if (!isTenantName(tenant)) return NO_SUCH_ISSUER;
  const at = publicUrlOf(env, requestUrl);
  if (!at.ok) return at;
  return ok({
    document: {
      issuer: issuerOf(at.publicUrl, tenant),
      jwks_uri: `${at.publicUrl}/.well-known/jwks.json`,
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: ["EdDSA"],
    },
  });
}
