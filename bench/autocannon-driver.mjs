#!/usr/bin/env node
// The load driver when wrk is not installed: autocannon, taking wrk.lua's scenario arguments
// and printing the same RESULT line, so bench/run.mjs reads either. Latencies are autocannon's
// per-request figures, uncorrected, like wrk.lua's. Node on one core drives less load than wrk,
// so the fastest scenarios may measure the driver: prefer wrk (apt-get install wrk).
// Usage: autocannon-driver.mjs <url> <seconds> <connections> <path> <method> <credential>
//        <values file or -> <admin key or -> <body or ->   (see wrk.lua for the credentials)
import autocannon from "autocannon";
import { readFileSync } from "node:fs";

const [url, seconds, connections, path, method, credential, valuesFile, adminKey, body] = process.argv.slice(2);
const values = valuesFile === "-" ? [] : readFileSync(valuesFile, "utf8").split("\n").filter(Boolean);
let used = 0;

const pick = () => values[Math.floor(Math.random() * values.length)];

function credentialHeaders() {
  switch (credential) {
    case "cookie":
      return { Cookie: `__Host-session=${pick()}` };
    case "bearer":
      return { Authorization: `Bearer ${pick()}` };
    case "bearer-once": // each value once, in order (tokens that die when used)
      return { Authorization: `Bearer ${values[used++ % values.length]}` };
    case "x-id":
      return { "x-id": pick() };
    case "admin":
      return { Authorization: `Bearer ${adminKey}` };
    case "sid":
      return { Cookie: `sid=${pick()}` };
    case "jar": // the whole Cookie header
      return { Cookie: pick() };
    case "binding-once": {
      // "<token> <session id> <proof>", each line once: a device binding's refresh with its proof
      const [token, id, proof] = values[used++ % values.length].split(" ");
      return { Authorization: `Bearer ${token}`, "Sec-Secure-Session-Id": id, "Secure-Session-Response": proof };
    }
    default:
      return {};
  }
}

function setupRequest(request) {
  const user = `user${Math.floor(Math.random() * 1000)}`;
  const headers = credentialHeaders();
  let requestPath = path.replaceAll("{user}", user);
  let requestBody = body === "-" ? undefined : body.replaceAll("{user}", user);
  if (requestBody !== undefined) headers["Content-Type"] = "application/json";
  if (credential === "admin-once") {
    headers.Authorization = `Bearer ${adminKey}`;
    requestPath = requestPath.replaceAll("{value}", values[used++ % values.length]);
  }
  if (credential === "form-once") {
    requestBody = `logout_token=${values[used++ % values.length]}`;
    headers["Content-Type"] = "application/x-www-form-urlencoded";
  }
  return { ...request, method, path: requestPath, headers, body: requestBody };
}

autocannon(
  { url, connections: Number(connections), duration: Number(seconds), requests: [{ setupRequest }] },
  (error, result) => {
    if (error) throw error;
    const statuses = {};
    for (const [status, { count }] of Object.entries(result.statusCodeStats ?? {}))
      if (Number(status) >= 300) statuses[status] = count;
    const us = (ms) => Math.round(ms * 1000);
    const line = {
      requests: result.requests.total,
      durationUs: Math.round(result.duration * 1e6),
      non2xx: result.non2xx,
      socketErrors: result.errors + result.timeouts,
      p50Us: us(result.latency.p50),
      p99Us: us(result.latency.p99),
      p999Us: us(result.latency.p99_9),
      maxUs: us(result.latency.max),
      correctedP99Us: null,
      statuses,
    };
    console.log(`RESULT ${JSON.stringify(line)}`);
  },
);
