// End to end in real Chromium: the example admin panel (a consumer over a service binding)
// and the admin console, against real `wrangler dev` processes. The product promise under
// test: kill a session anywhere, and every open page of it shows the login screen at once,
// without a reload.

import assert from "node:assert/strict";
import { mkdirSync, writeFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_FLAGS } from "./chromium.mjs";
import { startReceiver, until } from "./receiver.mjs";
import { ADMIN_KEY, startServers } from "./servers.mjs";

const SHOTS = new URL("./screenshots/", import.meta.url);
const TENANT = "demo";
/** The promise: an open page shows the login screen within this long after the kill is sent. */
const LOGOUT_BUDGET_MS = 1000;

let servers;
let browser;

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  servers = await startServers();
  const put = await fetch(`${servers.serviceUrl}/v1/tenants/${TENANT}`, {
    method: "PUT",
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
    body: "{}",
  });
  assert.equal(put.status, 201);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
});

after(async () => {
  await browser?.close();
  await servers?.stop();
});

async function shot(page, name, { fullPage = true } = {}) {
  await page.screenshot({ path: new URL(`${name}.png`, SHOTS).pathname, fullPage });
}

/** A fresh browser context signed in to the panel as `username`, on its dashboard with the socket open. */
async function panelLogin(username = "alice", password = "correct horse battery staple") {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${servers.panelUrl}/login`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await page.locator("#live-status", { hasText: "connected" }).waitFor();
  await markDocument(page);
  return { context, page };
}

/**
 * Marks the page's document (if the page reloads or navigates, the mark is gone), and has the
 * page note when it shows the login screen: Playwright's waitFor polls every 500 ms after its
 * first few tries, so the moment it notices is no measure of the moment the page changed.
 */
async function markDocument(page) {
  await page.evaluate(() => {
    window.__sameDocument = true;
    const wrapper = document.getElementById("login-wrapper");
    const observer = new MutationObserver(() => {
      if (wrapper.hidden) return;
      window.__loginShownAt = Date.now();
      observer.disconnect();
    });
    observer.observe(wrapper, { attributes: true, attributeFilter: ["hidden"] });
  });
}

/**
 * Waits for the in-place login screen; returns how long after `sentAt` the page showed it (the
 * page's clock is this machine's clock). Proves there was no reload.
 */
async function loginShownAfter(page, sentAt) {
  await page.locator("#login-wrapper").waitFor({ state: "visible", timeout: 5000 });
  const { sameDocument, shownAt } = await page.evaluate(() => ({
    sameDocument: window.__sameDocument,
    shownAt: window.__loginShownAt,
  }));
  assert.equal(sameDocument, true, "the page reloaded or navigated");
  assert.equal(typeof shownAt, "number", "the page was not marked by markDocument");
  assert.ok(
    shownAt >= sentAt,
    `the login screen was shown ${sentAt - shownAt} ms before the kill was sent: the clocks disagree`,
  );
  assert.equal(await page.locator("#dashboard").isHidden(), true);
  return Math.round(shownAt - sentAt);
}

/** Goes to one of the console's views by its navigation ("Settings", "API keys", "Platform"...). */
async function showView(page, name) {
  await page.getByRole("navigation", { name: "Console views" }).getByRole("link", { name, exact: true }).click();
}

/** The admin console, signed in with the platform admin key on `tenant`, in a context of its own (viewport, color scheme). */
async function openConsole(tenant = TENANT, options = {}) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  const settled = trackRequests(page); // from the first request on
  await page.goto(`${servers.serviceUrl}/admin/`);
  await page.getByLabel("API key", { exact: true }).fill(ADMIN_KEY);
  await page.getByLabel("Tenant", { exact: true }).fill(tenant);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("heading", { name: `Tenant ${tenant}` }).waitFor();
  return { context, page, settled };
}

/**
 * Follows the page's requests; the function returned resolves once none has been in flight
 * for 100 ms. A timed kill waits for it, so that the console's own refresh (after a search, or
 * its 10 s auto-refresh) does not share a test machine's two cores with the kill being timed.
 */
function trackRequests(page) {
  const inFlight = new Set();
  page.on("request", (request) => inFlight.add(request));
  page.on("requestfinished", (request) => inFlight.delete(request));
  page.on("requestfailed", (request) => inFlight.delete(request));
  return async () => {
    for (let quietSince = Date.now(); Date.now() - quietSince < 100; ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
      if (inFlight.size > 0) quietSince = Date.now();
    }
  };
}

/**
 * When the console's next DELETE request left the browser, by the browser's clock (known once
 * it is answered): Node hears of a request later than that, the later the busier the machine.
 */
function deleteSent(page) {
  return new Promise((resolve) => {
    const listener = (request) => {
      if (request.method() === "DELETE") {
        page.off("requestfinished", listener);
        resolve(request.timing().startTime);
      }
    };
    page.on("requestfinished", listener);
  });
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** A call to the service's API for the demo tenant, as the platform admin. */
function adminApi(method, path, body) {
  return fetch(`${servers.serviceUrl}/v1/tenants/${TENANT}${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
    body: body && JSON.stringify(body),
  });
}

/** The Cookie header of the page's next WebSocket handshake, as Chromium sent it (Playwright shows no socket headers; DevTools does). */
async function nextSocketCookie(page) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Network.enable");
  return new Promise((resolve) =>
    cdp.once("Network.webSocketHandshakeResponseReceived", ({ response }) => resolve(response.requestHeaders.Cookie)),
  );
}

/** The names in a Cookie header, in the order sent, exactly as sent. */
function cookieNames(header) {
  return header.split("; ").map((pair) => pair.slice(0, pair.indexOf("=")));
}

