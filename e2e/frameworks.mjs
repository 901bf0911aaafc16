// One e2e suite for every framework's example (examples/<framework>): built with the framework's
// own build, served by `wrangler dev` beside the service, and driven in Chromium. What each
// example must do: sign in, keep its page behind the session, show the login screen within a
// second of a kill, log out the user's other devices, and log out clearing the cookie. Every
// example has the same pages: /login (Username, Password, "Sign in"), / (heading "Dashboard",
// the user's name, "Log out my other devices", "Log out"), and the live socket at /live.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { after, before, describe, it } from "node:test";
import { chromium } from "playwright-core";
import { CHROMIUM, CHROMIUM_FLAGS } from "./chromium.mjs";
import { ADMIN_KEY, startServers } from "./servers.mjs";

/** A test that takes longer has hung: it fails, with its name, rather than waits for ever. */
const TEST_TIMEOUT_MS = 60_000;
const TENANT = "demo";
const COOKIE = "__Host-session";
/** The promise: an open page shows the login screen within this long after the kill is sent. */
const LOGOUT_BUDGET_MS = 1000;
const root = fileURLToPath(new URL("..", import.meta.url));

/** The suite for the example in `examples/<name>`, whose wrangler config is `config` (relative to the repository). */
export function frameworkSuite(name, config) {
  let servers;
  let browser;

  before(async () => {
    execFileSync("npm", ["run", "build", `--workspace=examples/${name}`], { cwd: root, stdio: "ignore" });
    servers = await startServers({ panelConfig: config });
    const put = await admin("PUT", `/v1/tenants/${TENANT}`, {});
    assert.equal(put.status, 201);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS });
  });

  after(async () => {
    await browser?.close();
    await servers?.stop();
  });

  function admin(method, path, body) {
    return fetch(`${servers.serviceUrl}${path}`, {
      method,
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
  }

  /** A fresh browser signed in as alice, on the dashboard with its live socket open. */
  async function signIn() {
    const context = await browser.newContext();
    const page = await context.newPage();
    const socketOpen = new Promise((resolve) => page.on("websocket", (socket) => socket.on("framesent", resolve)));
    await page.goto(`${servers.panelUrl}/login`);
    await page.getByLabel("Username").fill("alice");
    await page.getByLabel("Password").fill("correct horse battery staple");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { name: "Dashboard" }).waitFor();
    assert.match(await page.textContent("body"), /alice/);
    await Promise.race([socketOpen, page.waitForTimeout(5000)]);
    return { context, page };
  }

  /**
   * Waits until `page` shows the login screen, rendered. The URL alone is not enough: it says
   * /login once the redirect is known, before the navigation commits, and closing the context
   * then can leave Chromium never answering the close (seen in about one run in five).
   */
  async function loginScreen(page, options = {}) {
    await page.waitForURL((url) => url.pathname === "/login", options);
    await page.getByRole("button", { name: "Sign in" }).waitFor(options);
  }

  async function sessionIdOf(context) {
    const token = (await context.cookies()).find((cookie) => cookie.name === COOKIE)?.value;
    assert.ok(token, "the session cookie is set");
    const sessions = (await (await admin("GET", `/v1/tenants/${TENANT}/sessions?userId=alice`)).json()).sessions;
    return sessions.find((session) => token.includes(`.${session.id}.`))?.id;
  }

  describe(`the ${name} example`, () => {
    it("keeps its page behind the session, signs in, and shows the login screen within a second of a kill", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const stranger = await browser.newContext();
      const door = await stranger.newPage();
      await door.goto(servers.panelUrl);
      assert.equal(new URL(door.url()).pathname, "/login");
      await stranger.close();

      const { context, page } = await signIn();
      const id = await sessionIdOf(context);
      assert.ok(id, "the service lists the session");
      // The page's socket opens once it has rendered: wait until the service holds it.
      await page.waitForTimeout(300);
      const sentAt = Date.now();
      assert.equal((await admin("DELETE", `/v1/tenants/${TENANT}/sessions/${id}`)).status, 200);
      await loginScreen(page, { timeout: 5000 });
      const elapsed = Date.now() - sentAt;
      assert.ok(elapsed <= LOGOUT_BUDGET_MS, `the login screen came ${elapsed} ms after the kill`);
      await context.close();
    });

    it("logs out the user's other devices, and this one keeps its session", { timeout: TEST_TIMEOUT_MS }, async () => {
      const other = await signIn();
      const mine = await signIn();
      await mine.page.getByRole("button", { name: "Log out my other devices" }).click();
      await loginScreen(other.page, { timeout: 5000 });
      await mine.page.goto(servers.panelUrl);
      await mine.page.getByRole("heading", { name: "Dashboard" }).waitFor();
      await other.context.close();
      await mine.context.close();
    });

    it("refuses a cross-site logout, then logs out, clearing the cookie, and the session is over at the service", {
      timeout: TEST_TIMEOUT_MS,
    }, async () => {
      const { context, page } = await signIn();
      const id = await sessionIdOf(context);
      const token = (await context.cookies()).find((cookie) => cookie.name === COOKIE).value;
      const forged = await fetch(`${servers.panelUrl.replace("localhost", "127.0.0.1")}/logout`, {
        method: "POST",
        headers: { Cookie: `${COOKIE}=${token}`, Origin: "https://evil.example", "Sec-Fetch-Site": "cross-site" },
        redirect: "manual",
      });
      assert.equal(forged.status, 403);
      assert.equal((await admin("GET", `/v1/tenants/${TENANT}/sessions/${id}`)).status, 200, "the session lives on");
      await page.getByRole("button", { name: "Log out", exact: true }).click();
      await loginScreen(page);
      assert.equal(
        (await context.cookies()).find((cookie) => cookie.name === COOKIE),
        undefined,
      );
      assert.equal((await admin("GET", `/v1/tenants/${TENANT}/sessions/${id}`)).status, 404);
      await context.close();
    });
  });
}
