#!/usr/bin/env node
// `npm run bench [-- --quick]`: the validate path and its neighbours, measured on workerd itself
// (never through wrangler dev or Miniflare), beside a bare Worker, a bare Worker -> Durable
// Object -> SQLite read, and Express + express-session + connect-redis on a local Redis.
// Server and load tool are pinned to different cores when taskset exists. Each scenario gets
// a warm-up, then several runs; the table shows the median with the min-max range.

import { spawn, spawnSync } from "node:child_process";
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../scripts/free-port.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const benchDir = join(root, "bench");
const quick = process.argv.includes("--quick");
const RUNS = 3;
const WARMUP_S = quick ? 1 : 3;
const RUN_S = quick ? 2 : 8;
const CONNECTIONS = 20;
const SESSIONS = 10_000;
const BIG_TENANT_SESSIONS = 100_000;
const ADMIN_KEY = "bench-admin-key-0123456789abcdef0123456789abcdef";
const SIGNING_KEYS = "bench:bench-signing-secret-0123456789abcdef0123456789";
const SERVER_CORE = 0;
const LOAD_CORE = 1;

const has = (command) => spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
const canPin = has("taskset") && cpus().length >= 2;
const wrkPresent = has("wrk");
const redisPresent = has("redis-server");
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const log = (message) => console.error(`[bench] ${message}`);

function pinned(core, command, args) {
  return canPin ? ["taskset", ["-c", String(core), command, ...args]] : [command, args];
}

const children = new Set();
/**
 * Starts a server pinned to `core`. Its output goes to a file, not a pipe: while wrk runs this
 * process is blocked, and a server writing log lines into a full pipe would stall with it.
 */
function start(core, command, args, env = {}) {
  const [cmd, argv] = pinned(core, command, args);
  const logFile = join(tmpdir(), `session-bench-${command.split("/").pop()}-${Date.now()}.log`);
  const out = openSync(logFile, "w");
  const child = spawn(cmd, argv, { env: { ...process.env, ...env }, stdio: ["ignore", out, out] });
  closeSync(out);
  child.logFile = logFile;
  children.add(child);
  child.on("exit", () => {
    children.delete(child);
    rmSync(logFile, { force: true });
  });
  return child;
}

