// The admin console: a thin page over the HTTP API. The key lives in sessionStorage (this tab
// only; never a cookie, never localStorage) and goes out as a bearer header to this origin.
// Everything shown is set as text, never as HTML, so session data cannot inject markup.

const KEY = "session-console.key";
const TENANT = "session-console.tenant";
const PAGE_SIZE = 50;

const $ = (id) => document.getElementById(id);
let sessionsCursor = null;
let eventsCursor = null;
let userFilter = "";
/** Bumped by every refresh: an answer to an earlier one (another tenant, perhaps) is dropped, never shown. */
let generation = 0;

function credentials() {
  return { key: sessionStorage.getItem(KEY), tenant: sessionStorage.getItem(TENANT) };
}

async function api(method, path, body) {
  const { key } = credentials();
  const headers = { Authorization: `Bearer ${key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const answer = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const error = new Error(answer?.error?.message ?? `HTTP ${response.status}`);
    error.status = response.status;
    throw error;
  }
  return answer;
}

function tenantPath(suffix = "") {
  return `/v1/tenants/${encodeURIComponent(credentials().tenant)}${suffix}`;
}

function setStatus(text) {
  $("status").textContent = text;
}

function showError(error) {
  $("error").hidden = !error;
  $("error").textContent = error ? `Error: ${error.message}` : "";
  if (error?.status === 401) signOut("Your key was refused. Sign in again.");
}

function when(iso) {
  return new Date(iso).toLocaleString();
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text ?? "—";
  if (className) td.className = className;
  return td;
}

function duration(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

async function busy(label, work) {
  setStatus(`${label}…`);
  showError(null);
  try {
    const done = await work();
    setStatus(done ?? "");
  } catch (error) {
    setStatus("");
    showError(error);
  }
}

async function loadTenant() {
  const asked = generation;
  const { tenant } = await api("GET", tenantPath());
  if (asked !== generation) return;
  $("tenant-title").textContent = `Tenant ${tenant.tenant}`;
  $("count-sessions").textContent = String(tenant.counts.sessions);
  $("count-keys").textContent = String(tenant.counts.keys);
  $("setting-idle").textContent = duration(tenant.settings.idleTimeoutSeconds);
  $("setting-absolute").textContent = duration(tenant.settings.absoluteTimeoutSeconds);
}

async function loadSessions(reset) {
  const asked = generation;
  const body = $("sessions").tBodies[0];
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (userFilter) query.set("userId", userFilter);
  if (!reset && sessionsCursor) query.set("cursor", sessionsCursor);
  const page = await api("GET", tenantPath(`/sessions?${query}`));
  if (asked !== generation) return;
  if (reset) body.replaceChildren();
  for (const session of page.sessions) {
    const row = body.insertRow();
    row.dataset.sessionId = session.id;
    cell(row, session.userId);
    cell(row, session.id, "mono");
    cell(row, when(session.createdAt));
    cell(row, when(session.lastSeenAt));
    cell(row, when(session.expiresAt));
    cell(row, session.ip);
    cell(row, session.userAgent, "ua").title = session.userAgent ?? "";
    const kill = document.createElement("button");
    kill.type = "button";
    kill.className = "link";
    kill.textContent = "Kill";
    kill.setAttribute("aria-label", `Kill session ${session.id} of ${session.userId}`);
    kill.addEventListener("click", () => killSession(session));
    row.insertCell().append(kill);
  }
  sessionsCursor = page.nextCursor;
  $("sessions-more").hidden = sessionsCursor === null;
  $("sessions-empty").hidden = body.rows.length > 0;
  $("sessions").hidden = body.rows.length === 0;
}

async function loadEvents(reset) {
  const asked = generation;
  const body = $("events").tBodies[0];
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (!reset && eventsCursor) query.set("cursor", eventsCursor);
  const page = await api("GET", tenantPath(`/events?${query}`));
  if (asked !== generation) return;
  if (reset) body.replaceChildren();
  for (const event of page.events) {
    const row = body.insertRow();
    cell(row, when(event.at));
    cell(row, event.reason ? `${event.type} (${event.reason})` : event.type);
    cell(row, event.actor);
    cell(row, event.userId);
    cell(row, event.sessionId, "mono");
    cell(row, event.count === undefined ? null : String(event.count));
  }
  eventsCursor = page.nextCursor;
  $("events-more").hidden = eventsCursor === null;
  $("events-empty").hidden = body.rows.length > 0;
  $("events").hidden = body.rows.length === 0;
}

/** A delivery attempt's answer in words: the status, or why none came. */
function answerOf(attempt) {
  if (attempt.status !== null) return attempt.error ? `${attempt.status} (${attempt.error})` : String(attempt.status);
  return attempt.error ?? "no answer";
}

async function loadWebhooks() {
  const asked = generation;
  const { webhooks } = await api("GET", tenantPath("/webhooks"));
  if (asked !== generation) return;
  const body = $("webhooks").tBodies[0];
  body.replaceChildren();
  for (const webhook of webhooks) {
    const row = body.insertRow();
    row.dataset.webhookId = webhook.id;
    cell(row, webhook.url, "mono");
    cell(row, webhook.format);
    cell(row, webhook.disabledAt ? `disabled (410) ${when(webhook.disabledAt)}` : "active");
    const last = webhook.lastDelivery;
    cell(row, last ? `${answerOf(last)}, ${when(last.at)}` : "none yet", last && last.status !== null && last.status < 300 ? "" : last ? "error" : "");
    const actions = row.insertCell();
    const show = document.createElement("button");
    show.type = "button";
    show.className = "link neutral";
    show.textContent = "Deliveries";
    show.setAttribute("aria-label", `Deliveries of ${webhook.url}`);
    show.addEventListener("click", () => busy("Loading deliveries", () => showDeliveries(webhook)));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "link";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", `Remove webhook ${webhook.url}`);
    remove.addEventListener("click", () => removeWebhook(webhook));
    actions.append(show, remove);
  }
  $("webhooks-empty").hidden = webhooks.length > 0;
  $("webhooks").hidden = webhooks.length === 0;
}

async function showDeliveries(webhook) {
  const { deliveries } = await api("GET", tenantPath(`/webhooks/${encodeURIComponent(webhook.id)}/deliveries`));
  $("deliveries-title").textContent = `Last deliveries to ${webhook.url}`;
  const body = $("deliveries").querySelector("tbody");
  body.replaceChildren();
  for (const attempt of deliveries) {
    const row = body.insertRow();
    cell(row, when(attempt.at));
    cell(row, attempt.type);
    cell(row, String(attempt.attempt));
    cell(row, answerOf(attempt), attempt.status !== null && attempt.status < 300 ? "" : "error");
    cell(row, attempt.nextAttemptAt ? when(attempt.nextAttemptAt) : null);
  }
  $("deliveries-empty").hidden = deliveries.length > 0;
  $("deliveries").hidden = false;
  return `${deliveries.length} attempt(s).`;
}

function addWebhook() {
  return busy("Adding the webhook", async () => {
    const { webhook, secret } = await api("POST", tenantPath("/webhooks"), { url: $("webhook-url").value.trim(), format: $("webhook-format").value });
    $("webhook-url").value = "";
    $("webhook-secret").hidden = secret === null;
    $("webhook-secret-value").textContent = secret ?? "";
    await loadWebhooks();
    return `Added a webhook to ${webhook.url}.`;
  });
}

function removeWebhook(webhook) {
  if (!confirm(`Remove the webhook to ${webhook.url}? Events it has yet to receive are dropped.`)) return;
  return busy("Removing the webhook", async () => {
    await api("DELETE", tenantPath(`/webhooks/${encodeURIComponent(webhook.id)}`));
    $("deliveries").hidden = true;
    await loadWebhooks();
    return `Removed the webhook to ${webhook.url}.`;
  });
}

async function refresh() {
  generation += 1;
  await Promise.all([loadTenant(), loadSessions(true), loadWebhooks(), loadEvents(true)]);
}

function killSession(session) {
  return busy("Killing the session", async () => {
    const { revoked } = await api("DELETE", tenantPath(`/sessions/${encodeURIComponent(session.id)}`));
    await refresh();
    return `Killed ${revoked} session of ${session.userId}.`;
  });
}

function killUser() {
  if (!userFilter || !confirm(`Kill every session of ${userFilter}?`)) return;
  return busy("Killing the user's sessions", async () => {
    const { revoked } = await api("DELETE", tenantPath(`/users/${encodeURIComponent(userFilter)}/sessions`));
    await refresh();
    return `Killed ${revoked} session(s) of ${userFilter}.`;
  });
}

function killAll() {
  return busy("Killing every session", async () => {
    const { revoked } = await api("DELETE", tenantPath("/sessions"));
    await refresh();
    return `Killed all ${revoked} session(s).`;
  });
}

/** The tenant a tenant key names (`tk2.<tenant>.<id>.<secret>.<kid>.<tag>`), or null for any other key. */
function tenantOfKey(key) {
  const parts = (key ?? "").split(".");
  return parts[0] === "tk2" && parts[1] ? parts[1] : null;
}

/** The platform admin may switch tenants: the list comes from GET /v1/tenants (first 1,000 by name). */
async function loadTenantSwitcher() {
  const select = $("switch-tenant");
  const isAdmin = tenantOfKey(credentials().key) === null;
  $("switch-tenant-wrapper").hidden = !isAdmin;
  if (!isAdmin) return;
  const { tenants } = await api("GET", "/v1/tenants?limit=1000");
  const names = tenants.map(({ tenant }) => tenant);
  // The tenant on screen is always the one shown selected, listed or not (not yet recorded, or past the first 1,000).
  const current = credentials().tenant;
  if (!names.includes(current)) names.unshift(current);
  select.replaceChildren(
    ...names.map((name) => {
      const option = document.createElement("option");
      option.value = option.textContent = name;
      option.selected = name === current;
      return option;
    }),
  );
}

function showSignedIn() {
  const { key, tenant } = credentials();
  const signedIn = Boolean(key && tenant);
  $("sign-in").hidden = signedIn;
  $("tenant-view").hidden = !signedIn;
  $("who").hidden = !signedIn;
  $("who-label").textContent = signedIn ? (tenantOfKey(key) ? `tenant key for ${tenantOfKey(key)}` : "platform admin") : "";
  return signedIn;
}

function signOut(message) {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(TENANT);
  $("webhook-secret").hidden = true;
  showSignedIn();
  setStatus(message ?? "Signed out.");
}

function wire() {
  $("key").addEventListener("input", () => {
    const tenant = tenantOfKey($("key").value.trim());
    if (tenant) $("tenant").value = tenant;
  });
  $("switch-tenant").addEventListener("change", () => {
    sessionStorage.setItem(TENANT, $("switch-tenant").value);
    $("webhook-secret").hidden = true;
    $("deliveries").hidden = true;
    userFilter = "";
    $("user-filter").value = "";
    $("kill-user").hidden = true;
    $("switch-tenant").disabled = true;
    busy("Loading the tenant", async () => {
      try {
        await refresh();
      } finally {
        $("switch-tenant").disabled = false;
      }
    });
  });
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, $("key").value.trim());
    sessionStorage.setItem(TENANT, $("tenant").value.trim());
    $("key").value = "";
    showSignedIn();
    busy("Loading the tenant", async () => {
      await Promise.all([refresh(), loadTenantSwitcher()]);
      return "";
    });
  });
  $("sign-out").addEventListener("click", () => signOut());
  $("refresh").addEventListener("click", () => busy("Refreshing", async () => void (await refresh())));
  $("filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    userFilter = $("user-filter").value.trim();
    $("kill-user").hidden = !userFilter;
    busy("Filtering", async () => void (await refresh()));
  });
  $("kill-user").addEventListener("click", () => killUser());
  $("webhook-form").addEventListener("submit", (event) => {
    event.preventDefault();
    addWebhook();
  });
  $("webhook-secret-copy").addEventListener("click", () =>
    busy("Copying", async () => {
      await navigator.clipboard.writeText($("webhook-secret-value").textContent);
      return "Copied the secret.";
    }),
  );
  $("sessions-more").addEventListener("click", () => busy("Loading more sessions", async () => void (await loadSessions(false))));
  $("events-more").addEventListener("click", () => busy("Loading more events", async () => void (await loadEvents(false))));

  const dialog = $("confirm-kill-all");
  $("kill-all").addEventListener("click", () => {
    $("confirm-tenant").textContent = credentials().tenant;
    $("confirm-input").value = "";
    $("confirm-ok").disabled = true;
    dialog.showModal();
  });
  $("confirm-input").addEventListener("input", () => {
    $("confirm-ok").disabled = $("confirm-input").value !== credentials().tenant;
  });
  $("confirm-cancel").addEventListener("click", () => dialog.close("cancel"));
  $("confirm-form").addEventListener("submit", () => {
    if ($("confirm-input").value === credentials().tenant) killAll();
  });

  if (showSignedIn()) busy("Loading the tenant", async () => void (await Promise.all([refresh(), loadTenantSwitcher()])));
}

wire();
