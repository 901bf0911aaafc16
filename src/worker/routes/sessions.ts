// Back-end and operator routes on a tenant's sessions, under /v1/tenants/:tenant (the paths:
// ROUTES in src/worker/router.ts, and docs/API.md).

import { readJsonBody } from "../body";
import { fail } from "../../core/errors";
import { apiRoute, decodePathSegment, errorResponse, queryOf, respond } from "../../core/http";
import * as service from "../operations";

/** Creates one session (the token is returned once). */
export const createSession = apiRoute("tenant", async (request, env, params, caller) => {
  const body = await readJsonBody(request);
  if (!body.ok) return errorResponse(body.error);
  return respond(await service.createSession(env, caller, params.tenant, body.value), 201);
});

/**
 * A step-up: `{ token, acr?, amr?, authTime? }`. The token travels in the body, beside what the
 * step-up reached: never in the URL.
 */
export const elevate = apiRoute("tenant", async (request, env, params, caller) => {
  const body = await readJsonBody(request);
  if (!body.ok) return errorResponse(body.error);
  const input = body.value;
  if (typeof input !== "object" || input === null || Array.isArray(input))
    return errorResponse(
      fail("bad_request", 'the body must be { "token": "...", "acr"?, "amr"?, "authTime"?, "boundCookie"? }').error,
    );
  const { token, boundCookie, ...raised } = input as Record<string, unknown>;
  if (typeof token !== "string")
    return errorResponse(fail("bad_request", "token must be a session token", "token").error);
  if (boundCookie !== undefined && typeof boundCookie !== "string")
    return errorResponse(fail("bad_request", "boundCookie must be the request's bound cookie", "boundCookie").error);
  const result = await service.elevate(env, caller, params.tenant, token, raised, boundCookie ?? null);
  return respond(result, 200, result.ok ? { "Set-Cookie": result.setCookie } : {});
});

/** `?userId&limit&cursor`: the list, newest first. */
export const listSessions = apiRoute("tenant", async (request, env, params, caller) => {
  const query = queryOf(request);
  if (!query.ok) return errorResponse(query.error);
  return respond(await service.listSessions(env, caller, params.tenant, query.query));
});

/** One session. */
export const getSession = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.getSession(env, caller, params.tenant, params.id));
});

/** Kills one. */
export const revokeSession = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.revokeSession(env, caller, params.tenant, params.id));
});

/** Kills all of a user. */
export const revokeUser = apiRoute("tenant", async (_request, env, params, caller) => {
  const userId = decodePathSegment(params.userId!, "userId");
  if (!userId.ok) return errorResponse(userId.error);
  return respond(await service.revokeUser(env, caller, params.tenant, userId.value));
});

/** Kills all of the tenant. */
export const revokeTenant = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.revokeTenant(env, caller, params.tenant));
});

/** Ends every impersonation. */
export const revokeImpersonations = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.revokeImpersonations(env, caller, params.tenant));
});

/** A user's sessions prove it again. */
export const reauthenticateUser = apiRoute("tenant", async (_request, env, params, caller) => {
  const userId = decodePathSegment(params.userId!, "userId");
  if (!userId.ok) return errorResponse(userId.error);
  return respond(await service.reauthenticate(env, caller, params.tenant, userId.value));
});

/** Every session of the tenant proves it again. */
export const reauthenticateTenant = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.reauthenticate(env, caller, params.tenant));
});

/** Undoes a kill (or a reauthenticate) within the undo window. */
export const undoKill = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.undoKill(env, caller, params.tenant, params.killId));
});

/** `?limit&cursor`: the audit log. */
export const listEvents = apiRoute("tenant", async (request, env, params, caller) => {
  const query = queryOf(request);
  if (!query.ok) return errorResponse(query.error);
  return respond(await service.listEvents(env, caller, params.tenant, query.query));
});
