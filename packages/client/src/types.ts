// The session service's public types: what its RPC methods take and answer, and what its
// HTTP API's JSON bodies hold. Type-only. The service is built against these same definitions,
// so a consumer's types cannot drift from what the service does. How a consumer uses them:
// `SessionServiceBinding`.

import type { AuditEvent, DeliveryAttempt, WebhookInputRequest, WebhookView } from "./events.js";
import type { IdentityProvider, IdentityProviderInput, IdpLink, StreamSetupInput, StreamView } from "./identity.js";
import type { SettingsPatch, TenantView } from "./tenant.js";

// The audit log's and webhooks' shapes: events.ts; identity providers': identity.ts; a
// tenant's settings and how operators see it: tenant.ts.
export type * from "./events.js";
export type * from "./identity.js";
export type * from "./tenant.js";

// Outcomes: expected failures are values, never thrown.

export type ErrorCode =
  | "bad_request"
  | "invalid_json"
  | "unauthorized"
  | "invalid_token"
  | "forbidden"
  | "origin_not_allowed"
  | "not_found"
  | "tenant_not_found"
  | "session_not_found"
  | "key_not_found"
  | "kill_not_found"
  | "webhook_not_found"
  | "identity_provider_not_found"
  | "too_many_webhooks"
  | "too_many_identity_providers"
  | "discovery_failed"
  | "undo_window_passed"
  | "already_undone"
  | "shards_cannot_shrink"
  | "jurisdiction_immutable"
  | "tenant_deleting"
  | "jurisdiction_unavailable"
  | "shard_unavailable"
  | "placement_changed"
  | "method_not_allowed"
  | "upgrade_required"
  | "payload_too_large"
  | "unsupported_media_type"
  | "overloaded"
  | "rate_limited"
  | "provider_unavailable"
  | "binding_required"
  | "not_configured"
  | "step_up_required"
  | "cannot_lower_assurance"
  | "impersonation_cannot_elevate"
  | "internal_error";

export interface ApiError {
  code: ErrorCode;
  message: string;
  /** The offending input field, for `bad_request`. */
  field?: string;
  /** For `step_up_required`: what the session lacks, to be met by re-authenticating the user. */
  required?: AssuranceRequirement;
}

export interface Failure {
  ok: false;
  error: ApiError;
}

export type Result<T extends object = object> = ({ ok: true } & T) | Failure;

/**
 * A session's `data`: a JSON object (checked when stored). Typed one level deep on purpose:
 * a recursive JSON type sends RPC's type mapping (Stubify) into unbounded instantiation.
 */
export type SessionData = { [key: string]: string | number | boolean | null | object };

/** A session as the API shows it. Carries no secret: safe to list to admins. */
export interface Session {
  id: string;
  tenant: string;
  userId: string;
  createdAt: string;
  lastSeenAt: string;
  expiresAt: string;
  absoluteExpiresAt: string;
  ip: string | null;
  userAgent: string | null;
  data: SessionData;
  /** When the user last proved who they are (the creation, unless told otherwise). */
  authTime: string;
  /** How they did (RFC 8176 method values: `pwd`, `otp`, `hwk`, ...); empty when not told. */
  amr: string[];
  /** The assurance level reached, one of the tenant's `acrValues` (the lowest unless told). */
  acr: string;
  /** Set when someone else acts as the user (an impersonation): who, and why. */
  actor: Actor | null;
  /** The identity provider that authenticated the user, whose logout ends this session; null: none. */
  idp: IdpLink | null;
  /** Bound to a key the browser keeps (Device Bound Session Credentials): once bound, always. */
  bound: boolean;
  /** When it was bound, and when the browser last proved it holds the key; null: never. */
  boundAt: string | null;
  lastProofAt: string | null;
}

/** Who acts in an impersonation, and the reason they gave. */
export interface Actor {
  id: string;
  reason: string;
}

/**
 * What a validation may require of a session beyond being live: authentication at most
 * `maxAuthAgeSeconds` ago, an assurance level of at least `acr` (`minAcr` when asked), and
 * every method of `amr`. A live session that falls short is `step_up_required`, never invalid.
 */
