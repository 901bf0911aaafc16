// Types for Workers that call the session service over a service binding:
//
//   interface Env { SESSIONS: Service<SessionServiceRpc> }
//   const result = await env.SESSIONS.validate(token);   // fully typed
//
// Type-only: importing this pulls in no runtime code.

import type { SessionService } from "./rpc";

export type SessionServiceRpc = SessionService;
export type { ApiError, ErrorCode, Failure, Result } from "./errors";
export type { IssuedSession, TenantView } from "./service";
export type { Session } from "./session";
export type { CreateSessionRequest } from "./session-input";
export type { SettingsPatch, TenantSettings } from "./settings";
