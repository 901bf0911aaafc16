// The audit log as operators read it, and the log line each event is also written as.

import type { AuditEvent } from "../../src/core/events";
import type { StoreCaller } from "../../src/core/auth";
import { ok, type Result } from "../../src/core/errors";
import { eventsAfter, type EventRow, readEvents } from "./audit-sql";
import { logInfo } from "../../src/core/log";
import type { Listed } from "./listings";
import type { Position } from "./listings-sql";
import { authorized, type Store } from "./tenant";

export function listEvents(
  store: Store,
  caller: StoreCaller,
  options: { before?: Position | undefined; limit: number },
  now: number,
): Result<Listed<AuditEvent>> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const rows = readEvents(store.sql, options).map((row) => ({ time: row.at, seq: row.seq, item: toAuditEvent(row) }));
  return ok({ rows, history: allowed.tenant.shardHistory, tenantCreatedAt: allowed.tenant.createdAt });
}

/** Audit events of operators' actions on the tenant, as against changes of sessions. */
export const OPERATOR_EVENT_TYPES: ReadonlySet<string> = new Set([
  "tenant_created",
  "settings_changed",
  "key_created",
  "key_revoked",
  "webhook_created",
  "webhook_deleted",
  "identity_provider_saved",
  "identity_provider_deleted",
]);

/** The log line's name of an audit event: `operator.key_created`, `session.revoked`. */
export function logEventName(type: string): string {
  return `${OPERATOR_EVENT_TYPES.has(type) ? "operator" : "session"}.${type}`;
}

export function toAuditEvent(row: EventRow): AuditEvent {
  const event: AuditEvent = {
    at: new Date(row.at).toISOString(),
    type: row.type as AuditEvent["type"],
    actor: row.actor,
  };
  if (row.reason !== null) event.reason = row.reason;
  if (row.session_id !== null) event.sessionId = row.session_id;
  if (row.user_id !== null) event.userId = row.user_id;
  if (row.count !== null) event.count = row.count;
  if (row.kill_id !== null) event.killId = row.kill_id;
  if (row.webhook_id !== null) event.webhookId = row.webhook_id;
  if (row.key_id !== null) event.keyId = row.key_id;
  if (row.fields !== null) event.fields = JSON.parse(row.fields) as string[];
  if (row.acr !== null) event.acr = row.acr;
  if (row.impersonator !== null) event.impersonator = row.impersonator;
  if (row.provider !== null) event.provider = row.provider;
  return event;
}

/** Writes each audit event a change recorded (those after `before`) as a log line too, so logs and the audit log tell the same story. Returns how many. */
export function logRecorded(sql: SqlStorage, before: number, tenant: string | undefined): number {
  const recorded = eventsAfter(sql, before);
  for (const row of recorded) {
    const { type, at: _at, ...fields } = toAuditEvent(row);
    logInfo({ event: logEventName(type), tenant, ...fields });
  }
  return recorded.length;
}
