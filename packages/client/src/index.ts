// @session-service/client: what a Worker needs to use the session service over a service
// binding. The RPC types, and small helpers that follow the service's own rules (they are
// the code the service itself runs): reading the session token, the session cookie, the
// cross-origin check, the live socket. `@session-service/client/hono` has a Hono middleware;
// `@session-service/client/browser` the page's side of the live socket.

export * from "./types.js";
export { type ErrorStatus, STATUS_BY_CODE, statusOf } from "./errors.js";
export {
  answerBinding,
  bindingHeaders,
  bindingResponse,
  type BindingResponseOptions,
  boundCookieName,
  type DeviceBindingOptions,
} from "./binding.js";
export { clearedSessionCookie, DEFAULT_COOKIE_NAME, isCookieName, readCookie, sessionCookie } from "./cookie.js";
export { bearerCredential, sessionCredential, type SessionCredential } from "./credential.js";
export { crossOriginAllowed, crossOriginVerdict, type CrossOriginVerdict } from "./cross-origin.js";
export { LIVE_CLOSE_CODE, proxyLiveSocket, revokedMessage, type LiveProxyOptions, type RevokedReason } from "./live.js";
export {
  type AssuranceRequest,
  boundCookieOf,
  endOtherSessions,
  endSession,
  mintJwt,
  requestToken,
  requireAssurance,
  type TokenOptions,
  validateRequest,
  type ValidateRequestOptions,
} from "./session.js";
export { safeReturnPath, stepUpChallenge, stepUpResponse } from "./step-up.js";
export { watchSessionScript, type WatchSessionScriptOptions } from "./watch-script.js";
