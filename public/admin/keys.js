// @ts-check
// API keys: listed by id; the platform admin mints (shown once) and revokes.

/** @import { TenantKeyView } from "@session-service/client" */

import { api, credentials, isPlatformAdmin, tenantPath } from "./api.js";
import { $, $tbody } from "./dom.js";
import { hooks, state } from "./state.js";
import { busy } from "./status.js";
import { actionsCell, cell, linkButton, timeCell } from "./table.js";

export async function loadKeys() {
  const asked = state.generation;
  const { keys } = /** @type {{ keys: TenantKeyView[] }} */ (await api("GET", tenantPath("/keys")));
  if (asked !== state.generation) return;
  const admin = isPlatformAdmin();
  const body = $tbody("keys");
  body.replaceChildren();
  for (const key of keys) {
    const row = body.insertRow();
    row.dataset.keyId = key.id;
    cell(row, key.id, "mono");
    timeCell(row, key.createdAt);
    key.lastUsedAt ? timeCell(row, key.lastUsedAt) : cell(row, "never");
    actionsCell(row, ...(admin ? [linkButton("Revoke", `Revoke key ${key.id}`, () => revokeKey(key))] : []));
  }
  $("keys-empty").hidden = keys.length > 0;
  $("keys").hidden = keys.length === 0;
}

function mintKey() {
  const tenant = credentials().tenant;
  return busy("Minting a key", async () => {
    const { id, key } = /** @type {{ id: string, key: string }} */ (await api("POST", tenantPath("/keys")));
    // Shown even if the view moved to another tenant meanwhile: the key names its tenant.
    $("key-secret-value").textContent = key;
    $("key-secret").hidden = false;
    await hooks.refresh();
    return `Minted key ${id} for ${tenant}.`;
  });
}

/** @param {TenantKeyView} key */
function revokeKey(key) {
  if (!confirm(`Revoke key ${key.id}? Callers using it are refused from their next request.`)) return;
  return busy("Revoking the key", async () => {
    await api("DELETE", tenantPath(`/keys/${encodeURIComponent(key.id)}`));
    await hooks.refresh();
    return `Revoked key ${key.id}.`;
  });
}

export function wireKeys() {
  $("mint-key").addEventListener("click", () => mintKey());
  $("key-secret-copy").addEventListener("click", () =>
    busy("Copying", async () => {
      await navigator.clipboard.writeText($("key-secret-value").textContent);
      return "Copied the key.";
    }),
  );
}
