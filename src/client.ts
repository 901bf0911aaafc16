// What a Worker that calls the session service over a service binding needs, and nothing
// else: the RPC surface as a standalone interface plus its types. Type-only, free of this
// Worker's Env, so a consumer's compiler reads these few files and none of the service.
//
//   import type { SessionServiceBinding } from "session-service";
//   interface Env { SESSIONS: SessionServiceBinding }
//   const result = await env.SESSIONS.validate(token);   // Result<{ session: Session }>

import type { Result } from "./errors";
import type { IssuedSession, Session } from "./session";
import type { CreateSessionRequest } from "./session-input";
import type { SettingsPatch, TenantView } from "./settings";

export type { ApiError, ErrorCode, Failure, Result } from "./errors";
export type { IssuedSession, Session, SessionData } from "./session";
export type { CreateSessionRequest } from "./session-input";
export type { SettingsPatch, TenantSettings, TenantView } from "./settings";

/** The methods of the `SessionService` entrypoint. Expected failures are values, never thrown. */
export interface SessionServiceApi {
  /** Creates a session for a user the calling Worker has authenticated. */
  createSession(tenant: string, input: CreateSessionRequest): Promise<Result<IssuedSession>>;
  /** Validates a token and slides its idle expiry. */
  validate(token: string): Promise<Result<{ session: Session }>>;
  /** Logs out. Idempotent. */
  destroy(token: string): Promise<Result>;
  /** Exchanges a valid token for a new one naming the same session; the old one stops working. */
  rotate(token: string): Promise<Result<IssuedSession>>;
  getTenant(tenant: string): Promise<Result<{ tenant: TenantView }>>;
  /** Creates the tenant or merges settings into it. */
  putTenant(tenant: string, settings: SettingsPatch): Promise<Result<{ tenant: TenantView; created: boolean }>>;
}

/** The type of a service binding to `SessionService`, for a consumer's `Env`. */
export type SessionServiceBinding = Service<SessionServiceApi & Rpc.WorkerEntrypointBranded>;
