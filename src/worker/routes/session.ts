// Self-service routes (/v1/session and below), authenticated by the session token itself
// (cookie or bearer).
// A back end may pin the tenant it expects with `Session-Tenant`: another tenant's token is
// then 401. Cookie-carried state changes pass the cross-origin check first.

import { readJsonBody } from "../body";
import { boundCookieName, clearedSessionCookie } from "@session-service/client";
import { loadConfig } from "../../core/config";
import { readCookie, sessionCredential } from "@session-service/client";
import { crossOriginVerdict } from "@session-service/client";
import { fail, ok, type Result } from "../../core/errors";
import { errorResponse, queryOf, respond, type Handler } from "../../core/http";
import { requirementOfQuery } from "../../core/assurance";
import { isTenantName } from "../../core/identifiers";
import * as service from "../operations";

const CROSS_SITE = fail("origin_not_allowed", "cross-site requests may not change a cookie session");
const BAD_PIN = fail("bad_request", "Session-Tenant must be a tenant name", "Session-Tenant");

interface SelfServiceRequest {
  request: Request;
  env: Env;
  token: string | null;
  /** The tenant named by `Session-Tenant`, or any tenant. */
  expectedTenant: string | typeof service.ANY_TENANT;
  /** The origin the tenant must allow for a state change, or null when none applies. */
  origin: string | null;
  cookieName: string;
  /** The device-bound session's short-lived cookie, if the request carries one. */
  boundCookie: string | null;
}

type SelfServiceHandler = (call: SelfServiceRequest) => Promise<Response>;

/**
 * A route of the session itself: configuration checked, token and pin read. For a state
 * change (`checkOrigin`), a cross-site cookie request is refused before anything runs.
 */
function selfService(checkOrigin: boolean, handler: SelfServiceHandler): Handler {
  return async (request, env) => {
    const config = loadConfig(env);
    if (!config.ok) return errorResponse(config.error);
    const pin = request.headers.get("Session-Tenant");
    if (pin !== null && !isTenantName(pin)) return errorResponse(BAD_PIN.error);
    const { cookieName } = config.config;
    const credential = sessionCredential(request, cookieName);
    let origin: string | null = null;
    if (checkOrigin && credential.via === "cookie") {
      const verdict = crossOriginVerdict(request);
      if (!verdict.allowed) return errorResponse(CROSS_SITE.error);
      origin = verdict.origin;
    }
    return handler({
      request,
      env,
      token: credential.token,
      expectedTenant: pin ?? service.ANY_TENANT,
      origin,
      cookieName,
      boundCookie: readCookie(request.headers.get("Cookie"), boundCookieName(cookieName)),
    });
  };
}

/**
 * Validates and slides. `?maxAuthAge=SECONDS&acr=LEVEL&amr=a,b` asks more than a live session
 * (src/core/assurance.ts).
 */
export const validateSession = selfService(false, async ({ request, env, expectedTenant, token, boundCookie }) => {
  const query = queryOf(request);
  if (!query.ok) return errorResponse(query.error);
  const asked = requirementOfQuery(query.query);
  if (!asked.ok) return errorResponse(asked.error);
  return respond(await service.validate(env, expectedTenant, token, asked.requirement ?? undefined, boundCookie));
});

/** Logout. */
export const logout = selfService(true, async ({ env, expectedTenant, token, origin, cookieName }) => {
  const result: Result = await service.logout(env, expectedTenant, token, origin);
  if (!result.ok) return errorResponse(result.error);
  return new Response(null, {
    status: 204,
    headers: {
      "Set-Cookie": clearedSessionCookie(cookieName),
      "Clear-Site-Data": '"cookies"',
      "Cache-Control": "no-store",
      "X-Content-Type-Options": "nosniff",
    },
  });
});

/** A new token, same session. */
export const rotateSession = selfService(true, async ({ env, expectedTenant, token, origin, boundCookie }) => {
  const result = await service.rotate(env, expectedTenant, token, origin, boundCookie);
  return respond(result, 200, result.ok ? { "Set-Cookie": result.setCookie } : {});
});

/** The audience a POST /v1/session/token body names: `{ "audience": "..." }` and nothing else. */
async function audienceOf(request: Request): Promise<Result<{ audience: unknown }>> {
  const body = await readJsonBody(request);
  if (!body.ok) return body;
  const input = body.value as Record<string, unknown> | null;
  if (typeof input !== "object" || input === null || Array.isArray(input))
    return fail("bad_request", 'the body must be { "audience": "..." }');
  const unknown = Object.keys(input).find((field) => field !== "audience");
  if (unknown !== undefined)
    return fail("bad_request", `unknown field ${JSON.stringify(unknown.slice(0, 64))}`, unknown.slice(0, 64));
  return ok({ audience: input.audience });
}

/**
 * A JWT for another service. A state change, origin-checked like rotation; the body is read
 * only once the token is verified (the service calls `audienceOf`), so a caller without a
 * token this deployment signed learns nothing from its body's fate: 401 whatever it sent.
 */
export const mintJwt = selfService(true, async ({ request, env, expectedTenant, token, origin, boundCookie }) => {
  return respond(
    await service.mintJwt(env, expectedTenant, token, () => audienceOf(request), origin, request.url, boundCookie),
  );
});

/** This user's sessions. */
export const listSiblings = selfService(false, async ({ env, expectedTenant, token, boundCookie }) => {
  return respond(await service.listSiblings(env, expectedTenant, token, boundCookie));
});

/** Kills this user's other sessions. */
export const revokeSiblings = selfService(true, async ({ env, expectedTenant, token, origin, boundCookie }) => {
  return respond(await service.revokeSiblings(env, expectedTenant, token, origin, boundCookie));
});

/** A browser's socket must come from an allowed origin (cross-site WebSocket hijacking). */
const openLive = selfService(true, async ({ env, expectedTenant, token, origin, boundCookie }) => {
  const opened = await service.openLive(env, expectedTenant, token, origin, boundCookie);
  return opened.ok ? opened.response : errorResponse(opened.error);
});

/** WebSocket: told and closed with 4001 when the session ends. */
export const live: Handler = async (request, env, params) => {
  if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
    return errorResponse(fail("upgrade_required", "this route speaks WebSocket only").error, { Upgrade: "websocket" });
  }
  return openLive(request, env, params);
};
