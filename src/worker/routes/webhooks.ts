// Operator routes for a tenant's webhooks (platform admin or the tenant's key):
//   POST /v1/tenants/:tenant/webhooks ({ url, format, events? }: 201 with the secret, shown once),
//   GET /v1/tenants/:tenant/webhooks, DELETE /v1/tenants/:tenant/webhooks/:id,
//   GET /v1/tenants/:tenant/webhooks/:id/deliveries (recent attempts, newest first).

import { readJsonBody } from "../body";
import { apiRoute, errorResponse, respond } from "../../core/http";
import * as service from "../operations";

export const createWebhook = apiRoute("tenant", async (request, env, params, caller) => {
  const body = await readJsonBody(request);
  if (!body.ok) return errorResponse(body.error);
  return respond(await service.createWebhook(env, caller, params.tenant, body.value), 201);
});

export const listWebhooks = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.listWebhooks(env, caller, params.tenant));
});

export const deleteWebhook = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.deleteWebhook(env, caller, params.tenant, params.id));
});

export const webhookDeliveries = apiRoute("tenant", async (_request, env, params, caller) => {
  return respond(await service.webhookDeliveries(env, caller, params.tenant, params.id));
});
