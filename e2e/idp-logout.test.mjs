// End to end with a real OpenID provider: `oidc-provider` (OpenID Certified, from npm), run in
// this process with back-channel logout toward the service. A user signs in to the example
// panel through the provider; with the dashboard open, the provider's end-session sends a
// logout token to the service, and the open page shows the login screen within 1 s.

import assert from "node:assert/strict";
import { createServer } from "node:http";
import { mkdirSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import Provider from "oidc-provider";
import { chromium } from "playwright-core";
import { CHROMIUM } from "./chromium.mjs";
import { freePort } from "../scripts/free-port.mjs";
import { ADMIN_KEY, startServers } from "./servers.mjs";

const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic"];
const SHOTS = new URL("./screenshots/", import.meta.url);
const TENANT = "demo";
const CLIENT_ID = "panel";
const CLIENT_SECRET = "e2e-panel-client-secret-0123456789abcdef";
/** The promise: an open page shows the login screen within this long after the provider's logout. */
const LOGOUT_BUDGET_MS = 1000;

let servers;
let browser;
let idp;

async function admin(method, path, body) {
  const response = await fetch(`${servers.serviceUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

before(async () => {
  mkdirSync(SHOTS, { recursive: true });
  const idpPort = await freePort();
  const panelPort = await freePort();
  const issuer = `http://127.0.0.1:${idpPort}`;
  servers = await startServers({
    panelPort,
    panelVars: {
      OIDC_ISSUER: issuer,
      OIDC_CLIENT_ID: CLIENT_ID,
      OIDC_CLIENT_SECRET: CLIENT_SECRET,
      OIDC_PROVIDER: "corp",
    },
  });
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT_ID,
        client_secret: CLIENT_SECRET,
        redirect_uris: [`http://localhost:${panelPort}/oidc/callback`],
        post_logout_redirect_uris: [`http://localhost:${panelPort}/login`],
        backchannel_logout_uri: `${servers.serviceUrl}/v1/tenants/${TENANT}/identity-providers/corp/backchannel-logout`,
        backchannel_logout_session_required: true,
      },
    ],
    features: { backchannelLogout: { enabled: true }, devInteractions: { enabled: true } },
    findAccount: (_ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
    cookies: { keys: ["e2e-oidc-provider-cookie-key-0123456789"] },
    // The provider refuses to call special-use addresses (its SSRF guard), loopback among them;
    // the service is on loopback here, as a webhook receiver is with WEBHOOKS_ALLOW_LOOPBACK.
    fetch: (url, { dispatcher: _guard, ...options }) => fetch(url, options),
  });
  const logouts = [];
  provider.on("backchannel.success", (_ctx, _client, accountId, sid) => logouts.push({ ok: true, accountId, sid }));
  provider.on("backchannel.error", (_ctx, error, _client, accountId, sid) =>
    logouts.push({ ok: false, accountId, sid, message: String(error?.message ?? error) }),
  );
  const server = createServer(provider.callback());
  await new Promise((resolve) => server.listen(idpPort, "127.0.0.1", resolve));
  idp = { issuer, server, logouts };

  assert.equal((await admin("PUT", `/v1/tenants/${TENANT}`, {})).status, 201);
  const registered = await admin("PUT", `/v1/tenants/${TENANT}/identity-providers/corp`, {
    issuer,
    audience: CLIENT_ID,
  });
  assert.equal(registered.status, 201, JSON.stringify(registered.body));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
});

after(async () => {
  await browser?.close();
  await new Promise((resolve) => (idp?.server ? idp.server.close(resolve) : resolve()));
  await servers?.stop();
});

/** Signs in to the panel through the provider's own pages (any login and password: its dev interactions). */
async function signInThroughProvider(page, login) {
  await page.goto(`${servers.panelUrl}/login`);
  await page.getByRole("link", { name: "Sign in with your identity provider" }).click();
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill("any password");
  await page.getByRole("button", { name: /sign-in/i }).click();
  // The consent screen, the first time this client asks.
  const consent = page.getByRole("button", { name: /continue/i });
  if (await consent.isVisible({ timeout: 2000 }).catch(() => false)) await consent.click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await page.locator("#live-status", { hasText: "connected" }).waitFor();
}

