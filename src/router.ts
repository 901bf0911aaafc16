// The HTTP surface: which method and path reach which handler. The only file that imports
// itty-router. Paths match exactly as sent (no decoding, no case folding, no slash merging),
// so encoded slashes, upper case or doubled slashes reach no route. A known path with another
// method is 405 with `Allow`; anything unexpected becomes one logged 500 without details.

import type { IRequest } from "itty-router";
import { Router } from "itty-router/Router";
import { errorResponse, fail } from "./errors";
import type { Handler } from "./http";
import { logError } from "./log";
import { health } from "./routes/health";
import * as self from "./routes/session";
import * as sessions from "./routes/sessions";
import * as tenants from "./routes/tenants";

type Route = [method: string, path: string, handler: Handler];

const ROUTES: Route[] = [
  ["GET", "/health", health],
  ["PUT", "/v1/tenants/:tenant", tenants.putTenant],
  ["GET", "/v1/tenants/:tenant", tenants.getTenant],
  ["POST", "/v1/tenants/:tenant/keys", tenants.createKey],
  ["DELETE", "/v1/tenants/:tenant/keys/:keyId", tenants.revokeKey],
  ["POST", "/v1/tenants/:tenant/sessions", sessions.createSession],
  ["GET", "/v1/tenants/:tenant/sessions", sessions.listSessions],
  ["DELETE", "/v1/tenants/:tenant/sessions", sessions.revokeTenant],
  ["GET", "/v1/tenants/:tenant/sessions/:id", sessions.getSession],
  ["DELETE", "/v1/tenants/:tenant/sessions/:id", sessions.revokeSession],
  ["DELETE", "/v1/tenants/:tenant/users/:userId/sessions", sessions.revokeUser],
  ["GET", "/v1/tenants/:tenant/events", sessions.listEvents],
  ["GET", "/v1/session", self.validateSession],
  ["DELETE", "/v1/session", self.logout],
  ["POST", "/v1/session/rotate", self.rotateSession],
  ["GET", "/v1/session/siblings", self.listSiblings],
  ["DELETE", "/v1/session/siblings", self.revokeSiblings],
  ["GET", "/v1/session/live", self.live],
];

const router = Router<IRequest, [Env]>({
  catch: (error: unknown, request: IRequest) => {
    // The message and path only: never headers or bodies, which may hold credentials.
    logError({ event: "unhandled_error", path: new URL(request.url).pathname, message: String(error) });
    return errorResponse(fail("internal_error", "internal error").error);
  },
});

for (const [method, path, handler] of ROUTES) {
  router[method.toLowerCase() as "get"](path, (request: IRequest, env: Env) => handler(request as unknown as Request, env, request.params));
}

router.all("*", (request: IRequest) => {
  const { pathname } = new URL(request.url);
  const allowed = router.routes.filter(([method, pattern]) => method !== "ALL" && pattern.test(pathname)).map(([method]) => method);
  if (allowed.length === 0) return errorResponse(fail("not_found", "no such route").error);
  return errorResponse(fail("method_not_allowed", `use ${allowed.join(", ")}`).error, { Allow: allowed.join(", ") });
});

export function handle(request: Request, env: Env): Promise<Response> {
  return router.fetch(request, env);
}
