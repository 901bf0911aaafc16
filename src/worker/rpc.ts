// SessionService: the typed RPC door for other Workers over a service binding.
// Prototype methods only, each delegating to the same operations as the HTTP routes;
// expected failures (invalid token, bad input, unknown tenant) come back as values.
// Callers are trusted (a binding is a capability) and name the tenant explicitly, also when
// they pass a session token: a token of any other tenant is then `invalid_token`.

import { WorkerEntrypoint } from "cloudflare:workers";
import type { StoreCaller } from "../core/auth";
import type {
  BindingHeaders,
  BoundCookie,
  ElevateRequest,
  IdentityProviderInput,
  StreamSetupInput,
  ListOptions,
  SessionServiceApi,
  ValidateOptions,
  WebhookInputRequest,
} from "@session-service/client";
import type { CreateSessionRequest } from "../core/session-input";
import type { SettingsPatch } from "../core/settings";
import { ok } from "../core/errors";
import { handle } from "./router";
import * as service from "./operations";

const SERVICE_CALLER: StoreCaller = { kind: "service" };

/**
 * The bound cookie an RPC caller passed among its options (a string, else none), and the other
 * options as they came: those are checked as they always were.
 */
function withoutBoundCookie(options: unknown): { boundCookie: string | null; rest: unknown } {
  if (typeof options !== "object" || options === null || !("boundCookie" in options))
    return { boundCookie: null, rest: options };
  const { boundCookie, ...rest } = options as { boundCookie?: unknown };
  return {
    boundCookie: typeof boundCookie === "string" ? boundCookie : null,
    rest: Object.keys(rest).length === 0 ? undefined : rest,
  };
}

/** Documentation of each method lives on SessionServiceApi (@session-service/client). */
export class SessionService extends WorkerEntrypoint<Env> implements SessionServiceApi {
  /** The HTTP API over the binding too: how a consumer proxies the live socket. */
  override fetch(request: Request): Promise<Response> {
    return handle(request, this.env);
  }

  createSession(tenant: string, input: CreateSessionRequest) {
    return service.createSession(this.env, SERVICE_CALLER, tenant, input);
  }

  validate(tenant: string, token: string, options?: ValidateOptions & BoundCookie) {
    const { boundCookie, rest } = withoutBoundCookie(options);
    return service.validate(this.env, tenant, token, rest, boundCookie);
  }

  elevate(tenant: string, token: string, request?: ElevateRequest & BoundCookie) {
    const { boundCookie, rest } = withoutBoundCookie(request);
    return service.elevate(this.env, SERVICE_CALLER, tenant, token, rest, boundCookie);
  }

  // A public name that differs from the operation it calls: `destroy` is logout.
  destroy(tenant: string, token: string) {
    return service.logout(this.env, tenant, token, null);
  }

  rotate(tenant: string, token: string, options?: BoundCookie) {
    return service.rotate(this.env, tenant, token, null, withoutBoundCookie(options).boundCookie);
  }

  getTenant(tenant: string) {
    return service.getTenant(this.env, SERVICE_CALLER, tenant);
  }

  putTenant(tenant: string, settings: SettingsPatch) {
    return service.putTenant(this.env, SERVICE_CALLER, tenant, settings);
  }

  listSessions(tenant: string, options?: ListOptions & { userId?: string; userPrefix?: string; impersonated?: true }) {
    return service.listSessions(this.env, SERVICE_CALLER, tenant, options);
  }

  getSession(tenant: string, id: string) {
    return service.getSession(this.env, SERVICE_CALLER, tenant, id);
  }

  revokeSession(tenant: string, id: string) {
    return service.revokeSession(this.env, SERVICE_CALLER, tenant, id);
  }

  revokeUser(tenant: string, userId: string) {
    return service.revokeUser(this.env, SERVICE_CALLER, tenant, userId);
  }

  revokeTenant(tenant: string) {
    return service.revokeTenant(this.env, SERVICE_CALLER, tenant);
  }

  revokeImpersonations(tenant: string) {
    return service.revokeImpersonations(this.env, SERVICE_CALLER, tenant);
  }

  reauthenticateUser(tenant: string, userId: string) {
    return service.reauthenticate(this.env, SERVICE_CALLER, tenant, userId);
  }

  reauthenticateTenant(tenant: string) {
    return service.reauthenticate(this.env, SERVICE_CALLER, tenant);
  }

  undoKill(tenant: string, killId: string) {
    return service.undoKill(this.env, SERVICE_CALLER, tenant, killId);
  }

  mintJwt(tenant: string, token: string, audience: string, options?: BoundCookie) {
    const { boundCookie } = withoutBoundCookie(options);
    return service.mintJwt(this.env, tenant, token, async () => ok({ audience }), null, null, boundCookie);
  }

  registerBinding(tenant: string, token: string, headers: BindingHeaders) {
    return service.registerBinding(this.env, tenant, token, headers);
  }

  refreshBinding(tenant: string, token: string, headers: BindingHeaders) {
    return service.refreshBinding(this.env, tenant, token, headers);
  }

  listSiblings(tenant: string, token: string, options?: BoundCookie) {
    return service.listSiblings(this.env, tenant, token, withoutBoundCookie(options).boundCookie);
  }

  revokeSiblings(tenant: string, token: string, options?: BoundCookie) {
    return service.revokeSiblings(this.env, tenant, token, null, withoutBoundCookie(options).boundCookie);
  }

  // A public name that differs from the operation it calls: `events` is listEvents.
  events(tenant: string, options?: ListOptions) {
    return service.listEvents(this.env, SERVICE_CALLER, tenant, options);
  }

  createWebhook(tenant: string, input: WebhookInputRequest) {
    return service.createWebhook(this.env, SERVICE_CALLER, tenant, input);
  }

  listWebhooks(tenant: string) {
    return service.listWebhooks(this.env, SERVICE_CALLER, tenant);
  }

  deleteWebhook(tenant: string, id: string) {
    return service.deleteWebhook(this.env, SERVICE_CALLER, tenant, id);
  }

  webhookDeliveries(tenant: string, id: string) {
    return service.webhookDeliveries(this.env, SERVICE_CALLER, tenant, id);
  }

  putIdentityProvider(tenant: string, id: string, input: IdentityProviderInput) {
    return service.putIdentityProvider(this.env, SERVICE_CALLER, tenant, id, input, null);
  }

  getIdentityProvider(tenant: string, id: string) {
    return service.getIdentityProvider(this.env, SERVICE_CALLER, tenant, id, null);
  }

  listIdentityProviders(tenant: string) {
    return service.listIdentityProviders(this.env, SERVICE_CALLER, tenant, null);
  }

  setUpStream(tenant: string, id: string, input: StreamSetupInput) {
    return service.setUpStream(this.env, SERVICE_CALLER, tenant, id, input, null);
  }

  deleteIdentityProvider(tenant: string, id: string) {
    return service.deleteIdentityProvider(this.env, SERVICE_CALLER, tenant, id);
  }
}