export interface AssuranceRequirement {
  maxAuthAgeSeconds?: number;
  acr?: string;
  amr?: string[];
}

/**
 * The request's bound cookie (the session cookie's name with `-bound`), for a session bound to a
 * device key: without it such a session is `binding_required`. Pass it through as the browser sent it.
 */
export interface BoundCookie {
  boundCookie?: string;
}

/** A registration or refresh request's device-binding headers, as the browser sent them (`bindingHeaders(request)`). */
export interface BindingHeaders {
  /** `Sec-Secure-Session-Id`: the session a refresh is for. */
  sessionId?: string | null;
  /** `Secure-Session-Response`: the browser's signed proof. */
  response?: string | null;
}

/** A session bound (or its binding refreshed): the bound cookie to set, and for how long. */
export interface BoundCredential {
  sessionId: string;
  boundCookie: string;
  cookieSeconds: number;
}

/** A refresh without a proof: the one-time challenge the browser must sign. */
export interface BindingChallenge {
  sessionId: string;
  challenge: string;
}

/** What registerBinding and refreshBinding answer; `bindingResponse` makes it the browser's answer. */
export type BindingAnswer = Result<BoundCredential | BindingChallenge>;

/** What a validation may ask: `minAcr` is the level asked (the failure names it `acr`). */
export interface ValidateOptions {
  maxAuthAgeSeconds?: number;
  minAcr?: string;
  amr?: string[];
  /** The tenant's own requirement for privileged use (its `privilegedRequirement` setting), with any of the above. */
  privileged?: boolean;
}

/** What the app's back end reports after it re-authenticated the user: the session is raised to it. */
export interface ElevateRequest {
  /** Seconds since the epoch; default now. Never earlier than the session's own. */
  authTime?: number;
  /** Methods used now, added to the session's. */
  amr?: string[];
  /** The level reached; never below the session's. */
  acr?: string;
}

/** A session with the credential just issued for it: only create and rotate return this. */
export interface IssuedSession {
  session: Session;
  token: string;
  /** The `Set-Cookie` value a caller forwards to the browser. */
  setCookie: string;
  /**
   * For a new session of a tenant offering device binding: the `Secure-Session-Registration`
   * value for the caller to send with `setCookie` (a browser with DBSC then binds the session).
   * Null otherwise; absent from the answers of rotate and elevate.
   */
  registration?: string | null;
}

/** What a caller sends: the public shape of `NewSessionInput`. */
export interface CreateSessionRequest {
  userId: string;
  /** A JSON object, checked at run time. (`unknown` here: RPC's parameter types cannot recurse.) */
  data?: Record<string, unknown>;
  ttlSeconds?: number;
  ip?: string | null;
  userAgent?: string | null;
  /** Seconds since the epoch: when the user proved who they are (default: now). */
  authTime?: number;
  amr?: string[];
  /** One of the tenant's `acrValues` (default: the lowest). */
  acr?: string;
  /** An impersonation: the session acts as `userId` on behalf of `actor.id`. */
  actor?: Actor;
  /** The identity provider the user signed in with (one registered for the tenant): its logout ends this session. */
  idp?: IdpLink;
  /**
   * Device binding: the path where your app answers the registration (`answerBinding`, the Hono
   * middleware's `deviceBinding`), named by `registration`. Default: the service's own
   * `/v1/session/binding`, for apps that route it to the service.
   */
  bindingPath?: string;
}

/**
 * The methods of the `SessionService` entrypoint. Expected failures are values, never thrown.
 * Every method that takes a session token takes the tenant the caller expects first.
 * The binding's `fetch` serves the HTTP API as well (used to proxy the live socket).
 */