describe("instant logout in the browser", () => {
  it("rejects a wrong password and an unknown user with the same message", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const messages = [];
    for (const [username, password] of [
      ["alice", "wrong"],
      ["mallory", "whatever"],
    ]) {
      await page.goto(`${servers.panelUrl}/login`);
      await page.getByLabel("Username").fill(username);
      await page.getByLabel("Password").fill(password);
      await page.getByRole("button", { name: "Sign in" }).click();
      messages.push(await page.locator("#login-message").textContent());
    }
    assert.deepEqual(messages, ["Wrong username or password.", "Wrong username or password."]);
    await context.close();
  });

  it("kills a user from the console: both of their open pages show the login screen within 1 s, without reload", async () => {
    const latencies = [];
    const admin = await openConsole();
    admin.page.on("dialog", (dialog) => dialog.accept());
    for (let run = 0; run < 5; run++) {
      const first = await panelLogin();
      const second = await panelLogin();
      const bob = await panelLogin("bob", "hunter2-but-longer");
      if (run === 0) await shot(first.page, "panel-dashboard");
      await admin.page.getByLabel("User", { exact: true }).fill("alice");
      await admin.page.getByRole("button", { name: "Search" }).click();
      await admin.page.getByRole("button", { name: "Kill this user's sessions" }).waitFor();
      if (run === 0) await shot(admin.page, "console-filtered");
      await admin.settled();
      const sent = deleteSent(admin.page);
      await admin.page.getByRole("button", { name: "Kill this user's sessions" }).click();
      const sentAt = await sent;
      const [a, b] = await Promise.all([loginShownAfter(first.page, sentAt), loginShownAfter(second.page, sentAt)]);
      latencies.push(a, b);
      if (run === 0) await shot(first.page, "panel-after-kill");
      assert.ok(await bob.page.locator("#dashboard").isVisible(), "another user's page must stay signed in");
      await admin.page.locator("#status", { hasText: "Killed 2 session(s) of alice." }).waitFor();
      for (const { context } of [first, second, bob]) await context.close();
    }
    const report = {
      medianMs: median(latencies),
      minMs: Math.min(...latencies),
      maxMs: Math.max(...latencies),
      samples: latencies,
    };
    console.log(`kill-user to login screen: ${JSON.stringify(report)}`);
    writeFileSync(new URL("logout-latency.json", SHOTS), JSON.stringify(report, null, 2));
    assert.ok(report.maxMs < LOGOUT_BUDGET_MS, `slowest was ${report.maxMs} ms`);
    await admin.context.close();
  });

  it("kills one session from the console: that page alone shows the login screen", async () => {
    const target = await panelLogin();
    const other = await panelLogin();
    const targetId = (await target.page.locator("dd code").textContent()).trim();
    const admin = await openConsole();
    const row = admin.page.locator(`tr[data-session-id="${targetId}"]`);
    await row.waitFor();
    await admin.settled();
    const asked = new Promise((resolve) =>
      admin.page.once("dialog", (dialog) => resolve(dialog.message()) || dialog.accept()),
    );
    const sent = deleteSent(admin.page);
    await row.getByRole("button", { name: /^Kill session/ }).click();
    assert.match(await asked, new RegExp(`^Kill session ${targetId} of alice\\?`));
    const elapsed = await loginShownAfter(target.page, await sent);
    assert.ok(elapsed < LOGOUT_BUDGET_MS, `took ${elapsed} ms`);
    assert.ok(await other.page.locator("#dashboard").isVisible());
    await admin.page.locator("#status", { hasText: "Killed 1 session of alice." }).waitFor();
    for (const { context } of [target, other, admin]) await context.close();
  });

  it("kills every session of the tenant only after the name is typed to confirm", async () => {
    const alice = await panelLogin();
    const bob = await panelLogin("bob", "hunter2-but-longer");
    const admin = await openConsole();
    await admin.page.getByRole("button", { name: "Kill all sessions…" }).click();
    const dialog = admin.page.getByRole("dialog");
    await dialog.waitFor();
    const confirmButton = dialog.getByRole("button", { name: "Kill all sessions" });
    assert.equal(await confirmButton.isDisabled(), true, "confirm must wait for the tenant's name");
    await dialog.getByLabel("Type the tenant name to confirm").fill("dem");
    assert.equal(await confirmButton.isDisabled(), true);
    await dialog.getByLabel("Type the tenant name to confirm").fill(TENANT);
    await shot(admin.page, "console-confirm-kill-all");
    const sent = deleteSent(admin.page);
    await confirmButton.click();
    const sentAt = await sent;
    await Promise.all([loginShownAfter(alice.page, sentAt), loginShownAfter(bob.page, sentAt)]);
    await admin.page.locator("#sessions-empty").waitFor({ state: "visible" });
    for (const { context } of [alice, bob]) await context.close();

    // The audit log shows each kind of kill, by the admin.
    await showView(admin.page, "Audit log");
    await admin.page.getByRole("button", { name: "Refresh" }).click();
    const log = admin.page.locator("#events tbody");
    for (const kind of ["revoked (tenant)", "revoked (user)", "revoked (one)"]) {
      await log.locator("tr", { hasText: kind }).first().waitFor();
    }
    assert.match(await log.locator("tr", { hasText: "revoked (tenant)" }).first().textContent(), /admin/);
    await shot(admin.page, "console-audit-log");
    await admin.context.close();
  });

  it("logs out everywhere from the panel: the user's other page follows at once", async () => {
    const here = await panelLogin();
    const there = await panelLogin();
    const sentAt = Date.now();
    await here.page.getByRole("button", { name: "Log out everywhere" }).click();
    await here.page.getByRole("heading", { name: "Sign in" }).waitFor();
    await loginShownAfter(there.page, sentAt);
    for (const { context } of [here, there]) await context.close();
  });

  // The page's socket hears of the logout while the logout's answer is on its way; the page
  // must not navigate on that message, or the answer's Set-Cookie would never apply.
  it("clears the session cookie on Log out and on Log out everywhere", async () => {
    for (const button of ["Log out", "Log out everywhere"]) {
      const { context, page } = await panelLogin();
      await page.getByRole("button", { name: button, exact: true }).click();
      await page.waitForURL(/\/login$/);
      await page.getByRole("heading", { name: "Sign in" }).waitFor();
      const left = (await context.cookies()).filter((cookie) => cookie.name === "__Host-session");
      assert.deepEqual(left, [], `${button}: the dead session cookie stayed`);
      await context.close();
    }
  });
});

describe("the client package in the example panel", () => {
  it("asks for the password again before the change-password page once an operator says so, and lets the next request through", async () => {
    const { context, page } = await panelLogin("bob", "hunter2-but-longer");
    // Signed in a moment ago: recent enough.
    await page.getByRole("link", { name: "Change password" }).click();
    await page.getByRole("heading", { name: "Change password" }).waitFor();
    // The operator makes bob prove it again: still signed in, but the page now asks first.
    assert.equal((await adminApi("POST", "/users/bob/reauthenticate")).status, 200);
    await page.goto(`${servers.panelUrl}/`);
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    await page.getByRole("link", { name: "Change password" }).click();
    await page.getByRole("heading", { name: "Confirm it is you" }).waitFor();
    assert.match(page.url(), /\/step-up\?return_to=%2Faccount%2Fpassword&max_age=\d+$/);
    await page.getByLabel("Password").fill("wrong");
    await page.getByRole("button", { name: "Confirm" }).click();
    assert.equal(await page.locator("#step-up-message").textContent(), "Wrong password.");
    await page.getByLabel("Password").fill("hunter2-but-longer");
    await page.getByRole("button", { name: "Confirm" }).click();
    await page.getByRole("heading", { name: "Change password" }).waitFor();
    assert.match(page.url(), /\/account\/password$/);
    await shot(page, "step-up-passed");
    // The next request passes too: the session was raised, under a new cookie.
    await page.reload();
    await page.getByRole("heading", { name: "Change password" }).waitFor();
    const events = await (await adminApi("GET", "/events?limit=20")).json();
    assert.ok(events.events.some((event) => event.type === "elevated" && event.userId === "bob"));
    await context.close();
  });

  // A page that navigates on the socket's message: the revocation of its own logout reaches
  // it while the logout's answer (with the cookie-clearing Set-Cookie) is still on its way.
  it("a page that navigates on the revocation message still loses its cookie on Log out", async () => {
    const { context, page } = await panelLogin();
    await page.evaluate(() => addEventListener("session-revoked", () => location.assign("/login?by=socket")));
    await page.getByRole("button", { name: "Log out", exact: true }).click();
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await page.waitForTimeout(3500); // past the watcher's grace: a late navigation would show here
    assert.equal(
      new URL(page.url()).pathname + new URL(page.url()).search,
      "/login",
      "the logout's own answer was cancelled",
    );
    assert.deepEqual(
      (await context.cookies()).filter((cookie) => cookie.name === "__Host-session"),
      [],
    );
    await context.close();
  });

  it("takes no session of another tenant, and clears that cookie", async () => {
    const other = "demo-other";
    const admin = { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" };
    await fetch(`${servers.serviceUrl}/v1/tenants/${other}`, { method: "PUT", headers: admin, body: "{}" });
    const created = await fetch(`${servers.serviceUrl}/v1/tenants/${other}/sessions`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ userId: "alice" }),
    });
    const { token } = await created.json();
    const context = await browser.newContext();
    await context.addCookies([
      {
        name: "__Host-session",
        value: token,
        domain: new URL(servers.panelUrl).hostname,
        path: "/",
        secure: true,
        httpOnly: true,
        sameSite: "Lax",
      },
    ]);
    const page = await context.newPage();
    await page.goto(`${servers.panelUrl}/`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assert.equal(new URL(page.url()).pathname, "/login");
    assert.deepEqual(
      (await context.cookies()).filter((cookie) => cookie.name === "__Host-session"),
      [],
    );
    // The other tenant's session itself was left alone.
    const still = await fetch(`${servers.serviceUrl}/v1/session`, { headers: { Authorization: `Bearer ${token}` } });
    assert.equal(still.status, 200);
    await context.close();
  });
});

