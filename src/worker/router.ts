// The HTTP surface: which method and path reach which handler. The only file that imports
// itty-router. Paths match exactly as the Worker receives them (no decoding, no case folding,
// no slash merging), so encoded slashes, upper case or doubled slashes reach no route.

import type { IRequest } from "itty-router";
import { Router } from "itty-router/Router";
import { fail } from "../core/errors";
import { errorResponse, type Handler, type Params } from "../core/http";
import { logError } from "../core/log";
import { health } from "./routes/health";
import * as platform from "./routes/platform";
import * as session from "./routes/session";
import * as signingKeys from "./routes/signing-keys";
import * as sessions from "./routes/sessions";
import * as tenants from "./routes/tenants";
import * as webhooks from "./routes/webhooks";
import * as idps from "./routes/identity-providers";
import * as binding from "./routes/binding";

type Route = [method: string, path: string, handler: Handler];

/**
 * The runtime itself resolves dot segments (`..`, `%2e%2e`, `./`) and backslashes before the
 * Worker sees the URL, so those cannot be refused here: a path that resolves to another tenant's
 * route is that route, with its own authorization (a tenant key stays 403 on another tenant).
 */
export const ROUTES: Route[] = [
  ["GET", "/health", health],
  ["GET", "/.well-known/jwks.json", signingKeys.jwks],
  ["GET", "/tenants/:tenant/.well-known/openid-configuration", signingKeys.openIdConfiguration],
  ["POST", "/v1/signing-keys/rotate", signingKeys.rotate],
  ["GET", "/v1/signing-keys", signingKeys.list],
  ["GET", "/v1/tenants", tenants.listTenants],
  ["DELETE", "/v1/sessions", platform.killAll],
  ["GET", "/v1/kills/:killId", platform.getKill],
  ["POST", "/v1/kills/:killId/undo", platform.undoKill],
  ["PUT", "/v1/tenants/:tenant", tenants.putTenant],
  ["GET", "/v1/tenants/:tenant", tenants.getTenant],
  ["DELETE", "/v1/tenants/:tenant", tenants.deleteTenant],
  ["GET", "/v1/tenants/:tenant/activity", tenants.activity],
  ["GET", "/v1/tenants/:tenant/keys", tenants.listKeys],
  ["POST", "/v1/tenants/:tenant/keys", tenants.createKey],
  ["DELETE", "/v1/tenants/:tenant/keys/:keyId", tenants.revokeKey],
  ["GET", "/v1/tenants/:tenant/token-keys", tenants.tokenKeys],
  ["POST", "/v1/tenants/:tenant/token-keys/retire", tenants.retireTokenKeys],
  ["POST", "/v1/tenants/:tenant/token-keys/restore", tenants.restoreTokenKeys],
  ["POST", "/v1/tenants/:tenant/sessions", sessions.createSession],
  ["POST", "/v1/tenants/:tenant/sessions/elevate", sessions.elevate],
  ["GET", "/v1/tenants/:tenant/sessions", sessions.listSessions],
  ["DELETE", "/v1/tenants/:tenant/sessions", sessions.revokeTenant],
  ["GET", "/v1/tenants/:tenant/sessions/:id", sessions.getSession],
  ["DELETE", "/v1/tenants/:tenant/sessions/:id", sessions.revokeSession],
  ["DELETE", "/v1/tenants/:tenant/users/:userId/sessions", sessions.revokeUser],
  ["DELETE", "/v1/tenants/:tenant/impersonations", sessions.revokeImpersonations],
  ["POST", "/v1/tenants/:tenant/users/:userId/reauthenticate", sessions.reauthenticateUser],
  ["POST", "/v1/tenants/:tenant/reauthenticate", sessions.reauthenticateTenant],
  ["POST", "/v1/tenants/:tenant/kills/:killId/undo", sessions.undoKill],
  ["GET", "/v1/tenants/:tenant/events", sessions.listEvents],
  ["POST", "/v1/tenants/:tenant/webhooks", webhooks.createWebhook],
  ["GET", "/v1/tenants/:tenant/webhooks", webhooks.listWebhooks],
  ["DELETE", "/v1/tenants/:tenant/webhooks/:id", webhooks.deleteWebhook],
  ["GET", "/v1/tenants/:tenant/webhooks/:id/deliveries", webhooks.webhookDeliveries],
  ["GET", "/v1/tenants/:tenant/identity-providers", idps.listIdentityProviders],
  ["PUT", "/v1/tenants/:tenant/identity-providers/:id", idps.putIdentityProvider],
  ["GET", "/v1/tenants/:tenant/identity-providers/:id", idps.getIdentityProvider],
  ["DELETE", "/v1/tenants/:tenant/identity-providers/:id", idps.deleteIdentityProvider],
  ["POST", "/v1/tenants/:tenant/identity-providers/:id/stream", idps.setUpStream],
  ["POST", "/v1/tenants/:tenant/identity-providers/:id/backchannel-logout", idps.backchannelLogout],
  ["POST", "/v1/tenants/:tenant/identity-providers/:id/events", idps.securityEvents],
  ["POST", "/v1/tenants/:tenant/identity-providers/:id/global-token-revocation", idps.globalTokenRevocation],
  ["GET", "/v1/session", session.validateSession],
  ["DELETE", "/v1/session", session.logout],
  ["POST", "/v1/session/rotate", session.rotateSession],
  ["POST", "/v1/session/token", session.mintJwt],
  ["GET", "/v1/session/siblings", session.listSiblings],
  ["DELETE", "/v1/session/siblings", session.revokeSiblings],
  ["GET", "/v1/session/live", session.live],
  ["POST", "/v1/session/binding", binding.register],
  ["POST", "/v1/session/binding/refresh", binding.refresh],
];

