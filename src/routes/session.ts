// Self-service routes, authenticated by the session token itself (cookie or bearer):
//   GET /v1/session (validate and slide), DELETE /v1/session (logout),
//   POST /v1/session/rotate (new token, same session),
//   GET /v1/session/siblings (this user's sessions), DELETE /v1/session/siblings (the others),
//   GET /v1/session/live (WebSocket: told and closed with 4001 when the session ends).
// Cookie-carried state changes pass the cross-origin check first.

import { clearedSessionCookie } from "../cookie";
import { crossOriginVerdict } from "../cross-origin";
import { errorResponse, fail, type Result } from "../errors";
import { respond, sessionCredential, type Handler, type SessionCredential } from "../http";
import * as service from "../service";

const CROSS_SITE = fail("origin_not_allowed", "cross-site requests may not change a cookie session");

/** The origin the tenant must allow for this state change (null for none), or a refusal. */
function originToCheck(request: Request, credential: SessionCredential): Result<{ origin: string | null }> {
  if (credential.via === "bearer") return { ok: true, origin: null };
  const verdict = crossOriginVerdict(request);
  return verdict.allowed ? { ok: true, origin: verdict.origin } : CROSS_SITE;
}

type StateChangeHandler = (env: Env, token: string | null, origin: string | null) => Promise<Response>;

/** A state change by the session itself: cross-site cookie requests are refused before it runs. */
function stateChange(handler: StateChangeHandler): Handler {
  return async (request, env) => {
    const credential = sessionCredential(request, env);
    const check = originToCheck(request, credential);
    return check.ok ? handler(env, credential.token, check.origin) : errorResponse(check.error);
  };
}

export const validateSession: Handler = async (request, env) => {
  return respond(await service.validate(env, sessionCredential(request, env).token));
};

export const logout = stateChange(async (env, token, origin) => {
  const result = await service.destroy(env, token, origin);
  if (!result.ok) return errorResponse(result.error);
  return new Response(null, {
    status: 204,
    headers: {
      "Set-Cookie": clearedSessionCookie(service.sessionCookieName(env)),
      "Clear-Site-Data": '"cookies"',
      "Cache-Control": "no-store",
    },
  });
});

export const rotateSession = stateChange(async (env, token, origin) => {
  const result = await service.rotate(env, token, origin);
  return respond(result, 200, result.ok ? { "Set-Cookie": result.setCookie } : {});
});

export const listSiblings: Handler = async (request, env) => {
  return respond(await service.listSiblings(env, sessionCredential(request, env).token));
};

export const revokeSiblings = stateChange(async (env, token, origin) => {
  return respond(await service.revokeSiblings(env, token, origin));
});

/** A browser's socket must come from an allowed origin (cross-site WebSocket hijacking). */
const openLive = stateChange(async (env, token, origin) => {
  const opened = await service.openLive(env, token, origin);
  return opened.ok ? opened.response : errorResponse(opened.error);
});

export const live: Handler = async (request, env, params) => {
  if (request.headers.get("Upgrade")?.toLowerCase() !== "websocket") {
    return errorResponse(fail("upgrade_required", "this route speaks WebSocket only").error, { Upgrade: "websocket" });
  }
  return openLive(request, env, params);
};
