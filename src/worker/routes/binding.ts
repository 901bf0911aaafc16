// Device Bound Session Credentials on the service's own API, for apps that route these paths of
// their site to the service: POST /v1/session/binding (registration) and
// POST /v1/session/binding/refresh. Headers as Chromium 156 speaks them.

import { boundCookieName, challengeHeader, sessionConfig } from "../../core/binding";
import { loadConfig } from "../../core/config";
import { errorResponse, type Handler, jsonResponse } from "../../core/http";
import { sessionCredential } from "@session-service/client";
import * as service from "../operations";
import { BINDING_PATH } from "../operations/doors";

function boundCookie(name: string, value: string, seconds: number): string {
  return `${name}=${value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=${seconds}`;
}

function configOf(request: Request, sessionId: string, cookieName: string): object {
  const { origin } = new URL(request.url);
  return sessionConfig(sessionId, origin, `${origin}${BINDING_PATH}/refresh`, boundCookieName(cookieName), []);
}

export const register: Handler = async (request, env) => {
  const config = loadConfig(env);
  if (!config.ok) return errorResponse(config.error);
  const { cookieName } = config.config;
  const { token } = sessionCredential(request, cookieName);
  const bound = await service.registerBinding(
    env,
    service.ANY_TENANT,
    token,
    request.headers.get("Secure-Session-Response"),
  );
  if (!bound.ok) return errorResponse(bound.error);
  return jsonResponse(200, configOf(request, bound.sessionId, cookieName), {
    "Set-Cookie": boundCookie(boundCookieName(cookieName), bound.boundCookie, bound.cookieSeconds),
  });
};

export const refresh: Handler = async (request, env) => {
  const config = loadConfig(env);
  if (!config.ok) return errorResponse(config.error);
  const { cookieName } = config.config;
  const { token } = sessionCredential(request, cookieName);
  const refreshed = await service.refreshBinding(
    env,
    service.ANY_TENANT,
    token,
    request.headers.get("Sec-Secure-Session-Id"),
    request.headers.get("Secure-Session-Response"),
  );
  if (!refreshed.ok) {
    // An ended session: the browser drops its bound session (and stops refreshing it).
    if (refreshed.error.code === "invalid_token") return jsonResponse(200, { continue: false });
    return errorResponse(refreshed.error);
  }
  if ("challenge" in refreshed)
    return new Response(null, {
      status: 403,
      headers: {
        "Secure-Session-Challenge": challengeHeader(refreshed.challenge, refreshed.sessionId),
        "Cache-Control": "no-store",
      },
    });
  return jsonResponse(200, configOf(request, refreshed.sessionId, cookieName), {
    "Set-Cookie": boundCookie(boundCookieName(cookieName), refreshed.boundCookie, refreshed.cookieSeconds),
  });
};
