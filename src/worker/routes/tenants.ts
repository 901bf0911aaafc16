// Operator routes for tenants and their API keys (the paths: ROUTES in src/worker/router.ts,
// and docs/API.md).

import { readJsonBody } from "../body";
import { apiRoute, errorResponse, queryOf, respond } from "../../core/http";
import * as service from "../operations";

/** `?limit&cursor`: every tenant, by name (platform admin only). */
export const listTenants = apiRoute("admin", async (request, env, _params, caller) => {
  const query = queryOf(request);
  return query.ok ? respond(await service.listTenants(env, caller, query.query)) : errorResponse(query.error);
});

export const putTenant = apiRoute("admin", async (request, env, params, caller) => {
  const body = await readJsonBody(request);
  if (!body.ok) return errorResponse(body.error);
  const result = await service.putTenant(env, caller, params.tenant, body.value);
  return respond(result, result.ok && result.created ? 201 : 200);
});

export const getTenant = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.getTenant(env, caller, params.tenant));
});

/** `?confirm=<tenant>`: deletes the tenant and everything it holds, for good. */
export const deleteTenant = apiRoute("admin", async (request, env, params, caller) => {
  const query = queryOf(request);
  return query.ok
    ? respond(await service.deleteTenant(env, caller, params.tenant, query.query))
    : errorResponse(query.error);
});

/** `?window=24h|7d`: sessions created, ended, live. */
export const activity = apiRoute("tenant", async (request, env, params, caller) => {
  const query = queryOf(request);
  return query.ok
    ? respond(await service.activity(env, caller, params.tenant, query.query))
    : errorResponse(query.error);
});

export const listKeys = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.listTenantKeys(env, caller, params.tenant));
});

export const createKey = apiRoute("admin", async (_request, env, params, caller) => {
  return respond(await service.createTenantKey(env, caller, params.tenant), 201);
});

export const revokeKey = apiRoute("admin", async (_request, env, params, caller) => {
  return respond(await service.revokeTenantKey(env, caller, params.tenant, params.keyId));
});

/** The tenant's session token generation, its floor and its last retirement. */
export const tokenKeys = apiRoute("admin", async (_request, env, params, caller) => {
  return respond(await service.getTokenKeys(env, caller, params.tenant));
});

/** The per-tenant emergency lever: every session token of the tenant minted so far is refused. */
export const retireTokenKeys = apiRoute("admin", async (_request, env, params, caller) => {
  return respond(await service.retireTokenKeys(env, caller, params.tenant));
});

export const restoreTokenKeys = apiRoute("admin", async (_request, env, params, caller) => {
  return respond(await service.restoreTokenKeys(env, caller, params.tenant));
});
