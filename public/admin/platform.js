// @ts-check
// The platform view (the platform admin only): every tenant with its live count, a new tenant,
// the JWT signing keys, and the platform-wide kill with its progress and undo.

/** @import { TenantView } from "@session-service/client" */
/** @import { DirectoryEntry, PlatformKill, SigningKeyView } from "./api.js" */

import { api, isPlatformAdmin } from "./api.js";
import { wireTypedConfirmation } from "./confirm-dialog.js";
import { $, $input, $select, $tbody } from "./dom.js";
import { offerUndo } from "./kills.js";
import { hooks, state } from "./state.js";
import { busy } from "./status.js";
import { actionsCell, cell, linkButton, timeCell } from "./table.js";

const PLATFORM_TENANTS = 50;

export async function loadPlatform() {
  if (!isPlatformAdmin()) return;
  const asked = state.generation;
  const [{ tenants, nextCursor }, { keys }] = await Promise.all([
    /** @type {Promise<{ tenants: DirectoryEntry[], nextCursor: string | null }>} */ (
      api("GET", `/v1/tenants?limit=${PLATFORM_TENANTS}`)
    ),
    /** @type {Promise<{ keys: SigningKeyView[] }>} */ (api("GET", "/v1/signing-keys")),
  ]);
  // Live counts: one read per tenant shown; a tenant that cannot answer says so in its row.
  const counts = await Promise.all(
    tenants.map(({ tenant }) =>
      /** @type {Promise<{ tenant: TenantView }>} */ (api("GET", `/v1/tenants/${encodeURIComponent(tenant)}`)).then(
        ({ tenant: view }) => view.counts,
        () => null,
      ),
    ),
  );
  if (asked !== state.generation) return;
  const body = $tbody("tenants");
  body.replaceChildren();
  tenants.forEach((entry, index) => {
    const row = body.insertRow();
    row.dataset.tenant = entry.tenant;
    cell(row, entry.tenant);
    timeCell(row, entry.createdAt);
    cell(row, String(entry.settings.shards));
    cell(row, entry.settings.jurisdiction ?? "any");
    const count = counts[index];
    cell(row, count ? String(count.sessions) : "unavailable");
    // A webhook a 410 disabled sends nothing more: worth seeing from here.
    cell(
      row,
      count
        ? `${count.webhooks}${count.disabledWebhooks > 0 ? ` (${count.disabledWebhooks} disabled)` : ""}`
        : "unavailable",
    );
    actionsCell(
      row,
      linkButton("Open", `Open tenant ${entry.tenant}`, () => openTenant(entry.tenant), true),
    );
  });
  $("tenants-note").hidden = nextCursor === null;
  $("tenants-note").textContent = `The first ${PLATFORM_TENANTS} tenants by name; switch to any other by its name.`;
  const signing = $tbody("signing-keys");
  signing.replaceChildren();
  for (const key of keys) {
    const row = signing.insertRow();
    cell(row, key.kid, "mono");
    cell(row, key.state);
    timeCell(row, key.createdAt);
    key.signsFrom ? timeCell(row, key.signsFrom) : cell(row, null);
    key.publishedUntil ? timeCell(row, key.publishedUntil) : cell(row, "while in use");
  }
  $("signing-keys-empty").hidden = keys.length > 0;
  $("signing-keys").hidden = keys.length === 0;
}

/** Opens a tenant as the switcher does (sign-in.js listens to its change), listed there or not. @param {string} name */
function openTenant(name) {
  const select = $select("switch-tenant");
  if (![...select.options].some((option) => option.value === name)) {
    const option = document.createElement("option");
    option.value = option.textContent = name;
    select.append(option);
  }
  select.value = name;
  select.dispatchEvent(new Event("change"));
}

function rotateSigningKey() {
  if (
    !confirm(
      "Publish a new JWT signing key? It signs once cached key sets have expired (5 minutes); " +
        "the current one stays published until its JWTs expire.",
    )
  )
    return;
  return busy("Rotating the signing key", async () => {
    await api("POST", "/v1/signing-keys/rotate");
    await loadPlatform();
    return "Published a new signing key.";
  });
}

/** The platform kill: answered at once when every tenant applied it, else followed here until done. */
function killPlatform() {
  return busy("Killing every session of every tenant", async () => {
    const progress = $("platform-kill-progress");
    progress.hidden = false;
    const answer =
      /** @type {{ kill: PlatformKill } | { kill?: undefined, killId: string, tenants: number, revoked: number }} */ (
        await api("DELETE", "/v1/sessions")
      );
    // 200: every tenant applied it within the request; 202: it goes on, and is followed here.
    /** @type {Pick<PlatformKill, "id" | "tenants" | "applied" | "revoked" | "done"> & Partial<PlatformKill>} */
    let kill = answer.kill ?? {
      id: answer.killId,
      tenants: answer.tenants,
      applied: answer.tenants,
      revoked: answer.revoked,
      done: true,
    };
    const undoPath = `/v1/kills/${encodeURIComponent(kill.id)}/undo`;
    const followUntil = Date.now() + 10 * 60_000;
    while (!kill.done && Date.now() < followUntil && !$("platform-view").hidden) {
      progress.textContent = `Applied by ${kill.applied} of ${kill.tenants} tenants (${kill.shardsApplied} of ${kill.shards} stores)…`;
      await new Promise((resolve) => setTimeout(resolve, 500));
      ({ kill } = /** @type {{ kill: PlatformKill }} */ (await api("GET", `/v1/kills/${encodeURIComponent(kill.id)}`)));
    }
    const text = kill.done
      ? `Killed ${kill.revoked} session(s) of ${kill.tenants} tenant(s).`
      : `Applied by ${kill.applied} of ${kill.tenants} tenants (${kill.shardsApplied} of ${kill.shards} stores) so far; ` +
        `it goes on in the background (GET /v1/kills/${kill.id}).`;
    progress.textContent = text;
    // Each tenant's own undo window applies to the undo; the bar stays for the default one.
    offerUndo({ killId: kill.id }, text, undoPath, 900);
    await Promise.all([hooks.refresh(), loadPlatform()]);
    return text;
  });
}

/** Creates a tenant with default settings and opens it; one that exists is opened as it is. */
function createTenant() {
  const name = $input("new-tenant").value.trim();
  return busy(`Creating tenant ${name}`, async () => {
    const { created } = /** @type {{ created: boolean }} */ (
      await api("PUT", `/v1/tenants/${encodeURIComponent(name)}`, {})
    );
    $input("new-tenant").value = "";
    await loadPlatform();
    openTenant(name);
    return created ? `Created tenant ${name}.` : `Tenant ${name} already exists: opened it.`;
  });
}

export function wirePlatform() {
  $("new-tenant-form").addEventListener("submit", (event) => {
    event.preventDefault();
    createTenant();
  });
  $("rotate-signing-key").addEventListener("click", () => rotateSigningKey());
  wireTypedConfirmation(
    "platform-kill",
    "confirm-platform-kill",
    "platform-confirm-",
    () => "every tenant",
    killPlatform,
  );
}