export interface SessionServiceApi {
  /** Creates a session for a user the calling Worker has authenticated. */
  createSession(tenant: string, input: CreateSessionRequest): Promise<Result<IssuedSession>>;
  /**
   * Validates a token of `tenant` and slides its idle expiry. A token of any other tenant is
   * `invalid_token`: name the tenant your app serves, so no other tenant's user can sign in to it.
   */
  validate(
    tenant: string,
    token: string,
    options?: ValidateOptions & BoundCookie,
  ): Promise<Result<{ session: Session }>>;
  /**
   * Raises a session after your back end re-authenticated its user (a step-up): `authTime`
   * (default now), `amr` added, `acr` never lower. The token is replaced, as by `rotate`: a
   * change of privilege is where a planted session would profit. An impersonation cannot be raised.
   */
  elevate(tenant: string, token: string, request?: ElevateRequest & BoundCookie): Promise<Result<IssuedSession>>;
  /** Logs out. Idempotent; a token that rotation superseded still ends its session. */
  destroy(tenant: string, token: string): Promise<Result>;
  /** Exchanges a valid token for a new one naming the same session; the old one stops working. */
  rotate(tenant: string, token: string, options?: BoundCookie): Promise<Result<IssuedSession>>;
  getTenant(tenant: string): Promise<Result<{ tenant: TenantView }>>;
  /** Creates the tenant or merges settings into it. */
  putTenant(tenant: string, settings: SettingsPatch): Promise<Result<{ tenant: TenantView; created: boolean }>>;
  /** Live sessions, newest first; pass `nextCursor` back as `cursor` for the next page. */
  listSessions(
    tenant: string,
    options?: ListOptions & { userId?: string; userPrefix?: string; impersonated?: true },
  ): Promise<Result<{ sessions: Session[]; nextCursor: string | null }>>;
  getSession(tenant: string, id: string): Promise<Result<{ session: Session }>>;
  /** Kills one session by its public id: `{ revoked: 1, killId }`, or `session_not_found`. */
  revokeSession(tenant: string, id: string): Promise<Result<Killed>>;
  /** Kills every session of a user at once, however many. */
  revokeUser(tenant: string, userId: string): Promise<Result<Killed>>;
  /** Kills every session of the tenant at once, however many. */
  revokeTenant(tenant: string): Promise<Result<Killed>>;
  /** Ends every impersonation of the tenant (sessions created with an `actor`); undoable as any kill. */
  revokeImpersonations(tenant: string): Promise<Result<Killed>>;
  /**
   * "Prove it again": the user's sessions authenticated before now meet no requirement of a
   * validation (`step_up_required`) until a step-up; nobody is logged out. `floor` is that
   * moment; `reauthId` undoes it through `undoKill`, within the tenant's undo window.
   */
  reauthenticateUser(tenant: string, userId: string): Promise<Result<Reauthenticated>>;
  /** "Prove it again" for every session of the tenant (see reauthenticateUser). */
  reauthenticateTenant(tenant: string): Promise<Result<Reauthenticated>>;
  /**
   * Brings back what a kill of this tenant ended, within the tenant's undo window, once.
   * Sessions that ended another way since stay ended.
   */
  undoKill(tenant: string, killId: string): Promise<Result<{ restored: number; killId: string }>>;
  /**
   * A JWT for another service (`audience`, one the tenant lists in its `jwt` setting), minted
   * once the session is validated: `{ jwt, expiresAt }`. An ended session mints nothing. Its
   * `iss` is the tenant's own issuer, `{PUBLIC_URL}/tenants/{tenant}` (the service answers
   * `not_configured` when PUBLIC_URL is unset), and it expires by the session's absolute end.
   */
  mintJwt(
    tenant: string,
    token: string,
    audience: string,
    options?: BoundCookie,
  ): Promise<Result<{ jwt: string; expiresAt: string }>>;
  /** The token's user's live sessions, the token's own marked `current: true`. */
  listSiblings(tenant: string, token: string, options?: BoundCookie): Promise<Result<{ sessions: SiblingSession[] }>>;
  /**
   * Device binding's registration: binds the token's session to the key whose signed proof
   * (`Secure-Session-Response`) names a challenge the session was given. Answer the browser
   * with `bindingResponse`.
   */
  registerBinding(tenant: string, token: string, headers: BindingHeaders): Promise<Result<BoundCredential>>;
  /**
   * Device binding's refresh: without a proof, a challenge to sign; with one signed by the bound
   * key, a fresh bound cookie (and the session slides). `invalid_token` means the session is no
   * more: `bindingResponse` then tells the browser to drop it.
   */
  refreshBinding(tenant: string, token: string, headers: BindingHeaders): Promise<BindingAnswer>;
  /** "Log out my other devices": kills every other session of the token's user. */
  revokeSiblings(tenant: string, token: string, options?: BoundCookie): Promise<Result<Killed>>;
  /** The audit log, newest first. */
  events(tenant: string, options?: ListOptions): Promise<Result<{ events: AuditEvent[]; nextCursor: string | null }>>;
  /**
   * A webhook: the tenant's session events pushed to `url` (https), as Standard Webhooks or as
   * CAEP security events (revocations only). `secret` (standard-webhooks) is shown only here.
   */
  createWebhook(
    tenant: string,
    input: WebhookInputRequest,
  ): Promise<Result<{ webhook: WebhookView; secret: string | null }>>;
  /** The tenant's webhooks, each with its last delivery attempt. */
  listWebhooks(
    tenant: string,
  ): Promise<Result<{ webhooks: (WebhookView & { lastDelivery: DeliveryAttempt | null })[] }>>;
  /** Removes a webhook; events it had yet to receive are dropped. */
  deleteWebhook(tenant: string, id: string): Promise<Result<{ deleted: string }>>;
  /** A webhook's recent delivery attempts, newest first. */
  webhookDeliveries(tenant: string, id: string): Promise<Result<{ deliveries: DeliveryAttempt[] }>>;
  /**
   * Registers (or replaces) an identity provider whose signals end the tenant's sessions:
   * back-channel logout, Shared Signals events, universal logout. Its keys are found by discovery
   * unless `jwksUri` is given; `created` is false for a replacement. At most 10 per tenant.
   */
  putIdentityProvider(
    tenant: string,
    id: string,
    input: IdentityProviderInput,
  ): Promise<Result<{ identityProvider: IdentityProvider; created: boolean }>>;
  getIdentityProvider(tenant: string, id: string): Promise<Result<{ identityProvider: IdentityProvider }>>;
  listIdentityProviders(tenant: string): Promise<Result<{ identityProviders: IdentityProvider[] }>>;
  /**
   * Sets up a Shared Signals stream with the provider's transmitter (its
   * `/.well-known/ssf-configuration`): push to this service's receiver, or poll on the tenant's
   * alarm; asks for a verification event and answers the stream's status.
   */
  setUpStream(tenant: string, id: string, input: StreamSetupInput): Promise<Result<{ stream: StreamView }>>;
  /** Removes a provider: its signals are refused from now on; sessions linked to it stay as they are. */
  deleteIdentityProvider(tenant: string, id: string): Promise<Result<{ deleted: string }>>;
}

/** What "prove it again" answers: from when, and the id that undoes it. */
export interface Reauthenticated {
  floor: string;
  reauthId: string;
}

/** What a kill answers: the live sessions it ended, and the id that undoes it. */
export interface Killed {
  revoked: number;
  killId: string;
}

/** One of a user's sessions as "my other sessions" lists them: the one asking is marked. */
export type SiblingSession = Session & { current: boolean };

export interface ListOptions {
  /** 1 to 1000, default 100. */
  limit?: number;
  cursor?: string;
}

/**
 * The type of a service binding to `SessionService`, for a consumer's `Env`:
 *
 * ```ts
 * import type { SessionServiceBinding } from "@session-service/client";
 * interface Env { SESSIONS: SessionServiceBinding }
 * const result = await env.SESSIONS.validate("acme", token);   // Result<{ session: Session }>
 * ```
 */
export type SessionServiceBinding = Service<SessionServiceApi & Rpc.WorkerEntrypointBranded>;
