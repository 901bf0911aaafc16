// watchSession, the page's side of the live socket, as built (dist/browser.js), run in Node
// (whose WebSocket is the browser's API) against a real WebSocket server on 127.0.0.1.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
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
  globalThis.location = { protocol: "http:", host: `127.0.0.1:${server.address().port}` };
  globalThis.addEventListener = page.addEventListener.bind(page);
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
  const watch = watchSession({ url: "/live", onStatus: (status) => statuses.push(status), onRevoked: (reason) => revoked.push(reason) });
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

test("a socket replaced by a newer one (1008) is not reopened, and calls nothing back", async () => {
  connections.length = 0;
  const revoked = [];
  const opened = nextConnection();
  watchSession({ url: "/live", onRevoked: (reason) => revoked.push(reason) });
  (await opened).close(1008, "too many sockets");
  await sleep(1500);
  assert.equal(connections.length, 1);
  assert.deepEqual(revoked, []);
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

test("stop() closes the socket and nothing follows", async () => {
  connections.length = 0;
  const revoked = [];
  const opened = nextConnection();
  let connected = false;
  const watch = watchSession({ url: "/live", onStatus: (status) => (connected ||= status === "connected"), onRevoked: (reason) => revoked.push(reason) });
  const socket = await opened;
  await waitFor(() => connected);
  const closed = new Promise((resolve) => socket.on("close", (code) => resolve(code)));
  watch.stop();
  assert.equal(await closed, 1000);
  await sleep(1200);
  assert.equal(connections.length, 1);
  assert.deepEqual(revoked, []);
});
