// SQL of the audit log: each event recorded in the transaction of its change, and queued
// for the tenant's webhooks in that same transaction (the outbox).

import type { AuditEvent } from "../../src/core/events";
import { newEventId, webhookEventOf } from "../../src/core/webhooks";
import { enqueue, hasEnabledWebhooks } from "./webhooks-sql";
import { FROM_THE_TOP, type Position } from "./listings-sql";

export interface EventRow {
  seq: number;
  at: number;
  type: string;
  reason: string | null;
  actor: string;
  session_id: string | null;
  user_id: string | null;
  count: number | null;
  kill_id: string | null;
  webhook_id: string | null;
  key_id: string | null;
  fields: string | null;
  acr: string | null;
  impersonator: string | null;
  provider: string | null;
  [column: string]: SqlStorageValue;
}

/** An audit event before it is written: its time is the write's. */
export type NewEvent = Omit<AuditEvent, "at">;

/**
 * Records an audit event, and queues it for the tenant's webhooks in the same transaction: a
 * change that commits has its event pushed out (due at once), one that rolls back has none.
 */
export function insertEvent(sql: SqlStorage, event: NewEvent, now: number): void {
  if (hasEnabledWebhooks(sql)) {
    const pushed = webhookEventOf(event, sql.exec<{ name: string }>("SELECT name FROM tenant WHERE id = 1").one().name);
    if (pushed) enqueue(sql, newEventId(), pushed, now);
  }
  sql.exec(
    "INSERT INTO events (at, type, reason, actor, session_id, user_id, count, kill_id, webhook_id, key_id, fields, acr, impersonator, provider) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    now,
    event.type,
    event.reason ?? null,
    event.actor,
    event.sessionId ?? null,
    event.userId ?? null,
    event.count ?? null,
    event.killId ?? null,
    event.webhookId ?? null,
    event.keyId ?? null,
    event.fields ? JSON.stringify(event.fields) : null,
    event.acr ?? null,
    event.impersonator ?? null,
    event.provider ?? null,
  );
}

/** The newest event's seq, or 0: where to look for what a change is about to record. */
export function lastEventSeq(sql: SqlStorage): number {
  return sql.exec<{ seq: number | null }>("SELECT max(seq) AS seq FROM events").one().seq ?? 0;
}

export function eventsAfter(sql: SqlStorage, seq: number): EventRow[] {
  return sql.exec<EventRow>("SELECT * FROM events WHERE seq > ? ORDER BY seq", seq).toArray();
}

/** Events newest first (by instant, then seq), before `before` when given. */
export function readEvents(sql: SqlStorage, options: { before?: Position | undefined; limit: number }): EventRow[] {
  const before = options.before ?? FROM_THE_TOP;
  return sql
    .exec<EventRow>(
      "SELECT * FROM events WHERE at < ? OR (at = ? AND seq < ?) ORDER BY at DESC, seq DESC LIMIT ?",
      before.time,
      before.time,
      before.seq,
      options.limit,
    )
    .toArray();
}

/** Audit events since `since`, counted by type into buckets of `bucketMs`: sessions, not events (a mass kill counts what it ended). */
export function countEventsByBucket(
  sql: SqlStorage,
  since: number,
  bucketMs: number,
): { bucket: number; type: string; n: number }[] {
  return sql
    .exec<{ bucket: number; type: string; n: number }>(
      "SELECT CAST((at - ?) / ? AS INTEGER) AS bucket, type, sum(coalesce(count, 1)) AS n FROM events WHERE at >= ? AND type IN ('created', 'revoked', 'expired', 'kill_undone') GROUP BY bucket, type",
      since,
      bucketMs,
      since,
    )
    .toArray();
}

/** Deletes up to `batch` events older than `before` or beyond the newest `keep`. */
export function deleteOldEvents(sql: SqlStorage, before: number, keep: number, batch: number): number {
  const byAge = sql
    .exec("DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE at < ? LIMIT ?) RETURNING seq", before, batch)
    .toArray().length;
  const cutoff = sql
    .exec<{ seq: number }>("SELECT seq FROM events ORDER BY seq DESC LIMIT 1 OFFSET ?", keep)
    .toArray()[0];
  if (!cutoff) return byAge;
  const byCount = sql
    .exec(
      "DELETE FROM events WHERE seq IN (SELECT seq FROM events WHERE seq <= ? LIMIT ?) RETURNING seq",
      cutoff.seq,
      batch,
    )
    .toArray().length;
  return byAge + byCount;
}

export function oldestEventAt(sql: SqlStorage): number | null {
  return sql.exec<{ at: number | null }>("SELECT min(at) AS at FROM events").one().at;
}
