// Domain outcomes and their one mapping to HTTP. Operations return `Result` values;
// only this file decides which status a failure becomes. RPC callers get the same values.

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
  | "method_not_allowed"
  | "upgrade_required"
  | "payload_too_large"
  | "unsupported_media_type"
  | "overloaded"
  | "not_configured"
  | "internal_error";

export interface ApiError {
  code: ErrorCode;
  message: string;
  /** The offending input field, for `bad_request`. */
  field?: string;
}

export interface Failure {
  ok: false;
  error: ApiError;
}

export type Result<T extends object = object> = ({ ok: true } & T) | Failure;

/** Whether a value (a Result, or a success value of another shape) is a failure. */
export function isFailure<T extends object>(value: T | Failure): value is Failure {
  return "ok" in value && value.ok === false;
}

export function fail(code: ErrorCode, message: string, field?: string): Failure {
  return { ok: false, error: field === undefined ? { code, message } : { code, message, field } };
}

// Failures shared by several operations, each worded once.
export const INVALID_TOKEN = fail("invalid_token", "the session token is invalid, expired or revoked");
export const UNAUTHORIZED = fail("unauthorized", "a valid API key is required: Authorization: Bearer <key>");
export const SESSION_NOT_FOUND = fail("session_not_found", "no such live session");
export const TENANT_NOT_FOUND = fail("tenant_not_found", "no such tenant");

const STATUS_BY_CODE: Record<ErrorCode, number> = {
  bad_request: 400,
  invalid_json: 400,
  unauthorized: 401,
  invalid_token: 401,
  forbidden: 403,
  origin_not_allowed: 403,
  not_found: 404,
  tenant_not_found: 404,
  session_not_found: 404,
  key_not_found: 404,
  method_not_allowed: 405,
  upgrade_required: 426,
  payload_too_large: 413,
  unsupported_media_type: 415,
  overloaded: 503,
  not_configured: 503,
  internal_error: 500,
};

/** Seconds a client should wait after an `overloaded` answer before trying again. */
const OVERLOADED_RETRY_AFTER_SECONDS = 1;

export function statusOf(code: ErrorCode): number {
  return STATUS_BY_CODE[code];
}

/**
 * Every API response is private and never cached: it may carry a token or session data.
 * Headers are given whole to the constructor: each later `headers.set` is a call into the runtime.
 */
export function jsonResponse(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...headers, "Content-Type": "application/json; charset=utf-8", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" },
  });
}

export function errorResponse(error: ApiError, headers: Record<string, string> = {}): Response {
  const retry: Record<string, string> = error.code === "overloaded" ? { "Retry-After": String(OVERLOADED_RETRY_AFTER_SECONDS) } : {};
  return jsonResponse(statusOf(error.code), { error }, { ...headers, ...retry });
}
