// SessionService: the typed RPC door for other Workers over a service binding.
// Prototype methods only, each delegating to the same operations as the HTTP routes;
// expected failures (invalid token, bad input, unknown tenant) come back as values.
// Callers are trusted (a binding is a capability) and name the tenant explicitly.

import { WorkerEntrypoint } from "cloudflare:workers";
import type { StoreCaller } from "./auth";
import type { Result } from "./errors";
import * as service from "./service";
import type { CreateSessionRequest } from "./session-input";
import type { Session } from "./session";
import type { SettingsPatch } from "./settings";

const SERVICE_CALLER: StoreCaller = { kind: "service" };

export class SessionService extends WorkerEntrypoint<Env> {
  /** Creates a session for a user the calling Worker has authenticated. */
  createSession(tenant: string, input: CreateSessionRequest): Promise<Result<service.IssuedSession>> {
    return service.createSession(this.env, SERVICE_CALLER, tenant, input);
  }

  /** Validates a token and slides its idle expiry. */
  validate(token: string): Promise<Result<{ session: Session }>> {
    return service.validate(this.env, token);
  }

  /** Logs out. Idempotent. */
  destroy(token: string): Promise<Result> {
    return service.destroy(this.env, token, null);
  }

  /** Exchanges a valid token for a new one naming the same session; the old one stops working. */
  rotate(token: string): Promise<Result<service.IssuedSession>> {
    return service.rotate(this.env, token, null);
  }

  getTenant(tenant: string): Promise<Result<{ tenant: service.TenantView }>> {
    return service.getTenant(this.env, SERVICE_CALLER, tenant);
  }

  /** Creates the tenant or merges settings into it. */
  putTenant(tenant: string, settings: SettingsPatch): Promise<Result<{ tenant: service.TenantView; created: boolean }>> {
    return service.putTenant(this.env, SERVICE_CALLER, tenant, settings);
  }
}
