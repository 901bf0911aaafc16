// Starts the session service and the example admin panel as real `wrangler dev` processes on
// free loopback ports, with fresh storage and their own dev registry (so the panel's service
// binding finds this service and no other), and stops them and everything they started.

import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../scripts/free-port.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));

async function within(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not start within ${ms} ms`)), ms)));
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

async function waitFor(url, ms) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      const response = await fetch(url, { redirect: "manual" });
      if (response.status < 500) return;
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
      const match = /Ready on (http:\/\/[\d.:]+)/.exec(log.join(""));
      if (match) resolve(match[1]);
    };
    child.stdout.on("data", scan);
    child.stderr.on("data", scan);
  });
  child.log = () => `--- ${logName} (${dir}) ---\n${log.join("")}`;
  return child;
}

export const ADMIN_KEY = "e2e-admin-key-0123456789abcdef0123456789abcdef";

/** Starts both Workers; resolves once both answer. */
export async function startServers() {
  const dir = mkdtempSync(join(tmpdir(), "session-e2e-"));
  const [servicePort, panelPort] = [await freePort(), await freePort()];
  const env = { WRANGLER_REGISTRY_PATH: join(dir, "registry") };
  // One after the other: two wrangler processes starting at once can race for the same sockets.
  const service = startWrangler(
    ["--port", String(servicePort), "--persist-to", join(dir, "service"),
      "--var", `ADMIN_API_KEY:${ADMIN_KEY}`, "--var", "SESSION_SIGNING_KEYS:e2e:e2e-signing-secret-0123456789abcdef0123456789"],
    env, "session-service", dir,
  );
  let panel = null;
  const stop = async () => {
    for (const signal of ["SIGTERM", "SIGKILL"]) {
      for (const child of [panel, service].filter(Boolean)) {
        try {
          process.kill(-child.pid, signal);
        } catch {
          // already gone
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const logs = () => service.log() + (panel?.log() ?? "");
  try {
    const serviceUrl = await within(service.ready, 60_000, "the session service");
    panel = startWrangler(
      ["-c", "examples/admin-panel/wrangler.toml", "--port", String(panelPort), "--persist-to", join(dir, "panel")],
      env, "admin-panel", dir,
    );
    const panelUrl = await within(panel.ready, 60_000, "the admin panel");
    await waitFor(`${serviceUrl}/health`, 30_000);
    await waitFor(`${panelUrl}/login`, 30_000);
    // localhost, not 127.0.0.1: browsers treat it as a secure context, so Secure cookies stick.
    return { serviceUrl, panelUrl: panelUrl.replace("127.0.0.1", "localhost"), logs, stop };
  } catch (error) {
    console.error(logs());
    await stop();
    throw error;
  }
}
