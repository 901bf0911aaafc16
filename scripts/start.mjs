#!/usr/bin/env node
// `npm start`: serve the Worker locally on 127.0.0.1:8787 with persistent Durable Object
// storage. Secrets missing from .dev.vars get development values, made once, kept in
// .dev.vars (git-ignored) and printed once; PUBLIC_URL is this address unless set. Arguments
// after `--` go to `wrangler dev`.

import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, appendFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const devVars = `${root}.dev.vars`;
const existing = existsSync(devVars) ? readFileSync(devVars, "utf8") : "";
const has = (name) => new RegExp(`^${name}=`, "m").test(existing);
const random = () => randomBytes(32).toString("base64url");

const made = [];
if (!has("ADMIN_API_KEY")) made.push(["ADMIN_API_KEY", `dev-admin-${random()}`]);
if (!has("SESSION_SIGNING_KEYS")) made.push(["SESSION_SIGNING_KEYS", `dev1:${random()}`]);
if (!has("KEY_ENCRYPTION_SECRET")) made.push(["KEY_ENCRYPTION_SECRET", random()]);
if (made.length > 0) {
  const prefix = existing === "" || existing.endsWith("\n") ? "" : "\n";
  appendFileSync(devVars, prefix + made.map(([name, value]) => `${name}=${value}\n`).join(""), { mode: 0o600 });
  console.log("Made development secrets (kept in .dev.vars, shown only this once):");
  for (const [name, value] of made) console.log(`  ${name}=${value}`);
}

// Two settings for local development only, said out loud since a deployment must never use them.
// workerd implements no Durable Object jurisdiction: locally, a tenant created in one is served
// from the plain namespace; and webhooks may go to a receiver on this machine.
console.log(
  "LOCAL_JURISDICTIONS=ignore: tenants with a jurisdiction are served from the plain local namespace (workerd implements none).",
);
console.log("WEBHOOKS_ALLOW_LOOPBACK=true: webhooks may point at http://127.0.0.1:<port> or http://localhost:<port>.");

// Consumer Workers find this one through wrangler's dev registry, which by default every
// checkout on the machine shares: a consumer could silently bind to another checkout's service.
console.log(
  process.env.WRANGLER_REGISTRY_PATH
    ? `Dev registry: ${process.env.WRANGLER_REGISTRY_PATH} (WRANGLER_REGISTRY_PATH): give your Worker's terminal the same.`
    : "Dev registry: the machine's shared one. Another checkout's session-service would be found there too: export WRANGLER_REGISTRY_PATH=<a directory> in both terminals to keep to your own.",
);

// PUBLIC_URL makes each tenant's issuer, `{PUBLIC_URL}/tenants/{tenant}`. The Worker takes a
// loopback request's own origin when it is unset, but CAEP events are signed from alarms, with
// no request: so it is set here to the address wrangler listens on (8787, wrangler.toml's
// [dev] port, or --port), unless .dev.vars or the arguments set it.
const passed = process.argv.slice(2);
const portAt = passed.findIndex((arg) => arg === "--port" || arg.startsWith("--port="));
const port =
  portAt === -1 ? "8787" : passed[portAt].includes("=") ? passed[portAt].slice("--port=".length) : passed[portAt + 1];
if (!/^\d+$/.test(port ?? "")) {
  console.error("--port needs a port number, as in npm start -- --port 9000");
  process.exit(2);
}
const publicUrl =
  has("PUBLIC_URL") || passed.some((arg) => arg.startsWith("PUBLIC_URL:")) ? null : `http://127.0.0.1:${port}`;
if (publicUrl)
  console.log(`PUBLIC_URL=${publicUrl}: tenants' JWTs and CAEP events are issued by ${publicUrl}/tenants/<tenant>.`);

// Local Durable Object storage persists under .wrangler/state (wrangler dev's default).
const args = [
  "dev",
  "--var",
  "LOCAL_JURISDICTIONS:ignore",
  "--var",
  "WEBHOOKS_ALLOW_LOOPBACK:true",
  ...(publicUrl ? ["--var", `PUBLIC_URL:${publicUrl}`] : []),
  ...passed,
];
const child = spawn("wrangler", args, {
  cwd: root,
  stdio: "inherit",
  env: { WRANGLER_SEND_METRICS: "false", ...process.env },
});
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, () => child.kill(signal));
child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
