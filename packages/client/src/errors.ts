// The HTTP status of each error code: the one mapping, used by the service to answer and by
// a consumer to pass a failure on with the status the service would have given it.

import type { ApiError, ErrorCode } from "./types.js";

/** The statuses the service answers errors with: literal, so a framework's typed status takes them. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 405 | 409 | 413 | 415 | 426 | 429 | 500 | 503;

export const STATUS_BY_CODE: Record<ErrorCode, ErrorStatus> = {
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
  identity_provider_not_found: 404,
  too_many_webhooks: 409,
  too_many_identity_providers: 409,
  discovery_failed: 400,
  undo_window_passed: 409,
  already_undone: 409,
  shards_cannot_shrink: 409,
  jurisdiction_immutable: 409,
  tenant_deleting: 409,
  jurisdiction_unavailable: 503,
  shard_unavailable: 503,
  placement_changed: 503,
  method_not_allowed: 405,
  upgrade_required: 426,
  payload_too_large: 413,
  unsupported_media_type: 415,
  overloaded: 503,
  rate_limited: 429,
  provider_unavailable: 503,
  binding_required: 401,
  not_configured: 503,
  step_up_required: 401,
  cannot_lower_assurance: 400,
  impersonation_cannot_elevate: 403,
  internal_error: 500,
};

export function statusOf(code: ErrorCode): ErrorStatus {
  return STATUS_BY_CODE[code];
}

/** A failure of the service passed on as the service would answer it: its status, and `Retry-After` on a 503. */
export function errorAnswer(error: ApiError): Response {
  const status = statusOf(error.code);
  return Response.json({ error }, { status, headers: status === 503 ? { "Retry-After": "1" } : {} });
}
