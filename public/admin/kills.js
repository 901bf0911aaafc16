// @ts-check
// Kills and their undo: every kill asks first, then the "Undo" bar offers to take it back for
// the tenant's undo window. Also the typed-name dialog that kills every session of the tenant.

/** @import { Killed } from "@session-service/client" */

import { api, credentials, tenantPath } from "./api.js";
import { wireTypedConfirmation } from "./confirm-dialog.js";
import { $ } from "./dom.js";
import { duration } from "./format.js";
import { hooks, state } from "./state.js";
import { busy } from "./status.js";

/**
 * The "Undo" bar after a kill: shown until the tenant's undo window for it has passed.
 * @param {{ killId: string }} killed
 * @param {string} text what was killed
 */
export function offerUndo(
  killed,
  text,
  undoPath = tenantPath(`/kills/${encodeURIComponent(killed.killId)}/undo`),
  windowSeconds = state.currentTenant?.settings.undoWindowSeconds ?? 0,
) {
  clearTimeout(state.undoTimer);
  const windowMs = windowSeconds * 1000;
  if (windowMs === 0) return hideUndo();
  $("undo-text").textContent = `${text} You can undo it until ${new Date(Date.now() + windowMs).toLocaleTimeString()}.`;
  $("undo-bar").dataset.undoPath = undoPath;
  $("undo-bar").hidden = false;
  $("undo-button").focus();
  state.undoTimer = setTimeout(hideUndo, windowMs);
}

export function hideUndo() {
  clearTimeout(state.undoTimer);
  $("undo-bar").hidden = true;
}

/** @param {string} undoPath */
export function undoKill(undoPath) {
  return busy("Undoing the kill", async () => {
    // `skipped`: a platform kill's tenants that were past their own undo window.
    const { restored, skipped } = /** @type {{ restored: number, skipped?: number }} */ (await api("POST", undoPath));
    hideUndo();
    await hooks.refresh();
    const past = skipped ? ` ${skipped} tenant(s) were past their undo window.` : "";
    return `Undone: ${restored} session(s) restored.${past}`;
  });
}

/**
 * Every kill asks first (`question`; null when a dialog of its own has asked), then offers its undo.
 * @param {string | null} question
 * @param {string} path under the tenant's
 * @param {(revoked: number) => string} describe what was killed, by how many sessions
 */
export function kill(question, path, describe) {
  if (question !== null && !confirm(question)) return;
  return busy("Killing", async () => {
    const killed = /** @type {Killed} */ (await api("DELETE", tenantPath(path)));
    offerUndo(killed, describe(killed.revoked));
    await hooks.refresh();
    return describe(killed.revoked);
  });
}

/** Asked by the typed-name dialog. */
function killAll() {
  return kill(null, "/sessions", (n) => `Killed all ${n} session(s).`);
}

export function wireKills() {
  $("undo-button").addEventListener("click", () => {
    // Set by offerUndo whenever the bar is shown.
    const undoPath = $("undo-bar").dataset.undoPath;
    if (undoPath !== undefined) undoKill(undoPath);
  });
  $("undo-dismiss").addEventListener("click", () => hideUndo());
  wireTypedConfirmation(
    "kill-all",
    "confirm-kill-all",
    "confirm-",
    () => credentials().tenant,
    killAll,
    () => {
      $("confirm-tenant").textContent = credentials().tenant;
      const undoWindow = state.currentTenant?.settings.undoWindowSeconds ?? 0;
      $("confirm-undo").textContent =
        undoWindow > 0
          ? `You can undo it for ${duration(undoWindow)}.`
          : "This tenant's undo window is 0: it cannot be undone.";
    },
  );
}
