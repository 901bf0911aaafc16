// @ts-check
// The open tenant: its name, live counts and timeouts (and its settings, into the editor), or a
// clear empty state when it does not exist; and its deletion, behind the typed tenant name.

/** @import { TenantView } from "@session-service/client" */

import { api, credentials, failure, isPlatformAdmin, tenantPath } from "./api.js";
import { wireTypedConfirmation } from "./confirm-dialog.js";
import { $ } from "./dom.js";
import { duration } from "./format.js";
import { hideUndo } from "./kills.js";
import { loadPlatform } from "./platform.js";
import { fillSettings } from "./settings.js";
import { loadTenantSwitcher } from "./sign-in.js";
import { hooks, state } from "./state.js";
import { busy } from "./status.js";

/** Reads the tenant; false when it does not exist (a clear empty state, and nothing to kill). */
export async function loadTenant() {
  const asked = state.generation;
  const name = credentials().tenant;
  /** @type {TenantView} */
  let tenant;
  try {
    ({ tenant } = /** @type {{ tenant: TenantView }} */ (await api("GET", tenantPath())));
  } catch (error) {
    if (asked !== state.generation) return false;
    if (failure(error).status !== 404) throw error;
    state.currentTenant = null;
    $("tenant-title").textContent = `Tenant ${name}`;
    $("tenant-missing").textContent = isPlatformAdmin()
      ? `There is no tenant named “${name}”: check the name (it may also have been deleted), ` +
        `or create it with PUT /v1/tenants/${name}.`
      : `There is no tenant named “${name}”: it may have been deleted.`;
    $("tenant-missing").hidden = false;
    $("tenant-content").hidden = true;
    return false;
  }
  if (asked !== state.generation) return false;
  state.currentTenant = tenant;
  $("tenant-missing").hidden = true;
  $("tenant-content").hidden = false;
  $("tenant-title").textContent = `Tenant ${tenant.tenant}`;
  $("count-sessions").textContent = String(tenant.counts.sessions);
  $("count-keys").textContent = String(tenant.counts.keys);
  $("setting-idle").textContent = duration(tenant.settings.idleTimeoutSeconds);
  $("setting-absolute").textContent = duration(tenant.settings.absoluteTimeoutSeconds);
  fillSettings(tenant.settings);
  return true;
}

/** Asked by the typed-name dialog: the service takes the name again, as `confirm`. */
function deleteTenant() {
  const name = credentials().tenant;
  return busy(`Deleting tenant ${name}`, async () => {
    let unfinished = null;
    try {
      await api("DELETE", tenantPath(`?confirm=${encodeURIComponent(String(name))}`));
    } catch (error) {
      // 503: deleted in part; the service finishes it in the background (the tenant answers 404 meanwhile).
      if (failure(error).status !== 503) throw error;
      unfinished = failure(error);
    }
    hideUndo(); // its kills went with it
    await Promise.all([hooks.refresh(), loadTenantSwitcher(), loadPlatform()]);
    if (unfinished) throw new Error(`${unfinished.message} The tenant already answers as deleted.`);
    return `Deleted tenant ${name}.`;
  });
}

export function wireTenant() {
  wireTypedConfirmation(
    "delete-tenant",
    "confirm-delete-tenant",
    "delete-confirm-",
    () => credentials().tenant,
    deleteTenant,
    () => {
      $("delete-confirm-tenant").textContent = credentials().tenant;
    },
  );
}