async function stop(child) {
  if (!child || child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await Promise.race([exited, sleep(3000)]);
  if (child.exitCode === null) child.kill("SIGKILL");
}

process.on("exit", () => {
  for (const child of children) child.kill("SIGKILL");
});

async function waitFor(url, ms = 30_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not come up`);
    await sleep(100);
  }
}

/** CPU seconds a process has used so far (user + system), from /proc. */
function cpuSeconds(pid) {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** The machine's CPU time so far, and how much of it the hypervisor stole (from /proc/stat). */
function machineTicks() {
  try {
    const fields = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return { total: fields.slice(0, 8).reduce((a, b) => a + b, 0), steal: fields[7] ?? 0 };
  } catch {
    return { total: NaN, steal: NaN };
  }
}

/** Runs `count` async jobs with at most `width` at once. */
async function inParallel(count, width, job) {
  const results = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < count) {
        const i = next++;
        results[i] = await job(i);
      }
    }),
  );
  return results;
}

// The servers

function workerdConfig(buildDir, storageDir, ports) {
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .sessionWorker),
    (name = "ceiling", worker = .ceilingWorker),
    (name = "storage", disk = (path = "${storageDir}", writable = true)),
  ],
  sockets = [
    (name = "main", address = "127.0.0.1:${ports.main}", http = (), service = "main"),
    (name = "ceiling", address = "127.0.0.1:${ports.ceiling}", http = (), service = "ceiling"),
  ],
);

const sessionWorker :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed "index.js")],
  compatibilityDate = "2026-10-20",
  durableObjectNamespaces = [(className = "SessionStore", uniqueKey = "session-store", enableSql = true)],
  durableObjectStorage = (localDisk = "storage"),
  bindings = [
    (name = "SESSION_COOKIE_NAME", text = "__Host-session"),
    (name = "ADMIN_API_KEY", text = "${ADMIN_KEY}"),
    (name = "SESSION_SIGNING_KEYS", text = "${SIGNING_KEYS}"),
    (name = "SESSION_STORE", durableObjectNamespace = "SessionStore"),
    (name = "SESSIONS", service = (name = "main", entrypoint = "SessionService")),
  ],
);

const ceilingWorker :Workerd.Worker = (
  modules = [(name = "ceiling.js", esModule = embed "ceiling-worker.js")],
  compatibilityDate = "2026-10-20",
  durableObjectNamespaces = [(className = "Rows", uniqueKey = "ceiling-rows", enableSql = true)],
  durableObjectStorage = (localDisk = "storage"),
  bindings = [(name = "ROWS", durableObjectNamespace = "Rows")],
);
`;
}

function build(buildDir) {
  const result = spawnSync("wrangler", ["deploy", "--dry-run", "--outdir", buildDir], {
    cwd: root,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`build failed:\n${result.stdout}\n${result.stderr}`);
  copyFileSync(join(benchDir, "ceiling-worker.js"), join(buildDir, "ceiling-worker.js"));
}

async function startWorkerd(buildDir, ports) {
  const child = start(SERVER_CORE, join(root, "node_modules/.bin/workerd"), ["serve", join(buildDir, "config.capnp")]);
  await waitFor(`http://127.0.0.1:${ports.main}/health`);
  return child;
}

// Seeding through the real API

async function api(base, method, path, body, key = ADMIN_KEY) {
  const headers = { Authorization: `Bearer ${key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const init = { method, headers, body: body === undefined ? undefined : JSON.stringify(body) };
  // A keep-alive connection the server closed while idle fails on reuse: try again on a new one.
  let response;
  for (let attempt = 1; ; attempt++) {
    try {
      response = await fetch(`${base}${path}`, init);
      break;
    } catch (error) {
      if (attempt === 3) throw error;
    }
  }
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function seedTenant(base, tenant, settings, count) {
  await api(base, "PUT", `/v1/tenants/${tenant}`, settings);
  const issued = await inParallel(count, 32, (i) => api(base, "POST", `/v1/tenants/${tenant}/sessions`, { userId: `user${i % 1000}` }));
  return issued.map((body) => body.token);
}

// Load

function wrk(url, script, seconds) {
  const [cmd, argv] = pinned(LOAD_CORE, "wrk", ["-t1", `-c${CONNECTIONS}`, `-d${seconds}s`, "-s", join(benchDir, "wrk.lua"), url, "--", ...script]);
  const result = spawnSync(cmd, argv, { encoding: "utf8" });
  const line = result.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error(`wrk printed no result:\n${result.stdout}\n${result.stderr}`);
  return JSON.parse(line.slice("RESULT ".length));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/**
 * Warm-up, then RUNS runs; the median run by req/s gives the latencies. `script` is wrk.lua's
 * arguments, or a function of the run (-1 for the warm-up) giving them.
 */
function measure(name, server, base, path, script, { warmupS = WARMUP_S, runS = RUN_S } = {}) {
  const scriptFor = typeof script === "function" ? script : () => script;
  log(`${name}: warm-up ${warmupS}s, ${RUNS} x ${runS}s`);
  wrk(`${base}${path}`, scriptFor(-1), warmupS);
  const runs = [];
  for (let i = 0; i < RUNS; i++) {
    const cpuBefore = cpuSeconds(server.pid);
    const ticksBefore = machineTicks();
    const result = wrk(`${base}${path}`, scriptFor(i), runS);
    const seconds = result.durationUs / 1e6;
    const ticks = machineTicks();
    const cpuUsed = cpuSeconds(server.pid) - cpuBefore;
    runs.push({
      ...result,
      rps: result.requests / seconds,
      cpuPercent: (cpuUsed / seconds) * 100,
      // CPU per request barely moves with steal or load-tool noise: the figure to compare changes by.
      cpuUsPerRequest: (cpuUsed * 1e6) / result.requests,
      stealPercent: ((ticks.steal - ticksBefore.steal) / (ticks.total - ticksBefore.total)) * 100,
    });
  }
  const rps = runs.map((r) => r.rps);
  const middle = [...runs].sort((a, b) => a.rps - b.rps)[Math.floor(runs.length / 2)];
  return {
    name,
    rps: median(rps),
    rpsMin: Math.min(...rps),
    rpsMax: Math.max(...rps),
    cpuPercent: median(runs.map((r) => r.cpuPercent)),
    stealPercent: median(runs.map((r) => r.stealPercent)),
    cpuUsPerRequest: median(runs.map((r) => r.cpuUsPerRequest)),
    p50Ms: middle.p50Us / 1000,
    p99Ms: middle.p99Us / 1000,
    p999Ms: middle.p999Us / 1000,
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
    socketErrors: runs.reduce((n, r) => n + r.socketErrors, 0),
    runs,
  };
}

// The 100,000-session tenant: seeded straight into its SQLite file (as many rows as the API
// would write), then killed through the API. Also gives the bytes each session takes on disk.

function sqliteFiles(storageDir) {
  const dir = join(storageDir, "session-store");
  return readdirSync(dir).filter((f) => f.endsWith(".sqlite")).map((f) => join(dir, f));
}

/** Seeds a tenant through the API; also says which SQLite file holds its store. */
async function seedTenantWithFile(base, storageDir, tenant, settings, count) {
  const before = new Set(sqliteFiles(storageDir));
  const tokens = await seedTenant(base, tenant, settings, count);
  return { tokens, file: sqliteFiles(storageDir).find((f) => !before.has(f)) };
}

/** The default touch interval is 3 minutes: make each session's last write older than that. */
function ageSessions(DatabaseSync, file) {
  const db = new DatabaseSync(file);
  db.exec(`UPDATE sessions SET last_seen_at = last_seen_at - ${(180 + 1) * 1000}`);
  db.close();
}

async function seedBigTenant(base, storageDir, workerd, buildDir, ports, filesToAge) {
  const { file } = await seedTenantWithFile(base, storageDir, "big", {}, 1);
  await stop(workerd);
  const { DatabaseSync } = await import("node:sqlite");
  for (const aged of filesToAge) ageSessions(DatabaseSync, aged);
  const db = new DatabaseSync(file);
  const bytes = () => statSync(file).size;
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const emptyBytes = bytes();
  const template = db.prepare("SELECT secret_hash, created_at FROM sessions LIMIT 1").get();
  const count = BIG_TENANT_SESSIONS - 1;
  db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO sessions (id, user_id, secret_hash, created_at, last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent, data)
     SELECT printf('big%019d', i), 'user' || (i % 1000), ?, ?, ?, ? + 1800000, ? + 604800000, '203.0.113.7', 'Mozilla/5.0 (bench)', '{}' FROM n`,
  ).run(count, template.secret_hash, template.created_at, template.created_at, template.created_at, template.created_at);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const sessionsBytes = bytes();
  db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO events (at, type, actor, session_id, user_id) SELECT ?, 'created', 'admin', printf('big%019d', i), 'user' || (i % 1000) FROM n`,
  ).run(count, template.created_at);
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const withEventsBytes = bytes();
  db.close();
  return {
    workerd: await startWorkerd(buildDir, ports),
    storage: {
      sessions: BIG_TENANT_SESSIONS,
      bytesPerSession: (sessionsBytes - emptyBytes) / count,
      bytesPerSessionWithCreatedEvent: (withEventsBytes - emptyBytes) / count,
    },
  };
}

async function killBigTenant(base) {
  const started = performance.now();
  const body = await api(base, "DELETE", "/v1/tenants/big/sessions");
  return { revoked: body.revoked, ms: performance.now() - started };
}

// The peer

async function measurePeer(results) {
  if (!redisPresent) return log("redis-server is not installed: the express-session rows are skipped (apt-get install redis-server)");
  const redisPort = await freePort();
  const redis = start(SERVER_CORE, "redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]);
  await sleep(300);
  try {
    for (const touch of ["0", "1"]) {
      const port = await freePort();
      const server = start(SERVER_CORE, process.execPath, [join(benchDir, "peer/express-server.mjs")], { PORT: String(port), REDIS_PORT: String(redisPort), TOUCH: touch });
      const base = `http://127.0.0.1:${port}`;
      await waitFor(`${base}/session`);
      const cookies = await inParallel(SESSIONS, 32, async (i) => {
        const response = await fetch(`${base}/login/user${i % 1000}`, { method: "POST" });
        return /sid=([^;]+)/.exec(response.headers.get("set-cookie"))[1];
      });
      const file = join(tmpdir(), `bench-sids-${touch}.txt`);
      writeFileSync(file, cookies.join("\n"));
      const name = touch === "1" ? "express-session validate, touch on" : "express-session validate, touch off";
      results.push(measure(name, server, base, "/session", ["/session", "GET", "sid", file, "-", "-"]));
      await stop(server);
    }
  } finally {
    await stop(redis);
  }
}

