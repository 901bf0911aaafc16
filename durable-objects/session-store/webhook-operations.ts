// What a SessionStore does with webhooks, each inside the store's transaction: keep them (at
// the home, copied to the other shards with the tenant), and record each delivery attempt's
// outcome in the outbox. The attempts themselves are made by the store's alarm.

import { actorOf, type StoreCaller } from "../../src/core/auth";
import { fail, ok, type Result } from "../../src/core/errors";
import { GIVE_UP_AFTER_MS, retryDelayMs, type AttemptOutcome } from "./webhook-delivery";
import {
  MAX_WEBHOOKS_PER_TENANT,
  type DeliveryAttempt,
  type WebhookEventType,
  type WebhookView,
} from "../../src/core/webhooks";
import * as hooks from "./webhooks-sql";
import { insertEvent } from "./audit-sql";
import { type Store, TAKEN_BACK, authorized } from "./tenant";
import { bumpCopyVersion } from "./tenant-sql";

/** The newest attempts kept per webhook (and shard), for GET .../deliveries. */
export const ATTEMPTS_KEPT = 100;
/** Undelivered events kept per webhook (and shard): beyond it the oldest are dropped, with an audit event. */
export const MAX_OUTBOX_PER_WEBHOOK = 10_000;

const WEBHOOK_NOT_FOUND = fail("webhook_not_found", "no such webhook");
const SYSTEM = "system";

export function webhookView(row: hooks.NewWebhookRow & { disabled_at: number | null }): WebhookView {
  return {
    id: row.id,
    url: row.url,
    format: row.format,
    events: JSON.parse(row.events) as WebhookEventType[],
    createdAt: new Date(row.created_at).toISOString(),
    disabledAt: row.disabled_at === null ? null : new Date(row.disabled_at).toISOString(),
  };
}

export function attemptView(row: hooks.AttemptRow): DeliveryAttempt {
  return {
    eventId: row.event_id,
    type: row.type,
    attempt: row.attempt,
    at: new Date(row.at).toISOString(),
    status: row.status,
    error: row.error,
    nextAttemptAt: row.next_attempt_at === null ? null : new Date(row.next_attempt_at).toISOString(),
  };
}

/** At the home: a new webhook, to be copied to the other shards. */
export function addWebhook(
  store: Store,
  caller: StoreCaller,
  row: hooks.NewWebhookRow,
  now: number,
): Result<{ webhook: WebhookView }> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const { sql } = store;
  if (hooks.countWebhooks(sql) >= MAX_WEBHOOKS_PER_TENANT)
    return fail("too_many_webhooks", `a tenant has at most ${MAX_WEBHOOKS_PER_TENANT} webhooks; delete one first`);
  hooks.insertWebhook(sql, row);
  bumpCopyVersion(sql);
  insertEvent(sql, { type: "webhook_created", actor: actorOf(caller), webhookId: row.id }, now);
  return ok({ webhook: webhookView({ ...row, disabled_at: null }) });
}

/**
 * At the home: removes a webhook and what it had yet to receive, on every shard once copied.
 * `takenBack`: the webhook could not be copied everywhere, and the service itself removes it.
 */
export function removeWebhook(store: Store, caller: StoreCaller, id: string, now: number, takenBack = false): Result {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const { sql } = store;
  if (!hooks.deleteWebhook(sql, id)) return WEBHOOK_NOT_FOUND;
  bumpCopyVersion(sql);
  insertEvent(
    sql,
    { type: "webhook_deleted", webhookId: id, ...(takenBack ? TAKEN_BACK : { actor: actorOf(caller) }) },
    now,
  );
  return ok({});
}

/** The webhooks this store has, each with its newest attempt here. */
export function listWebhooks(
  store: Store,
  caller: StoreCaller,
  now: number,
): Result<{ webhooks: (WebhookView & { lastDelivery: DeliveryAttempt | null })[] }> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const { sql } = store;
  const webhooks = hooks.readWebhooks(sql).map((row) => {
    const last = hooks.readAttempts(sql, row.id, 1)[0];
    return { ...webhookView(row), lastDelivery: last ? attemptView(last) : null };
  });
  return ok({ webhooks });
}

