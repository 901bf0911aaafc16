// Back-end routes on a tenant's sessions: POST /v1/tenants/:tenant/sessions creates one
// for a user the caller has authenticated. The token is returned once, never stored.

import { readJsonBody } from "../body";
import { errorResponse } from "../errors";
import { apiCaller, isFailure, respond, type Handler } from "../http";
import * as service from "../service";

export const createSession: Handler = async (request, env, params) => {
  const caller = await apiCaller(request, env);
  if (isFailure(caller)) return errorResponse(caller.error);
  const body = await readJsonBody(request);
  if (!body.ok) return errorResponse(body.error);
  return respond(await service.createSession(env, caller, params.tenant, body.value), 201);
};
