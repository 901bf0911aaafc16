// watchSession, the page's side of the live socket, as built (dist/browser.js), run in Node
// (whose WebSocket is the browser's API) against a real WebSocket server on 127.0.0.1.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { WebSocketServer } from "ws";
import { watchSession } from "../dist/browser.js";

let server;
/** Each connection the server accepts, in order. */
const connections = [];
/** When each upgrade was asked for, accepted or not; and how many of the next to refuse. */
const attempts = [];
let refuseNext = 0;
let onConnection = () => {};

before(async () => {
  server = new WebSocketServer({
    host: "127.0.0.1",
    port: 0,
    verifyClient: (_info, accept) => {
      attempts.push(Date.now());
      if (refuseNext > 0) {
        refuseNext -= 1;
        return accept(false, 503);
      }
      accept(true);
    },
  });
  server.on("connection", (socket) => {
    connections.push({ socket, at: Date.now() });
    onConnection(socket);
  });
  await new Promise((resolve) => server.on("listening", resolve));
  // What the watcher reads of the page: its location, and its window's events.
  const page = new EventTarget();
  globalThis.location = {
    protocol: "http:",
    host: `127.0.0.1:${server.address().port}`,
    assigned: [],
    assign: (to) => location.assigned.push(to),
  };
  globalThis.window = page;
  globalThis.addEventListener = page.addEventListener.bind(page);
  globalThis.removeEventListener = page.removeEventListener.bind(page);
  globalThis.dispatchPageEvent = (type) => page.dispatchEvent(new Event(type));
});

after(() => {
  for (const client of server.clients) client.terminate();
  server.close();
});

function nextConnection() {
  return new Promise((resolve) => (onConnection = resolve));
}

const REVOKED = (reason) => JSON.stringify({ type: "revoked", reason });
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition, ms = 3000) {
  const until = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > until) throw new Error("timed out waiting");
    await sleep(20);
  }
}

test("reconnects after a drop, backing off while refused, and calls back once on revocation", async () => {
  connections.length = 0;
  attempts.length = 0;
  const statuses = [];
  const revoked = [];
  const first = nextConnection();
  const watch = watchSession({
    url: "/live",
    onStatus: (status) => statuses.push(status),
    onRevoked: (reason) => revoked.push(reason),
  });
  const opened = await first;
  refuseNext = 2;
  const again = nextConnection();
  opened.terminate(); // a drop: no close frame; then two refused upgrades
  const socket = await again;
  const gaps = attempts.slice(1).map((at, index) => at - attempts[index]);
  // Retries 0.5-1 s, then 1-2 s, then 2-4 s after each failure: doubling, with jitter.
  assert.equal(gaps.length, 3);
  for (const [index, gap] of gaps.entries()) {
    const base = 1000 * 2 ** index;
    assert.ok(gap >= base / 2 - 50 && gap < base + 500, `retry ${index + 1} after ${gap} ms`);
  }
  await waitFor(() => statuses.at(-1) === "connected");
  assert.deepEqual(statuses, ["connected", "reconnecting", "reconnecting", "reconnecting", "connected"]);
  socket.send(REVOKED("revoked"));
  socket.close(4001, "revoked");
  await waitFor(() => revoked.length > 0);
  assert.deepEqual(revoked, ["revoked"]);
  assert.equal(statuses.at(-1), "ended");
  await sleep(1500);
  assert.equal(connections.length, 2, "no reconnection after the session ended");
  assert.deepEqual(revoked, ["revoked"]);
  watch.stop();
});

test("a socket replaced by a newer one (1008) is not reopened, says so, and calls nothing back", async () => {
  connections.length = 0;
  const revoked = [];
  const statuses = [];
  const opened = nextConnection();
  watchSession({
    url: "/live",
    onStatus: (status) => statuses.push(status),
    onRevoked: (reason) => revoked.push(reason),
  });
  (await opened).close(1008, "too many sockets");
  await sleep(1500);
  assert.equal(connections.length, 1);
  assert.deepEqual(revoked, []);
  assert.equal(statuses.at(-1), "replaced");
});

test("while the page is navigating away, the callback waits for it (a logout's answer must land first)", async () => {
  const revoked = [];
  const opened = nextConnection();
  watchSession({ url: "/live", onRevoked: (reason) => revoked.push({ reason, at: Date.now() }), unloadGraceMs: 800 });
  const socket = await opened;
  dispatchPageEvent("beforeunload");
  const sentAt = Date.now();
  socket.send(REVOKED("logout"));
  await sleep(400);
  assert.deepEqual(revoked, [], "called back while the page was leaving");
  await sleep(700);
  assert.equal(revoked.length, 1);
  assert.equal(revoked[0].reason, "logout");
  assert.ok(revoked[0].at - sentAt >= 750);
  dispatchPageEvent("pageshow");
});

