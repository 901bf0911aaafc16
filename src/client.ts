// What a Worker that calls the session service over a service binding needs, and nothing
// else: the RPC surface as a standalone interface plus its types. Type-only, free of this
// Worker's Env, so a consumer's compiler reads these few files and none of the service.
//
//   import type { SessionServiceBinding } from "session-service";
//   interface Env { SESSIONS: SessionServiceBinding }
//   const result = await env.SESSIONS.validate("acme", token);   // Result<{ session: Session }>

import type { Result } from "./errors";
import type { AuditEvent, DeliveryAttempt, WebhookEventType, WebhookFormat, WebhookView } from "./events";
import type { IssuedSession, Session } from "./session";
import type { CreateSessionRequest } from "./session-input";
import type { SettingsPatch, TenantView } from "./settings";

export type { ApiError, ErrorCode, Failure, Result } from "./errors";
export type { AuditEvent, DeliveryAttempt, WebhookEventType, WebhookFormat, WebhookView } from "./events";
export type { IssuedSession, Session, SessionData } from "./session";
export type { CreateSessionRequest } from "./session-input";
export type { SettingsPatch, TenantSettings, TenantView } from "./settings";

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
  validate(tenant: string, token: string): Promise<Result<{ session: Session }>>;
  /** Logs out. Idempotent; a token that rotation superseded still ends its session. */
  destroy(tenant: string, token: string): Promise<Result>;
  /** Exchanges a valid token for a new one naming the same session; the old one stops working. */
  rotate(tenant: string, token: string): Promise<Result<IssuedSession>>;
  getTenant(tenant: string): Promise<Result<{ tenant: TenantView }>>;
  /** Creates the tenant or merges settings into it. */
  putTenant(tenant: string, settings: SettingsPatch): Promise<Result<{ tenant: TenantView; created: boolean }>>;
  /** Live sessions, newest first; pass `nextCursor` back as `cursor` for the next page. */
  listSessions(tenant: string, options?: ListOptions & { userId?: string }): Promise<Result<{ sessions: Session[]; nextCursor: string | null }>>;
  getSession(tenant: string, id: string): Promise<Result<{ session: Session }>>;
  /** Kills one session by its public id: `{ revoked: 1, killId }`, or `session_not_found`. */
  revokeSession(tenant: string, id: string): Promise<Result<Killed>>;
  /** Kills every session of a user at once, however many. */
  revokeUser(tenant: string, userId: string): Promise<Result<Killed>>;
  /** Kills every session of the tenant at once, however many. */
  revokeTenant(tenant: string): Promise<Result<Killed>>;
  /**
   * Brings back what a kill of this tenant ended, within the tenant's undo window, once.
   * Sessions that ended another way since stay ended.
   */
  undoKill(tenant: string, killId: string): Promise<Result<{ restored: number; killId: string }>>;
  /**
   * A JWT for another service (`audience`, one the tenant lists in its `jwt` setting), minted
   * once the session is validated: `{ jwt, expiresAt }`. An ended session mints nothing.
   */
  mintJwt(tenant: string, token: string, audience: string): Promise<Result<{ jwt: string; expiresAt: string }>>;
  /** The token's user's live sessions, the token's own marked `current: true`. */
  listSiblings(tenant: string, token: string): Promise<Result<{ sessions: SiblingSession[] }>>;
  /** "Log out my other devices": kills every other session of the token's user. */
  revokeSiblings(tenant: string, token: string): Promise<Result<Killed>>;
  /** The audit log, newest first. */
  events(tenant: string, options?: ListOptions): Promise<Result<{ events: AuditEvent[]; nextCursor: string | null }>>;
  /**
   * A webhook: the tenant's session events pushed to `url` (https), as Standard Webhooks or as
   * CAEP security events (revocations only). `secret` (standard-webhooks) is shown only here.
   */
  createWebhook(tenant: string, input: WebhookInputRequest): Promise<Result<{ webhook: WebhookView; secret: string | null }>>;
  /** The tenant's webhooks, each with its last delivery attempt. */
  listWebhooks(tenant: string): Promise<Result<{ webhooks: (WebhookView & { lastDelivery: DeliveryAttempt | null })[] }>>;
  /** Removes a webhook; events it had yet to receive are dropped. */
  deleteWebhook(tenant: string, id: string): Promise<Result<{ deleted: string }>>;
  /** A webhook's recent delivery attempts, newest first. */
  webhookDeliveries(tenant: string, id: string): Promise<Result<{ deliveries: DeliveryAttempt[] }>>;
}

/** What createWebhook takes: `events` defaults to every type the format carries. */
export interface WebhookInputRequest {
  url: string;
  format: WebhookFormat;
  events?: WebhookEventType[];
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

/** The type of a service binding to `SessionService`, for a consumer's `Env`. */
export type SessionServiceBinding = Service<SessionServiceApi & Rpc.WorkerEntrypointBranded>;
