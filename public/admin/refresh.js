// @ts-check
// Reading the open tenant again, every view of it at once: on demand (the Refresh button, and
// after each action) and every 10 s on its own while nothing else is under way.

import { credentials } from "./api.js";
import { $, $input, $tbody } from "./dom.js";
import { loadActivity } from "./activity.js";
import { loadEvents } from "./audit-log.js";
import { loadKeys } from "./keys.js";
import { loadPlatform } from "./platform.js";
import { loadSessions } from "./sessions.js";
import { PAGE_SIZE, state } from "./state.js";
import { busy, showError } from "./status.js";
import { loadTenant } from "./tenant.js";
import { loadTokenKeys } from "./token-keys.js";
import { loadWebhooks } from "./webhooks.js";
import { loadIdentityProviders } from "./identity-providers.js";

/**
 * Reads the open tenant again. The chart (hour-long buckets) is left out of the automatic
 * refreshes, which it would only slow.
 * @param {{ chart?: boolean }} [options]
 */
export async function refresh({ chart = true } = {}) {
  state.generation += 1;
  // The platform admin may have no tenant open (the platform view): nothing of one to read.
  if (!credentials().tenant) return;
  if (await loadTenant())
    await Promise.all([
      chart ? loadActivity() : null,
      loadSessions(true),
      loadKeys(),
      loadWebhooks(),
      loadIdentityProviders(),
      loadEvents(true),
      loadTokenKeys(),
    ]);
  $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

/** Auto-refresh: every 10 s while the box is ticked, the tab visible, and nothing else is under way. */
const AUTO_REFRESH_MS = 10_000;
function autoRefresh() {
  // Not while a dialog is open, the keyboard is on a row's button (a rebuilt table would drop
  // the focus), or more pages were loaded (a refresh shows the first page again).
  const focusInTable = Boolean(document.activeElement?.closest?.("table"));
  const morePages = $tbody("sessions").rows.length > PAGE_SIZE || $tbody("events").rows.length > PAGE_SIZE;
  const dialogOpen = [...document.querySelectorAll("dialog")].some((dialog) => dialog.open);
  const idle =
    state.working === 0 && !document.hidden && !dialogOpen && !$("tenant-view").hidden && !focusInTable && !morePages;
  if (!$input("auto-refresh").checked || !idle) return;
  // The tenant view only: the platform view reads every listed tenant, so it refreshes on demand.
  refresh({ chart: false }).catch((error) => showError(error));
}

export function wireRefresh() {
  $("refresh").addEventListener("click", () =>
    busy("Refreshing", async () => void (await Promise.all([refresh(), loadPlatform()]))),
  );
  setInterval(autoRefresh, AUTO_REFRESH_MS);
}
