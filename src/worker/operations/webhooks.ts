// Webhooks: kept at the tenant's home, which copies them to the other shards before the
// answer; each shard delivers the events it records.

import type { StoreCaller } from "../../core/auth";
import { SEALING_NOT_CONFIGURED } from "../../core/config";
import { fail, ok, type Result } from "../../core/errors";
import { randomBase64url } from "../../core/crypto";
import { onShards } from "../locate";
import { allShards } from "../../core/placement";
import { callHome } from "../../../durable-objects/stubs";
import { seal } from "../../core/sealing";
import {
  isWebhookId,
  newWebhookSecret,
  parseWebhookInput,
  secretContext,
  webhookSealingKey,
  type DeliveryAttempt,
  type WebhookView,
} from "../../core/webhooks";

import { READ, SHARD_UNAVAILABLE, answered, onTenant } from "./doors";

/** The attempts GET .../deliveries shows, newest first over every shard. */
const WEBHOOK_DELIVERIES_SHOWN = 100;

// Webhooks: kept at the home, which copies them to the other shards before the answer; each
// shard delivers the events it records.

/** A new webhook; its signing secret (standard-webhooks) is in this answer only, and sealed at rest. */
export function createWebhook(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  body: unknown,
): Promise<Result<{ webhook: WebhookView; secret: string | null }>> {
  return onTenant(env, caller, tenant, "tenant", async (at, config) => {
    if (!config.sealing) return SEALING_NOT_CONFIGURED;
    const parsed = parseWebhookInput(body, config.webhooksAllowLoopback);
    if (!parsed.ok) return parsed;
    const { input } = parsed;
    const id = `wh_${randomBase64url(12)}`;
    const secret = input.format === "standard-webhooks" ? newWebhookSecret() : null;
    const sealed =
      secret === null
        ? null
        : await seal(
            await webhookSealingKey(env.KEY_ENCRYPTION_SECRET!),
            new TextEncoder().encode(secret),
            secretContext(at.tenant, id),
          );
    const row = {
      id,
      url: input.url,
      format: input.format,
      events: JSON.stringify(input.events),
      sealed_secret: sealed?.sealed ?? null,
      secret_iv: sealed?.iv ?? null,
      created_at: Date.now(),
    };
    const added = await callHome(env, at, (home) => home.addWebhook(caller, row));
    if (!added.ok) return added;
    // Not on every shard: the home took it back rather than send events signed with a secret nobody was given.
    return added.copied
      ? ok({ webhook: added.webhook, secret })
      : fail(
          "shard_unavailable",
          "one of the tenant's stores could not be reached, so the webhook was not kept: add it again",
        );
  });
}

/** The tenant's webhooks, each with its newest delivery attempt on any shard. */
export function listWebhooks(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
): Promise<Result<{ webhooks: (WebhookView & { lastDelivery: DeliveryAttempt | null })[] }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    const ran = await onShards(env, at, allShards, (store) => store.listWebhooks(caller), READ);
    if (!ran.ok) return ran;
    const lists = answered(ran.answers);
    if (!lists.ok) return lists;
    const home = lists.results.find((list) => list.shard === 0);
    if (!home) return SHARD_UNAVAILABLE;
    const newest = (a: DeliveryAttempt | null, b: DeliveryAttempt | null) =>
      a === null || (b !== null && b.at > a.at) ? b : a;
    const webhooks = home.value.webhooks.map((webhook) => {
      const elsewhere = lists.results.flatMap((list) => list.value.webhooks.filter((other) => other.id === webhook.id));
      return {
        ...webhook,
        lastDelivery: elsewhere.reduce<DeliveryAttempt | null>((last, other) => newest(last, other.lastDelivery), null),
      };
    });
    return ok({ webhooks });
  });
}

export function deleteWebhook(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  id: unknown,
): Promise<Result<{ deleted: string }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    if (!isWebhookId(id)) return fail("webhook_not_found", "no such webhook");
    const removed = await callHome(env, at, (home) => home.removeWebhook(caller, id));
    if (!removed.ok) return removed;
    return removed.copied ? ok({ deleted: id }) : SHARD_UNAVAILABLE;
  });
}

/** A webhook's recent delivery attempts on every shard, newest first. */
export function webhookDeliveries(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  id: unknown,
): Promise<Result<{ deliveries: DeliveryAttempt[] }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    if (!isWebhookId(id)) return fail("webhook_not_found", "no such webhook");
    const ran = await onShards(env, at, allShards, (store) => store.webhookAttempts(caller, id), READ);
    if (!ran.ok) return ran;
    const lists = answered(ran.answers);
    if (!lists.ok) return lists;
    const home = lists.results.find((list) => list.shard === 0);
    if (!home) return SHARD_UNAVAILABLE;
    if (!home.value.known) return fail("webhook_not_found", "no such webhook");
    const deliveries = lists.results
      .flatMap((list) => list.value.attempts)
      .sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    return ok({ deliveries: deliveries.slice(0, WEBHOOK_DELIVERIES_SHOWN) });
  });
}
