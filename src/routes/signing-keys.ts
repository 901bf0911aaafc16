// JWT signing keys:
//   GET  /.well-known/jwks.json       the public keys (anyone; cacheable for JWKS_MAX_AGE_SECONDS)
//   POST /v1/signing-keys/rotate      publish a new key, signing once cached JWKS have expired (admin)
//   GET  /v1/signing-keys             each key with its state: next, current, retired (admin)

import { JWKS_MAX_AGE_SECONDS } from "../../durable-objects/key-ring";
import { apiRoute, errorResponse, jsonResponse, respond, type Handler } from "../http";
import * as keys from "../signing-keys";

export const jwks: Handler = async (_request, env) => {
  const result = await keys.jwks(env);
  if (!result.ok) return errorResponse(result.error);
  return jsonResponse(200, { keys: result.keys }, { "Cache-Control": `public, max-age=${JWKS_MAX_AGE_SECONDS}` });
};

export const rotate = apiRoute("admin", async (_request, env, _params, caller) => respond(await keys.rotateSigningKey(env, caller)));

export const list = apiRoute("admin", async (_request, env, _params, caller) => respond(await keys.listSigningKeys(env, caller)));
