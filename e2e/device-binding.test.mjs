// Device Bound Session Credentials in real Chromium, against the example panel served over
// HTTPS (a certificate made here, pinned by the browser) and the service behind it: the browser
// registers the session with a key it keeps, refreshes the short-lived bound cookie when it is
// gone (for a navigation and for a fetch), and a copy of the session cookie in another browser
// opens nothing, and is recorded as a violation once the bound cookie's life has passed.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash, X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium } from "playwright-core";
import { CHROMIUM } from "./chromium.mjs";
import { until } from "./receiver.mjs";
import { ADMIN_KEY, startServers } from "./servers.mjs";

const TENANT = "bound";
const SESSION_COOKIE = "__Host-session";
const BOUND_COOKIE = `${SESSION_COOKIE}-bound`;
/** The shortest bound cookie a tenant may ask: the test waits it out once. */
const BOUND_COOKIE_SECONDS = 60;

let certDir;
let servers;
let browser;

/** A self-signed certificate for localhost, and its SubjectPublicKeyInfo's SHA-256, which Chromium pins. */
function makeCertificate(dir) {
  const key = join(dir, "key.pem");
  const cert = join(dir, "cert.pem");
  execFileSync(
    "openssl",
    [
      ...["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ...["-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost"],
      ...["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
    ],
    { stdio: "ignore" },
  );
  const spki = new X509Certificate(readFileSync(cert)).publicKey.export({ type: "spki", format: "der" });
  return { key, cert, pin: createHash("sha256").update(spki).digest("base64") };
}

function admin(method, path, body) {
  return fetch(`${servers.serviceUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
    ...(body !== undefined && { body: JSON.stringify(body) }),
  });
}

async function sessionsOf(userId) {
  const response = await admin("GET", `/v1/tenants/${TENANT}/sessions?userId=${userId}`);
  assert.equal(response.status, 200);
  return (await response.json()).sessions;
}

async function eventsOf(type) {
  const { events } = await (await admin("GET", `/v1/tenants/${TENANT}/events?limit=200`)).json();
  return events.filter((event) => event.type === type);
}

before(async () => {
  certDir = mkdtempSync(join(tmpdir(), "session-dbsc-"));
  const tls = makeCertificate(certDir);
  servers = await startServers({ panelTls: tls, panelVars: { TENANT } });
  const put = await admin("PUT", `/v1/tenants/${TENANT}`, {
    deviceBinding: "offer",
    boundCookieSeconds: BOUND_COOKIE_SECONDS,
    bindingGraceSeconds: 0,
  });
  assert.equal(put.status, 201);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      ...["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-quic", "--disable-background-networking"],
      `--ignore-certificate-errors-spki-list=${tls.pin}`,
      "--enable-features=DeviceBoundSessions:RefreshQuota/false,EnableBoundSessionCredentialsSoftwareKeysForManualTesting",
    ],
  });
});

after(async () => {
  await browser?.close();
  await servers?.stop();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

/** A browser context signed in as `username`, on the dashboard with its live socket open, and the DBSC events it saw. */
const PASSWORDS = { alice: "correct horse battery staple", bob: "hunter2-but-longer" };

async function signIn(username) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const events = [];
  cdp.on("Network.deviceBoundSessionEventOccurred", (event) => events.push(event));
  await cdp.send("Network.enable");
  await cdp.send("Network.enableDeviceBoundSessions", { enable: true });
  await page.goto(`${servers.panelUrl}/login`);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORDS[username]);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Dashboard" }).waitFor();
  await page.locator("#live-status", { hasText: "connected" }).waitFor();
  return { context, page, events };
}

async function cookieOf(context, name) {
  return (await context.cookies()).find((cookie) => cookie.name === name)?.value ?? null;
}

/** Waits until the context holds a bound cookie: the browser registered, or refreshed one it lost. */
async function boundCookieOf(context) {
  await until(async () => (await cookieOf(context, BOUND_COOKIE)) !== null, 10_000, "a bound cookie");
  return cookieOf(context, BOUND_COOKIE);
}

/** What a copy of the session cookie gets in a browser without the key: the panel's login page. */
async function thiefTries(sessionToken, boundCookie) {
  const context = await browser.newContext();
  const cookies = [{ name: SESSION_COOKIE, value: sessionToken }];
  if (boundCookie !== null) cookies.push({ name: BOUND_COOKIE, value: boundCookie });
  await context.addCookies(
    cookies.map((cookie) => ({ ...cookie, url: servers.panelUrl, secure: true, httpOnly: true, sameSite: "Lax" })),
  );
  const page = await context.newPage();
  await page.goto(servers.panelUrl);
  const url = page.url();
  await context.close();
  return url;
}

/** The console lists the user's session as bound, with when it last proved its key. */
async function consoleShowsBound(userId) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  await page.goto(`${servers.serviceUrl}/admin/`);
  await page.getByLabel("API key", { exact: true }).fill(ADMIN_KEY);
  await page.getByLabel("Tenant", { exact: true }).fill(TENANT);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  const row = page.locator("#sessions tbody tr", { hasText: userId });
  await row.waitFor();
  assert.match(await row.textContent(), /bound · proved/);
  await page.screenshot({
    path: new URL("./screenshots/console-device-binding.png", import.meta.url).pathname,
    fullPage: true,
  });
  await context.close();
}

/** Chromium's refreshes that held a request until the bound cookie came back (not the proactive ones). */
function heldRefreshes(events) {
  return events.filter((event) => event.succeeded && event.refreshEventDetails?.wasFullyProactiveRefresh === false);
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

describe("device-bound sessions in Chromium", () => {
  it("registers, refreshes when the bound cookie is gone, and a copied cookie opens nothing (1 shard)", async () => {
    const signedInAt = Date.now();
    const { context, page, events } = await signIn("alice");
    await boundCookieOf(context);
    const [session] = await sessionsOf("alice");
    assert.equal(session.bound, true);
    assert.ok(session.lastProofAt);
    assert.ok(
      events.some((event) => event.succeeded && event.creationEventDetails),
      "Chromium made its session",
    );
    assert.equal((await eventsOf("bound")).length, 1);

    // The bound cookie gone: a fetch is held until the browser proved it holds the key.
    await context.clearCookies({ name: BOUND_COOKIE });
    const fetched = await page.evaluate(async () => {
      const response = await fetch("/");
      return { url: response.url, text: await response.text() };
    });
    assert.equal(fetched.url, `${servers.panelUrl}/`);
    assert.match(fetched.text, /Dashboard/);
    await boundCookieOf(context);
    assert.equal(heldRefreshes(events).length, 1);
    await consoleShowsBound("alice");

    // Past the registration's moment, the session cookie alone opens nothing, in another browser.
    await sleep(Math.max(0, signedInAt + 11_000 - Date.now()));
    const token = await cookieOf(context, SESSION_COOKIE);
    assert.equal(await thiefTries(token, null), `${servers.panelUrl}/login`);
    assert.equal(
      (await eventsOf("binding_violation")).length,
      0,
      "within the bound cookie's life: it may be refreshing",
    );

    // The bound cookie's life passes with no request: the copy of the whole jar is worthless, and
    // a violation; the browser with the key refreshes before its navigation.
    const bound = await cookieOf(context, BOUND_COOKIE);
    const provedAt = Date.parse((await sessionsOf("alice"))[0].lastProofAt);
    await sleep(provedAt + (BOUND_COOKIE_SECONDS + 2) * 1000 - Date.now());
    assert.equal(await thiefTries(token, bound), `${servers.panelUrl}/login`, "an expired bound cookie opens nothing");
    await until(async () => (await eventsOf("binding_violation")).length === 1, 5000, "the violation");
    await page.goto(servers.panelUrl);
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    assert.equal(heldRefreshes(events).length, 2);
    assert.ok(Date.parse((await sessionsOf("alice"))[0].lastProofAt) > provedAt);
    await context.close();
  });

  it("does the same on 16 shards, its live socket hears a kill, and the next refresh drops the bound session", async () => {
    assert.equal((await admin("PUT", `/v1/tenants/${TENANT}`, { shards: 16 })).status, 200);
    const { context, page, events } = await signIn("bob");
    await boundCookieOf(context);
    const [session] = await sessionsOf("bob");
    assert.equal(session.bound, true);
    assert.notEqual(session.id, undefined);

    await context.clearCookies({ name: BOUND_COOKIE });
    await page.goto(servers.panelUrl);
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    await boundCookieOf(context);
    assert.equal(heldRefreshes(events).length, 1);
    await page.locator("#live-status", { hasText: "connected" }).waitFor();

    assert.equal((await admin("DELETE", `/v1/tenants/${TENANT}/sessions/${session.id}`)).status, 200);
    await page.getByRole("heading", { name: "Sign in" }).waitFor({ timeout: 2000 });

    // The browser still holds its bound session: its next refresh is told to drop it.
    await context.clearCookies({ name: BOUND_COOKIE });
    await page.goto(servers.panelUrl);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await until(
      () => events.some((event) => event.terminationEventDetails?.deletionReason === "ServerRequested"),
      5000,
      "Chromium dropping its bound session",
    );
    await context.close();
  });
});