describe("the console, for an operator", () => {
  it("signs out cleanly while a refresh is under way: no call goes out without the key, and the page says so", async () => {
    const admin = await openConsole();
    const sent = [];
    admin.page.on("request", (request) => sent.push([request.url(), request.headers().authorization]));
    // Hold the audit log's answer, so that the refresh is still under way at the sign-out.
    let release;
    const held = new Promise((resolve) => {
      release = resolve;
    });
    await admin.page.route("**/events?*", async (route) => {
      await held;
      await route.continue();
    });
    await admin.page.getByRole("button", { name: "Refresh" }).click();
    await admin.page.waitForTimeout(100);
    sent.length = 0;
    await admin.page.getByRole("button", { name: "Sign out" }).click();
    release();
    await admin.page.waitForTimeout(500);
    assert.equal(await admin.page.locator("#status").textContent(), "Signed out.");
    assert.equal(await admin.page.locator("#error").isHidden(), true);
    assert.deepEqual(
      sent.filter(([url, authorization]) => url.includes("/null") || authorization === "Bearer null"),
      [],
    );
    await admin.context.close();
  });

  it("marks impersonations with a badge, lists them apart, and ends them all at once", async () => {
    const tenant = "impersonations";
    const api = (method, path, body, token = ADMIN_KEY) =>
      fetch(`${servers.serviceUrl}${path}`, {
        method,
        headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
        body: body && JSON.stringify(body),
      });
    assert.equal((await api("PUT", `/v1/tenants/${tenant}`, {})).status, 201);
    const create = async (body) => (await api("POST", `/v1/tenants/${tenant}/sessions`, body)).json();
    const own = await create({ userId: "carol", amr: ["pwd", "otp"], acr: "aal2" });
    const acting = await create({ userId: "carol", actor: { id: "support-9", reason: "ticket 77" } });
    const admin = await openConsole(tenant);
    const badge = admin.page.locator(`tr[data-session-id="${acting.session.id}"] .badge`);
    await badge.waitFor();
    assert.equal(await badge.textContent(), "impersonated by support-9");
    assert.equal(await badge.getAttribute("title"), "ticket 77");
    const ownRow = admin.page.locator(`tr[data-session-id="${own.session.id}"]`);
    assert.equal(await ownRow.locator(".badge").count(), 0);
    assert.match(await ownRow.locator('td[data-label="Signed in"]').textContent(), / · aal2 · pwd, otp$/);
    await admin.page.getByLabel("Impersonations only").check();
    await admin.page.getByRole("button", { name: "Search" }).click();
    await admin.page.waitForFunction(() => document.querySelectorAll("#sessions tbody tr").length === 1);
    await shot(admin.page, "console-impersonations");
    admin.page.once("dialog", (dialog) => dialog.accept());
    await admin.page.getByRole("button", { name: "End every impersonation" }).click();
    await admin.page.locator("#undo-bar", { hasText: "Ended 1 impersonation(s)." }).waitFor();
    const validate = (token) => api("GET", "/v1/session", undefined, token);
    assert.equal((await validate(acting.token)).status, 401);
    assert.equal((await validate(own.token)).status, 200);
    await admin.context.close();
  });

  it("asks before killing one session, kills nothing on Cancel, and undoes the kill from its Undo bar", async () => {
    const target = await panelLogin();
    const id = (await target.page.locator("dd code").textContent()).trim();
    const admin = await openConsole();
    const row = admin.page.locator(`tr[data-session-id="${id}"]`);
    await row.waitFor();
    const asked = new Promise((resolve) =>
      admin.page.once("dialog", (dialog) => resolve(dialog.message()) || dialog.dismiss()),
    );
    await row.getByRole("button", { name: /^Kill session/ }).click();
    assert.match(await asked, /^Kill session /);
    await admin.page.waitForTimeout(300);
    assert.equal((await adminApi("GET", `/sessions/${id}`)).status, 200, "Cancel killed nothing");
    admin.page.once("dialog", (dialog) => dialog.accept());
    // Timed from before the click: the click resolves once the kill may already be answered.
    const clickedAt = Date.now();
    await row.getByRole("button", { name: /^Kill session/ }).click();
    await loginShownAfter(target.page, clickedAt);
    const bar = admin.page.locator("#undo-bar");
    await bar.waitFor();
    assert.match(await bar.textContent(), /Killed 1 session of alice\. You can undo it until/);
    assert.equal(await admin.page.evaluate(() => document.activeElement.id), "undo-button", "the keyboard is on Undo");
    await shot(admin.page, "console-undo-bar");
    await bar.getByRole("button", { name: "Undo" }).click();
    await admin.page.locator("#status", { hasText: "Undone: 1 session(s) restored." }).waitFor();
    await row.waitFor();
    assert.equal((await adminApi("GET", `/sessions/${id}`)).status, 200, "the session is back");
    assert.equal(await bar.isHidden(), true);
    for (const { context } of [target, admin]) await context.close();
  });

  it("undoes a kill from the audit log", async () => {
    const created = await (await adminApi("POST", "/sessions", { userId: "dora" })).json();
    assert.equal((await adminApi("DELETE", `/users/dora/sessions`)).status, 200);
    const admin = await openConsole();
    await showView(admin.page, "Audit log");
    const entry = admin.page.locator("#events tbody tr", { hasText: "revoked (user)" }).first();
    await entry.getByRole("button", { name: "Undo this kill (user)" }).click();
    await admin.page.locator("#status", { hasText: "Undone: 1 session(s) restored." }).waitFor();
    assert.equal((await adminApi("GET", `/sessions/${created.session.id}`)).status, 200);
    // Undone once: the log shows the undo, and the kill offers no second one.
    await admin.page.locator("#events tbody tr", { hasText: "kill_undone" }).first().waitFor();
    assert.equal(
      await admin.page
        .locator("#events tbody tr", { hasText: "revoked (user)" })
        .first()
        .getByRole("button", { name: /^Undo/ })
        .count(),
      0,
    );
    await admin.context.close();
  });

  it("finds a session by its id, shows times relative (exact on hover) and the browser parsed (raw on hover)", async () => {
    const target = await panelLogin();
    const id = (await target.page.locator("dd code").textContent()).trim();
    const admin = await openConsole();
    await admin.page.getByLabel("Session id").fill(id);
    await admin.page.getByRole("button", { name: "Search" }).click();
    const rows = admin.page.locator("#sessions tbody tr");
    await admin.page.waitForFunction(() => document.querySelectorAll("#sessions tbody tr").length === 1);
    assert.equal(await rows.first().getAttribute("data-session-id"), id);
    const created = rows.first().locator("td").nth(2).locator("time");
    assert.match(await created.textContent(), /now|seconds? ago|minutes? ago/);
    assert.equal(new Date(await created.getAttribute("datetime")).toString() !== "Invalid Date", true);
    assert.ok((await created.getAttribute("title")).length > 0);
    const agent = rows.first().locator(".ua-name");
    assert.equal(await agent.textContent(), "Chrome on Linux (desktop)");
    assert.match(await agent.getAttribute("title"), /HeadlessChrome|Chrome\//);
    await admin.page.getByLabel("Session id").fill("AAAAAAAAAAAAAAAAAAAAAA");
    await admin.page.getByRole("button", { name: "Search" }).click();
    await admin.page.locator("#sessions-empty", { hasText: "No live session with that id." }).waitFor();
    for (const { context } of [target, admin]) await context.close();
  });

  it("finds the sessions of every user whose id starts with a prefix, and offers no kill for a prefix", async () => {
    const made = [];
    for (const userId of ["pat-1", "pat-2", "quinn"])
      made.push((await (await adminApi("POST", "/sessions", { userId })).json()).session.id);
    const admin = await openConsole();
    await admin.page.getByLabel("How the user id matches").selectOption("prefix");
    await admin.page.getByLabel("User", { exact: true }).fill("pat-");
    await admin.page.getByRole("button", { name: "Search" }).click();
    await admin.page.waitForFunction(() => {
      const cells = [...document.querySelectorAll("#sessions tbody tr td:first-child")];
      return cells.length > 0 && cells.every((cell) => cell.textContent.startsWith("pat-"));
    });
    const users = await admin.page.locator("#sessions tbody tr td:first-child").allTextContents();
    assert.deepEqual([...new Set(users)].sort(), ["pat-1", "pat-2"]);
    assert.equal(await admin.page.getByRole("button", { name: "Kill this user's sessions" }).isVisible(), false);
    await admin.context.close();
  });

  it("deletes a tenant after its name is typed: its sessions end, and it is gone from the platform's list", async () => {
    const admin = { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" };
    const doomed = "console-doomed";
    assert.equal(
      (
        await fetch(`${servers.serviceUrl}/v1/tenants/${doomed}`, {
          method: "PUT",
          headers: admin,
          body: JSON.stringify({ shards: 4 }),
        })
      ).status,
      201,
    );
    const tokens = [];
    for (const userId of ["kim", "lee"]) {
      const created = await fetch(`${servers.serviceUrl}/v1/tenants/${doomed}/sessions`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ userId }),
      });
      tokens.push((await created.json()).token);
    }
    const { context, page } = await openConsole(doomed);
    await page.locator("#count-sessions", { hasText: "2" }).waitFor();
    await showView(page, "Settings");
    await page.getByRole("button", { name: "Delete tenant…" }).click();
    const dialog = page.getByRole("dialog");
    const confirmButton = dialog.getByRole("button", { name: "Delete the tenant" });
    await dialog.getByLabel("Type the tenant name to confirm").fill("console-doome");
    assert.equal(await confirmButton.isDisabled(), true);
    await dialog.getByLabel("Type the tenant name to confirm").fill(doomed);
    await shot(page, "console-delete-tenant", { fullPage: false });
    await confirmButton.click();
    await page.locator("#status", { hasText: `Deleted tenant ${doomed}.` }).waitFor();
    await page.locator("#tenant-missing", { hasText: `There is no tenant named “${doomed}”` }).waitFor();
    assert.equal(await page.locator("#error").isVisible(), false);
    assert.equal(await page.locator(`#tenants tr[data-tenant="${doomed}"]`).count(), 0, "gone from the platform view");
    for (const token of tokens)
      assert.equal(
        (await fetch(`${servers.serviceUrl}/v1/session`, { headers: { Authorization: `Bearer ${token}` } })).status,
        401,
      );
    const listed = await (await fetch(`${servers.serviceUrl}/v1/tenants`, { headers: admin })).json();
    assert.ok(!listed.tenants.some((entry) => entry.tenant === doomed));
    await context.close();
  });

  it("is worked by the keyboard alone: Tab reaches every control, and a kill is asked, made and undone with Enter", async () => {
    const tenant = "console-keyboard";
    const admin = { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" };
    await fetch(`${servers.serviceUrl}/v1/tenants/${tenant}`, { method: "PUT", headers: admin, body: "{}" });
    const made = await (
      await fetch(`${servers.serviceUrl}/v1/tenants/${tenant}/sessions`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ userId: "kbd" }),
      })
    ).json();
    const { context, page } = await openConsole(tenant);
    await page.locator(`tr[data-session-id="${made.session.id}"]`).waitFor();
    // Paused first, so that no refresh rebuilds a table under the keyboard.
    await page.getByLabel("Auto-refresh every 10 s").uncheck();
    /** What has the focus: its accessible name as the page gives it. */
    const focused = () =>
      page.evaluate(() => {
        const element = document.activeElement;
        return (
          element?.getAttribute("aria-label") ??
          element?.labels?.[0]?.textContent?.trim() ??
          element?.textContent?.trim() ??
          ""
        );
      });
    /** Tabs through the page from its top; what had the focus, by name. */
    const tabThrough = async () => {
      const reached = new Set();
      await page.locator("body").focus();
      for (let presses = 0; presses < 80; presses++) {
        await page.keyboard.press("Tab");
        reached.add(await focused());
      }
      return reached;
    };
    const assertReached = (reached, controls) => {
      for (const control of controls)
        assert.ok(reached.has(control), `Tab reaches "${control}" (reached: ${[...reached].join(" | ")})`);
    };
    const killName = `Kill session ${made.session.id} of kbd`;
    const views = [
      "Platform",
      "Sessions",
      "Activity",
      "Audit log",
      "Settings",
      "API keys",
      "Webhooks",
      "Identity providers",
    ];
    assertReached(await tabThrough(), [...views, "Switch tenant", "Refresh", "Kill all sessions…", "Search", killName]);
    // Each view by the keyboard: Tab to its link, Enter.
    const byKeyboard = async (view) => {
      await page.locator("body").focus();
      for (let presses = 0; presses < 20 && (await focused()) !== view; presses++) await page.keyboard.press("Tab");
      await page.keyboard.press("Enter");
    };
    await byKeyboard("Settings");
    assertReached(await tabThrough(), ["Save settings", "Delete tenant…"]);
    await byKeyboard("API keys");
    assertReached(await tabThrough(), ["Mint a key"]);
    await byKeyboard("Webhooks");
    assertReached(await tabThrough(), ["Add webhook"]);
    await byKeyboard("Platform");
    assertReached(await tabThrough(), ["Create", "Kill every session of every tenant…", "Rotate signing key"]);
    await byKeyboard("Sessions");
    // To the session's Kill button by Tab, then Enter; the question is answered (a native dialog is the browser's, not the page's).
    await page.locator("body").focus();
    for (let presses = 0; presses < 150 && (await focused()) !== killName; presses++) await page.keyboard.press("Tab");
    assert.equal(await focused(), killName);
    page.once("dialog", (dialog) => dialog.accept());
    await page.keyboard.press("Enter");
    await page.locator("#undo-bar").waitFor();
    assert.equal(await focused(), "Undo", "the keyboard is taken to Undo");
    assert.equal(
      (await fetch(`${servers.serviceUrl}/v1/tenants/${tenant}/sessions/${made.session.id}`, { headers: admin }))
        .status,
      404,
    );
    await page.keyboard.press("Enter");
    await page.locator("#status", { hasText: "Undone: 1 session(s) restored." }).waitFor();
    assert.equal(
      (await fetch(`${servers.serviceUrl}/v1/tenants/${tenant}/sessions/${made.session.id}`, { headers: admin }))
        .status,
      200,
    );
    await context.close();
  });

  it("shows the sign-in page in the dark scheme", async () => {
    const context = await browser.newContext({ colorScheme: "dark", viewport: { width: 1280, height: 700 } });
    const page = await context.newPage();
    await page.goto(`${servers.serviceUrl}/admin/`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    assert.equal(await page.evaluate(() => getComputedStyle(document.body).backgroundColor), "rgb(20, 23, 29)");
    await shot(page, "console-sign-in-dark", { fullPage: false });
    await context.close();
  });

  it("shows an unknown tenant as such, with nothing to kill", async () => {
    const { context, page } = await openConsole("no-such-tenant");
    await page.locator("#tenant-missing", { hasText: "There is no tenant named “no-such-tenant”" }).waitFor();
    for (const id of ["#kill-all", "#sessions", "#webhook-form"])
      assert.equal(await page.locator(id).isVisible(), false, `${id} is hidden`);
    assert.equal(await page.locator("#error").isVisible(), false);
    await context.close();
  });

  it("refreshes by itself: a session created meanwhile appears within 10 s; paused, it does not", async () => {
    const admin = await openConsole();
    const rows = admin.page.locator("#sessions tbody tr");
    const first = await (await adminApi("POST", "/sessions", { userId: "erin" })).json();
    await admin.page.locator(`tr[data-session-id="${first.session.id}"]`).waitFor({ timeout: 12_000 });
    await admin.page.getByLabel("Auto-refresh every 10 s").uncheck();
    await admin.page.waitForTimeout(1500); // a refresh already under way ends
    const second = await (await adminApi("POST", "/sessions", { userId: "erin" })).json();
    await admin.page.waitForTimeout(11_000);
    assert.equal(await admin.page.locator(`tr[data-session-id="${second.session.id}"]`).count(), 0, "paused");
    assert.ok((await rows.count()) > 0);
    await admin.context.close();
  });

  it("edits a setting: the service's refusal shows next to the field, then a valid value is saved", async () => {
    const tenant = "console-settings";
    const put = await fetch(`${servers.serviceUrl}/v1/tenants/${tenant}`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
      body: "{}",
    });
    assert.equal(put.status, 201);
    const { context, page } = await openConsole(tenant);
    await showView(page, "Settings");
    const idle = page.getByLabel("Idle timeout (s)");
    await page.waitForFunction(() => document.getElementById("set-idleTimeoutSeconds").value === "1800");
    await idle.fill("0");
    await page.getByRole("button", { name: "Save settings" }).click();
    const message = page.locator("#err-idleTimeoutSeconds");
    await message.waitFor({ state: "visible" });
    assert.match(await message.textContent(), /idleTimeoutSeconds/);
    assert.equal(await idle.getAttribute("aria-invalid"), "true");
    assert.equal(await page.evaluate(() => document.activeElement.id), "set-idleTimeoutSeconds");
    await shot(page, "console-settings-error", { fullPage: false });
    await idle.fill("900");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.locator("#status", { hasText: "Saved idleTimeoutSeconds." }).waitFor();
    assert.equal(await message.textContent(), "");
    assert.equal(await page.locator("#setting-idle").textContent(), "15 min");
    const read = await (
      await fetch(`${servers.serviceUrl}/v1/tenants/${tenant}`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } })
    ).json();
    assert.equal(read.tenant.settings.idleTimeoutSeconds, 900);

    // JWT audiences: a refusal of one shows at the setting; a valid list turns JWTs on.
    const audiences = page.getByLabel(/^JWT audiences/);
    await audiences.fill("https://api.example.com\nhttps://api.example.com");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page
      .locator("#err-jwt")
      .filter({ hasText: /listed once/ })
      .waitFor();
    await audiences.fill("https://api.example.com\nhttps://reports.example.com");
    await page.getByRole("button", { name: "Save settings" }).click();
    await page.locator("#status", { hasText: "Saved jwt." }).waitFor();
    const withJwt = await (
      await fetch(`${servers.serviceUrl}/v1/tenants/${tenant}`, { headers: { Authorization: `Bearer ${ADMIN_KEY}` } })
    ).json();
    assert.deepEqual(withJwt.tenant.settings.jwt, {
      audiences: ["https://api.example.com", "https://reports.example.com"],
      ttlSeconds: 300,
    });
    await context.close();
  });

  it("mints a key (shown once), lists it, and revokes it after asking", async () => {
    const { context, page } = await openConsole(TENANT);
    await showView(page, "API keys");
    await page.getByRole("button", { name: "Mint a key" }).click();
    const shown = page.locator("#key-secret-value");
    await shown.waitFor();
    const key = await shown.textContent();
    assert.match(key, new RegExp(`^tk2\\.${TENANT}\\.`));
    const id = key.split(".")[2];
    const row = page.locator(`#keys tr[data-key-id="${id}"]`);
    await row.waitFor();
    assert.equal(await row.locator('td[data-label="Last used"]').textContent(), "never");
    assert.equal(
      (await fetch(`${servers.serviceUrl}/v1/tenants/${TENANT}`, { headers: { Authorization: `Bearer ${key}` } }))
        .status,
      200,
    );
    await page.getByRole("button", { name: "Refresh" }).click();
    await row.locator('td[data-label="Last used"] time').waitFor();
    const asked = new Promise((resolve) =>
      page.once("dialog", (dialog) => resolve(dialog.message()) || dialog.accept()),
    );
    await row.getByRole("button", { name: `Revoke key ${id}` }).click();
    assert.match(await asked, /^Revoke key /);
    await page.locator("#status", { hasText: `Revoked key ${id}.` }).waitFor();
    assert.equal(await row.count(), 0);
    assert.equal(
      (await fetch(`${servers.serviceUrl}/v1/tenants/${TENANT}`, { headers: { Authorization: `Bearer ${key}` } }))
        .status,
      401,
    );
    await context.close();
  });

  it("draws the last day's activity with the right totals, and the last week's", async () => {
    const tenant = "console-chart";
    const admin = { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" };
    await fetch(`${servers.serviceUrl}/v1/tenants/${tenant}`, { method: "PUT", headers: admin, body: "{}" });
    const made = [];
    for (const userId of ["gail", "gail", "hank"])
      made.push(
        await (
          await fetch(`${servers.serviceUrl}/v1/tenants/${tenant}/sessions`, {
            method: "POST",
            headers: admin,
            body: JSON.stringify({ userId }),
          })
        ).json(),
      );
    await fetch(`${servers.serviceUrl}/v1/tenants/${tenant}/sessions/${made[0].session.id}`, {
      method: "DELETE",
      headers: admin,
    });
    const { context, page } = await openConsole(tenant, { colorScheme: "dark" });
    await showView(page, "Activity");
    const summary = page.locator("#activity-summary");
    await summary.filter({ hasText: "In the last 24 hours: 3 created, 1 ended; 2 live now." }).waitFor();
    const chart = page.locator("#activity-chart svg");
    assert.equal(await chart.getAttribute("aria-label"), "In the last 24 hours: 3 created, 1 ended; 2 live now.");
    // Summed over the bars: the hour may have turned while the sessions were made.
    const total = async (kind) =>
      (await chart.locator(`rect.${kind} title`).allTextContents()).reduce(
        (sum, text) => sum + Number(/: (\d+) \w+$/.exec(text)[1]),
        0,
      );
    assert.equal(await total("created"), 3);
    assert.equal(await total("ended"), 1);
    assert.equal(
      await chart
        .locator("text")
        .filter({ hasText: /\d{2}:\d{2}/ })
        .count(),
      4,
      "an hour label every 6 hours",
    );
    await shot(page, "console-activity-24h-dark", { fullPage: false });
    await page.getByRole("button", { name: "7 days" }).click();
    await summary.filter({ hasText: "In the last 7 days: 3 created, 1 ended; 2 live now." }).waitFor();
    assert.equal(await page.getByRole("button", { name: "7 days" }).getAttribute("aria-pressed"), "true");
    await context.close();
  });

  it("lists every tenant with its live count for the platform admin, opens one, and rotates the JWT signing key after asking", async () => {
    const admin = { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" };
    await fetch(`${servers.serviceUrl}/v1/tenants/console-platform`, {
      method: "PUT",
      headers: admin,
      body: JSON.stringify({ shards: 4 }),
    });
    for (const userId of ["ivan", "judy"])
      await fetch(`${servers.serviceUrl}/v1/tenants/console-platform/sessions`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ userId }),
      });
    const { context, page } = await openConsole(TENANT);
    await showView(page, "Platform");
    const row = page.locator('#tenants tr[data-tenant="console-platform"]');
    await row.waitFor();
    assert.deepEqual((await row.locator("td").allTextContents()).slice(2, 6), ["4", "any", "2", "0"]);
    await row.getByRole("button", { name: "Open tenant console-platform" }).click();
    await page.getByRole("heading", { name: "Tenant console-platform" }).waitFor();
    assert.match(page.url(), /#\/console-platform\/sessions$/, "the address names the tenant and the view");
    await showView(page, "Platform");
    const asked = new Promise((resolve) =>
      page.once("dialog", (dialog) => resolve(dialog.message()) || dialog.accept()),
    );
    await page.getByRole("button", { name: "Rotate signing key" }).click();
    assert.match(await asked, /^Publish a new JWT signing key\?/);
    await page.locator("#status", { hasText: "Published a new signing key." }).waitFor();
    assert.ok((await page.locator("#signing-keys tbody tr").count()) >= 1);
    await shot(page, "console-platform", { fullPage: false });

    // A new tenant from the platform view: made with default settings, listed, and opened.
    await showView(page, "Platform");
    await page.getByLabel("New tenant").fill("console-new");
    await page.getByRole("button", { name: "Create", exact: true }).click();
    await page.getByRole("heading", { name: "Tenant console-new" }).waitFor();
    await page.locator('#tenants tr[data-tenant="console-new"]').waitFor({ state: "attached" });
    await showView(page, "Platform");
    await page.getByLabel("New tenant").fill("Not A Name");
    await page.getByRole("button", { name: "Create", exact: true }).click();
    // The refusal shows on the error line and the status line is cleared; "Creating tenant …"
    // shows only while the request is under way, so it is no sign of the refusal.
    await page.locator("#error", { hasText: "tenant must match" }).waitFor();
    assert.doesNotMatch((await page.locator("#status").textContent()) ?? "", /Created/);
    assert.equal(
      (await fetch(`${servers.serviceUrl}/v1/tenants/console-new`, { headers: admin })).status,
      200,
      "the service has it",
    );
    await context.close();
  });

  it("retires a tenant's session tokens from its settings, after asking, and restores them", async () => {
    const admin = { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" };
    const tenant = "console-lever";
    await fetch(`${servers.serviceUrl}/v1/tenants/${tenant}`, { method: "PUT", headers: admin, body: "{}" });
    const { token } = await (
      await fetch(`${servers.serviceUrl}/v1/tenants/${tenant}/sessions`, {
        method: "POST",
        headers: admin,
        body: JSON.stringify({ userId: "ivan" }),
      })
    ).json();
    const validates = async () =>
      (await fetch(`${servers.serviceUrl}/v1/session`, { headers: { Authorization: `Bearer ${token}` } })).status;
    assert.equal(await validates(), 200);
    const { context, page } = await openConsole(tenant);
    await showView(page, "Settings");
    const state = page.locator("#token-keys-state");
    await state.filter({ hasText: "Never retired" }).waitFor();
    assert.equal(await page.getByRole("button", { name: "Restore the retired tokens" }).isVisible(), false);
    const asked = new Promise((resolve) =>
      page.once("dialog", (dialog) => resolve(dialog.message()) || dialog.accept()),
    );
    await page.getByRole("button", { name: "Retire every token…" }).click();
    assert.match(await asked, /^Retire every session token of this tenant\?/);
    await page.locator("#status", { hasText: "Retired every session token of the tenant." }).waitFor();
    await state.filter({ hasText: "Last retired" }).waitFor();
    assert.equal(await validates(), 401, "the service refuses the tenant's tokens");
    await shot(page, "console-token-keys", { fullPage: false });
    await page.getByRole("button", { name: "Restore the retired tokens" }).click();
    await page.locator("#status", { hasText: "Restored the tokens" }).waitFor();
    await state.filter({ hasText: "every token is accepted" }).waitFor();
    assert.equal(await validates(), 200, "the restored token works again");
    await context.close();
  });

  for (const colorScheme of ["light", "dark"]) {
    for (const width of [1280, 390]) {
      it(`lays out at ${width} px in the ${colorScheme} scheme, every Kill button within reach`, async () => {
        await (
          await adminApi("POST", "/sessions", {
            userId: "frank",
            userAgent:
              "Mozilla/5.0 (iPhone; CPU iPhone OS 18_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Mobile/15E148 Safari/604.1",
          })
        ).json();
        const { context, page } = await openConsole(TENANT, { viewport: { width, height: 900 }, colorScheme });
        const kill = page.getByRole("button", { name: /^Kill session/ }).first();
        await kill.waitFor();
        const box = await kill.boundingBox();
        assert.ok(
          box.x >= 0 && box.x + box.width <= width,
          `the Kill button spans ${box.x}-${box.x + box.width} of ${width} px`,
        );
        const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
        assert.ok(scrollWidth <= width, `the page is ${scrollWidth} px wide`);
        const background = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
        assert.equal(background, colorScheme === "dark" ? "rgb(20, 23, 29)" : "rgb(244, 245, 247)");
        await page.locator(".ua-name", { hasText: "Safari on iOS (phone)" }).first().waitFor();
        await shot(page, `console-${width}-${colorScheme}`, { fullPage: false });
        await context.close();
      });
    }
  }
});

