// A tenant's identity providers (platform admin or the tenant's key):
//   PUT/GET/DELETE /v1/tenants/:tenant/identity-providers/:id, GET .../identity-providers,
//   POST .../:id/stream (a Shared Signals stream set up with its transmitter);
// and the receivers their signals reach, each answering in its own standard's terms:
//   POST .../:id/backchannel-logout, POST .../:id/events, POST .../:id/global-token-revocation.

import { bearerCredential } from "@session-service/client";
import { publicUrlOf } from "../../core/config";
import { type ApiError, statusOf } from "../../core/errors";
import { apiRoute, errorResponse, type Handler, respond } from "../../core/http";
import { SET_ERRORS } from "../../core/signals";
import { readBody, readJsonBody } from "../body";
import * as service from "../operations";

export const putIdentityProvider = apiRoute("tenant", async (request, env, params, caller) => {
  const body = await readJsonBody(request);
  if (!body.ok) return errorResponse(body.error);
  const put = await service.putIdentityProvider(env, caller, params.tenant, params.id, body.value, request.url);
  return respond(put, put.ok && put.created ? 201 : 200);
});

export const getIdentityProvider = apiRoute("tenant", async (request, env, params, caller) => {
  return respond(await service.getIdentityProvider(env, caller, params.tenant, params.id, request.url));
});

export const listIdentityProviders = apiRoute("tenant", async (request, env, params, caller) => {
  return respond(await service.listIdentityProviders(env, caller, params.tenant, request.url));
});

export const setUpStream = apiRoute("tenant", async (request, env, params, caller) => {
  const body = await readJsonBody(request);
  if (!body.ok) return errorResponse(body.error);
  return respond(await service.setUpStream(env, caller, params.tenant, params.id, body.value, request.url), 201);
});

export const deleteIdentityProvider = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.deleteIdentityProvider(env, caller, params.tenant, params.id));
});

const FORM = /^application\/x-www-form-urlencoded\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;
const SECEVENT = /^application\/secevent\+jwt\s*$/i;
const JSON_TYPE = /^application\/json\s*(?:;\s*charset\s*=\s*"?utf-8"?\s*)?$/i;

/** A receiver's own JSON, never cached. */
function answer(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(body === null ? null : JSON.stringify(body), {
    status,
    headers: {
      "Cache-Control": "no-store",
      ...(body !== null && { "Content-Type": "application/json; charset=utf-8" }),
      ...headers,
    },
  });
}

/** A failure of the service itself (a store unreachable, too many signals): the provider should send again later. */
function unavailable(error: ApiError, body: (code: string, description: string) => unknown): Response {
  const status = statusOf(error.code);
  const retry = status === 429 ? "60" : "5";
  return answer(status, body("temporarily_unavailable", error.message), { "Retry-After": retry });
}

const oauthError = (code: string, description: string) => ({ error: code, error_description: description });

/**
 * OpenID Connect Back-Channel Logout 1.0, section 2.8: 200 once the sessions are ended, or 400
 * `invalid_request` with a description; `logout_token` exactly once in a form body.
 */
export const backchannelLogout: Handler = async (request, env, params) => {
  const read = await readBody(request, FORM, "application/x-www-form-urlencoded");
  if (!read.ok) return answer(400, oauthError("invalid_request", read.error.message));
  const tokens = new URLSearchParams(read.text).getAll("logout_token");
  if (tokens.length !== 1) return answer(400, oauthError("invalid_request", "logout_token must be given exactly once"));
  const outcome = await service.receiveSignal(env, params.tenant, params.id, {
    kind: "backchannel-logout",
    token: tokens[0]!,
  });
  if (!outcome.ok) return unavailable(outcome.error, oauthError);
  if ("refused" in outcome) return answer(400, oauthError("invalid_request", outcome.description));
  return answer(200, null);
};

const setError = (err: string, description: string) => ({ err, description });

/** Shared Signals push (RFC 8935): 202 once acted on; 400 (401 without the configured Authorization) with `err`. */
export const securityEvents: Handler = async (request, env, params) => {
  const read = await readBody(request, SECEVENT, "application/secevent+jwt");
  if (!read.ok) return answer(400, setError("invalid_request", read.error.message));
  const outcome = await service.receiveSignal(env, params.tenant, params.id, {
    kind: "security-event",
    token: read.text.trim(),
    authorization: request.headers.get("Authorization"),
  });
  if (!outcome.ok) return unavailable(outcome.error, setError);
  if (!("refused" in outcome)) return answer(202, null);
  const status = outcome.refused === "unauthorized" ? 401 : 400;
  return answer(status, setError(SET_ERRORS[outcome.refused], outcome.description));
};

/**
 * Global Token Revocation (the draft Okta's Universal Logout follows): 204 once the user's
 * sessions are ended (the same for a user with none), 400 for a body that names nobody, 401 for
 * a missing or invalid bearer token, 403 for a provider this tenant does not have.
 */
export const globalTokenRevocation: Handler = async (request, env, params) => {
  const read = await readBody(request, JSON_TYPE, "application/json");
  if (!read.ok) return answer(400, oauthError("invalid_request", read.error.message));
  let body: unknown;
  try {
    body = JSON.parse(read.text);
  } catch {
    return answer(400, oauthError("invalid_request", "the body is not valid JSON"));
  }
  const at = publicUrlOf(env, request.url);
  const path = `/v1/tenants/${params.tenant}/identity-providers/${params.id}/global-token-revocation`;
  const outcome = await service.receiveSignal(env, params.tenant, params.id, {
    kind: "global-token-revocation",
    token: bearerCredential(request),
    body,
    endpoint: at.ok ? `${at.publicUrl}${path}` : new URL(request.url).origin + path,
  });
  if (!outcome.ok) return unavailable(outcome.error, oauthError);
  if (!("refused" in outcome)) return answer(204, null);
  if (outcome.refused === "invalid_subject") return answer(400, oauthError("invalid_request", outcome.description));
  if (outcome.refused === "unknown_provider") return answer(403, oauthError("access_denied", outcome.description));
  return answer(401, oauthError("invalid_token", outcome.description), {
    "WWW-Authenticate": `Bearer error="invalid_token"`,
  });
};
