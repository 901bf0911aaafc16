// @ts-check
// Live sessions: a page at a time, filtered by user (an exact id or a prefix), to impersonations,
// or found by id; each can be killed, and so can every session of the user filtered on, or
// every impersonation.

/** @import { Session } from "@session-service/client" */

import { api, failure, tenantPath } from "./api.js";
import { $, $input, $select, $tbody } from "./dom.js";
import { kill } from "./kills.js";
import { hooks, PAGE_SIZE, state } from "./state.js";
import { busy } from "./status.js";
import { actionsCell, bindingCell, cell, linkButton, signInCell, timeCell, userAgentCell, userCell } from "./table.js";

/** @typedef {{ sessions: Session[], nextCursor: string | null }} SessionPage */

/**
 * One session by its id, as a page of one (or none: a 404 is an answer here, not an error).
 * @param {string} id
 * @returns {Promise<SessionPage>}
 */
async function findSession(id) {
  try {
    const { session } = /** @type {{ session: Session }} */ (
      await api("GET", tenantPath(`/sessions/${encodeURIComponent(id)}`))
    );
    const { userFilter, userMatch, impersonatedOnly } = state;
    const matches =
      (!userFilter ||
        (userMatch === "prefix" ? session.userId.startsWith(userFilter) : session.userId === userFilter)) &&
      (!impersonatedOnly || session.actor !== null);
    return { sessions: matches ? [session] : [], nextCursor: null };
  } catch (error) {
    if (failure(error).status === 404 || failure(error).status === 400) return { sessions: [], nextCursor: null };
    throw error;
  }
}

/** @param {boolean} reset whether to show the first page again, rather than the next one */
export async function loadSessions(reset) {
  const asked = state.generation;
  const body = $tbody("sessions");
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (state.userFilter) query.set(state.userMatch === "prefix" ? "userPrefix" : "userId", state.userFilter);
  if (state.impersonatedOnly) query.set("impersonated", "true");
  if (!reset && state.sessionsCursor) query.set("cursor", state.sessionsCursor);
  const page = state.sessionSearch
    ? await findSession(state.sessionSearch)
    : /** @type {SessionPage} */ (await api("GET", tenantPath(`/sessions?${query}`)));
  if (asked !== state.generation) return;
  if (reset) body.replaceChildren();
  for (const session of page.sessions) {
    const row = body.insertRow();
    row.dataset.sessionId = session.id;
    userCell(row, session);
    cell(row, session.id, "mono");
    timeCell(row, session.createdAt);
    timeCell(row, session.lastSeenAt);
    timeCell(row, session.expiresAt);
    signInCell(row, session);
    bindingCell(row, session);
    cell(row, session.ip);
    userAgentCell(row, session.userAgent);
    actionsCell(
      row,
      linkButton("Kill", `Kill session ${session.id} of ${session.userId}`, () => killSession(session)),
    );
  }
  state.sessionsCursor = page.nextCursor;
  $("sessions-more").hidden = state.sessionsCursor === null;
  const { userFilter, userMatch, sessionSearch, impersonatedOnly } = state;
  $("sessions-empty").textContent = sessionSearch
    ? "No live session with that id."
    : impersonatedOnly
      ? "No live impersonations."
      : userFilter
        ? `No live sessions of ${userMatch === "prefix" ? `users starting with ${userFilter}` : userFilter}.`
        : "No live sessions.";
  $("sessions-empty").hidden = body.rows.length > 0;
  $("sessions").hidden = body.rows.length === 0;
}

/** @param {Session} session */
function killSession(session) {
  return kill(
    `Kill session ${session.id} of ${session.userId}? They are logged out at once.`,
    `/sessions/${encodeURIComponent(session.id)}`,
    (n) => `Killed ${n} session of ${session.userId}.`,
  );
}

function killUser() {
  if (!state.userFilter) return;
  const user = state.userFilter;
  return kill(
    `Kill every session of ${user}?`,
    `/users/${encodeURIComponent(user)}/sessions`,
    (n) => `Killed ${n} session(s) of ${user}.`,
  );
}

function killImpersonations() {
  return kill(
    "End every impersonation of this tenant? Whoever acts as a user is logged out at once.",
    "/impersonations",
    (n) => `Ended ${n} impersonation(s).`,
  );
}

export function wireSessions() {
  $("filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.userFilter = $input("user-filter").value.trim();
    state.userMatch = /** @type {"is" | "prefix"} */ ($select("user-match").value);
    state.sessionSearch = $input("session-search").value.trim();
    state.impersonatedOnly = $input("impersonated-only").checked;
    $("kill-impersonations").hidden = !state.impersonatedOnly;
    // Killing goes by exact user only: a prefix could name users nobody meant.
    $("kill-user").hidden = !state.userFilter || state.userMatch !== "is";
    busy("Searching", async () => void (await hooks.refresh()));
  });
  $("kill-user").addEventListener("click", () => killUser());
  $("kill-impersonations").addEventListener("click", () => killImpersonations());
  $("sessions-more").addEventListener("click", () =>
    busy("Loading more sessions", async () => void (await loadSessions(false))),
  );
}
