// JWT signing keys and the issuers that use them:
//   GET  /.well-known/jwks.json       the public keys (anyone; cacheable for JWKS_MAX_AGE_SECONDS)
//   GET  /tenants/:tenant/.well-known/openid-configuration   a tenant issuer's discovery document (anyone)
//   POST /v1/signing-keys/rotate      publish a new key, signing once cached JWKS have expired (admin)
//   GET  /v1/signing-keys             each key with its state: next, current, retired (admin)

import { JWKS_MAX_AGE_SECONDS } from "../../../durable-objects/key-ring/key-ring";
import { apiRoute, errorResponse, jsonResponse, respond, type Handler } from "../../core/http";
import { discovery, DISCOVERY_MAX_AGE_SECONDS } from "../../core/issuer";
import * as keys from "../signing-keys";

/**
 * The copy may be this isolate's: `max-age` is what is left of its time, and `Age` says how
 * old it is, so a cache downstream (whether it reads `Age` or not) keeps it no longer than
 * JWKS_MAX_AGE_SECONDS in all, within which a rotation's new key is published before it signs.
 */
export const jwks: Handler = async (_request, env) => {
  const result = await keys.jwks(env);
  if (!result.ok) return errorResponse(result.error);
  const left = Math.max(0, JWKS_MAX_AGE_SECONDS - result.ageSeconds);
  return jsonResponse(
    200,
    { keys: result.keys },
    { "Cache-Control": `public, max-age=${left}`, Age: String(result.ageSeconds) },
  );
};

export const openIdConfiguration: Handler = async (request, env, params) => {
  const result = discovery(env, params.tenant!, request.url);
  if (!result.ok) return errorResponse(result.error);
  return jsonResponse(200, result.document, { "Cache-Control": `public, max-age=${DISCOVERY_MAX_AGE_SECONDS}` });
};

export const rotate = apiRoute("admin", async (_request, env, _params, caller) =>
  respond(await keys.rotateSigningKey(env, caller)),
);

export const list = apiRoute("admin", async (_request, env, _params, caller) =>
  respond(await keys.listSigningKeys(env, caller)),
);
