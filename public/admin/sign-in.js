// @ts-check
// Signing in and out, and the tenant switcher: which views show for the key kept in this tab,
// and moving the console to another tenant.

/** @import { DirectoryEntry } from "./api.js" */

import {
  api,
  credentials,
  forgetCredentials,
  isPlatformAdmin,
  keepCredentials,
  keepTenant,
  tenantOfKey,
} from "./api.js";
import { $, $field, $input, $select } from "./dom.js";
import { hideUndo } from "./kills.js";
import { loadPlatform } from "./platform.js";
import { resetSettingsForm, SETTING_FIELDS } from "./settings.js";
import { hooks, state } from "./state.js";
import { busy, setStatus, showError } from "./status.js";
import { route, showView, TENANT_VIEWS, tenantViewHref } from "./views.js";

/** Once-shown secrets leave the page (not only the view) on sign-out and on a switch of tenant. */
function hideSecrets() {
  for (const id of ["key-secret", "webhook-secret"]) {
    $(id).hidden = true;
    $(`${id}-value`).textContent = "";
  }
}

/** The platform admin may switch tenants: the list comes from GET /v1/tenants (first 1,000 by name). */
export async function loadTenantSwitcher() {
  const select = $select("switch-tenant");
  const isAdmin = isPlatformAdmin();
  $("switch-tenant-wrapper").hidden = !isAdmin;
  if (!isAdmin) return;
  const { tenants } = /** @type {{ tenants: DirectoryEntry[] }} */ (await api("GET", "/v1/tenants?limit=1000"));
  const names = tenants.map(({ tenant }) => tenant);
  // The tenant on screen is always the one shown selected, listed or not (not yet recorded, or past the first 1,000).
  const current = credentials().tenant;
  if (current && !names.includes(current)) names.unshift(current);
  select.replaceChildren(
    ...names.map((name) => {
      const option = document.createElement("option");
      option.value = option.textContent = name;
      option.selected = name === current;
      return option;
    }),
  );
}

/**
 * Shows the views for the key kept (or the sign-in form); whether one is. The platform admin
 * may be signed in with no tenant open: the platform view.
 */
export function showSignedIn() {
  const { key, tenant } = credentials();
  const signedIn = Boolean(key && (tenant || isPlatformAdmin()));
  $("sign-in").hidden = signedIn;
  $("who").hidden = !signedIn;
  $("who-label").textContent = signedIn
    ? tenantOfKey(key)
      ? `tenant key for ${tenantOfKey(key)}`
      : "platform admin"
    : "";
  // Settings and keys are the platform admin's to change: a tenant key sees them only.
  const admin = signedIn && isPlatformAdmin();
  $("mint-key").hidden = !admin;
  $("settings-save").hidden = !admin;
  for (const field of SETTING_FIELDS) $field(`set-${field}`).disabled = !admin;
  $("settings-note").textContent = admin
    ? "Only changed fields are sent; the service checks each."
    : "Only the platform admin can change settings.";
  if (!signedIn) forgetCredentials();
  showView();
  return signedIn;
}

/**
 * Opens another tenant (the switcher, a platform row, a tenant's address): its views are read
 * again from nothing, and the URL names it, in the view on screen.
 * @param {string} name
 */
export function switchTenant(name) {
  keepTenant(name);
  const asked = route();
  const view = asked.view === "platform" ? TENANT_VIEWS[0] : asked.view;
  if (location.hash !== tenantViewHref(name, view)) history.replaceState(null, "", tenantViewHref(name, view));
  showView();
  $("deliveries").hidden = true;
  state.userFilter = state.sessionSearch = "";
  state.userMatch = $select("user-match").value = "is";
  $input("user-filter").value = $input("session-search").value = "";
  $("kill-user").hidden = true;
  hideUndo();
  resetSettingsForm();
  hideSecrets();
  $select("switch-tenant").value = name;
  $select("switch-tenant").disabled = true;
  busy("Loading the tenant", async () => {
    try {
      await Promise.all([hooks.refresh(), loadTenantSwitcher()]);
    } finally {
      $select("switch-tenant").disabled = false;
    }
  });
}

/** @param {string} [message] */
export function signOut(message) {
  // Whatever is still under way answers to nobody now: its views and its status are dropped.
  state.generation += 1;
  state.latestAction += 1;
  forgetCredentials();
  hideSecrets();
  hideUndo();
  resetSettingsForm();
  showSignedIn();
  setStatus(message ?? "Signed out.");
}

export function wireSignIn() {
  $input("key").addEventListener("input", () => {
    const tenant = tenantOfKey($input("key").value.trim());
    if (tenant) $input("tenant").value = tenant;
  });
  $select("switch-tenant").addEventListener("change", () => switchTenant($select("switch-tenant").value));
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const keyTenant = tenantOfKey($input("key").value.trim());
    if (keyTenant && keyTenant !== $input("tenant").value.trim()) {
      showError(new Error(`This key belongs to tenant ${keyTenant}: it cannot open another.`));
      return;
    }
    // No tenant typed: the one the address names (a bookmark), else the platform view.
    const asked = route();
    const tenant = $input("tenant").value.trim() || (asked.view !== "platform" && asked.tenant) || "";
    keepCredentials($input("key").value.trim(), tenant);
    $input("key").value = "";
    if (tenant)
      history.replaceState(null, "", tenantViewHref(tenant, asked.view === "platform" ? TENANT_VIEWS[0] : asked.view));
    else history.replaceState(null, "", "#/platform");
    showSignedIn();
    busy(tenant ? "Loading the tenant" : "Loading the platform", async () => {
      await Promise.all([hooks.refresh(), loadTenantSwitcher(), loadPlatform()]);
      return "";
    });
  });
  $("sign-out").addEventListener("click", () => signOut());
}
