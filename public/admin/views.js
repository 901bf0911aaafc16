// @ts-check
// The console's views, each addressed by the URL so an operator can bookmark and share it:
// `#/platform` (the platform admin's), and `#/<tenant>/<view>` for one of a tenant's views.
// A view shows its sections of the page and hides the others; the tenant's header (its name,
// the switcher, the counts) stays above every one of them.

import { credentials, isPlatformAdmin } from "./api.js";
import { $ } from "./dom.js";

/** A tenant's views, in the navigation's order; the first is the default. */
export const TENANT_VIEWS = /** @type {const} */ ([
  "sessions",
  "activity",
  "audit",
  "settings",
  "keys",
  "webhooks",
  "identity-providers",
]);

/** @typedef {{ view: "platform" } | { view: typeof TENANT_VIEWS[number], tenant: string | null }} Route */

/** What the URL asks: the platform view, or a tenant's view (its tenant, when it names one). */
export function route() {
  const [first = "", second = ""] = decodeURIComponent(location.hash.replace(/^#\/?/, "")).split("/");
  if (first === "platform" && second === "") return /** @type {Route} */ ({ view: "platform" });
  const view = TENANT_VIEWS.find((name) => name === second) ?? TENANT_VIEWS[0];
  return /** @type {Route} */ ({ view, tenant: first || null });
}

/** The address of a tenant's view. @param {string} tenant @param {string} view */
export function tenantViewHref(tenant, view) {
  return `#/${encodeURIComponent(tenant)}/${view}`;
}

/** Goes to a view: the URL changes, and `showView` follows (on hashchange). @param {string} hash */
export function go(hash) {
  if (location.hash === hash) showView();
  else location.hash = hash;
}

/**
 * Shows the view the URL names, for who is signed in: the platform view only to the platform
 * admin, a tenant's views once a tenant is open (another view of none shows the platform's).
 */
export function showView() {
  const { key, tenant } = credentials();
  const admin = Boolean(key) && isPlatformAdmin();
  const asked = route();
  const platform = admin && (asked.view === "platform" || !tenant);
  const view = asked.view === "platform" ? TENANT_VIEWS[0] : asked.view;
  $("platform-view").hidden = !platform;
  $("tenant-view").hidden = platform || !tenant;
  for (const section of document.querySelectorAll("#tenant-view [data-view]")) {
    if (!(section instanceof HTMLElement)) continue;
    section.hidden = section.dataset.view !== view || (section.dataset.platformAdmin !== undefined && !admin);
  }
  $("views").hidden = !key;
  $("view-platform").hidden = !admin;
  $("view-platform").toggleAttribute("aria-current", platform);
  for (const link of document.querySelectorAll("[data-view-link]")) {
    const anchor = /** @type {HTMLAnchorElement} */ (link);
    anchor.hidden = !tenant;
    anchor.href = tenant ? tenantViewHref(tenant, anchor.dataset.viewLink ?? "") : "#";
    if (!platform && anchor.dataset.viewLink === view) anchor.setAttribute("aria-current", "page");
    else anchor.removeAttribute("aria-current");
  }
  if (platform) $("view-platform").setAttribute("aria-current", "page");
}

/** @param {(tenant: string) => void} openTenant how a tenant named by the URL is opened (sign-in.js) */
export function wireViews(openTenant) {
  window.addEventListener("hashchange", () => {
    const asked = route();
    const { tenant } = credentials();
    // A tenant's address, opened by the platform admin: that tenant.
    if (asked.view !== "platform" && asked.tenant && asked.tenant !== tenant && isPlatformAdmin())
      openTenant(asked.tenant);
    showView();
  });
}
