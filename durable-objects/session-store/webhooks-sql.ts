// All SQL of webhooks in a SessionStore: the webhooks (made at the home, copied to the other
// shards), the outbox (filled by insertEvent in the change's own transaction) and the recent
// delivery attempts. No decisions here; webhook-operations.ts and the store decide.

import type { WebhookEvent, WebhookEventType, WebhookFormat } from "../../src/core/webhooks";

/** A webhook as made (enabled). */
export interface NewWebhookRow {
  id: string;
  url: string;
  format: WebhookFormat;
  /** JSON list of event types. */
  events: string;
  sealed_secret: ArrayBuffer | null;
  secret_iv: ArrayBuffer | null;
  created_at: number;
}

export interface WebhookRow extends NewWebhookRow {
  disabled_at: number | null;
  /** 0 while the home has yet to hear that this shard disabled it. */
  home_told: number;
  [column: string]: SqlStorageValue;
}

export function readWebhooks(sql: SqlStorage): WebhookRow[] {
  return sql.exec<WebhookRow>("SELECT * FROM webhooks ORDER BY created_at, id").toArray();
}

export function readWebhook(sql: SqlStorage, id: string): WebhookRow | null {
  return sql.exec<WebhookRow>("SELECT * FROM webhooks WHERE id = ?", id).toArray()[0] ?? null;
}

export function countWebhooks(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT count(*) AS n FROM webhooks").one().n;
}

export function countDisabledWebhooks(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT count(*) AS n FROM webhooks WHERE disabled_at IS NOT NULL").one().n;
}

export function insertWebhook(sql: SqlStorage, row: NewWebhookRow): void {
  sql.exec(
    "INSERT INTO webhooks (id, url, format, events, sealed_secret, secret_iv, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
    row.id,
    row.url,
    row.format,
    row.events,
    row.sealed_secret,
    row.secret_iv,
    row.created_at,
  );
}

/** Drops every event a webhook had yet to receive; returns how many. */
function dropQueued(sql: SqlStorage, webhookId: string): number {
  return sql.exec("DELETE FROM outbox WHERE webhook_id = ? RETURNING seq", webhookId).toArray().length;
}

/** Removes a webhook with everything it had yet to receive and its attempts. */
export function deleteWebhook(sql: SqlStorage, id: string): boolean {
  dropQueued(sql, id);
  sql.exec("DELETE FROM webhook_attempts WHERE webhook_id = ?", id);
  return sql.exec("DELETE FROM webhooks WHERE id = ? RETURNING id", id).toArray().length > 0;
}

/**
 * Disables a webhook for good; returns how many undelivered events it drops (null when it was
 * disabled already). `homeTold`: false on a shard other than the home, which must tell it.
 */
export function disableWebhook(sql: SqlStorage, id: string, now: number, homeTold: boolean): number | null {
  const changed =
    sql
      .exec(
        "UPDATE webhooks SET disabled_at = ?, home_told = ? WHERE id = ? AND disabled_at IS NULL RETURNING id",
        now,
        homeTold ? 1 : 0,
        id,
      )
      .toArray().length > 0;
  if (!changed) return null;
  return dropQueued(sql, id);
}

/** Webhooks this shard disabled that the home has yet to hear of. */
export function untoldDisabled(sql: SqlStorage): string[] {
  return sql
    .exec<{ id: string }>("SELECT id FROM webhooks WHERE home_told = 0")
    .toArray()
    .map((row) => row.id);
}

export function markHomeTold(sql: SqlStorage, id: string): void {
  sql.exec("UPDATE webhooks SET home_told = 1 WHERE id = ?", id);
}

/**
 * A shard takes the home's webhooks: the same set, except that a webhook this shard saw
 * disabled stays disabled (a copy made before the home heard of it cannot undo it). Returns
 * the undelivered events dropped with webhooks the copy disabled.
 */
export function writeCopiedWebhooks(sql: SqlStorage, webhooks: WebhookRow[]): { webhookId: string; dropped: number }[] {
  const kept = new Set(webhooks.map((webhook) => webhook.id));
  for (const { id } of readWebhooks(sql)) if (!kept.has(id)) deleteWebhook(sql, id);
  const dropped: { webhookId: string; dropped: number }[] = [];
  for (const webhook of webhooks) {
    sql.exec(
      `INSERT INTO webhooks (id, url, format, events, sealed_secret, secret_iv, created_at, disabled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET disabled_at = coalesce(webhooks.disabled_at, excluded.disabled_at),
         home_told = CASE WHEN excluded.disabled_at IS NOT NULL THEN 1 ELSE webhooks.home_told END`,
      webhook.id,
      webhook.url,
      webhook.format,
      webhook.events,
      webhook.sealed_secret,
      webhook.secret_iv,
      webhook.created_at,
      webhook.disabled_at,
    );
    if (webhook.disabled_at === null) continue;
    const count = dropQueued(sql, webhook.id);
    if (count > 0) dropped.push({ webhookId: webhook.id, dropped: count });
  }
  return dropped;
}

// The outbox

export interface OutboxRow {
  seq: number;
  webhook_id: string;
  event_id: string;
  type: WebhookEventType;
  at: number;
  /** JSON of WebhookEvent["data"]. */
  data: string;
  kill_id: string | null;
  attempts: number;
  next_attempt_at: number;
  [column: string]: SqlStorageValue;
}