describe("back-channel logout from a real OpenID provider", () => {
  it("ends the session the provider started: the open page shows the login screen within 1 s", async (t) => {
    const context = await browser.newContext();
    const dashboard = await context.newPage();
    await signInThroughProvider(dashboard, "alice");
    assert.equal(await dashboard.locator("#user").textContent(), "alice");
    const sessions = await admin("GET", `/v1/tenants/${TENANT}/sessions?userId=alice`);
    assert.equal(sessions.body.sessions.length, 1);
    const linked = sessions.body.sessions[0].idp;
    assert.equal(linked.provider, "corp");
    assert.equal(linked.sub, "alice");
    assert.equal(typeof linked.sid, "string");
    await dashboard.evaluate(() => {
      const wrapper = document.getElementById("login-wrapper");
      new MutationObserver((_, observer) => {
        if (wrapper.hidden) return;
        window.__loginShownAt = Date.now();
        observer.disconnect();
      }).observe(wrapper, { attributes: true, attributeFilter: ["hidden"] });
    });

    // The user signs out at the provider, in another tab: its end-session page, confirmed.
    const provider = await context.newPage();
    await provider.goto(`${idp.issuer}/session/end`);
    const sentAt = Date.now();
    await provider.getByRole("button", { name: /yes, sign me out/i }).click();
    await dashboard.locator("#login-wrapper").waitFor({ state: "visible", timeout: 5000 });
    const shownAt = await dashboard.evaluate(() => window.__loginShownAt);
    const elapsed = shownAt - sentAt;
    await dashboard.screenshot({ path: new URL("idp-logout.png", SHOTS).pathname });
    t.diagnostic(`the provider's logout to the login screen: ${elapsed} ms`);
    assert.ok(elapsed <= LOGOUT_BUDGET_MS, `the login screen took ${elapsed} ms`);
    assert.equal(await dashboard.getByRole("link", { name: "Sign in with your identity provider" }).isVisible(), true);
    assert.deepEqual(
      idp.logouts.map(({ ok, accountId, sid }) => ({ ok, accountId, sid })),
      [{ ok: true, accountId: "alice", sid: linked.sid }],
    );

    // The service's record of it: the session ended by the provider, and the signal.
    const remaining = await admin("GET", `/v1/tenants/${TENANT}/sessions?userId=alice`);
    assert.equal(remaining.body.sessions.length, 0);
    const events = (await admin("GET", `/v1/tenants/${TENANT}/events`)).body.events;
    const revoked = events.find((event) => event.type === "revoked");
    assert.equal(revoked.reason, "idp");
    assert.equal(revoked.actor, "idp:corp");
    assert.equal(events.find((event) => event.type === "signal_received").reason, "backchannel_logout");
    await context.close();
  });

  it("the console lists the provider with the URL to give it, and registers another by discovery", async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(`${servers.serviceUrl}/admin/`);
    await page.getByLabel("API key", { exact: true }).fill(ADMIN_KEY);
    await page.getByLabel("Tenant", { exact: true }).fill(TENANT);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page
      .getByRole("navigation", { name: "Console views" })
      .getByRole("link", { name: "Identity providers" })
      .click();
    const table = page.locator("#identity-providers");
    await table.locator('tr[data-provider-id="corp"]').waitFor();
    assert.match(
      await table.locator('tr[data-provider-id="corp"]').textContent(),
      /\/v1\/tenants\/demo\/identity-providers\/corp\/backchannel-logout/,
    );
    await page.getByLabel("Id", { exact: true }).fill("second");
    await page.getByLabel("Issuer", { exact: true }).fill(idp.issuer);
    await page.getByLabel("Client id there", { exact: true }).fill("other-client");
    await page.getByRole("button", { name: "Save provider" }).click();
    await table.locator('tr[data-provider-id="second"]').waitFor();
    await page.locator("#status", { hasText: "Registered second" }).waitFor();
    await table.scrollIntoViewIfNeeded();
    await page.screenshot({ path: new URL("console-identity-providers.png", SHOTS).pathname, fullPage: true });
    await context.close();
  });
});
