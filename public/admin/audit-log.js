// @ts-check
// The audit log, newest first, a page at a time. A kill still within the tenant's undo window
// can be undone from its row.

/** @import { AuditEvent } from "@session-service/client" */

import { api, tenantPath } from "./api.js";
import { $, $tbody } from "./dom.js";
import { undoKill } from "./kills.js";
import { PAGE_SIZE, state } from "./state.js";
import { busy } from "./status.js";
import { actionsCell, cell, linkButton, timeCell } from "./table.js";

/** Until when a kill made at `at` can be undone, by the open tenant's window. @param {string} at */
function undoDeadline(at) {
  return Date.parse(at) + (state.currentTenant?.settings.undoWindowSeconds ?? 0) * 1000;
}

/** @param {boolean} reset whether to show the first page again, rather than the next one */
export async function loadEvents(reset) {
  const asked = state.generation;
  const body = $tbody("events");
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (!reset && state.eventsCursor) query.set("cursor", state.eventsCursor);
  const page = /** @type {{ events: AuditEvent[], nextCursor: string | null }} */ (
    await api("GET", tenantPath(`/events?${query}`))
  );
  if (asked !== state.generation) return;
  if (reset) {
    body.replaceChildren();
    state.undoneKills.clear();
  }
  for (const event of page.events) {
    if (event.type === "kill_undone") state.undoneKills.add(event.killId);
    const row = body.insertRow();
    timeCell(row, event.at);
    cell(row, event.reason ? `${event.type} (${event.reason})` : event.type);
    // An impersonation's events name who acted as the user.
    cell(row, event.impersonator ? `${event.actor} (impersonation by ${event.impersonator})` : event.actor);
    cell(row, event.userId);
    cell(row, event.sessionId, "mono");
    cell(row, event.count === undefined ? null : String(event.count));
    // A platform kill is undone for every tenant at once, from the platform view, not here.
    const killId = event.killId;
    const undoable =
      event.type === "revoked" &&
      killId &&
      event.reason !== "platform" &&
      !state.undoneKills.has(killId) &&
      undoDeadline(event.at) > Date.now();
    actionsCell(
      row,
      ...(undoable
        ? [
            linkButton(
              "Undo",
              `Undo this kill (${event.reason})`,
              () => undoKill(tenantPath(`/kills/${encodeURIComponent(killId)}/undo`)),
              true,
            ),
          ]
        : []),
    );
  }
  state.eventsCursor = page.nextCursor;
  $("events-more").hidden = state.eventsCursor === null;
  $("events-empty").hidden = body.rows.length > 0;
  $("events").hidden = body.rows.length === 0;
}

export function wireAuditLog() {
  $("events-more").addEventListener("click", () =>
    busy("Loading more events", async () => void (await loadEvents(false))),
  );
}
