// @ts-check
// The open tenant's emergency lever (the platform admin only): its session token generation,
// retiring every token of the tenant minted so far, and restoring them within the undo window.

import { api, isPlatformAdmin, tenantPath } from "./api.js";
import { $ } from "./dom.js";
import { hooks, state } from "./state.js";
import { busy } from "./status.js";

/**
 * @typedef {{ tenant: string, generation: number, floor: number, retiredAt: string | null,
 *   retiredBy: string | null, restorable: boolean }} TokenKeys
 */

/** @param {TokenKeys} keys */
function describe(keys) {
  if (keys.retiredAt === null) return "Never retired: every session token of the tenant is accepted.";
  const when = new Date(keys.retiredAt).toLocaleString();
  const refused =
    keys.floor === 0
      ? "its last retirement was restored: every token is accepted"
      : `tokens minted before ${keys.floor === 1 ? "it" : `generation ${keys.floor}`} are refused`;
  return `Last retired ${when} by ${keys.retiredBy}; ${refused}. New tokens are of generation ${keys.generation}.`;
}

/** @param {TokenKeys} keys */
function show(keys) {
  $("token-keys-state").textContent = describe(keys);
  $("restore-token-keys").hidden = !keys.restorable;
}

export async function loadTokenKeys() {
  if (!isPlatformAdmin()) return;
  const asked = state.generation;
  const { keys } = /** @type {{ keys: TokenKeys }} */ (await api("GET", tenantPath("/token-keys")));
  if (asked === state.generation) show(keys);
}

function retire() {
  if (
    !confirm(
      "Retire every session token of this tenant? Each is refused at once, with no store asked, " +
        "and within 5 seconds everywhere. Users sign in again; you can restore them within the undo window.",
    )
  )
    return;
  return busy("Retiring the tenant's session tokens", async () => {
    const { keys } = /** @type {{ keys: TokenKeys }} */ (await api("POST", tenantPath("/token-keys/retire")));
    show(keys);
    await hooks.refresh();
    return "Retired every session token of the tenant.";
  });
}

function restore() {
  return busy("Restoring the tenant's session tokens", async () => {
    const { keys } = /** @type {{ keys: TokenKeys }} */ (await api("POST", tenantPath("/token-keys/restore")));
    show(keys);
    await hooks.refresh();
    return "Restored the tokens the last retirement refused.";
  });
}

export function wireTokenKeys() {
  $("retire-token-keys").addEventListener("click", () => retire());
  $("restore-token-keys").addEventListener("click", () => restore());
}