/** A webhook's attempts made by this store, newest first. */
export function webhookAttempts(
  store: Store,
  caller: StoreCaller,
  id: string,
  now: number,
): Result<{ attempts: DeliveryAttempt[]; known: boolean }> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const { sql } = store;
  return ok({
    attempts: hooks.readAttempts(sql, id, ATTEMPTS_KEPT).map(attemptView),
    known: hooks.readWebhook(sql, id) !== null,
  });
}

/**
 * Disables a webhook for good (a 410 here or on another shard) with its audit events; true
 * when it was enabled until now. At the home, the copy carries it to the other shards.
 */
export function disableWebhook({ sql, tenant }: Store, id: string, now: number): boolean {
  const dropped = hooks.disableWebhook(sql, id, now, tenant?.shard === 0);
  if (dropped === null) return false;
  insertEvent(sql, { type: "webhook_disabled", actor: SYSTEM, webhookId: id }, now);
  if (dropped > 0)
    insertEvent(
      sql,
      { type: "webhook_events_dropped", reason: "disabled", actor: SYSTEM, webhookId: id, count: dropped },
      now,
    );
  if (tenant?.shard === 0) bumpCopyVersion(sql); // only the home's copy version may move
  return true;
}

/**
 * Records one attempt at an outbox row and what follows: delivered, it leaves the outbox; 410,
 * the webhook is disabled; otherwise it is tried again after `retryDelayMs` (the schedule's
 * next delay, or the receiver's Retry-After within bounds), and with `holdOthers` the
 * webhook's other due events wait as long. An event whose next attempt would come later than
 * GIVE_UP_AFTER_MS after it happened is given up, with an audit event. A row gone meanwhile
 * (its webhook deleted, or dropped from a full outbox) records nothing. Returns whether the
 * webhook was disabled.
 */
export function recordAttempt(
  store: Store,
  row: hooks.OutboxRow,
  outcome: AttemptOutcome,
  holdOthers: boolean,
  now: number,
): { disabled: boolean } {
  const { sql } = store;
  if (!hooks.readOutboxRow(sql, row.seq)) return { disabled: false };
  const attempt = row.attempts + 1;
  const record = (nextAt: number | null) =>
    hooks.insertAttempt(
      sql,
      {
        webhook_id: row.webhook_id,
        event_id: row.event_id,
        type: row.type,
        attempt,
        at: now,
        status: outcome.status,
        error: outcome.error,
        next_attempt_at: nextAt,
      },
      ATTEMPTS_KEPT,
    );
  if (outcome.delivered) {
    hooks.deleteOutboxRow(sql, row.seq);
    record(null);
    return { disabled: false };
  }
  if (outcome.gone) {
    record(null);
    return { disabled: disableWebhook(store, row.webhook_id, now) };
  }
  const nextAt = now + retryDelayMs(attempt, outcome.retryAfterMs);
  if (nextAt > row.at + GIVE_UP_AFTER_MS) {
    hooks.deleteOutboxRow(sql, row.seq);
    record(null);
    insertEvent(
      sql,
      { type: "webhook_events_dropped", reason: "gave_up", actor: SYSTEM, webhookId: row.webhook_id, count: 1 },
      now,
    );
    return { disabled: false };
  }
  hooks.postponeOutboxRow(sql, row, nextAt, holdOthers ? now : null);
  record(nextAt);
  return { disabled: false };
}

/** Audit events for the undelivered events a copy from the home dropped with the webhooks it disabled. */
export function recordCopiedDrops(sql: SqlStorage, drops: { webhookId: string; dropped: number }[], now: number): void {
  for (const { webhookId, dropped } of drops)
    insertEvent(
      sql,
      { type: "webhook_events_dropped", reason: "disabled", actor: SYSTEM, webhookId, count: dropped },
      now,
    );
}

/** A purge step: keeps every webhook's outbox within MAX_OUTBOX_PER_WEBHOOK, oldest dropped first. Returns the rows dropped. */
export function trimOutbox({ sql }: Store, now: number): number {
  let total = 0;
  for (const { webhookId, dropped } of hooks.trimOutbox(sql, MAX_OUTBOX_PER_WEBHOOK)) {
    insertEvent(
      sql,
      { type: "webhook_events_dropped", reason: "outbox_full", actor: SYSTEM, webhookId, count: dropped },
      now,
    );
    total += dropped;
  }
  return total;
}
