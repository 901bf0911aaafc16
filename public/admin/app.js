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
let sessionSearch = "";
/** Whether the user filter is an exact id or a prefix of ids. */
let userMatch = "is";
/** The open tenant as last read (settings included), or null when it does not exist. */
let currentTenant = null;
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
    error.field = answer?.error?.field;
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

const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const UNITS = [
  ["year", 31_536_000],
  ["month", 2_592_000],
  ["week", 604_800],
  ["day", 86_400],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

/** "3 minutes ago", "in 25 minutes": the largest unit that fits. */
function relative(iso) {
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  const [unit, size] = UNITS.find(([, size]) => Math.abs(seconds) >= size) ?? ["second", 1];
  return RELATIVE.format(Math.round(seconds / size), unit);
}

/** A browser, its system and the kind of device, from a User-Agent string; "unknown" parts when it does not say. */
function parseUserAgent(ua) {
  const browser =
    [
      [/Edg(?:e|A|iOS)?\//, "Edge"],
      [/OPR\/|Opera/, "Opera"],
      [/Firefox\/|FxiOS\//, "Firefox"],
      [/Chrome\/|CriOS\//, "Chrome"],
      [/Safari\//, "Safari"],
      [/^curl\//, "curl"],
    ].find(([pattern]) => pattern.test(ua))?.[1] ?? "unknown browser";
  const os =
    [
      [/Windows/, "Windows"],
      [/iPhone|iPad|iPod/, "iOS"],
      [/Android/, "Android"],
      [/CrOS/, "ChromeOS"],
      [/Mac OS X|Macintosh/, "macOS"],
      [/Linux/, "Linux"],
    ].find(([pattern]) => pattern.test(ua))?.[1] ?? "unknown system";
  const device = /bot|crawler|spider/i.test(ua)
    ? "bot"
    : /iPad|Tablet/.test(ua) || (/Android/.test(ua) && !/Mobile/.test(ua))
      ? "tablet"
      : /Mobi|iPhone/.test(ua)
        ? "phone"
        : "desktop";
  return { browser, os, device };
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text ?? "—";
  if (className) td.className = className;
  // The column's name, shown beside the value where a narrow screen stacks the cells.
  td.dataset.label = row.closest("table")?.tHead?.rows[0]?.cells[td.cellIndex]?.textContent ?? "";
  return td;
}

/** A time cell: relative, the exact time on hover and to assistive technology. */
function timeCell(row, iso) {
  const td = cell(row, "");
  const time = document.createElement("time");
  time.dateTime = iso;
  time.textContent = relative(iso);
  time.title = when(iso);
  td.append(time);
  return td;
}

function userAgentCell(row, ua) {
  if (!ua) return cell(row, null, "ua");
  const { browser, os, device } = parseUserAgent(ua);
  const td = cell(row, "", "ua");
  const name = document.createElement("span");
  name.className = "ua-name";
  name.textContent = `${browser} on ${os} (${device})`;
  name.title = ua;
  td.append(name);
  return td;
}

function actionsCell(row, ...buttons) {
  const td = row.insertCell();
  td.className = "actions";
  td.append(...buttons);
  return td;
}

function linkButton(text, label, onClick, neutral = false) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = neutral ? "link neutral" : "link";
  button.textContent = text;
  button.setAttribute("aria-label", label);
  button.addEventListener("click", onClick);
  return button;
}

function duration(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}

/** The latest action started: the status line says how it went, not an earlier one that ended later. */
let latestAction = 0;

async function busy(label, work) {
  const action = ++latestAction;
  setStatus(`${label}…`);
  showError(null);
  working += 1;
  try {
    const done = await work();
    if (action === latestAction) setStatus(done ?? "");
  } catch (error) {
    if (action === latestAction) setStatus("");
    showError(error);
  } finally {
    working -= 1;
  }
}

/** Reads the tenant; false when it does not exist (a clear empty state, and nothing to kill). */
async function loadTenant() {
  const asked = generation;
  const name = credentials().tenant;
  let tenant;
  try {
    ({ tenant } = await api("GET", tenantPath()));
  } catch (error) {
    if (asked !== generation) return false;
    if (error.status !== 404) throw error;
    currentTenant = null;
    $("tenant-title").textContent = `Tenant ${name}`;
    $("tenant-missing").textContent = isPlatformAdmin()
      ? `There is no tenant named “${name}”: check the name (it may also have been deleted), or create it with PUT /v1/tenants/${name}.`
      : `There is no tenant named “${name}”: it may have been deleted.`;
    $("tenant-missing").hidden = false;
    $("tenant-content").hidden = true;
    return false;
  }
  if (asked !== generation) return false;
  currentTenant = tenant;
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

// The settings editor. A refresh never overwrites a form being edited; saving sends only the
// fields that changed, and the service's refusal is shown next to the field it names.
const SETTING_FIELDS = [
  "idleTimeoutSeconds",
  "absoluteTimeoutSeconds",
  "touchIntervalSeconds",
  "maxSessionsPerUser",
  "undoWindowSeconds",
  "shards",
  "sameSite",
  "allowedOrigins",
];
let settingsDirty = false;
/** The settings the form was filled from: a save sends what differs from these, not from a later refresh. */
let settingsShownFrom = null;

function settingShown(field, value) {
  if (field === "allowedOrigins") return value.join("\n");
  return value === null ? "" : String(value);
}

function fillSettings(settings) {
  if (settingsDirty) return;
  settingsShownFrom = settings;
  for (const field of SETTING_FIELDS) $(`set-${field}`).value = settingShown(field, settings[field]);
  clearFieldErrors();
}

function clearFieldErrors() {
  for (const field of SETTING_FIELDS) {
    $(`err-${field}`).textContent = "";
    $(`set-${field}`).removeAttribute("aria-invalid");
  }
}

/** What the form says of one field, as the API takes it: a number when it reads as one, else the text (the service says what is wrong). */
function settingValue(field) {
  const text = $(`set-${field}`).value.trim();
  if (field === "allowedOrigins") return text === "" ? [] : text.split(/\s+/);
  if (field === "sameSite") return text;
  if (field === "maxSessionsPerUser" && text === "") return null;
  return text !== "" && Number.isFinite(Number(text)) ? Number(text) : text;
}

/** Forgets the form: the next refresh fills it again (sign-out, another tenant). */
function resetSettingsForm() {
  settingsDirty = false;
  settingsShownFrom = null;
}

function saveSettings() {
  const settings = settingsShownFrom;
  if (!settings) return;
  // A number field holding what is no number reads as empty: say so rather than send "no value".
  const unreadable = SETTING_FIELDS.find((field) => $(`set-${field}`).validity?.badInput);
  if (unreadable) {
    clearFieldErrors();
    $(`err-${unreadable}`).textContent = "This is not a number.";
    $(`set-${unreadable}`).setAttribute("aria-invalid", "true");
    $(`set-${unreadable}`).focus();
    return setStatus("Not saved: see the field marked.");
  }
  const patch = {};
  for (const field of SETTING_FIELDS) {
    if (settingShown(field, settingValue(field) ?? null) !== settingShown(field, settings[field]))
      patch[field] = settingValue(field);
  }
  if (Object.keys(patch).length === 0) return setStatus("No setting changed.");
  clearFieldErrors();
  return busy("Saving settings", async () => {
    try {
      await api("PUT", tenantPath(), patch);
    } catch (error) {
      if (error.status !== 400 || !SETTING_FIELDS.includes(error.field)) throw error;
      $(`err-${error.field}`).textContent = error.message;
      $(`set-${error.field}`).setAttribute("aria-invalid", "true");
      $(`set-${error.field}`).focus();
      return "Not saved: see the field marked.";
    }
    resetSettingsForm();
    await refresh();
    return `Saved ${Object.keys(patch).join(", ")}.`;
  });
}

// The activity chart: created and ended as bars per bucket, live as a line, on one axis. Inline
// SVG made with DOM calls (never markup from data); colors come from the stylesheet, so both
// color schemes read.
let activityWindow = "24h";
const SVG = "http://www.w3.org/2000/svg";

function svg(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

async function loadActivity() {
  const asked = generation;
  const shown = activityWindow;
  const { activity } = await api("GET", tenantPath(`/activity?window=${shown}`));
  if (asked !== generation || shown !== activityWindow) return;
  const buckets = activity.buckets;
  const created = buckets.reduce((sum, bucket) => sum + bucket.created, 0);
  const ended = buckets.reduce((sum, bucket) => sum + bucket.ended, 0);
  const span = shown === "24h" ? "24 hours" : "7 days";
  const summary = `In the last ${span}: ${created} created, ${ended} ended; ${activity.live} live now.`;
  $("activity-summary").textContent = summary;
  const [width, height, left, bottom, top] = [720, 180, 40, 22, 8];
  const max = Math.max(1, ...buckets.flatMap((bucket) => [bucket.created, bucket.ended, bucket.live]));
  const y = (value) => top + (height - top - bottom) * (1 - value / max);
  const slot = (width - left) / buckets.length;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary });
  chart.append(
    svg("line", { class: "axis", x1: left, x2: width, y1: y(0), y2: y(0) }),
    svg("line", { class: "axis", x1: left, x2: width, y1: y(max), y2: y(max) }),
  );
  chart.append(
    svg("text", { x: left - 6, y: y(max) + 4, "text-anchor": "end" }, String(max)),
    svg("text", { x: left - 6, y: y(0) + 4, "text-anchor": "end" }, "0"),
  );
  const points = [];
  buckets.forEach((bucket, index) => {
    const x = left + index * slot;
    const bar = Math.max(1, slot / 2 - 2);
    for (const [kind, value, offset] of [
      ["created", bucket.created, 1],
      ["ended", bucket.ended, 1 + bar],
    ]) {
      if (value === 0) continue;
      const rect = svg("rect", { class: kind, x: x + offset, y: y(value), width: bar, height: y(0) - y(value) });
      rect.append(svg("title", {}, `${new Date(bucket.start).toLocaleString()}: ${value} ${kind}`));
      chart.append(rect);
    }
    points.push(`${x + slot / 2},${y(bucket.live)}`);
    // An hour label every 6 hours (24 h), a day label every 4 buckets (7 d).
    if (index % (shown === "24h" ? 6 : 4) === 0) {
      const start = new Date(bucket.start);
      const label =
        shown === "24h"
          ? start.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
          : start.toLocaleDateString([], { weekday: "short", day: "numeric" });
      chart.append(svg("text", { x, y: height - 6 }, label));
    }
  });
  chart.append(svg("polyline", { class: "live", points: points.join(" ") }));
  $("activity-chart").replaceChildren(chart);
}

function showWindow(name) {
  activityWindow = name;
  $("window-24h").setAttribute("aria-pressed", String(name === "24h"));
  $("window-7d").setAttribute("aria-pressed", String(name === "7d"));
  return busy("Loading activity", async () => void (await loadActivity()));
}

// API keys: listed by id; the platform admin mints (shown once) and revokes.
async function loadKeys() {
  const asked = generation;
  const { keys } = await api("GET", tenantPath("/keys"));
  if (asked !== generation) return;
  const admin = isPlatformAdmin();
  const body = $("keys").tBodies[0];
  body.replaceChildren();
  for (const key of keys) {
    const row = body.insertRow();
    row.dataset.keyId = key.id;
    cell(row, key.id, "mono");
    timeCell(row, key.createdAt);
    key.lastUsedAt ? timeCell(row, key.lastUsedAt) : cell(row, "never");
    actionsCell(row, ...(admin ? [linkButton("Revoke", `Revoke key ${key.id}`, () => revokeKey(key))] : []));
  }
  $("keys-empty").hidden = keys.length > 0;
  $("keys").hidden = keys.length === 0;
}

/** Once-shown secrets leave the page (not only the view) on sign-out and on a switch of tenant. */
function hideSecrets() {
  for (const id of ["key-secret", "webhook-secret"]) {
    $(id).hidden = true;
    $(`${id}-value`).textContent = "";
  }
}

function mintKey() {
  const tenant = credentials().tenant;
  return busy("Minting a key", async () => {
    const { id, key } = await api("POST", tenantPath("/keys"));
    // Shown even if the view moved to another tenant meanwhile: the key names its tenant.
    $("key-secret-value").textContent = key;
    $("key-secret").hidden = false;
    await refresh();
    return `Minted key ${id} for ${tenant}.`;
  });
}

function revokeKey(key) {
  if (!confirm(`Revoke key ${key.id}? Callers using it are refused from their next request.`)) return;
  return busy("Revoking the key", async () => {
    await api("DELETE", tenantPath(`/keys/${encodeURIComponent(key.id)}`));
    await refresh();
    return `Revoked key ${key.id}.`;
  });
}

/** One session by its id, as a page of one (or none: a 404 is an answer here, not an error). */
async function findSession(id) {
  try {
    const { session } = await api("GET", tenantPath(`/sessions/${encodeURIComponent(id)}`));
    const matches =
      !userFilter || (userMatch === "prefix" ? session.userId.startsWith(userFilter) : session.userId === userFilter);
    return { sessions: matches ? [session] : [], nextCursor: null };
  } catch (error) {
    if (error.status === 404 || error.status === 400) return { sessions: [], nextCursor: null };
    throw error;
  }
}

async function loadSessions(reset) {
  const asked = generation;
  const body = $("sessions").tBodies[0];
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (userFilter) query.set(userMatch === "prefix" ? "userPrefix" : "userId", userFilter);
  if (!reset && sessionsCursor) query.set("cursor", sessionsCursor);
  const page = sessionSearch ? await findSession(sessionSearch) : await api("GET", tenantPath(`/sessions?${query}`));
  if (asked !== generation) return;
  if (reset) body.replaceChildren();
  for (const session of page.sessions) {
    const row = body.insertRow();
    row.dataset.sessionId = session.id;
    cell(row, session.userId);
    cell(row, session.id, "mono");
    timeCell(row, session.createdAt);
    timeCell(row, session.lastSeenAt);
    timeCell(row, session.expiresAt);
    cell(row, session.ip);
    userAgentCell(row, session.userAgent);
    actionsCell(
      row,
      linkButton("Kill", `Kill session ${session.id} of ${session.userId}`, () => killSession(session)),
    );
  }
  sessionsCursor = page.nextCursor;
  $("sessions-more").hidden = sessionsCursor === null;
  $("sessions-empty").textContent = sessionSearch
    ? "No live session with that id."
    : userFilter
      ? `No live sessions of ${userMatch === "prefix" ? `users starting with ${userFilter}` : userFilter}.`
      : "No live sessions.";
  $("sessions-empty").hidden = body.rows.length > 0;
  $("sessions").hidden = body.rows.length === 0;
}

/** Kills the audit log says were undone: the log is newest first, so an undo is read before its kill. */
const undoneKills = new Set();

/** Until when a kill made at `at` can be undone, by the open tenant's window. */
function undoDeadline(at) {
  return Date.parse(at) + (currentTenant?.settings.undoWindowSeconds ?? 0) * 1000;
}

async function loadEvents(reset) {
  const asked = generation;
  const body = $("events").tBodies[0];
  const query = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (!reset && eventsCursor) query.set("cursor", eventsCursor);
  const page = await api("GET", tenantPath(`/events?${query}`));
  if (asked !== generation) return;
  if (reset) {
    body.replaceChildren();
    undoneKills.clear();
  }
  for (const event of page.events) {
    if (event.type === "kill_undone") undoneKills.add(event.killId);
    const row = body.insertRow();
    timeCell(row, event.at);
    cell(row, event.reason ? `${event.type} (${event.reason})` : event.type);
    cell(row, event.actor);
    cell(row, event.userId);
    cell(row, event.sessionId, "mono");
    cell(row, event.count === undefined ? null : String(event.count));
    // A platform kill is undone for every tenant at once, from the platform view, not here.
    const undoable =
      event.type === "revoked" &&
      event.killId &&
      event.reason !== "platform" &&
      !undoneKills.has(event.killId) &&
      undoDeadline(event.at) > Date.now();
    actionsCell(
      row,
      ...(undoable
        ? [
            linkButton(
              "Undo",
              `Undo this kill (${event.reason})`,
              () => undoKill(tenantPath(`/kills/${encodeURIComponent(event.killId)}/undo`)),
              true,
            ),
          ]
        : []),
    );
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
    cell(
      row,
      last ? `${answerOf(last)}, ${when(last.at)}` : "none yet",
      last && last.status !== null && last.status < 300 ? "" : last ? "error" : "",
    );
    actionsCell(
      row,
      linkButton(
        "Deliveries",
        `Deliveries of ${webhook.url}`,
        () => busy("Loading deliveries", () => showDeliveries(webhook)),
        true,
      ),
      linkButton("Remove", `Remove webhook ${webhook.url}`, () => removeWebhook(webhook)),
    );
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
    const { webhook, secret } = await api("POST", tenantPath("/webhooks"), {
      url: $("webhook-url").value.trim(),
      format: $("webhook-format").value,
    });
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

/** Reads the open tenant again. The chart (hour-long buckets) is left out of the automatic refreshes, which it would only slow. */
async function refresh({ chart = true } = {}) {
  generation += 1;
  if (await loadTenant())
    await Promise.all([
      chart ? loadActivity() : null,
      loadSessions(true),
      loadKeys(),
      loadWebhooks(),
      loadEvents(true),
    ]);
  $("updated").textContent = `Updated ${new Date().toLocaleTimeString()}`;
}

/** The "Undo" bar after a kill: shown until the tenant's undo window for it has passed. */
let undoTimer = null;
function offerUndo(
  killed,
  text,
  undoPath = tenantPath(`/kills/${encodeURIComponent(killed.killId)}/undo`),
  windowSeconds = currentTenant?.settings.undoWindowSeconds ?? 0,
) {
  clearTimeout(undoTimer);
  const windowMs = windowSeconds * 1000;
  if (windowMs === 0) return hideUndo();
  $("undo-text").textContent = `${text} You can undo it until ${new Date(Date.now() + windowMs).toLocaleTimeString()}.`;
  $("undo-bar").dataset.undoPath = undoPath;
  $("undo-bar").hidden = false;
  $("undo-button").focus();
  undoTimer = setTimeout(hideUndo, windowMs);
}

function hideUndo() {
  clearTimeout(undoTimer);
  $("undo-bar").hidden = true;
}

function undoKill(undoPath) {
  return busy("Undoing the kill", async () => {
    const { restored, skipped } = await api("POST", undoPath);
    hideUndo();
    await refresh();
    return `Undone: ${restored} session(s) restored.${skipped ? ` ${skipped} tenant(s) were past their undo window.` : ""}`;
  });
}

/** Every kill asks first (`question`; null when a dialog of its own has asked), then offers its undo. */
function kill(question, path, describe) {
  if (question !== null && !confirm(question)) return;
  return busy("Killing", async () => {
    const killed = await api("DELETE", tenantPath(path));
    offerUndo(killed, describe(killed.revoked));
    await refresh();
    return describe(killed.revoked);
  });
}

function killSession(session) {
  return kill(
    `Kill session ${session.id} of ${session.userId}? They are logged out at once.`,
    `/sessions/${encodeURIComponent(session.id)}`,
    (n) => `Killed ${n} session of ${session.userId}.`,
  );
}

function killUser() {
  if (!userFilter) return;
  const user = userFilter;
  return kill(
    `Kill every session of ${user}?`,
    `/users/${encodeURIComponent(user)}/sessions`,
    (n) => `Killed ${n} session(s) of ${user}.`,
  );
}

/** Asked by the typed-name dialog. */
function killAll() {
  return kill(null, "/sessions", (n) => `Killed all ${n} session(s).`);
}

/** Asked by the typed-name dialog: the service takes the name again, as `confirm`. */
function deleteTenant() {
  const name = credentials().tenant;
  return busy(`Deleting tenant ${name}`, async () => {
    let unfinished = null;
    try {
      await api("DELETE", tenantPath(`?confirm=${encodeURIComponent(name)}`));
    } catch (error) {
      // 503: deleted in part; the service finishes it in the background (the tenant answers 404 meanwhile).
      if (error.status !== 503) throw error;
      unfinished = error;
    }
    hideUndo(); // its kills went with it
    await Promise.all([refresh(), loadTenantSwitcher(), loadPlatform()]);
    if (unfinished) throw new Error(`${unfinished.message} The tenant already answers as deleted.`);
    return `Deleted tenant ${name}.`;
  });
}

/** Auto-refresh: every 10 s while the box is ticked, the tab visible, and nothing else is under way. */
const AUTO_REFRESH_MS = 10_000;
let working = 0;
function autoRefresh() {
  // Not while a dialog is open, the keyboard is on a row's button (a rebuilt table would drop
  // the focus), or more pages were loaded (a refresh shows the first page again).
  const focusInTable = Boolean(document.activeElement?.closest?.("table"));
  const morePages = $("sessions").tBodies[0].rows.length > PAGE_SIZE || $("events").tBodies[0].rows.length > PAGE_SIZE;
  const dialogOpen = [...document.querySelectorAll("dialog")].some((dialog) => dialog.open);
  const idle =
    working === 0 && !document.hidden && !dialogOpen && !$("tenant-view").hidden && !focusInTable && !morePages;
  if (!$("auto-refresh").checked || !idle) return;
  // The tenant view only: the platform view reads every listed tenant, so it refreshes on demand.
  refresh({ chart: false }).catch((error) => showError(error));
}

// The platform view (the platform admin only): every tenant with its live count, the JWT
// signing keys, and the platform-wide kill with its progress and undo.
const PLATFORM_TENANTS = 50;

async function loadPlatform() {
  if (!isPlatformAdmin()) return;
  const asked = generation;
  const [{ tenants, nextCursor }, { keys }] = await Promise.all([
    api("GET", `/v1/tenants?limit=${PLATFORM_TENANTS}`),
    api("GET", "/v1/signing-keys"),
  ]);
  // Live counts: one read per tenant shown; a tenant that cannot answer says so in its row.
  const counts = await Promise.all(
    tenants.map(({ tenant }) =>
      api("GET", `/v1/tenants/${encodeURIComponent(tenant)}`).then(
        ({ tenant: view }) => view.counts,
        () => null,
      ),
    ),
  );
  if (asked !== generation) return;
  const body = $("tenants").tBodies[0];
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
  const signing = $("signing-keys").tBodies[0];
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

function openTenant(name) {
  const select = $("switch-tenant");
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
      "Publish a new JWT signing key? It signs once cached key sets have expired (5 minutes); the current one stays published until its JWTs expire.",
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
    const answer = await api("DELETE", "/v1/sessions");
    // 200: every tenant applied it within the request; 202: it goes on, and is followed here.
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
      progress.textContent = `Applied by ${kill.applied} of ${kill.tenants} tenants…`;
      await new Promise((resolve) => setTimeout(resolve, 500));
      ({ kill } = await api("GET", `/v1/kills/${encodeURIComponent(kill.id)}`));
    }
    const text = kill.done
      ? `Killed ${kill.revoked} session(s) of ${kill.tenants} tenant(s).`
      : `Applied by ${kill.applied} of ${kill.tenants} tenants so far; it goes on in the background (GET /v1/kills/${kill.id}).`;
    progress.textContent = text;
    // Each tenant's own undo window applies to the undo; the bar stays for the default one.
    offerUndo({ killId: kill.id }, text, undoPath, 900);
    await Promise.all([refresh(), loadPlatform()]);
    return text;
  });
}

/** The tenant a tenant key names (`tk2.<tenant>.<id>.<secret>.<kid>.<tag>`), or null for any other key. */
function tenantOfKey(key) {
  const parts = (key ?? "").split(".");
  return parts[0] === "tk2" && parts[1] ? parts[1] : null;
}

function isPlatformAdmin() {
  return tenantOfKey(credentials().key) === null;
}

/** The platform admin may switch tenants: the list comes from GET /v1/tenants (first 1,000 by name). */
async function loadTenantSwitcher() {
  const select = $("switch-tenant");
  const isAdmin = isPlatformAdmin();
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
  $("platform-view").hidden = !(signedIn && isPlatformAdmin());
  $("who-label").textContent = signedIn
    ? tenantOfKey(key)
      ? `tenant key for ${tenantOfKey(key)}`
      : "platform admin"
    : "";
  // Settings and keys are the platform admin's to change: a tenant key sees them only.
  const admin = signedIn && isPlatformAdmin();
  $("mint-key").hidden = !admin;
  $("delete-tenant-section").hidden = !admin;
  $("settings-save").hidden = !admin;
  for (const field of SETTING_FIELDS) $(`set-${field}`).disabled = !admin;
  $("settings-note").textContent = admin
    ? "Only changed fields are sent; the service checks each."
    : "Only the platform admin can change settings.";
  return signedIn;
}

function signOut(message) {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(TENANT);
  hideSecrets();
  hideUndo();
  resetSettingsForm();
  showSignedIn();
  setStatus(message ?? "Signed out.");
}

/**
 * A dialog for what cannot be taken back lightly: `opener` opens it (after `prepare`), its
 * confirm button works only once `phrase()` is typed exactly, and then runs `act`. Its parts
 * are the elements `${prefix}input`, `${prefix}ok`, `${prefix}cancel` and `${prefix}form`.
 */
function wireTypedConfirmation(opener, dialogId, prefix, phrase, act, prepare = () => {}) {
  const dialog = $(dialogId);
  const input = $(`${prefix}input`);
  const ok = $(`${prefix}ok`);
  $(opener).addEventListener("click", () => {
    prepare();
    input.value = "";
    ok.disabled = true;
    dialog.showModal();
  });
  input.addEventListener("input", () => {
    ok.disabled = input.value !== phrase();
  });
  $(`${prefix}cancel`).addEventListener("click", () => dialog.close("cancel"));
  $(`${prefix}form`).addEventListener("submit", () => {
    if (input.value === phrase()) act();
  });
}

function wire() {
  $("key").addEventListener("input", () => {
    const tenant = tenantOfKey($("key").value.trim());
    if (tenant) $("tenant").value = tenant;
  });
  $("switch-tenant").addEventListener("change", () => {
    sessionStorage.setItem(TENANT, $("switch-tenant").value);
    $("deliveries").hidden = true;
    userFilter = sessionSearch = "";
    userMatch = $("user-match").value = "is";
    $("user-filter").value = $("session-search").value = "";
    $("kill-user").hidden = true;
    hideUndo();
    resetSettingsForm();
    hideSecrets();
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
    const keyTenant = tenantOfKey($("key").value.trim());
    if (keyTenant && keyTenant !== $("tenant").value.trim()) {
      showError(new Error(`This key belongs to tenant ${keyTenant}: it cannot open another.`));
      return;
    }
    sessionStorage.setItem(KEY, $("key").value.trim());
    sessionStorage.setItem(TENANT, $("tenant").value.trim());
    $("key").value = "";
    showSignedIn();
    busy("Loading the tenant", async () => {
      await Promise.all([refresh(), loadTenantSwitcher(), loadPlatform()]);
      return "";
    });
  });
  $("sign-out").addEventListener("click", () => signOut());
  $("refresh").addEventListener("click", () =>
    busy("Refreshing", async () => void (await Promise.all([refresh(), loadPlatform()]))),
  );
  $("filter-form").addEventListener("submit", (event) => {
    event.preventDefault();
    userFilter = $("user-filter").value.trim();
    userMatch = $("user-match").value;
    sessionSearch = $("session-search").value.trim();
    // Killing goes by exact user only: a prefix could name users nobody meant.
    $("kill-user").hidden = !userFilter || userMatch !== "is";
    busy("Searching", async () => void (await refresh()));
  });
  $("undo-button").addEventListener("click", () => undoKill($("undo-bar").dataset.undoPath));
  $("settings-form").addEventListener("input", () => (settingsDirty = true));
  $("settings-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveSettings();
  });
  $("mint-key").addEventListener("click", () => mintKey());
  $("window-24h").addEventListener("click", () => showWindow("24h"));
  $("rotate-signing-key").addEventListener("click", () => rotateSigningKey());
  wireTypedConfirmation(
    "platform-kill",
    "confirm-platform-kill",
    "platform-confirm-",
    () => "every tenant",
    killPlatform,
  );
  $("window-7d").addEventListener("click", () => showWindow("7d"));
  $("key-secret-copy").addEventListener("click", () =>
    busy("Copying", async () => {
      await navigator.clipboard.writeText($("key-secret-value").textContent);
      return "Copied the key.";
    }),
  );
  $("undo-dismiss").addEventListener("click", () => hideUndo());
  setInterval(autoRefresh, AUTO_REFRESH_MS);
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
  $("sessions-more").addEventListener("click", () =>
    busy("Loading more sessions", async () => void (await loadSessions(false))),
  );
  $("events-more").addEventListener("click", () =>
    busy("Loading more events", async () => void (await loadEvents(false))),
  );

  wireTypedConfirmation(
    "kill-all",
    "confirm-kill-all",
    "confirm-",
    () => credentials().tenant,
    killAll,
    () => {
      $("confirm-tenant").textContent = credentials().tenant;
      const undoWindow = currentTenant?.settings.undoWindowSeconds ?? 0;
      $("confirm-undo").textContent =
        undoWindow > 0
          ? `You can undo it for ${duration(undoWindow)}.`
          : "This tenant's undo window is 0: it cannot be undone.";
    },
  );
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

  if (showSignedIn())
    busy("Loading the tenant", async () => void (await Promise.all([refresh(), loadTenantSwitcher(), loadPlatform()])));
}

wire();