// Output

function machine() {
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? "unknown", pinned: canPin, node: process.version, date: new Date().toISOString() };
}

function table(results) {
  const find = (name) => results.find((r) => r.name === name);
  const ceiling = find("ceiling: Worker -> DO -> SQLite read");
  const hello = find("ceiling: bare Worker hello");
  const peerOff = find("express-session validate, touch off");
  const peerOn = find("express-session validate, touch on");
  const ratioTo = (row, base) => (row && base ? (row.rps / base.rps).toFixed(2) : "–");
  const peerOf = (row) => (row.name.includes("touch interval") ? peerOn : row.name.startsWith("validate") ? peerOff : null);
  const ceilingOf = (row) => (row.name.startsWith("forged") ? hello : row.name.startsWith("validate") ? ceiling : null);
  const lines = [
    "| scenario | req/s (median, min-max) | server CPU % | CPU µs/req | p50 ms | p99 ms | p99.9 ms | vs ceiling | vs peer | steal % |",
    "|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    lines.push(
      `| ${r.name} | ${Math.round(r.rps)} (${Math.round(r.rpsMin)}-${Math.round(r.rpsMax)}) | ${Math.round(r.cpuPercent)} | ${Math.round(r.cpuUsPerRequest)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.p999Ms.toFixed(2)} | ${ratioTo(r, ceilingOf(r))} | ${ratioTo(r, peerOf(r))} | ${Math.round(r.stealPercent)} |`,
    );
  }
  return lines.join("\n");
}

