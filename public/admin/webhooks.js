// @ts-check
// Webhooks: listed with their last delivery; added (the signing secret shown once) and removed;
// the last delivery attempts of one shown on demand.

/** @import { DeliveryAttempt, WebhookView } from "@session-service/client" */

import { api, tenantPath } from "./api.js";
import { $, $input, $select, $tbody } from "./dom.js";
import { when } from "./format.js";
import { state } from "./state.js";
import { busy } from "./status.js";
import { actionsCell, cell, linkButton } from "./table.js";

/**
 * A delivery attempt's answer in words: the status, or why none came.
 * @param {DeliveryAttempt} attempt
 */
function answerOf(attempt) {
  if (attempt.status !== null) return attempt.error ? `${attempt.status} (${attempt.error})` : String(attempt.status);
  return attempt.error ?? "no answer";
}

export async function loadWebhooks() {
  const asked = state.generation;
  const { webhooks } = /** @type {{ webhooks: (WebhookView & { lastDelivery: DeliveryAttempt | null })[] }} */ (
    await api("GET", tenantPath("/webhooks"))
  );
  if (asked !== state.generation) return;
  const body = $tbody("webhooks");
  body.replaceChildren();
  for (const webhook of webhooks) {
    const row = body.insertRow();
    row.dataset.webhookId = webhook.id;
    cell(row, webhook.url, "mono");
    cell(row, webhook.format);
    cell(row, webhook.disabledAt ? `disabled (410) ${when(webhook.disabledAt)}` : "active");
    const last = webhook.lastDelivery;
    cell(
      row,
      last ? `${answerOf(last)}, ${when(last.at)}` : "none yet",
      last && last.status !== null && last.status < 300 ? "" : last ? "error" : "",
    );
    actionsCell(
      row,
      linkButton(
        "Deliveries",
        `Deliveries of ${webhook.url}`,
        () => busy("Loading deliveries", () => showDeliveries(webhook)),
        true,
      ),
      linkButton("Remove", `Remove webhook ${webhook.url}`, () => removeWebhook(webhook)),
    );
  }
  $("webhooks-empty").hidden = webhooks.length > 0;
  $("webhooks").hidden = webhooks.length === 0;
}

/** @param {WebhookView} webhook */
async function showDeliveries(webhook) {
  const { deliveries } = /** @type {{ deliveries: DeliveryAttempt[] }} */ (
    await api("GET", tenantPath(`/webhooks/${encodeURIComponent(webhook.id)}/deliveries`))
  );
  $("deliveries-title").textContent = `Last deliveries to ${webhook.url}`;
  const body = /** @type {HTMLTableSectionElement} */ ($("deliveries").querySelector("tbody"));
  body.replaceChildren();
  for (const attempt of deliveries) {
    const row = body.insertRow();
    cell(row, when(attempt.at));
    cell(row, attempt.type);
    cell(row, String(attempt.attempt));
    cell(row, answerOf(attempt), attempt.status !== null && attempt.status < 300 ? "" : "error");
    cell(row, attempt.nextAttemptAt ? when(attempt.nextAttemptAt) : null);
  }
  $("deliveries-empty").hidden = deliveries.length > 0;
  $("deliveries").hidden = false;
  return `${deliveries.length} attempt(s).`;
}

function addWebhook() {
  return busy("Adding the webhook", async () => {
    const { webhook, secret } = /** @type {{ webhook: WebhookView, secret: string | null }} */ (
      await api("POST", tenantPath("/webhooks"), {
        url: $input("webhook-url").value.trim(),
        format: $select("webhook-format").value,
      })
    );
    $input("webhook-url").value = "";
    $("webhook-secret").hidden = secret === null;
    $("webhook-secret-value").textContent = secret ?? "";
    await loadWebhooks();
    return `Added a webhook to ${webhook.url}.`;
  });
}

/** @param {WebhookView} webhook */
function removeWebhook(webhook) {
  if (!confirm(`Remove the webhook to ${webhook.url}? Events it has yet to receive are dropped.`)) return;
  return busy("Removing the webhook", async () => {
    await api("DELETE", tenantPath(`/webhooks/${encodeURIComponent(webhook.id)}`));
    $("deliveries").hidden = true;
    await loadWebhooks();
    return `Removed the webhook to ${webhook.url}.`;
  });
}

export function wireWebhooks() {
  $("webhook-form").addEventListener("submit", (event) => {
    event.preventDefault();
    addWebhook();
  });
  $("webhook-secret-copy").addEventListener("click", () =>
    busy("Copying", async () => {
      await navigator.clipboard.writeText($("webhook-secret-value").textContent);
      return "Copied the secret.";
    }),
  );
}
