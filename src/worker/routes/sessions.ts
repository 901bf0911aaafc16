// Back-end and operator routes on a tenant's sessions:
//   POST   /v1/tenants/:tenant/sessions                 create one (the token is returned once)
//   POST   /v1/tenants/:tenant/sessions/elevate         a step-up: { token, acr?, amr?, authTime? }
//   GET    /v1/tenants/:tenant/sessions?userId&limit&cursor   list, newest first
//   GET    /v1/tenants/:tenant/sessions/:id             one session
//   DELETE /v1/tenants/:tenant/sessions/:id             kill one
//   DELETE /v1/tenants/:tenant/users/:userId/sessions   kill all of a user
//   DELETE /v1/tenants/:tenant/sessions                 kill all of the tenant
//   DELETE /v1/tenants/:tenant/impersonations           end every impersonation
//   POST   /v1/tenants/:tenant/users/:userId/reauthenticate   a user's sessions prove it again
//   POST   /v1/tenants/:tenant/reauthenticate           every session of the tenant proves it again
//   POST   /v1/tenants/:tenant/kills/:killId/undo       undo a kill (or a reauthenticate) within the undo window
//   GET    /v1/tenants/:tenant/events?limit&cursor      the audit log

import { readJsonBody } from "../body";
import { fail } from "../../core/errors";
import { apiRoute, decodePathSegment, errorResponse, queryOf, respond } from "../../core/http";
import * as service from "../operations";

export const createSession = apiRoute("tenant", async (request, env, params, caller) => {
  const body = await readJsonBody(request);
  if (!body.ok) return errorResponse(body.error);
  return respond(await service.createSession(env, caller, params.tenant, body.value), 201);
});

/** The token travels in the body, beside what the step-up reached: never in the URL. */
export const elevate = apiRoute("tenant", async (request, env, params, caller) => {
  const body = await readJsonBody(request);
  if (!body.ok) return errorResponse(body.error);
  const input = body.value;
  if (typeof input !== "object" || input === null || Array.isArray(input))
    return errorResponse(fail("bad_request", 'the body must be { "token": "...", "acr"?, "amr"?, "authTime"? }').error);
  const { token, ...raised } = input as Record<string, unknown>;
  if (typeof token !== "string")
    return errorResponse(fail("bad_request", "token must be a session token", "token").error);
  const result = await service.elevate(env, caller, params.tenant, token, raised);
  return respond(result, 200, result.ok ? { "Set-Cookie": result.setCookie } : {});
});

export const listSessions = apiRoute("tenant", async (request, env, params, caller) => {
  const query = queryOf(request);
  if (!query.ok) return errorResponse(query.error);
  return respond(await service.listSessions(env, caller, params.tenant, query.query));
});

export const getSession = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.getSession(env, caller, params.tenant, params.id));
});

export const revokeSession = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.revokeSession(env, caller, params.tenant, params.id));
});

export const revokeUser = apiRoute("tenant", async (_request, env, params, caller) => {
  const userId = decodePathSegment(params.userId!, "userId");
  if (!userId.ok) return errorResponse(userId.error);
  return respond(await service.revokeUser(env, caller, params.tenant, userId.value));
});

export const revokeTenant = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.revokeTenant(env, caller, params.tenant));
});

export const revokeImpersonations = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.revokeImpersonations(env, caller, params.tenant));
});

export const reauthenticateUser = apiRoute("tenant", async (_request, env, params, caller) => {
  const userId = decodePathSegment(params.userId!, "userId");
  if (!userId.ok) return errorResponse(userId.error);
  return respond(await service.reauthenticate(env, caller, params.tenant, userId.value));
});

export const reauthenticateTenant = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.reauthenticate(env, caller, params.tenant));
});

export const undoKill = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.undoKill(env, caller, params.tenant, params.killId));
});

export const listEvents = apiRoute("tenant", async (request, env, params, caller) => {
  const query = queryOf(request);
  if (!query.ok) return errorResponse(query.error);
  return respond(await service.listEvents(env, caller, params.tenant, query.query));
});