/** Anything unexpected becomes one logged 500 without details. */
function internalError(error: unknown, request: Request): Response {
  // The message and path only: never headers or bodies, which may hold credentials.
  logError({ event: "unhandled_error", path: new URL(request.url).pathname, message: String(error) });
  return errorResponse(fail("internal_error", "internal error").error);
}

const router = Router<IRequest, [Env]>({
  catch: (error: unknown, request: IRequest) => internalError(error, request as unknown as Request),
});

/**
 * "METHOD /path" of each route without parameters. Those routes (validation among them, the hot
 * path) are found by one map lookup on the path as sent; itty, which parses a URL and tries each
 * pattern, sees only the rest.
 */
const STATIC_ROUTES = new Map(
  ROUTES.filter(([, path]) => !path.includes(":")).map(([method, path, handler]) => [`${method} ${path}`, handler]),
);
const NO_PARAMS: Params = Object.freeze({}) as Params;

/** The path of an absolute URL as sent, without query or fragment. */
function pathAsSent(url: string): string {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start === -1) return "/";
  const query = url.indexOf("?", start);
  const fragment = url.indexOf("#", start);
  const end =
    query === -1 ? (fragment === -1 ? url.length : fragment) : fragment === -1 ? query : Math.min(query, fragment);
  return url.slice(start, end);
}

async function runStatic(handler: Handler, request: Request, env: Env): Promise<Response> {
  try {
    return await handler(request, env, NO_PARAMS);
  } catch (error) {
    return internalError(error, request);
  }
}

for (const [method, path, handler] of ROUTES) {
  router[method.toLowerCase() as "get"](path, (request: IRequest, env: Env) =>
    handler(request as unknown as Request, env, request.params),
  );
}

// A known path with another method is 405 with `Allow`.
router.all("*", (request: IRequest) => {
  const { pathname } = new URL(request.url);
  const allowed = router.routes
    .filter(([method, pattern]) => method !== "ALL" && pattern.test(pathname))
    .map(([method]) => method);
  if (allowed.includes("GET")) allowed.push("HEAD");
  if (allowed.length === 0) return errorResponse(fail("not_found", "no such route").error);
  return errorResponse(fail("method_not_allowed", `use ${allowed.join(", ")}`).error, { Allow: allowed.join(", ") });
});

function route(request: Request, env: Env): Promise<Response> {
  const handler = STATIC_ROUTES.get(`${request.method} ${pathAsSent(request.url)}`);
  return handler ? runStatic(handler, request, env) : router.fetch(request, env);
}

/** `HEAD` of a GET route answers as GET would, without a body. */
export async function handle(request: Request, env: Env): Promise<Response> {
  if (request.method !== "HEAD") return route(request, env);
  // As GET, but never an upgrade: a HEAD cannot carry a WebSocket.
  const headers = new Headers(request.headers);
  headers.delete("Upgrade");
  const answer = await route(new Request(request, { method: "GET", headers }), env);
  return new Response(null, { status: answer.status, headers: answer.headers });
}
