// @ts-check
// The status and error lines, and `busy`, which every action goes through: the status line says
// what is under way and then how the latest action went; a failure is shown on the error line.

/** @import { Failure } from "./api.js" */

import { failure, SignedOut } from "./api.js";
import { $ } from "./dom.js";
import { hooks, state } from "./state.js";

/** @param {string} text */
export function setStatus(text) {
  $("status").textContent = text;
}

/** @param {Failure | null} error */
export function showError(error) {
  if (error instanceof SignedOut) return;
  $("error").hidden = !error;
  $("error").textContent = error ? `Error: ${error.message}` : "";
  if (error?.status === 401) hooks.signOut("Your key was refused. Sign in again.");
}

/**
 * Runs an action: `work` answers what the status line then says (nothing: it is cleared).
 * @param {string} label
 * @param {() => Promise<string | undefined | void>} work
 */
export async function busy(label, work) {
  const action = ++state.latestAction;
  setStatus(`${label}…`);
  showError(null);
  state.working += 1;
  try {
    const done = await work();
    if (action === state.latestAction) setStatus(done ?? "");
  } catch (error) {
    if (error instanceof SignedOut) return;
    if (action === state.latestAction) setStatus("");
    showError(failure(error));
  } finally {
    state.working -= 1;
  }
}