describe("webhooks in the console", () => {
  it("adds a webhook (its secret shown once), shows its deliveries, and removes it", async () => {
    const receiver = await startReceiver();
    const admin = await openConsole();
    await showView(admin.page, "Webhooks");
    try {
      await admin.page.getByLabel("Receiver URL").fill(`${receiver.url}/hook`);
      await admin.page.getByRole("button", { name: "Add webhook" }).click();
      // The secret shows once the webhook is added; a failure shows the service's answer.
      await admin.page
        .locator("#webhook-secret-value", { hasText: /^whsec_/ })
        .waitFor()
        .catch(async (error) => {
          const shown = await admin.page.locator("#error").textContent();
          throw new Error(`no webhook was added (the console says: ${JSON.stringify(shown)}): ${error.message}`);
        });
      await admin.page.locator("#status", { hasText: "Added a webhook" }).waitFor();
      const secret = await admin.page.locator("#webhook-secret-value").textContent();
      assert.match(secret, /^whsec_/);
      const row = admin.page.locator("#webhooks tbody tr", { hasText: `${receiver.url}/hook` });
      assert.match(await row.textContent(), /standard-webhooks.*active.*none yet/);
      // An event, delivered: the console shows it after a refresh.
      assert.equal((await adminApi("POST", "/sessions", { userId: "webhook-watcher" })).status, 201);
      await until(() => receiver.received.length > 0, 10_000, "the delivery");
      await admin.page.getByRole("button", { name: "Refresh" }).click();
      await row.locator("td", { hasText: /^204, / }).waitFor();
      await row.getByRole("button", { name: /^Deliveries of/ }).click();
      await admin.page.locator("#deliveries tbody tr", { hasText: "session.created" }).first().waitFor();
      await shot(admin.page, "console-webhooks");
      // A URL the service refuses: its message is shown, nothing is added.
      await admin.page.getByLabel("Receiver URL").fill("https://10.0.0.1/hook");
      await admin.page.getByRole("button", { name: "Add webhook" }).click();
      await admin.page.locator("#error", { hasText: "url must name a public host" }).waitFor();
      assert.equal(await admin.page.locator("#webhooks tbody tr").count(), 1);
      admin.page.once("dialog", (dialog) => dialog.accept());
      await row.getByRole("button", { name: /^Remove webhook/ }).click();
      await admin.page.locator("#webhooks-empty").waitFor({ state: "visible" });
      const { webhooks } = await (await adminApi("GET", "/webhooks")).json();
      assert.deepEqual(webhooks, []);
    } finally {
      await admin.context.close();
      await receiver.stop();
    }
  });
});

