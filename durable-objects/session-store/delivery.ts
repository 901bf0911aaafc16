// The outbox delivered: each shard sends the events it recorded to the tenant's webhooks, from
// its alarm (src/core/webhooks.ts says what is sent, webhook-delivery.ts how one attempt goes).
// A webhook a receiver gave up (410) is disabled: the home copies that to every shard, another
// shard tells the home (retried by the alarm until heard).

import { logError } from "../../src/core/log";
import { unseal } from "../../src/core/sealing";
import { secretContext, webhookSealingKey, type WebhookEvent } from "../../src/core/webhooks";
import { homeFor } from "../stubs";
import { copyOrRetry } from "./copies";
import type { StoreHost } from "./host";
import type { Tenant } from "./tenant";
import { readErasure } from "./tenant-sql";
import { attemptDelivery, type AttemptOutcome } from "./webhook-delivery";
import { recordAttempt } from "./webhook-operations";
import * as hooks from "./webhooks-sql";

/** Outbox rows of one webhook one alarm run attempts; more due make the next run follow at once. */
const DELIVERIES_PER_WEBHOOK = 100;
/** No new delivery attempt starts after this much of a run (one under way may take ATTEMPT_TIMEOUT_MS more). */
const DELIVERY_BUDGET_MS = 30_000;
/** Failed answers in a row that end a webhook's turn in a run (a failure without answer ends it at once). */
const FAILURES_ENDING_TURN = 3;

/**
 * Delivers the outbox rows that are due, up to DELIVERIES_PER_WEBHOOK of each webhook: one
 * attempt at a time per webhook, oldest first, the webhooks side by side (a receiver that
 * hangs holds up only its own), and no new attempt after DELIVERY_BUDGET_MS. A webhook's
 * turn ends at an attempt that got no answer (each costs up to ATTEMPT_TIMEOUT_MS) or at
 * FAILURES_ENDING_TURN failures in a row: its other due events then wait as long as the
 * failed one. A receiver that fails now and then only delays the events it failed. Each
 * row is read again before its attempt: a webhook deleted or disabled meanwhile gets
 * nothing more. Never throws. False when more were due than this run took.
 */
export async function deliverDue(host: StoreHost): Promise<boolean> {
  const sql = host.ctx.storage.sql;
  const tenant = host.store().tenant;
  if (!tenant) return true;
  const started = Date.now();
  const due = hooks.dueOutbox(sql, started, DELIVERIES_PER_WEBHOOK);
  if (due.length === 0) return true;
  let finished = true;
  const disabled: string[] = [];
  await Promise.all(
    [...Map.groupBy(due, (row) => row.webhook_id)].map(async ([webhookId, rows]) => {
      let failuresInRow = 0;
      for (const { seq } of rows) {
        if (host.state.wiping || readErasure(sql)) return; // the tenant is going: nothing more goes out
        if (Date.now() - started > DELIVERY_BUDGET_MS) {
          finished = false;
          return;
        }
        const row = hooks.readOutboxRow(sql, seq);
        const webhook = hooks.readWebhook(sql, webhookId);
        if (!webhook || webhook.disabled_at !== null) return;
        if (!row) continue;
        const outcome = await attempt(host, tenant.name, webhook, row);
        failuresInRow = outcome.delivered ? 0 : failuresInRow + 1;
        const endTurn = !outcome.delivered && (outcome.status === null || failuresInRow >= FAILURES_ENDING_TURN);
        const recorded = host.change((store, now) => recordAttempt(store, row, outcome, endTurn, now));
        if (recorded.disabled) disabled.push(webhookId);
        if (recorded.disabled || endTurn) return;
      }
    }),
  );
  // The home copies a disabled webhook to the other shards; another shard tells the home.
  if (disabled.length > 0) {
    if (tenant.shard === 0) await copyOrRetry(host);
    else await tellHomeDisabled(host, tenant); // retried by the alarm until heard
  }
  const next = hooks.nextDeliveryAt(sql);
  return finished && (next === null || next > started);
}

/** One attempt; a secret that cannot be unsealed (KEY_ENCRYPTION_SECRET changed) is a failed attempt, never a thrown run. */
async function attempt(
  host: StoreHost,
  tenant: string,
  webhook: hooks.WebhookRow,
  row: hooks.OutboxRow,
): Promise<AttemptOutcome> {
  let secret: string | null = null;
  try {
    if (webhook.sealed_secret !== null && webhook.secret_iv !== null) {
      host.state.webhookKey ??= await webhookSealingKey(host.env.KEY_ENCRYPTION_SECRET ?? "");
      const plain = await unseal(
        host.state.webhookKey,
        { iv: webhook.secret_iv, sealed: webhook.sealed_secret },
        secretContext(tenant, webhook.id),
      );
      secret = new TextDecoder().decode(plain);
    }
  } catch {
    logError({ event: "webhook_secret_unreadable", tenant, message: webhook.id });
    return {
      status: null,
      error: "the signing secret cannot be unsealed (was KEY_ENCRYPTION_SECRET changed?)",
      delivered: false,
      gone: false,
      retryAfterMs: null,
    };
  }
  const event: WebhookEvent = { type: row.type, data: JSON.parse(row.data) as WebhookEvent["data"] };
  return attemptDelivery(host.env, { url: webhook.url, format: webhook.format, secret }, row.event_id, event, row.at);
}

/** On a shard other than the home: tells the home of the webhooks this shard disabled (the alarm asks again until it hears). */
export async function tellHomeDisabled(host: StoreHost, tenant: Tenant): Promise<void> {
  const sql = host.ctx.storage.sql;
  const untold = hooks.untoldDisabled(sql);
  if (untold.length === 0) return;
  const home = homeFor(host.env, { tenant: tenant.name, jurisdiction: tenant.settings.jurisdiction });
  try {
    if (!home.ok) throw new Error(home.error.message);
    for (const id of untold) {
      await home.stub.disableWebhook(id);
      host.change(() => hooks.markHomeTold(sql, id));
    }
  } catch (error) {
    logError({ event: "webhook_disable_unheard", tenant: tenant.name, message: String(error) });
  }
}