// Main

async function main() {
  if (!wrkPresent) throw new Error("wrk is not installed (apt-get install wrk): no load generator, no numbers");
  const work = mkdtempSync(join(tmpdir(), "session-bench-"));
  const buildDir = join(work, "build");
  const storageDir = join(work, "storage");
  mkdirSync(storageDir);
  mkdirSync(join(storageDir, "session-store"), { recursive: true });
  mkdirSync(join(storageDir, "ceiling-rows"), { recursive: true });
  log(`building into ${buildDir}`);
  build(buildDir);
  const ports = { main: await freePort(), ceiling: await freePort() };
  writeFileSync(join(buildDir, "config.capnp"), workerdConfig(buildDir, storageDir, ports));
  let workerd = await startWorkerd(buildDir, ports);
  const base = `http://127.0.0.1:${ports.main}`;
  const ceilingBase = `http://127.0.0.1:${ports.ceiling}`;
  const results = [];
  const extra = {};
  try {
    log(`seeding ${SESSIONS} sessions`);
    const tokens = await seedTenant(base, "bench", {}, SESSIONS);
    const tokenFile = join(work, "tokens.txt");
    writeFileSync(tokenFile, tokens.join("\n"));
    const forgedFile = join(work, "forged.txt");
    writeFileSync(forgedFile, tokens.map((t) => t.slice(0, -4) + (t.endsWith("AAAA") ? "BBBB" : "AAAA")).join("\n"));
    await fetch(`${ceilingBase}/seed?n=${SESSIONS}`, { method: "POST" });
    const idFile = join(work, "ids.txt");
    writeFileSync(idFile, Array.from({ length: SESSIONS }, (_, i) => `row${String(i + 1).padStart(19, "0")}`).join("\n"));

    results.push(measure("ceiling: bare Worker hello", workerd, ceilingBase, "/hello", ["/hello", "GET", "none", "-", "-", "-"]));
    results.push(measure("ceiling: Worker -> DO -> SQLite read", workerd, ceilingBase, "/read", ["/read", "GET", "x-id", idFile, "-", "-"]));
    results.push(measure("validate (cookie, read path)", workerd, base, "/v1/session", ["/v1/session", "GET", "cookie", tokenFile, "-", "-"]));
    results.push(measure("forged token (no DO call)", workerd, base, "/v1/session", ["/v1/session", "GET", "cookie", forgedFile, "-", "-"]));

    if (!quick) {
      log("seeding the write-every-time tenant");
      const touch0File = join(work, "touch0.txt");
      writeFileSync(touch0File, (await seedTenant(base, "touch0", { touchIntervalSeconds: 0 }, SESSIONS)).join("\n"));
      results.push(measure("validate, touch interval 0 (write every time)", workerd, base, "/v1/session", ["/v1/session", "GET", "cookie", touch0File, "-", "-"]));
      results.push(measure("create", workerd, base, "/v1/tenants/bench/sessions", ["/v1/tenants/bench/sessions", "POST", "admin", "-", ADMIN_KEY, '{"userId":"{user}"}']));
      results.push(measure("list a page of 100", workerd, base, "/v1/tenants/bench/sessions?limit=100", ["/v1/tenants/bench/sessions?limit=100", "GET", "admin", "-", ADMIN_KEY, "-"]));
      // A token rotates once: each run gets its own slice of tokens, each used once, in order.
      const slices = [-1, 0, 1, 2].map((run) => {
        const file = join(work, `rotate${run}.txt`);
        writeFileSync(file, tokens.slice((run + 1) * 2500, (run + 2) * 2500).join("\n"));
        return file;
      });
      results.push(
        measure("rotate", workerd, base, "/v1/session/rotate", (run) => ["/v1/session/rotate", "POST", "bearer-once", slices[run + 1], "-", "-"], { warmupS: 1, runS: 2 }),
      );
      results.push(measure("kill-user", workerd, base, "/v1/tenants/bench/users/{user}/sessions", ["/v1/tenants/bench/users/{user}/sessions", "DELETE", "admin", "-", ADMIN_KEY, "-"]));
      log("seeding the sliding tenant (default settings)");
      const slide = await seedTenantWithFile(base, storageDir, "slide", {}, SESSIONS);
      const slideFile = join(work, "slide.txt");
      writeFileSync(slideFile, slide.tokens.join("\n"));
      log(`seeding a tenant of ${BIG_TENANT_SESSIONS} sessions; making every sliding session due a touch`);
      const big = await seedBigTenant(base, storageDir, workerd, buildDir, ports, [slide.file]);
      workerd = big.workerd;
      extra.storage = big.storage;
      // Each session's first validate writes its touch (10,000 writes in all); later ones read.
      results.push(measure("validate, sliding at the default touch interval", workerd, base, "/v1/session", ["/v1/session", "GET", "cookie", slideFile, "-", "-"]));
      extra.killTenant = await killBigTenant(base);
    }
    await stop(workerd);
    if (!quick) await measurePeer(results);
  } finally {
    await stop(workerd);
    rmSync(work, { recursive: true, force: true });
  }

  const report = { machine: machine(), quick, connections: CONNECTIONS, warmupSeconds: WARMUP_S, runSeconds: RUN_S, runs: RUNS, results, ...extra };
  mkdirSync(join(benchDir, "results"), { recursive: true });
  writeFileSync(join(benchDir, "results", quick ? "quick.json" : "latest.json"), JSON.stringify(report, null, 2));
  const m = report.machine;
  console.log(`\nMachine: ${m.cores} cores, ${m.cpu}; server on core ${SERVER_CORE}, wrk on core ${LOAD_CORE}${m.pinned ? "" : " (not pinned: no taskset)"}; ${m.date}`);
  console.log(`wrk -t1 -c${CONNECTIONS}; warm-up ${WARMUP_S}s, ${RUNS} runs of ${RUN_S}s each\n`);
  console.log(table(results));
  const steal = Math.max(...results.map((r) => r.stealPercent));
  if (steal > 5) console.log(`\nwarning: the hypervisor stole up to ${Math.round(steal)}% of this machine's CPU during the runs; these figures understate it.`);
  for (const r of results) if (r.non2xx > 0 && !r.name.startsWith("forged")) console.log(`note: ${r.name}: ${r.non2xx} non-2xx answers`);
  if (extra.killTenant) console.log(`\nkill-tenant of ${BIG_TENANT_SESSIONS} sessions: ${extra.killTenant.ms.toFixed(1)} ms for the call (revoked ${extra.killTenant.revoked})`);
  if (extra.storage) {
    console.log(`storage: ${extra.storage.bytesPerSession.toFixed(0)} bytes per session on disk, indexes included; ${extra.storage.bytesPerSessionWithCreatedEvent.toFixed(0)} with its "created" audit event`);
  }
}

await main();