/**
 * Queues `event` for every enabled webhook that subscribed to its type, due at once; for a
 * `caep` webhook, never a "log out my other devices" (see REVOCATION_EVENT_TYPES). Called by
 * insertEvent, so the rows commit or roll back with the change itself.
 */
export function enqueue(sql: SqlStorage, eventId: string, event: WebhookEvent, at: number): void {
  sql.exec(
    `INSERT INTO outbox (webhook_id, event_id, type, at, data, kill_id, next_attempt_at)
     SELECT id, ?, ?, ?, ?, ?, ? FROM webhooks WHERE disabled_at IS NULL AND EXISTS (SELECT 1 FROM json_each(webhooks.events) WHERE value = ?)
       AND NOT (format = 'caep' AND ?)`,
    eventId,
    event.type,
    at,
    JSON.stringify(event.data),
    event.data.killId ?? null,
    at,
    event.type,
    event.data.reason === "siblings" ? 1 : 0,
  );
}

export function hasEnabledWebhooks(sql: SqlStorage): boolean {
  return sql.exec("SELECT 1 FROM webhooks WHERE disabled_at IS NULL LIMIT 1").toArray().length > 0;
}

export function nextDeliveryAt(sql: SqlStorage): number | null {
  return sql.exec<{ at: number | null }>("SELECT min(next_attempt_at) AS at FROM outbox").one().at;
}

/** Due events, at most `perWebhook` of each webhook (so one backlog cannot crowd out the others), oldest first. */
export function dueOutbox(sql: SqlStorage, now: number, perWebhook: number): OutboxRow[] {
  return sql
    .exec<OutboxRow>(
      `SELECT seq, webhook_id, event_id, type, at, data, kill_id, attempts, next_attempt_at FROM (
         SELECT *, row_number() OVER (PARTITION BY webhook_id ORDER BY next_attempt_at, seq) AS n FROM outbox WHERE next_attempt_at <= ?
       ) WHERE n <= ? ORDER BY next_attempt_at, seq`,
      now,
      perWebhook,
    )
    .toArray();
}

export function readOutboxRow(sql: SqlStorage, seq: number): OutboxRow | null {
  return sql.exec<OutboxRow>("SELECT * FROM outbox WHERE seq = ?", seq).toArray()[0] ?? null;
}

export function deleteOutboxRow(sql: SqlStorage, seq: number): void {
  sql.exec("DELETE FROM outbox WHERE seq = ?", seq);
}

/** After a failed attempt: this event again at `nextAt`; with `dueBy`, so are the webhook's other events due by then. */
export function postponeOutboxRow(sql: SqlStorage, row: OutboxRow, nextAt: number, dueBy: number | null): void {
  sql.exec("UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ? WHERE seq = ?", nextAt, row.seq);
  if (dueBy !== null)
    sql.exec(
      "UPDATE outbox SET next_attempt_at = ? WHERE webhook_id = ? AND next_attempt_at <= ? AND seq <> ?",
      nextAt,
      row.webhook_id,
      dueBy,
      row.seq,
    );
}

/** Drops the oldest events of each webhook beyond `cap` undelivered; returns how many per webhook. */
export function trimOutbox(sql: SqlStorage, cap: number): { webhookId: string; dropped: number }[] {
  const over = sql
    .exec<{ webhook_id: string; n: number }>(
      "SELECT webhook_id, count(*) AS n FROM outbox GROUP BY webhook_id HAVING count(*) > ?",
      cap,
    )
    .toArray();
  return over.map(({ webhook_id: webhookId, n }) => {
    sql.exec(
      "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE webhook_id = ? ORDER BY seq LIMIT ?)",
      webhookId,
      n - cap,
    );
    return { webhookId, dropped: n - cap };
  });
}

// Attempts

export interface AttemptRow {
  seq: number;
  webhook_id: string;
  event_id: string;
  type: WebhookEventType;
  attempt: number;
  at: number;
  status: number | null;
  error: string | null;
  next_attempt_at: number | null;
  [column: string]: SqlStorageValue;
}

/** Records an attempt, keeping the newest `keep` of its webhook. */
export function insertAttempt(sql: SqlStorage, attempt: Omit<AttemptRow, "seq">, keep: number): void {
  sql.exec(
    "INSERT INTO webhook_attempts (webhook_id, event_id, type, attempt, at, status, error, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    attempt.webhook_id,
    attempt.event_id,
    attempt.type,
    attempt.attempt,
    attempt.at,
    attempt.status,
    attempt.error,
    attempt.next_attempt_at,
  );
  sql.exec(
    "DELETE FROM webhook_attempts WHERE webhook_id = ? AND seq <= (SELECT seq FROM webhook_attempts WHERE webhook_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
    attempt.webhook_id,
    attempt.webhook_id,
    keep,
  );
}

/** A webhook's attempts, newest first. */
export function readAttempts(sql: SqlStorage, webhookId: string, limit: number): AttemptRow[] {
  return sql
    .exec<AttemptRow>("SELECT * FROM webhook_attempts WHERE webhook_id = ? ORDER BY seq DESC LIMIT ?", webhookId, limit)
    .toArray();
}
