// The platform admin's routes over every tenant:
//   DELETE /v1/sessions               kill every session of every tenant (200 done, 202 under way)
//   GET    /v1/kills/:killId          a platform kill's progress
//   POST   /v1/kills/:killId/undo     undo it, within each tenant's own undo window

import { ok } from "../../core/errors";
import { apiRoute, respond } from "../../core/http";
import * as service from "../operations";

export const killAll = apiRoute("admin", async (_request, env, _params, caller) => {
  const started = await service.killPlatform(env, caller);
  if (!started.ok || !started.kill.done) return respond(started, 202);
  return respond(ok({ tenants: started.kill.applied, revoked: started.kill.revoked, killId: started.kill.id }));
});

export const getKill = apiRoute("admin", async (_request, env, params, caller) => {
  return respond(await service.platformKill(env, caller, params.killId));
});

export const undoKill = apiRoute("admin", async (_request, env, params, caller) => {
  return respond(await service.undoPlatformKill(env, caller, params.killId));
});