describe("the review of 2026-11-30, in Chromium", () => {
  const PADDED = "\u2000__Host-session"; // U+2000 EN QUAD, then the session cookie's name

  it('M1: a planted "\\u2000__Host-session" cookie that Chromium sends first is ignored: the page and its socket stay the victim\'s', async () => {
    const victim = await panelLogin();
    const victimId = (await victim.page.locator("dd code").textContent()).trim();
    const planted = await (await adminApi("POST", "/sessions", { userId: "mallory" })).json();
    const plantedBefore = await (await adminApi("GET", `/sessions/${planted.session.id}`)).json();
    // Not Secure, as plain http or a sibling subdomain may set it: the __Host- rules do not bind
    // this name. Its longer Path makes Chromium send it before the real cookie to /live.
    await victim.context.addCookies([
      { name: PADDED, value: planted.token, domain: "localhost", path: "/live", secure: false, sameSite: "Lax" },
    ]);
    const sent = nextSocketCookie(victim.page);
    await victim.page.reload();
    await victim.page.locator("#live-status", { hasText: "connected" }).waitFor();
    assert.deepEqual(cookieNames(await sent), [PADDED, "__Host-session"], "Chromium sends the planted cookie first");
    assert.equal(await victim.page.locator("#user").textContent(), "alice");
    await shot(victim.page, "review-m1-planted-cookie");

    // The socket is the victim's: ending the victim's session reaches this page at once.
    await markDocument(victim.page);
    const sentAt = Date.now();
    assert.equal((await adminApi("DELETE", `/sessions/${victimId}`)).status, 200);
    await loginShownAfter(victim.page, sentAt);
    // And the planted session was not used: alive, and not seen since it was made.
    const plantedAfter = await adminApi("GET", `/sessions/${planted.session.id}`);
    assert.equal(plantedAfter.status, 200);
    assert.equal((await plantedAfter.json()).session.lastSeenAt, plantedBefore.session.lastSeenAt);
    await victim.context.close();
  });

  it("M1: two cookies named exactly __Host-session are no session: the service answers 401", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const { token } = await (await adminApi("POST", "/sessions", { userId: "alice" })).json();
    const { token: other } = await (await adminApi("POST", "/sessions", { userId: "mallory" })).json();
    await context.addCookies([
      {
        name: "__Host-session",
        value: token,
        domain: new URL(servers.serviceUrl).hostname,
        path: "/",
        secure: true,
        httpOnly: true,
        sameSite: "Lax",
      },
    ]);
    await page.goto(`${servers.serviceUrl}/admin/`);
    const validate = () => page.evaluate(async () => (await fetch("/v1/session")).status);
    assert.equal(await validate(), 200);
    // Chromium keeps a partitioned (CHIPS) cookie apart from the unpartitioned one of the same
    // name, even beside an HttpOnly one, and sends both.
    await page.evaluate((value) => {
      // biome-ignore lint/suspicious/noDocumentCookie: the test plants a cookie as a page script would
      document.cookie = `__Host-session=${value}; Path=/; Secure; Partitioned`;
    }, other);
    const cookie = page
      .waitForRequest((request) => request.url().endsWith("/v1/session"))
      .then((request) => request.headerValue("cookie"));
    assert.equal(await validate(), 401);
    assert.deepEqual(cookieNames(await cookie), ["__Host-session", "__Host-session"]);
    await context.close();
  });

  it('I5: the console\'s tenant field checks its pattern in Chromium: "Bad!" mismatches, "acme-1" fits', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${servers.serviceUrl}/admin/`);
    const tenant = page.getByLabel("Tenant", { exact: true });
    const mismatches = async (value) => {
      await tenant.fill(value);
      return tenant.evaluate((input) => input.validity.patternMismatch);
    };
    assert.equal(await mismatches("Bad!"), true);
    assert.equal(await mismatches("acme-1"), false);
    await context.close();
  });
});

describe("tenant keys and the tenant switcher in the console", () => {
  const OTHER = "acme";

  /** A call to the service's API at `path` (from /v1 on), as the platform admin. */
  function platformApi(method, path, body) {
    return fetch(`${servers.serviceUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
      body: body && JSON.stringify(body),
    });
  }

  /** Waits until the console has finished loading: no "…" in the status line, and no error. */
  async function loaded(page) {
    await page.waitForFunction(() => !document.getElementById("status").textContent.endsWith("…"));
    assert.equal(
      await page.locator("#error").isHidden(),
      true,
      `the console shows ${await page.locator("#error").textContent()}`,
    );
  }

  it("signs in to the console with a tenant key: the tenant is filled in from the key, and no tenant switcher is shown", async () => {
    const minted = await platformApi("POST", `/v1/tenants/${TENANT}/keys`);
    assert.equal(minted.status, 201);
    const { key } = await minted.json();
    assert.match(key, new RegExp(`^tk2\\.${TENANT}\\.[A-Za-z0-9_-]{16}\\.[A-Za-z0-9_-]{43}\\.[^.]+\\.[^.]+$`));

    const context = await browser.newContext();
    const page = await context.newPage();
    const listings = [];
    page.on("request", (request) => {
      if (new URL(request.url()).pathname === "/v1/tenants") listings.push(request.url());
    });
    await page.goto(`${servers.serviceUrl}/admin/`);
    await page.getByLabel("API key", { exact: true }).fill(key);
    const tenant = page.getByLabel("Tenant", { exact: true });
    assert.equal(await tenant.inputValue(), TENANT, "the tenant is read from the key");
    await tenant.fill("acme");
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page
      .locator("#error", { hasText: `This key belongs to tenant ${TENANT}: it cannot open another.` })
      .waitFor();
    assert.equal(await page.locator("#sign-in").isVisible(), true, "another tenant's name is refused before any call");
    await tenant.fill(TENANT);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("heading", { name: `Tenant ${TENANT}` }).waitFor();
    await loaded(page);
    assert.equal(await page.locator("#who-label").textContent(), `tenant key for ${TENANT}`);
    assert.equal(await page.locator("#switch-tenant").isVisible(), false, "a tenant key sees no tenant switcher");
    assert.equal(await page.locator("#delete-tenant").isVisible(), false, "nor a way to delete the tenant");
    assert.deepEqual(listings, [], "a tenant key does not ask for the list of tenants");
    // The key is in use, not just parsed: the tenant's own data loaded with it.
    assert.notEqual(await page.locator("#count-keys").textContent(), "–");
    await shot(page, "console-tenant-key");
    await context.close();
  });

  it("switches tenants from the list as the platform admin", async () => {
    const put = await platformApi("PUT", `/v1/tenants/${OTHER}`, {});
    assert.equal(put.status, 201);
    const created = await platformApi("POST", `/v1/tenants/${OTHER}/sessions`, { userId: "carol" });
    assert.equal(created.status, 201);
    const carol = (await created.json()).session.id;

    const { context, page } = await openConsole();
    await loaded(page);
    assert.equal(await page.locator("#who-label").textContent(), "platform admin");
    const switcher = page.getByLabel("Switch tenant", { exact: true });
    await switcher.waitFor();
    const listed = await (await platformApi("GET", "/v1/tenants")).json();
    const names = listed.tenants.map((entry) => entry.tenant);
    assert.ok(names.includes(OTHER) && names.includes(TENANT));
    assert.deepEqual(await switcher.locator("option").allTextContents(), names, "every tenant, by name");
    assert.equal(await switcher.inputValue(), TENANT, "the open tenant is the one selected");
    await shot(page, "console-tenant-switcher");

    await switcher.selectOption(OTHER);
    await page.getByRole("heading", { name: `Tenant ${OTHER}` }).waitFor();
    const rows = page.locator("#sessions tbody tr");
    await rows.filter({ hasText: "carol" }).first().waitFor();
    await loaded(page);
    assert.equal(await rows.count(), 1, "only the other tenant's one session is listed");
    assert.equal(await rows.first().getAttribute("data-session-id"), carol);
    assert.equal(await switcher.inputValue(), OTHER);
    assert.equal(await page.locator("#count-sessions").textContent(), "1");
    await shot(page, "console-switched-tenant");
    await context.close();
  });
});

