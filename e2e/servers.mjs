// Starts the session service and the example admin panel as real `wrangler dev` processes on
// loopback ports (free ones, unless the environment names them), with fresh storage and their own dev registry (so the panel's service
// binding finds this service and no other), and stops them and everything they started.

import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { get as httpsGet } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../scripts/free-port.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

/**
 * The port for one server: from the environment when set (E2E_SERVICE_PORT, E2E_PANEL_PORT,
 * E2E_CONSUMER_PORT; e.g. to reach a server while a test runs), else a free one.
 */
async function portFor(variable) {
  const wanted = process.env[variable];
  if (wanted === undefined || wanted === "") return freePort();
  const port = Number(wanted);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new Error(`${variable} must be a port number, not ${JSON.stringify(wanted)}`);
  return port;
}

async function within(promise, ms, what) {
  let timer;
  const timeout = new Promise(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not start within ${ms} ms`)), ms)),
  );
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The status of a GET, over HTTPS trusting only `ca` (a test's own certificate) when given. */
function statusOf(url, ca) {
  if (!ca) return fetch(url, { redirect: "manual" }).then((response) => response.status);
  return new Promise((resolve, reject) => {
    const request = httpsGet(url, { ca }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on("error", reject);
  });
}

async function waitFor(url, ms, ca) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if ((await statusOf(url, ca)) < 500) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

function startWrangler(args, env, logName, dir) {
  const child = spawn("wrangler", ["dev", ...args], {
    cwd: root,
    env: { ...process.env, ...env, WRANGLER_SEND_METRICS: "false" },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group, so stopping it stops workerd too
  });
  const log = [];
  // wrangler may move to another port if the asked one was taken meanwhile: trust what it says.
  child.ready = new Promise((resolve) => {
    const scan = (chunk) => {
      log.push(String(chunk));
      const match = /Ready on (https?:\/\/[\d.:]+)/.exec(log.join(""));
      if (match) resolve(match[1]);
    };
    child.stdout.on("data", scan);
    child.stderr.on("data", scan);
  });
  child.log = () => `--- ${logName} (${dir}) ---\n${log.join("")}`;
  return child;
}

export const ADMIN_KEY = "e2e-admin-key-0123456789abcdef0123456789abcdef";
const SIGNING_KEYS = "e2e:e2e-signing-secret-0123456789abcdef0123456789";
const KEY_ENCRYPTION_SECRET = "e2e-key-encryption-secret-0123456789abcdef";

/** Stops a wrangler process and everything it started: politely first, then not. */
async function stopProcess(child, signals = ["SIGTERM", "SIGKILL"]) {
  for (const signal of signals) {
    try {
      process.kill(-child.pid, signal);
    } catch {
      // already gone
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Starts the session service with its Durable Object storage in `dir` (kept, so a later start
 * sees the same data), and `vars` (name: value) set besides the secrets. PUBLIC_URL is its own
 * address, as `npm start` sets it. `stop({ hard: true })` kills it at once, as a crash would.
 */
export async function startService(dir, env = {}, vars = {}) {
  const port = await portFor("E2E_SERVICE_PORT");
  const child = startWrangler(
    [
      ...Object.entries({ PUBLIC_URL: `http://127.0.0.1:${port}`, ...vars }).flatMap(([name, value]) => [
        "--var",
        `${name}:${value}`,
      ]),
      "--port",
      String(port),
      "--persist-to",
      join(dir, "service"),
      "--var",
      `ADMIN_API_KEY:${ADMIN_KEY}`,
      "--var",
      `SESSION_SIGNING_KEYS:${SIGNING_KEYS}`,
      "--var",
      `KEY_ENCRYPTION_SECRET:${KEY_ENCRYPTION_SECRET}`,
    ],
    env,
    "session-service",
    dir,
  );
  try {
    const url = await within(child.ready, 60_000, "the session service");
    await waitFor(`${url}/health`, 30_000);
    return { url, child, stop: ({ hard = false } = {}) => stopProcess(child, hard ? ["SIGKILL"] : undefined) };
  } catch (error) {
    console.error(child.log());
    await stopProcess(child);
    throw error;
  }
}

/** Starts the JWT consumer example (examples/jwt-consumer), taking JWTs of `tenant` only, checked against the service at `serviceUrl`. */
export async function startConsumer(dir, env, serviceUrl, tenant) {
  const child = startWrangler(
    [
      ...["-c", "examples/jwt-consumer/wrangler.toml", "--port", String(await portFor("E2E_CONSUMER_PORT"))],
      ...["--var", `JWKS_URL:${serviceUrl}/.well-known/jwks.json`, "--var", `ISSUER:${serviceUrl}/tenants/${tenant}`],
    ],
    env,
    "jwt-consumer",
    dir,
  );
  try {
    const url = await within(child.ready, 60_000, "the JWT consumer");
    await waitFor(`${url}/whoami`, 30_000);
    return { url, log: child.log, stop: () => stopProcess(child) };
  } catch (error) {
    console.error(child.log());
    await stopProcess(child);
    throw error;
  }
}

/**
 * Starts the service, then the example panel bound to it; resolves once both answer.
 * `panelPort` and `panelVars` (its sign-in with an identity provider, say) when a test needs them;
 * `panelTls` (`{ key, cert }`: paths of PEM files) serves the panel over HTTPS; `panelConfig`
 * serves another app in its place (a framework's example).
 */
export async function startServers({
  panelPort,
  panelVars = {},
  panelTls,
  panelConfig = "examples/admin-panel/wrangler.toml",
} = {}) {
  const dir = mkdtempSync(join(tmpdir(), "session-e2e-"));
  const env = { WRANGLER_REGISTRY_PATH: join(dir, "registry") };
  // One after the other: two wrangler processes starting at once can race for the same sockets.
  const service = await startService(dir, env, { WEBHOOKS_ALLOW_LOOPBACK: "true" });
  const panel = startWrangler(
    [
      "-c",
      panelConfig,
      "--ip",
      "127.0.0.1",
      "--port",
      String(panelPort ?? (await portFor("E2E_PANEL_PORT"))),
      "--persist-to",
      join(dir, "panel"),
      ...Object.entries(panelVars).flatMap(([name, value]) => ["--var", `${name}:${value}`]),
      ...(panelTls
        ? ["--local-protocol", "https", "--https-key-path", panelTls.key, "--https-cert-path", panelTls.cert]
        : []),
    ],
    env,
    "admin-panel",
    dir,
  );
  const stop = async () => {
    await Promise.all([stopProcess(panel), service.stop()]);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const panelUrl = await within(panel.ready, 60_000, "the admin panel");
    await waitFor(`${panelUrl}/login`, 30_000, panelTls && readFileSync(panelTls.cert));
    // localhost, not 127.0.0.1: browsers treat it as a secure context, so Secure cookies stick.
    return {
      serviceUrl: service.url,
      panelUrl: panelUrl.replace("127.0.0.1", "localhost"),
      logs: () => service.child.log() + panel.log(),
      stop,
    };
  } catch (error) {
    console.error(service.child.log() + panel.log());
    await stop();
    throw error;
  }
}
