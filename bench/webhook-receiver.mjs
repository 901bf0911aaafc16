// The bench's webhook receiver, a process of its own (the bench blocks while wrk runs): answers
// every POST with 204 and notes when each event arrived, by its killId. `GET /arrivals` answers
// { count, arrivals: { killId: epoch ms } } (fractional: performance.timeOrigin + now()).
// Usage: node bench/webhook-receiver.mjs PORT

import { createServer } from "node:http";

const arrivals = {};
let count = 0;
const server = createServer((request, response) => {
  if (request.method === "GET") {
    response.writeHead(200, { "Content-Type": "application/json" });
    response.end(JSON.stringify({ count, arrivals }));
    return;
  }
  const chunks = [];
  request.on("data", (chunk) => chunks.push(chunk));
  request.on("end", () => {
    const at = performance.timeOrigin + performance.now();
    count++;
    const killId = JSON.parse(Buffer.concat(chunks).toString("utf8")).data?.killId;
    if (killId) arrivals[killId] ??= at;
    response.writeHead(204);
    response.end();
  });
});
server.listen(Number(process.argv[2]), "127.0.0.1");
for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => server.close(() => process.exit(0)));