// Last in the file: it kills every session of every tenant (and then undoes it).
describe("the platform-wide kill from the console", () => {
  it("asks for the typed phrase, kills every tenant's sessions, and undoes it", async () => {
    const page = await panelLogin();
    const id = (await page.page.locator("dd code").textContent()).trim();
    const { context, page: admin } = await openConsole();
    await showView(admin, "Platform");
    await admin.getByRole("button", { name: "Kill every session of every tenant…" }).click();
    const dialog = admin.getByRole("dialog");
    const confirmButton = dialog.getByRole("button", { name: "Kill every session" });
    await dialog.getByLabel("Type every tenant to confirm").fill("every");
    assert.equal(await confirmButton.isDisabled(), true);
    await dialog.getByLabel("Type every tenant to confirm").fill("every tenant");
    const sentAt = Date.now();
    await confirmButton.click();
    await loginShownAfter(page.page, sentAt);
    await admin
      .locator("#platform-kill-progress", { hasText: /^Killed \d+ session\(s\) of \d+ tenant\(s\)\.$/ })
      .waitFor();
    assert.equal((await adminApi("GET", `/sessions/${id}`)).status, 404);
    await admin.locator("#undo-bar").getByRole("button", { name: "Undo" }).click();
    await admin.locator("#status", { hasText: /^Undone: \d+ session\(s\) restored\./ }).waitFor();
    assert.equal((await adminApi("GET", `/sessions/${id}`)).status, 200);
    await page.context.close();
    await context.close();
  });
});
