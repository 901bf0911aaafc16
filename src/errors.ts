// Domain outcomes and their one mapping to HTTP statuses. Operations return `Result` values;
// only this file decides which status a failure becomes (http.ts writes the response). RPC
// callers get the same values.

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
  | "too_many_webhooks"
  | "undo_window_passed"
  | "already_undone"
  | "shards_cannot_shrink"
  | "jurisdiction_immutable"
  | "jurisdiction_unavailable"
  | "shard_unavailable"
  | "placement_changed"
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

export function ok<T extends object>(value: T): { ok: true } & T {
  return { ok: true, ...value };
}

export function fail(code: ErrorCode, message: string, field?: string): Failure {
  return { ok: false, error: field === undefined ? { code, message } : { code, message, field } };
}

// Failures shared by several operations, each worded once.
export const INVALID_TOKEN = fail("invalid_token", "the session token is invalid, expired or revoked");
export const UNAUTHORIZED = fail("unauthorized", "a valid API key is required: Authorization: Bearer <key>");
export const SESSION_NOT_FOUND = fail("session_not_found", "no such live session");
export const TENANT_NOT_FOUND = fail("tenant_not_found", "no such tenant");
export const KILL_NOT_FOUND = fail("kill_not_found", "no such kill");

export const STATUS_BY_CODE: Record<ErrorCode, number> = {
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
  kill_not_found: 404,
  webhook_not_found: 404,
  too_many_webhooks: 409,
  undo_window_passed: 409,
  already_undone: 409,
  shards_cannot_shrink: 409,
  jurisdiction_immutable: 409,
  jurisdiction_unavailable: 503,
  shard_unavailable: 503,
  placement_changed: 503,
  method_not_allowed: 405,
  upgrade_required: 426,
  payload_too_large: 413,
  unsupported_media_type: 415,
  overloaded: 503,
  not_configured: 503,
  internal_error: 500,
};

export function statusOf(code: ErrorCode): number {
  return STATUS_BY_CODE[code];
}