test("stop() during the grace cancels the callback that was waiting", async () => {
  const revoked = [];
  const opened = nextConnection();
  const watch = watchSession({ url: "/live", onRevoked: (reason) => revoked.push(reason), unloadGraceMs: 500 });
  const socket = await opened;
  dispatchPageEvent("beforeunload");
  socket.send(REVOKED("logout"));
  await sleep(200);
  watch.stop();
  await sleep(600);
  assert.deepEqual(revoked, []);
  dispatchPageEvent("pageshow");
});

test("a navigation that did not happen delays a later revocation only within its grace", async () => {
  const revoked = [];
  const opened = nextConnection();
  watchSession({ url: "/live", onRevoked: (reason) => revoked.push(reason), unloadGraceMs: 400 });
  const socket = await opened;
  dispatchPageEvent("beforeunload"); // e.g. a download, or a form answered 204: the page stays
  await sleep(600);
  socket.send(REVOKED("revoked"));
  await sleep(150);
  assert.deepEqual(revoked, ["revoked"]);
});

test("stop() closes the socket and nothing follows", async () => {
  connections.length = 0;
  const revoked = [];
  const opened = nextConnection();
  let connected = false;
  const watch = watchSession({
    url: "/live",
    onStatus: (status) => (connected ||= status === "connected"),
    onRevoked: (reason) => revoked.push(reason),
  });
  const socket = await opened;
  await waitFor(() => connected);
  const closed = new Promise((resolve) => socket.on("close", (code) => resolve(code)));
  watch.stop();
  assert.equal(await closed, 1000);
  await sleep(1200);
  assert.equal(connections.length, 1);
  assert.deepEqual(revoked, []);
});

// The script form, as a consumer's deployment builds it: bundled and minified with function
// names kept (wrangler's default), then run as a page would run it.
test("watchSessionScript, bundled and minified as wrangler deploy --minify does, still hears a revocation and redirects", async () => {
  const dir = mkdtempSync(join(tmpdir(), "client-bundle-"));
  try {
    const outfile = join(dir, "bundle.mjs");
    await build({
      entryPoints: [new URL("../dist/index.js", import.meta.url).pathname],
      bundle: true,
      minify: true,
      keepNames: true,
      format: "esm",
      platform: "neutral",
      outfile,
      logLevel: "silent",
    });
    const { watchSessionScript } = await import(outfile);
    const events = [];
    window.addEventListener("session-revoked", (event) => events.push(event.detail.reason));
    location.assigned.length = 0;
    const opened = nextConnection();
    new Function(watchSessionScript({ url: "/live", redirectTo: "/login" }))();
    const socket = await opened;
    socket.send(REVOKED("revoked"));
    await waitFor(() => location.assigned.length > 0);
    assert.deepEqual(events, ["revoked"]);
    assert.deepEqual(location.assigned, ["/login"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("watchSessionScript refuses a redirect that is not a path of the site", async () => {
  const { watchSessionScript } = await import("../dist/index.js");
  for (const redirectTo of [
    "javascript:alert(1)",
    "https://evil.example/",
    "//evil.example/",
    "/\\evil.example",
    "login",
  ]) {
    assert.throws(() => watchSessionScript({ redirectTo }), TypeError, redirectTo);
  }
  assert.match(watchSessionScript({ redirectTo: "/login?next=</script>" }), /\\u003c\/script>/);
});

// Review finding F5: a redirect that looks like a path but leaves the site once the browser
// drops tabs and newlines from it ("/\t/evil.example" is "//evil.example").
test("F5: watchSessionScript refuses a redirect that a browser reads as another host once it drops tabs and newlines", async () => {
  const { watchSessionScript } = await import("../dist/index.js");
  const base = "https://app.example";
  assert.equal(new URL("/\t/evil.example", base).host, "evil.example", "the URL parser drops the tab");
  const refused = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/\t\\evil.example",
    "/\u0000/evil.example",
    "/login\u001b",
    "/login\u007f",
  ];
  for (const redirectTo of refused)
    assert.throws(() => watchSessionScript({ redirectTo }), TypeError, JSON.stringify(redirectTo));
  const taken = ["/login", "/login?next=/a//b", "/a/../login", "/a\\b", "/%09/x", "/caf\u00e9"];
  for (const redirectTo of taken) {
    assert.equal(new URL(redirectTo, base).origin, base);
    assert.doesNotThrow(() => watchSessionScript({ redirectTo }), JSON.stringify(redirectTo));
  }
  // The package's one check of a redirect target, which watchSessionScript calls.
  const { isSitePath } = await import("../dist/site-path.js");
  assert.deepEqual(
    [...refused.map(isSitePath), ...taken.map(isSitePath)],
    [...refused.map(() => false), ...taken.map(() => true)],
  );
});
