// A webhook receiver for the e2e suite: a real Node HTTP server on a free loopback port that
// records every request (headers and body) and answers as the test says: `answer(request)`
// returns { status, headers? }, or "hang" to never answer. `stop()` closes it and every
// connection it holds.

import { createServer } from "node:http";
import { freePort } from "../scripts/free-port.mjs";

export async function startReceiver(port) {
  const received = [];
  const sockets = new Set();
  const receiver = {
    received,
    /** Decides each answer; the default takes everything. */
    answer: () => ({ status: 204 }),
    url: "",
    port: 0,
    stop: async () => {},
  };
  const server = createServer((request, response) => {
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const entry = {
        method: request.method,
        path: request.url,
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
      };
      const answer = receiver.answer(entry);
      entry.status = answer === "hang" ? null : answer.status;
      received.push(entry);
      if (answer === "hang") return;
      response.writeHead(answer.status, answer.headers ?? {});
      response.end();
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  receiver.port = port ?? (await freePort());
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(receiver.port, "127.0.0.1", resolve);
  });
  receiver.url = `http://127.0.0.1:${receiver.port}`;
  receiver.stop = () =>
    new Promise((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return receiver;
}

/** Waits until `check()` is true, polling; fails after `ms` with `what` in the message. */
export async function until(check, ms, what) {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
