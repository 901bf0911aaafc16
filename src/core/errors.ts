// Domain outcomes. Operations return `Result` values; RPC callers get the same values, and
// http.ts writes them as responses with the status the client package maps each code to.

import type { ErrorCode, Failure } from "@session-service/client";

export type { ApiError, ErrorCode, Failure, Result } from "@session-service/client";
export { STATUS_BY_CODE, statusOf } from "@session-service/client";

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
