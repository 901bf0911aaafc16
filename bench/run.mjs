#!/usr/bin/env node
// `npm run bench [-- --quick]`: the validate path and its neighbours, measured on workerd itself
// (never through wrangler dev or Miniflare), beside a bare Worker, a bare Worker -> Durable
// Object -> SQLite read, and Express + express-session + connect-redis on a local Redis; and
// what a JWT is for: the example JWT consumer checking JWTs alone beside a consumer Worker that
// calls validate over RPC.
// Load comes from wrk (bench/wrk.lua), or autocannon where wrk is missing
// (bench/autocannon-driver.mjs). Server and load tool are pinned to different cores when
// taskset exists. Each scenario gets a warm-up, then several runs; the table shows the median
// with the min-max range.

import { spawn, spawnSync } from "node:child_process";
import {
  closeSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { freePort } from "../scripts/free-port.mjs";
import { createLinkedScript, SIGNAL_NAMES, signalScenarios } from "./signals.mjs";
import { BINDING_NAMES, bindingScenarios } from "./binding.mjs";
import { platformReport, platformScenarios } from "./platform.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const benchDir = join(root, "bench");
const quick = process.argv.includes("--quick");
/**
 * `--against REF`: measure this tree's validate, forged, list and create paths, and kill-user and
 * kill-tenant of a 16-shard tenant, round-robin with REF's (an A/B of one change).
 */
const against = process.argv.includes("--against") ? process.argv[process.argv.indexOf("--against") + 1] : null;
/**
 * `--only a,b`: with `--against`, only these scenarios (keys of NAMES: validate, validateRequired,
 * forged, list, list16, create, killUser16, killTenant16), and only the seeding they need: more
 * rounds for one question.
 */
const ONLY = process.argv.includes("--only")
  ? new Set(process.argv[process.argv.indexOf("--only") + 1].split(","))
  : null;
/**
 * `--profile a,b`: no table; V8 CPU profiles of these scenarios (validate, validateRequired,
 * forged, validateBearer, mint, list, list16; the floors hello and ceiling run in another isolate,
 * which the inspector does not see), taken through workerd's inspector while wrk
 * drives each, summed by function (self time, and time inside each function's calls) and
 * written to bench/results/<scenario>.cpuprofile.
 */
const PROFILE = process.argv.includes("--profile")
  ? process.argv[process.argv.indexOf("--profile") + 1].split(",")
  : null;
/** `--signals`: only the identity providers' scenarios (bench/signals.mjs), with their table and targets. */
const SIGNALS_ONLY = process.argv.includes("--signals");
/** `--binding`: only device binding's scenarios (bench/binding.mjs), with their table and targets. */
const BINDING_ONLY = process.argv.includes("--binding");
/** `--platform`: platform operations at scale alone (bench/platform.mjs): per-id routes, a cold isolate, the 10,000-tenant kill. */
const PLATFORM_ONLY = process.argv.includes("--platform");
/** `--webhooks`: kill-user with and without a webhook, and the webhook's latency, alone. */
const WEBHOOKS_ONLY = process.argv.includes("--webhooks");
/** `--rounds N`: how many round-robin runs each scenario gets (default 3). */
const ROUNDS_ARG = process.argv.includes("--rounds")
  ? Number(process.argv[process.argv.indexOf("--rounds") + 1])
  : null;
const RUNS = ROUNDS_ARG ?? 3;
const WARMUP_S = quick ? 1 : 3;
const RUN_S = quick ? 2 : 8;
const CONNECTIONS = 20;
const SESSIONS = 10_000;
const READ_PATH_SETTINGS = { idleTimeoutSeconds: 24 * 3600, touchIntervalSeconds: 3600 };
const BIG_TENANT_SESSIONS = 100_000;
/** Kill-tenant is one call per tenant: this many tenants give a median and a range. */
const BIG_TENANTS = 3;
/** The sharded tenant the sharded scenarios use, and the sharded kill-tenant: 16 shards of 25,000. */
const SHARDS = 16;
const BIG_SHARD_SESSIONS = 25_000;
/** The audience of the JWTs the bench mints. */
const JWT_AUDIENCE = "https://api.example.com";
/** The platform-wide kill reaches this many small tenants (and every other tenant of the run). */
const PLATFORM_TENANTS = 200;
const ADMIN_KEY = "bench-admin-key-0123456789abcdef0123456789abcdef";
const SIGNING_KEYS = "bench:bench-signing-secret-0123456789abcdef0123456789";
const SERVER_CORE = 0;
const LOAD_CORE = 1;

/** Scenario names, as the table, the JSON and the target checks know them. */
const NAMES = {
  hello: "ceiling: bare Worker hello",
  refuse: "ceiling: bare Worker answering a forged token's 401 JSON, same headers",
  ceiling: "ceiling: Worker -> DO -> SQLite read",
  validate: "validate (cookie, read path)",
  validateRequired: "validate with a requirement (maxAuthAge, acr)",
  forged: "forged token (no DO call)",
  touch0: "validate, touch interval 0 (write every time)",
  sliding: "validate, sliding at the default touch interval (steady)",
  slidingBurst: "validate, sliding, every session due a touch at once",
  peerOff: "express-session validate, touch off",
  peerOn: "express-session validate, touch on",
  validate16: `validate (cookie, read path), ${16} shards`,
  create: "create",
  create16: `create, ${16} shards`,
  list: "list a page of 100",
  list16: `list a page of 100, ${16} shards (merged)`,
  validateBearer: "validate (bearer), tenant with JWTs",
  mint: "mint a JWT (bearer)",
  consumerJwt: "consumer Worker: a JWT checked alone (jose, cached JWKS)",
  consumerRpc: "consumer Worker: validate over RPC",
  killUser: "kill-user",
  killUserHooked: "kill-user, one webhook",
  killUser16: `kill-user, ${16} shards`,
  killTenant16: `kill-tenant, ${16} shards (a kill every request)`,
  create16Plain: `create, ${16} shards (beside the linked ones)`,
  ...SIGNAL_NAMES,
  ...BINDING_NAMES,
};
/** The JWT consumer example fetches its JWKS from this host, which its outbound counter serves. */
const JWKS_URL = "http://sessions.internal/.well-known/jwks.json";

const has = (command) => spawnSync("sh", ["-c", `command -v ${command}`]).status === 0;
const canPin = has("taskset") && cpus().length >= 2;
// BENCH_LOAD_TOOL=autocannon runs the fallback even where wrk is installed.
const wrkPresent = process.env.BENCH_LOAD_TOOL !== "autocannon" && has("wrk");
const LOAD_TOOL = wrkPresent ? "wrk" : "autocannon";
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

/**
 * The two consumers a JWT is for (served when `ports.jwtConsumer` is set): the example in
 * examples/jwt-consumer, whose only way out is the outbound counter, and bench/rpc-consumer.js,
 * which validates over the service binding instead.
 */
function consumersConfig(ports) {
  if (!ports.jwtConsumer) return { services: "", sockets: "", workers: "" };
  return {
    services: `
    (name = "jwtConsumer", worker = .jwtConsumer),
    (name = "rpcConsumer", worker = .rpcConsumer),
    (name = "outboundCounter", worker = .outboundCounter),`,
    sockets: `
    (name = "jwtConsumer", address = "127.0.0.1:${ports.jwtConsumer}", http = (), service = "jwtConsumer"),
    (name = "rpcConsumer", address = "127.0.0.1:${ports.rpcConsumer}", http = (), service = "rpcConsumer"),
    (name = "outboundCounter", address = "127.0.0.1:${ports.outboundCounter}", http = (), service = "outboundCounter"),`,
    workers: `
const jwtConsumer :Workerd.Worker = (
  modules = [(name = "jwt-consumer.js", esModule = embed "jwt-consumer/index.js")],
  compatibilityDate = "2026-11-17",
  globalOutbound = "outboundCounter",
  bindings = [
    (name = "JWKS_URL", text = "${JWKS_URL}"),
    (name = "ISSUER", text = "http://127.0.0.1:${ports.main}/tenants/benchjwt"),
    (name = "AUDIENCE", text = "${JWT_AUDIENCE}"),
  ],
);

const rpcConsumer :Workerd.Worker = (
  modules = [(name = "rpc-consumer.js", esModule = embed "rpc-consumer.js")],
  compatibilityDate = "2026-11-17",
  bindings = [
    (name = "SESSIONS", service = (name = "main", entrypoint = "SessionService")),
    (name = "TENANT", text = "benchjwt"),
  ],
);

const outboundCounter :Workerd.Worker = (
  modules = [(name = "outbound-counter.js", esModule = embed "outbound-counter.js")],
  compatibilityDate = "2026-11-17",
  bindings = [(name = "SERVICE", service = "main")],
);
`,
  };
}

function workerdConfig(buildDir, storageDir, ports) {
  // Builds from before the tenant directory (an A/B against an older ref) have no such class.
  const source = readFileSync(join(buildDir, "index.js"), "utf8");
  const directory = /\bTenantDirectory = class\b/.test(source);
  const keyRing = /\bKeyRing = class\b/.test(source);
  mkdirSync(join(storageDir, "tenant-directory"), { recursive: true });
  mkdirSync(join(storageDir, "key-ring"), { recursive: true });
  const consumers = consumersConfig(ports);
  return `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .sessionWorker),
    (name = "ceiling", worker = .ceilingWorker),
    (name = "limiter", worker = .limiterWorker),
    (name = "storage", disk = (path = "${storageDir}", writable = true)),
    # The bench's webhook receiver listens on loopback, which workerd's default network refuses.
    (name = "webhooksOut", network = (allow = ["public", "local"])),${consumers.services}
  ],
  sockets = [
    (name = "main", address = "127.0.0.1:${ports.main}", http = (), service = "main"),
    (name = "ceiling", address = "127.0.0.1:${ports.ceiling}", http = (), service = "ceiling"),${consumers.sockets}
  ],
);

const sessionWorker :Workerd.Worker = (
  modules = [(name = "index.js", esModule = embed "index.js")],
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [
    (className = "SessionStore", uniqueKey = "session-store", enableSql = true),${
      directory
        ? `
    (className = "TenantDirectory", uniqueKey = "tenant-directory", enableSql = true),`
        : ""
    }${
      keyRing
        ? `
    (className = "KeyRing", uniqueKey = "key-ring", enableSql = true),`
        : ""
    }
  ],
  durableObjectStorage = (localDisk = "storage"),
  globalOutbound = "webhooksOut",
  bindings = [${
    directory
      ? `
    (name = "TENANT_DIRECTORY", durableObjectNamespace = "TenantDirectory"),`
      : ""
  }${
    keyRing
      ? `
    (name = "KEY_RING", durableObjectNamespace = "KeyRing"),`
      : ""
  }
    (name = "SESSION_COOKIE_NAME", text = "__Host-session"),
    (name = "ADMIN_API_KEY", text = "${ADMIN_KEY}"),
    (name = "SESSION_SIGNING_KEYS", text = "${SIGNING_KEYS}"),
    (name = "KEY_ENCRYPTION_SECRET", text = "bench-key-encryption-secret-0123456789abcdef"),
    (name = "WEBHOOKS_ALLOW_LOOPBACK", text = "true"),
    (name = "PUBLIC_URL", text = "http://127.0.0.1:${ports.main}"),
    (name = "SESSION_STORE", durableObjectNamespace = "SessionStore"),
    (name = "SESSIONS", service = (name = "main", entrypoint = "SessionService")),
    (name = "SIGNAL_LIMITER", service = (name = "limiter", entrypoint = "Limiter")),
  ],
);

const limiterWorker :Workerd.Worker = (
  modules = [(name = "limiter.js", esModule = embed "signal-limiter.js")],
  compatibilityDate = "2026-11-17",
);

const ceilingWorker :Workerd.Worker = (
  modules = [(name = "ceiling.js", esModule = embed "ceiling-worker.js")],
  compatibilityDate = "2026-11-17",
  durableObjectNamespaces = [(className = "Rows", uniqueKey = "ceiling-rows", enableSql = true)],
  durableObjectStorage = (localDisk = "storage"),
  bindings = [(name = "ROWS", durableObjectNamespace = "Rows")],
);
${consumers.workers}`;
}

function build(buildDir, sourceRoot = root) {
  const result = spawnSync("wrangler", ["deploy", "--dry-run", "--outdir", buildDir], {
    cwd: sourceRoot,
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`build failed:\n${result.stdout}\n${result.stderr}`);
  for (const file of ["ceiling-worker.js", "signal-limiter.js"])
    copyFileSync(join(benchDir, file), join(buildDir, file));
}

/** Builds the JWT consumer example and copies the bench's two small Workers beside it. */
function buildConsumers(buildDir) {
  const result = spawnSync("wrangler", ["deploy", "--dry-run", "--outdir", join(buildDir, "jwt-consumer")], {
    cwd: join(root, "examples/jwt-consumer"),
    env: { ...process.env, WRANGLER_SEND_METRICS: "false" },
    encoding: "utf8",
  });
  if (result.status !== 0) throw new Error(`building the JWT consumer failed:\n${result.stdout}\n${result.stderr}`);
  for (const file of ["rpc-consumer.js", "outbound-counter.js"])
    copyFileSync(join(benchDir, file), join(buildDir, file));
}

async function startWorkerd(buildDir, ports, inspectorPort = null) {
  const inspector = inspectorPort === null ? [] : [`--inspector-addr=127.0.0.1:${inspectorPort}`];
  const child = start(SERVER_CORE, join(root, "node_modules/.bin/workerd"), [
    "serve",
    join(buildDir, "config.capnp"),
    ...inspector,
  ]);
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
  const issued = await inParallel(count, 32, (i) =>
    api(base, "POST", `/v1/tenants/${tenant}/sessions`, { userId: `user${i % 1000}` }),
  );
  return issued.map((body) => body.token);
}

// Load

/**
 * One load run: wrk with one connection per thread, so wrk.lua can time each request raw; or,
 * without wrk, autocannon taking the same arguments. Either prints one RESULT line.
 */
function load(url, script, seconds) {
  const [cmd, argv] = wrkPresent
    ? pinned(LOAD_CORE, "wrk", [
        `-t${CONNECTIONS}`,
        `-c${CONNECTIONS}`,
        `-d${seconds}s`,
        "-s",
        join(benchDir, "wrk.lua"),
        url,
        "--",
        ...script,
        String(CONNECTIONS),
      ])
    : pinned(LOAD_CORE, process.execPath, [
        join(benchDir, "autocannon-driver.mjs"),
        url,
        String(seconds),
        String(CONNECTIONS),
        ...script,
      ]);
  const result = spawnSync(cmd, argv, { encoding: "utf8" });
  const line = result.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error(`${LOAD_TOOL} printed no result:\n${result.stdout}\n${result.stderr}`);
  return JSON.parse(line.slice("RESULT ".length));
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** One run of a scenario, with the server's CPU and the machine's steal over its span. */
function runOnce(spec, run, seconds) {
  const cpuBefore = cpuSeconds(spec.server.pid);
  const ticksBefore = machineTicks();
  const result = load(`${spec.base}${spec.path}`, spec.scriptFor(run), seconds);
  const elapsed = result.durationUs / 1e6;
  const ticks = machineTicks();
  const cpuUsed = cpuSeconds(spec.server.pid) - cpuBefore;
  return {
    ...result,
    rps: result.requests / elapsed,
    cpuPercent: (cpuUsed / elapsed) * 100,
    // CPU per request barely moves with steal or load-tool noise: the figure to compare changes by.
    cpuUsPerRequest: (cpuUsed * 1e6) / result.requests,
    stealPercent: ((ticks.steal - ticksBefore.steal) / (ticks.total - ticksBefore.total)) * 100,
  };
}

function summarize(name, runs) {
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
    maxMs: middle.maxUs / 1000,
    correctedP99Ms: middle.correctedP99Us / 1000,
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
    nonSuccessStatuses: runs.reduce((all, r) => {
      for (const [status, n] of Object.entries(r.statuses)) all[status] = (all[status] ?? 0) + n;
      return all;
    }, {}),
    socketErrors: runs.reduce((n, r) => n + r.socketErrors, 0),
    runs,
  };
}

/**
 * Scenarios that are compared with each other are measured together: each gets a warm-up,
 * then the runs go round-robin (A B C, A B C, ...), so a slow minute of this shared machine
 * falls on all of them rather than on whichever ran then. The median run by req/s gives the
 * latencies. A spec: { name, server, base, path, script, warmupS?, runS? }; `script` is wrk.lua's
 * arguments, or a function of the run (-1 for the warm-up) giving them.
 */
function measureTogether(specs) {
  const prepared = specs.map((spec) => ({
    ...spec,
    scriptFor: typeof spec.script === "function" ? spec.script : () => spec.script,
    warmupS: spec.warmupS ?? WARMUP_S,
    runS: spec.runS ?? RUN_S,
    runs: [],
  }));
  log(`${prepared.map((spec) => spec.name).join(" | ")}: warm-up, then ${RUNS} rounds`);
  for (const spec of prepared) load(`${spec.base}${spec.path}`, spec.scriptFor(-1), spec.warmupS);
  for (let run = 0; run < RUNS; run++) {
    for (const spec of prepared) spec.runs.push(runOnce(spec, run, spec.runS));
  }
  return prepared.map((spec) => summarize(spec.name, spec.runs));
}

/** A scenario measured on its own: warm-up, then RUNS runs. */
function measure(name, server, base, path, script, options = {}) {
  return measureTogether([{ name, server, base, path, script, ...options }])[0];
}

// The 100,000-session tenant: seeded straight into its SQLite file (as many rows as the API
// would write), then killed through the API. Also gives the bytes each session takes on disk.

function sqliteFiles(storageDir) {
  const dir = join(storageDir, "session-store");
  return readdirSync(dir)
    .filter((f) => f.endsWith(".sqlite"))
    .map((f) => join(dir, f));
}

/** Seeds a tenant through the API; also says which SQLite file holds its store. */
async function seedTenantWithFile(base, storageDir, tenant, settings, count) {
  const before = new Set(sqliteFiles(storageDir));
  const tokens = await seedTenant(base, tenant, settings, count);
  return { tokens, file: sqliteFiles(storageDir).find((f) => !before.has(f)) };
}

/**
 * From a kill's answer to its event's arrival at the receiver, one kill at a time (each of a
 * user with one fresh session), through the alarm as built.
 */
async function webhookLatency(base, receiverUrl, kills = 200) {
  // The throughput runs left a backlog of events: let it drain first (no arrival for a second).
  const arrived = async () => (await (await fetch(`${receiverUrl}/arrivals`)).json()).count;
  for (let before = -1, now = await arrived(); now !== before; before = now, await sleep(1000), now = await arrived());
  log(`${kills} kills one after another, each timed to its webhook's arrival`);
  const answered = {};
  for (let i = 0; i < kills; i++) {
    await api(base, "POST", "/v1/tenants/killhook/sessions", { userId: `latency${i}` });
    const { killId } = await api(base, "DELETE", `/v1/tenants/killhook/users/latency${i}/sessions`);
    answered[killId] = performance.timeOrigin + performance.now();
  }
  const deadline = Date.now() + 60_000;
  let arrivals;
  do {
    await sleep(200);
    ({ arrivals } = await (await fetch(`${receiverUrl}/arrivals`)).json());
  } while (Object.keys(answered).some((killId) => !(killId in arrivals)) && Date.now() < deadline);
  const delays = Object.entries(answered)
    .filter(([killId]) => killId in arrivals)
    .map(([killId, at]) => arrivals[killId] - at)
    .sort((a, b) => a - b);
  const at = (q) => delays[Math.min(delays.length - 1, Math.floor(q * delays.length))];
  return { kills, arrived: delays.length, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: delays.at(-1) };
}

function webhookLatencyLine(w) {
  return `webhook latency, from a kill's answer to the receiver's arrival (${w.arrived} of ${w.kills} kills, one at a time): p50 ${w.p50Ms.toFixed(1)} ms, p99 ${w.p99Ms.toFixed(1)} ms, max ${w.maxMs.toFixed(1)} ms`;
}

/** The default idle timeout, and the default touch interval (a tenth of it). */
const DEFAULT_IDLE_TIMEOUT_MS = 1_800_000;
const DEFAULT_TOUCH_INTERVAL_MS = 180_000;

/**
 * Sets each session's last write back from now. "steady": spread evenly over one touch
 * interval, as steady traffic leaves them, so sessions fall due one by one (about W/180 s of
 * them in a window of W seconds). "burst": all older than the interval, so every session's next
 * use writes. Their idle expiry follows, as a touch at that time would have left it.
 */
function ageSessions(DatabaseSync, file, how) {
  const db = new DatabaseSync(file);
  const age =
    how === "steady" ? `(seq % 1000) * ${DEFAULT_TOUCH_INTERVAL_MS / 1000}` : `${DEFAULT_TOUCH_INTERVAL_MS + 1000}`;
  const seenAt = `${Date.now()} - ${age}`;
  db.exec(`UPDATE sessions SET last_seen_at = ${seenAt}, idle_expires_at = ${seenAt} + ${DEFAULT_IDLE_TIMEOUT_MS}`);
  db.close();
}

/**
 * Fills one big tenant's store (or one shard of it) with sessions, `sessions` in all (and, when
 * measuring bytes, their "created" events).
 */
function fillBigTenant(DatabaseSync, file, { measureBytes, sessions = BIG_TENANT_SESSIONS }) {
  const db = new DatabaseSync(file);
  const bytes = () => statSync(file).size;
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const emptyBytes = bytes();
  // A shard that holds no session yet gets a made-up digest: these sessions are only killed, never used.
  const template = db.prepare("SELECT secret_hash, created_at FROM sessions LIMIT 1").get() ?? {
    secret_hash: new Uint8Array(32),
    created_at: Date.now(),
  };
  const count = sessions - db.prepare("SELECT count(*) AS n FROM sessions").get().n;
  db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO sessions (id, user_id, secret_hash, created_at, last_seen_at, idle_expires_at, absolute_expires_at, ip, user_agent, data)
     SELECT printf('big%019d', i), 'user' || (i % 1000), ?, ?, ?, ? + 1800000, ? + 604800000, '203.0.113.7', 'Mozilla/5.0 (bench)', '{}' FROM n`,
  ).run(
    count,
    template.secret_hash,
    template.created_at,
    template.created_at,
    template.created_at,
    template.created_at,
  );
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  const sessionsBytes = bytes();
  let storage;
  if (measureBytes) {
    db.prepare(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO events (at, type, actor, session_id, user_id) SELECT ?, 'created', 'admin', printf('big%019d', i), 'user' || (i % 1000) FROM n`,
    ).run(count, template.created_at);
    db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    storage = {
      sessions: BIG_TENANT_SESSIONS,
      bytesPerSession: (sessionsBytes - emptyBytes) / count,
      bytesPerSessionWithCreatedEvent: (bytes() - emptyBytes) / count,
    };
  }
  db.close();
  return storage;
}

/**
 * Seeds BIG_TENANTS tenants of BIG_TENANT_SESSIONS sessions each: one session through the API
 * (which makes the store and its schema), the rest straight into the SQLite file while workerd
 * is stopped. Then, last before workerd starts again, ages the last writes of the sliding
 * tenants' files (`[file, how]` pairs, see `ageSessions`).
 */
async function seedBigTenants(base, storageDir, workerd, buildDir, ports, filesToAge) {
  const files = [];
  // No undo window: the purge may delete the killed rows at once, and the bench times it.
  for (let i = 1; i <= BIG_TENANTS; i++)
    files.push((await seedTenantWithFile(base, storageDir, `big${i}`, { undoWindowSeconds: 0 }, 1)).file);
  // The sharded one: its PUT makes all its stores (the home copies the tenant to each).
  const before = new Set(sqliteFiles(storageDir));
  await seedTenant(base, "bigsharded", { shards: SHARDS }, 1);
  const shardFiles = sqliteFiles(storageDir).filter((f) => !before.has(f));
  if (shardFiles.length !== SHARDS)
    throw new Error(`expected ${SHARDS} stores for the sharded tenant, found ${shardFiles.length}`);
  await stop(workerd);
  const { DatabaseSync } = await import("node:sqlite");
  const storage = files.map((file, i) => fillBigTenant(DatabaseSync, file, { measureBytes: i === 0 }))[0];
  for (const file of shardFiles)
    fillBigTenant(DatabaseSync, file, { measureBytes: false, sessions: BIG_SHARD_SESSIONS });
  for (const [file, how] of filesToAge) ageSessions(DatabaseSync, file, how);
  return { workerd: await startWorkerd(buildDir, ports), storage, files, shardFiles };
}

/**
 * Sessions of a store whose last write is at or after `at` (ms), read beside the running
 * workerd: the touches a sliding scenario's warm-up and runs made, each one write.
 */
async function sessionsTouchedSince(file, at) {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare("SELECT count(*) AS n FROM sessions WHERE last_seen_at >= ?").get(at).n;
  } finally {
    db.close();
  }
}

/** Rows left in a store's sessions table, read beside the running workerd (SQLite in WAL mode). */
async function sessionRows(file) {
  const { DatabaseSync } = await import("node:sqlite");
  const db = new DatabaseSync(file, { readOnly: true });
  try {
    return db.prepare("SELECT count(*) AS n FROM sessions").get().n;
  } finally {
    db.close();
  }
}

/**
 * Kills each big tenant in turn; the median call time with its range, and how long the purge
 * took to delete the killed rows in the background. Each kill waits for the previous purge:
 * here every store shares workerd's one thread, where in production each has its own.
 */
async function killBigTenants(base, files) {
  const calls = [];
  for (let i = 1; i <= BIG_TENANTS; i++) {
    await api(base, "GET", `/v1/tenants/big${i}`); // awake: the first call after the refill opens the store, which is not the kill's cost
    const started = performance.now();
    const body = await api(base, "DELETE", `/v1/tenants/big${i}/sessions`);
    const ms = performance.now() - started;
    while ((await sessionRows(files[i - 1])) > 0) await sleep(50);
    calls.push({ revoked: body.revoked, ms, purgedAfterMs: performance.now() - started });
  }
  const ms = calls.map((c) => c.ms);
  return {
    ms: median(ms),
    msMin: Math.min(...ms),
    msMax: Math.max(...ms),
    revoked: calls[0].revoked,
    purgedAfterMs: median(calls.map((c) => c.purgedAfterMs)),
    calls,
  };
}

/** Kills the sharded big tenant: one call reaching its 16 stores. (Its rows stay for the undo window.) */
async function killShardedTenant(base) {
  await api(base, "GET", "/v1/tenants/bigsharded"); // wakes all 16 stores, as the single ones are woken
  const started = performance.now();
  const body = await api(base, "DELETE", "/v1/tenants/bigsharded/sessions");
  return {
    ms: performance.now() - started,
    revoked: body.revoked,
    shards: SHARDS,
    sessionsPerShard: BIG_SHARD_SESSIONS,
  };
}

/**
 * Deletes the sharded big tenant, killed just before (its 400,000 rows still kept for the undo
 * window): one call that erases its 16 stores, then the home.
 */
async function deleteShardedTenant(base) {
  const started = performance.now();
  const body = await api(base, "DELETE", "/v1/tenants/bigsharded?confirm=bigsharded");
  return {
    ms: performance.now() - started,
    deleted: body.deleted,
    shards: SHARDS,
    sessionsPerShard: BIG_SHARD_SESSIONS,
  };
}

/**
 * The platform-wide kill: PLATFORM_TENANTS small tenants (5 sessions each) beside every tenant
 * of the run, killed by one DELETE /v1/sessions; the time until every tenant had applied it
 * (the answer, or the progress it reports, polled).
 */
async function killPlatform(base) {
  await inParallel(PLATFORM_TENANTS, 16, async (i) => {
    await api(base, "PUT", `/v1/tenants/many${i}`, {});
    for (let j = 0; j < 5; j++) await api(base, "POST", `/v1/tenants/many${i}/sessions`, { userId: `user${j}` });
  });
  const started = performance.now();
  const first = await fetch(`${base}/v1/sessions`, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${ADMIN_KEY}` },
  });
  let body = await first.json();
  if (first.status === 202) {
    while (!body.kill.done) {
      await sleep(100);
      body = await api(base, "GET", `/v1/kills/${body.kill.id}`);
    }
    body = { tenants: body.kill.applied, revoked: body.kill.revoked };
  }
  return { ms: performance.now() - started, answered: first.status, tenants: body.tenants, revoked: body.revoked };
}

// The peer: Express + express-session + connect-redis on one redis-server, one server with
// touch off and one with touch on, sharing the store (so one seeding serves both).

async function startPeer() {
  if (!redisPresent) {
    log("redis-server is not installed: the express-session rows are skipped (apt-get install redis-server)");
    return null;
  }
  const redisPort = await freePort();
  // As production runs it: an append-only file, fsynced every second (in a directory of its own).
  const redisDir = mkdtempSync(join(tmpdir(), "session-bench-redis-"));
  const redis = start(SERVER_CORE, "redis-server", [
    "--port",
    String(redisPort),
    "--bind",
    "127.0.0.1",
    "--dir",
    redisDir,
    "--save",
    "",
    "--appendonly",
    "yes",
    "--appendfsync",
    "everysec",
  ]);
  await sleep(300);
  const servers = [];
  for (const touch of ["0", "1"]) {
    const port = await freePort();
    const server = start(SERVER_CORE, process.execPath, [join(benchDir, "peer/express-server.mjs")], {
      PORT: String(port),
      REDIS_PORT: String(redisPort),
      TOUCH: touch,
    });
    const base = `http://127.0.0.1:${port}`;
    await waitFor(`${base}/session`);
    servers.push({ touch, server, base });
  }
  log(`seeding ${SESSIONS} express-session sessions`);
  const cookies = await inParallel(SESSIONS, 32, async (i) => {
    const response = await fetch(`${servers[0].base}/login/user${i % 1000}`, { method: "POST" });
    return /sid=([^;]+)/.exec(response.headers.get("set-cookie"))[1];
  });
  const file = join(tmpdir(), `bench-sids-${process.pid}.txt`);
  writeFileSync(file, cookies.join("\n"));
  return {
    specs: servers.map(({ touch, server, base }) => ({
      name: touch === "1" ? NAMES.peerOn : NAMES.peerOff,
      server,
      base,
      path: "/session",
      script: ["/session", "GET", "sid", file, "-", "-"],
    })),
    async stop() {
      for (const { server } of servers) await stop(server);
      await stop(redis);
      rmSync(file, { force: true });
      rmSync(redisDir, { recursive: true, force: true });
    },
  };
}

// Output

function machine() {
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    pinned: canPin,
    node: process.version,
    date: new Date().toISOString(),
  };
}

/**
 * What a scenario is measured against: the floor of its design (the bare Worker for a forged
 * token, the Worker -> DO -> SQLite read for a validation, validation for a mint, one shard for
 * a merged list), or null.
 */
function floorOf(results, row) {
  const find = (key) => results.find((r) => r.name === NAMES[key]);
  if (row.name === NAMES.forged) return find("hello");
  if (row.name === NAMES.mint) return find("validateBearer");
  if (row.name === NAMES.list16) return find("list");
  return row.name.startsWith("validate") ? find("ceiling") : null;
}

function table(results) {
  const find = (key) => results.find((r) => r.name === NAMES[key]);
  const ratioTo = (row, base) => (row && base ? (row.rps / base.rps).toFixed(2) : "–");
  // CPU per request is the steadier figure on a shared machine: the floor's over the row's is the ratio targets use.
  const cpuTo = (row, base) => (row && base ? `${(row.cpuUsPerRequest / base.cpuUsPerRequest).toFixed(2)}x` : "–");
  const peerOf = (row) =>
    row.name.startsWith("validate, sliding") ? find("peerOn") : row.name === NAMES.validate ? find("peerOff") : null;
  const lines = [
    "| scenario | req/s (median, min-max) | CPU µs/req | server CPU % | p50 ms | p99 ms | p99.9 ms | max ms | req/s vs floor | CPU vs floor | vs peer | steal % |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|",
  ];
  for (const r of results) {
    const floor = floorOf(results, r);
    lines.push(
      `| ${r.name} | ${Math.round(r.rps)} (${Math.round(r.rpsMin)}-${Math.round(r.rpsMax)}) | ${Math.round(r.cpuUsPerRequest)} | ${Math.round(r.cpuPercent)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} | ${r.p999Ms.toFixed(2)} | ${r.maxMs.toFixed(1)} | ${ratioTo(r, floor)} | ${cpuTo(r, floor)} | ${ratioTo(r, peerOf(r))} | ${Math.round(r.stealPercent)} |`,
    );
  }
  return lines.join("\n");
}

/** The issue's targets, each with what this run measured: met, missed, or not measured (left out with `measuredOnly`). */
function targets(results, extra, { measuredOnly = false } = {}) {
  const find = (key) => results.find((r) => r.name === NAMES[key]);
  const ratio = (a, b, min) => {
    const [x, y] = [find(a), find(b)];
    if (!x || !y) return null;
    return { value: x.rps / y.rps, met: x.rps / y.rps >= min };
  };
  /** CPU per request of `a` over `b`: met at most `max`. */
  const cpuRatio = (a, b, max) => {
    const [x, y] = [find(a), find(b)];
    if (!x || !y) return null;
    const value = x.cpuUsPerRequest / y.cpuUsPerRequest;
    return { value, met: value <= max };
  };
  const writes = (key) => {
    const counted = extra.slidingWrites?.[key];
    return counted ? ` (${counted.writes} writes over ${counted.requests} requests)` : "";
  };
  const rows = [
    ["validate >= 1.25x express-session (touch off)", ratio("validate", "peerOff", 1.25), (v) => `${v.toFixed(2)}x`],
    [
      "validate at most 1.10x the CPU per request of the Worker -> DO -> SQLite read",
      cpuRatio("validate", "ceiling", 1.1),
      (v) => `${v.toFixed(2)}x`,
    ],
    [
      "a forged token at most 1.20x the CPU per request of a bare Worker's hello",
      cpuRatio("forged", "hello", 1.2),
      (v) => `${v.toFixed(2)}x`,
    ],
    [
      "a forged token beside a bare Worker answering its very bytes (the 401 JSON and its headers; measured, no target)",
      find("forged") && find("refuse")
        ? { value: find("forged").cpuUsPerRequest / find("refuse").cpuUsPerRequest, met: true }
        : null,
      (v) => `${v.toFixed(2)}x`,
    ],
    [
      "mint a JWT at most 1.25x the CPU per request of validating the same tokens",
      cpuRatio("mint", "validateBearer", 1.25),
      (v) => `${v.toFixed(2)}x`,
    ],
    [
      "sliding at the default touch interval (steady) within 5% of the CPU per request of plain validate",
      cpuRatio("sliding", "validate", 1.05),
      (v) => `${v.toFixed(2)}x${writes("sliding")}`,
    ],
    [
      "sliding (steady) >= 2x write-every-time, CPU per request",
      find("sliding") && find("touch0")
        ? {
            value: find("touch0").cpuUsPerRequest / find("sliding").cpuUsPerRequest,
            met: find("touch0").cpuUsPerRequest >= 2 * find("sliding").cpuUsPerRequest,
          }
        : null,
      (v) => `${v.toFixed(2)}x`,
    ],
    [
      "sliding, every session due at once: its writes (measured, no target)",
      extra.slidingWrites?.slidingBurst ? { value: extra.slidingWrites.slidingBurst, met: true } : null,
      (v) => `${v.writes} writes over ${v.requests} requests`,
    ],
    ["sliding >= 1.25x express-session (touch on)", ratio("sliding", "peerOn", 1.25), (v) => `${v.toFixed(2)}x`],
    [
      "validate raw p99 <= 2x express-session's (touch off)",
      find("validate") && find("peerOff")
        ? {
            value: find("validate").p99Ms / find("peerOff").p99Ms,
            met: find("validate").p99Ms <= 2 * find("peerOff").p99Ms,
          }
        : null,
      (v) => `${v.toFixed(2)}x (${find("validate").p99Ms.toFixed(2)} vs ${find("peerOff").p99Ms.toFixed(2)} ms)`,
    ],
    [
      "a consumer checking a JWT alone >= 3x one calling validate over RPC",
      ratio("consumerJwt", "consumerRpc", 3),
      (v) => `${v.toFixed(2)}x`,
    ],
    [
      "the JWT consumer calls the service for nothing but the JWKS, once",
      extra.jwtConsumerFetches
        ? {
            value: extra.jwtConsumerFetches,
            met: extra.jwtConsumerFetches.length === 1 && extra.jwtConsumerFetches[0] === new URL(JWKS_URL).pathname,
          }
        : null,
      (v) => `${v.length} fetch${v.length === 1 ? "" : "es"} (${v.join(", ")}) over every request of its runs`,
    ],
    [
      "validate with a requirement within 3% of validate without",
      ratio("validateRequired", "validate", 0.97),
      (v) => `${v.toFixed(3)}x`,
    ],
    ["validate on 16 shards >= 0.95x on 1 shard", ratio("validate16", "validate", 0.95), (v) => `${v.toFixed(2)}x`],
    [
      "a back-channel logout of one session costs at most 2x a kill of one by id (CPU per request)",
      cpuRatio("logout", "killOne", 2),
      (v) => `${v.toFixed(2)}x`,
    ],
    [
      "a back-channel logout on 16 shards beside one on 1 shard (it asks the user's stores, one per shard count the tenant had: 2 here, not 17; measured, no target)",
      find("logout16") && find("logout")
        ? { value: find("logout16").cpuUsPerRequest / find("logout").cpuUsPerRequest, met: true }
        : null,
      (v) => `${v.toFixed(2)}x`,
    ],
    [
      "create linked to a provider on 16 shards: its cost beside a plain one (its link written at the home; measured, no target)",
      find("createLinked16") && find("create16Plain")
        ? { value: find("createLinked16").cpuUsPerRequest / find("create16Plain").cpuUsPerRequest, met: true }
        : null,
      (v) => `${v.toFixed(2)}x`,
    ],
    [
      "validate of a bound session (with its bound cookie) within 10% of an unbound one's (CPU per request)",
      cpuRatio("validateBound", "validateUnbound", 1.1),
      (v) => `${v.toFixed(2)}x`,
    ],
    [
      "a device binding refresh with its proof costs at most 2x a rotation (CPU per request)",
      cpuRatio("refresh", "rotate", 2),
      (v) => `${v.toFixed(2)}x`,
    ],
    ["create on 16 shards >= 0.9x on 1 shard", ratio("create16", "create", 0.9), (v) => `${v.toFixed(2)}x`],
    [
      "a merged list page of 100 over 16 shards <= 3x the CPU per request of one shard",
      find("list16") && find("list")
        ? {
            value: find("list16").cpuUsPerRequest / find("list").cpuUsPerRequest,
            met: find("list16").cpuUsPerRequest <= 3 * find("list").cpuUsPerRequest,
          }
        : null,
      (v) => `${v.toFixed(2)}x`,
    ],
    [
      "kill-user with one webhook at most 5% slower than without",
      ratio("killUserHooked", "killUser", 0.95),
      (v) => `${v.toFixed(2)}x`,
    ],
    [
      "kill-tenant of 100,000 < 50 ms",
      extra.killTenant ? { value: extra.killTenant.ms, met: extra.killTenant.ms < 50 } : null,
      (v) => `${v.toFixed(1)} ms`,
    ],
    [
      "kill-tenant of 16 shards x 25,000 < 100 ms",
      extra.killSharded ? { value: extra.killSharded.ms, met: extra.killSharded.ms < 100 } : null,
      (v) => `${v.toFixed(1)} ms`,
    ],
    [
      "<= 250 bytes per session on disk",
      extra.storage ? { value: extra.storage.bytesPerSession, met: extra.storage.bytesPerSession <= 250 } : null,
      (v) => `${v.toFixed(0)} B`,
    ],
  ];
  return rows
    .filter(([, outcome]) => outcome !== null || !measuredOnly)
    .map(
      ([name, outcome, show]) =>
        `- ${name}: ${outcome ? `${show(outcome.value)}, ${outcome.met ? "met" : "missed"}` : "not measured in this run"}`,
    )
    .join("\n");
}

// Main

/**
 * The A/B of one change: this tree (A) and the git ref `ref` (B), each built and served by its
 * own workerd on the same core, seeded alike, then validate and forged measured round-robin
 * (A B A B ...). Prints CPU per request and req/s of each, and B's ratio to A.
 */
async function compareWith(ref, work) {
  const tree = join(work, "against");
  const added = spawnSync("git", ["worktree", "add", "--detach", tree, ref], { cwd: root, encoding: "utf8" });
  if (added.status !== 0) throw new Error(`git worktree add ${ref}: ${added.stderr}`);
  symlinkSync(join(root, "node_modules"), join(tree, "node_modules"));
  const servers = [];
  try {
    for (const [label, sourceRoot] of [
      ["A (this tree)", root],
      [`B (${ref})`, tree],
    ]) {
      const buildDir = join(work, `build-${servers.length}`);
      const storageDir = join(work, `storage-${servers.length}`);
      for (const dir of ["session-store", "ceiling-rows"]) mkdirSync(join(storageDir, dir), { recursive: true });
      build(buildDir, sourceRoot);
      const ports = { main: await freePort(), ceiling: await freePort() };
      writeFileSync(join(buildDir, "config.capnp"), workerdConfig(buildDir, storageDir, ports));
      const server = await startWorkerd(buildDir, ports);
      const base = `http://127.0.0.1:${ports.main}`;
      const reads = !ONLY || ["validate", "validateRequired", "forged", "list"].some((key) => ONLY.has(key));
      log(`${label}: seeding ${reads ? SESSIONS : 1} sessions`);
      const tokens = await seedTenant(base, "bench", READ_PATH_SETTINGS, reads ? SESSIONS : 1);
      const tokenFile = join(work, `tokens-${servers.length}.txt`);
      writeFileSync(tokenFile, tokens.join("\n"));
      const forgedFile = join(work, `forged-${servers.length}.txt`);
      writeFileSync(forgedFile, tokens.map((t) => t.slice(0, -4) + (t.endsWith("AAAA") ? "BBBB" : "AAAA")).join("\n"));
      // Kills of a sharded tenant: a user's sessions (most users on one shard of 16), and the
      // whole tenant again and again (each kill reaches every shard; the first ends what there is).
      if (!ONLY || ONLY.has("killUser16") || ONLY.has("killTenant16")) {
        log(`${label}: seeding two tenants of ${SHARDS} shards`);
        await seedTenant(base, "kill16", { shards: SHARDS }, SESSIONS);
        await seedTenant(base, "killall16", { shards: SHARDS }, SHARDS * 10);
      }
      if (!ONLY || ONLY.has("list16")) {
        log(`${label}: seeding ${SESSIONS} sessions over ${SHARDS} shards`);
        await seedTenant(base, "bench16", { ...READ_PATH_SETTINGS, shards: SHARDS }, SESSIONS);
      }
      servers.push({ label, server, base, tokenFile, forgedFile });
    }
    const kill = (path) => [path, "DELETE", "admin", "-", ADMIN_KEY, "-"];
    // Names may begin alike ("list a page of 100", "list a page of 100, 16 shards"): chosen by exact name.
    const chosen = (spec) =>
      !ONLY || [...ONLY].some((key) => servers.some(({ label }) => spec.name === `${NAMES[key]}, ${label}`));
    const results = measureTogether(
      servers
        .flatMap(({ label, server, base, tokenFile, forgedFile }) => [
          {
            name: `${NAMES.validate}, ${label}`,
            server,
            base,
            path: "/v1/session",
            script: ["/v1/session", "GET", "cookie", tokenFile, "-", "-"],
          },
          {
            name: `${NAMES.forged}, ${label}`,
            server,
            base,
            path: "/v1/session",
            script: ["/v1/session", "GET", "cookie", forgedFile, "-", "-"],
          },
          {
            name: `${NAMES.validateRequired}, ${label}`,
            server,
            base,
            path: "/v1/session?maxAuthAge=86400&acr=aal1",
            script: ["/v1/session?maxAuthAge=86400&acr=aal1", "GET", "cookie", tokenFile, "-", "-"],
          },
          ...["list", "list16"].map((key) => {
            const path = `/v1/tenants/${key === "list" ? "bench" : "bench16"}/sessions?limit=100`;
            return {
              name: `${NAMES[key]}, ${label}`,
              server,
              base,
              path,
              script: [path, "GET", "admin", "-", ADMIN_KEY, "-"],
            };
          }),
          {
            name: `${NAMES.create}, ${label}`,
            server,
            base,
            path: "/v1/tenants/bench/sessions",
            script: ["/v1/tenants/bench/sessions", "POST", "admin", "-", ADMIN_KEY, '{"userId":"{user}"}'],
          },
          {
            name: `${NAMES.killUser16}, ${label}`,
            server,
            base,
            path: "/v1/tenants/kill16/users/{user}/sessions",
            script: kill("/v1/tenants/kill16/users/{user}/sessions"),
          },
          {
            name: `${NAMES.killTenant16}, ${label}`,
            server,
            base,
            path: "/v1/tenants/killall16/sessions",
            script: kill("/v1/tenants/killall16/sessions"),
          },
        ])
        .filter(chosen),
    );
    console.log(`\nA/B against ${ref}: ${RUNS} round-robin runs of ${RUN_S} s each, after a ${WARMUP_S} s warm-up\n`);
    console.log(table(results));
    for (const scenario of [
      NAMES.validate,
      NAMES.validateRequired,
      NAMES.forged,
      NAMES.list,
      NAMES.list16,
      NAMES.create,
      NAMES.killUser16,
      NAMES.killTenant16,
    ]) {
      const [a, b] = servers.map(({ label }) => results.find((r) => r.name === `${scenario}, ${label}`));
      if (!a || !b) continue;
      const perRun = a.runs.map((run, i) => b.runs[i].cpuUsPerRequest / run.cpuUsPerRequest);
      console.log(
        `${scenario}: CPU per request B/A ${(b.cpuUsPerRequest / a.cpuUsPerRequest).toFixed(3)} (${a.cpuUsPerRequest.toFixed(1)} -> ${b.cpuUsPerRequest.toFixed(1)} us; per run ${perRun.map((r) => r.toFixed(3)).join(", ")}), req/s B/A ${(b.rps / a.rps).toFixed(3)}`,
      );
    }
    const report = {
      machine: machine(),
      against: ref,
      loadTool: LOAD_TOOL,
      connections: CONNECTIONS,
      runs: RUNS,
      runSeconds: RUN_S,
      results,
    };
    mkdirSync(join(benchDir, "results"), { recursive: true });
    writeFileSync(join(benchDir, "results", "ab.json"), JSON.stringify(report, null, 2));
  } finally {
    for (const { server } of servers) await stop(server);
    spawnSync("git", ["worktree", "remove", "--force", tree], { cwd: root });
  }
}

/** A session with workerd's inspector (the DevTools protocol) for the main service's isolate. */
async function inspect(port) {
  const socket = new WebSocket(`ws://127.0.0.1:${port}/main`);
  await new Promise((resolve, reject) => {
    socket.addEventListener("open", resolve, { once: true });
    socket.addEventListener("error", reject, { once: true });
  });
  let next = 0;
  const waiting = new Map();
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(String(event.data));
    if (message.id !== undefined) waiting.get(message.id)?.(message);
  });
  return {
    send(method, params = {}) {
      const id = ++next;
      socket.send(JSON.stringify({ id, method, params }));
      return new Promise((resolve, reject) =>
        waiting.set(id, (message) =>
          message.error ? reject(new Error(message.error.message)) : resolve(message.result),
        ),
      );
    },
    close: () => socket.close(),
  };
}

/** A profile's self time by function (name, file and line), largest first, as shares of every sample. */
function selfTimes(profile) {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const counts = new Map();
  for (const id of profile.samples) {
    const { functionName, url, lineNumber } = byNode.get(id).callFrame;
    const key = `${functionName || "(anonymous)"} ${url.split("/").pop()}:${lineNumber + 1}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const total = profile.samples.length;
  return [...counts].sort((a, b) => b[1] - a[1]).map(([key, n]) => ({ key, share: n / total }));
}

/**
 * A profile's time inside each function and what it calls, largest first, as shares of the
 * busy samples (idle left out): where a request's microseconds go, stage by stage.
 */
function inclusiveTimes(profile) {
  const byNode = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const counts = new Map();
  let busy = 0;
  for (const id of profile.samples) {
    if (byNode.get(id).callFrame.functionName === "(idle)") continue;
    busy += 1;
    const seen = new Set();
    for (let at = id; at !== undefined; at = parentOf.get(at)) {
      const { functionName, url, lineNumber } = byNode.get(at).callFrame;
      const key = `${functionName || "(anonymous)"} ${url.split("/").pop()}:${lineNumber + 1}`;
      if (!seen.has(key)) counts.set(key, (counts.get(key) ?? 0) + 1);
      seen.add(key);
    }
  }
  return [...counts].sort((a, b) => b[1] - a[1]).map(([key, n]) => ({ key, share: n / busy }));
}

/** `--profile`: scenarios each profiled while under load. */
async function profileScenarios(work) {
  const buildDir = join(work, "build");
  const storageDir = join(work, "storage");
  for (const dir of ["session-store", "ceiling-rows"]) mkdirSync(join(storageDir, dir), { recursive: true });
  build(buildDir);
  const ports = { main: await freePort(), ceiling: await freePort() };
  const inspectorPort = await freePort();
  writeFileSync(join(buildDir, "config.capnp"), workerdConfig(buildDir, storageDir, ports));
  const server = await startWorkerd(buildDir, ports, inspectorPort);
  try {
    const base = `http://127.0.0.1:${ports.main}`;
    log(`seeding ${SESSIONS} sessions`);
    const tokenFile = join(work, "tokens.txt");
    const tokens = await seedTenant(base, "bench", READ_PATH_SETTINGS, SESSIONS);
    writeFileSync(tokenFile, tokens.join("\n"));
    const forgedFile = join(work, "forged.txt");
    writeFileSync(forgedFile, tokens.map((t) => t.slice(0, -4) + (t.endsWith("AAAA") ? "BBBB" : "AAAA")).join("\n"));
    const jwtFile = join(work, "jwt-tokens.txt");
    const jwtSettings = { ...READ_PATH_SETTINGS, jwt: { audiences: [JWT_AUDIENCE], ttlSeconds: 900 } };
    writeFileSync(jwtFile, (await seedTenant(base, "benchjwt", jwtSettings, SESSIONS)).join("\n"));
    if (PROFILE.includes("list16")) {
      log(`seeding ${SESSIONS} sessions over ${SHARDS} shards`);
      await seedTenant(base, "bench16", { ...READ_PATH_SETTINGS, shards: SHARDS }, SESSIONS);
    }
    const ceilingBase = `http://127.0.0.1:${ports.ceiling}`;
    await fetch(`${ceilingBase}/seed?n=${SESSIONS}`, { method: "POST" });
    const idFile = join(work, "ids.txt");
    writeFileSync(
      idFile,
      Array.from({ length: SESSIONS }, (_, i) => `row${String(i + 1).padStart(19, "0")}`).join("\n"),
    );
    // Each: the base, the path, and wrk.lua's arguments after the path.
    const paths = {
      hello: [ceilingBase, "/hello", ["GET", "none", "-", "-", "-"]],
      ceiling: [ceilingBase, "/read", ["GET", "x-id", idFile, "-", "-"]],
      validate: [base, "/v1/session", ["GET", "cookie", tokenFile, "-", "-"]],
      validateRequired: [base, "/v1/session?maxAuthAge=86400&acr=aal1", ["GET", "cookie", tokenFile, "-", "-"]],
      forged: [base, "/v1/session", ["GET", "cookie", forgedFile, "-", "-"]],
      validateBearer: [base, "/v1/session", ["GET", "bearer", jwtFile, "-", "-"]],
      mint: [base, "/v1/session/token", ["POST", "bearer", jwtFile, "-", JSON.stringify({ audience: JWT_AUDIENCE })]],
      list: [base, "/v1/tenants/bench/sessions?limit=100", ["GET", "admin", "-", ADMIN_KEY, "-"]],
      list16: [base, "/v1/tenants/bench16/sessions?limit=100", ["GET", "admin", "-", ADMIN_KEY, "-"]],
    };
    const inspector = await inspect(inspectorPort);
    await inspector.send("Profiler.enable");
    await inspector.send("Profiler.setSamplingInterval", { interval: 100 });
    mkdirSync(join(benchDir, "results"), { recursive: true });
    for (const key of PROFILE) {
      if (!paths[key]) throw new Error(`--profile: no read-path scenario ${key} (${Object.keys(paths).join(", ")})`);
      const [at, path, args] = paths[key];
      const script = [path, ...args];
      load(`${at}${path}`, script, WARMUP_S);
      await inspector.send("Profiler.start");
      const result = load(`${at}${path}`, script, RUN_S);
      const { profile } = await inspector.send("Profiler.stop");
      writeFileSync(join(benchDir, "results", `${key}.cpuprofile`), JSON.stringify(profile));
      console.log(
        `\n${NAMES[key]}: ${result.requests} requests; self time by function, top 25 of ${profile.samples.length} samples`,
      );
      for (const { key: name, share } of selfTimes(profile).slice(0, 25))
        console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${name}`);
      console.log(`${NAMES[key]}: inside each function and its calls, top 40, of the busy samples`);
      for (const { key: name, share } of inclusiveTimes(profile).slice(1, 41))
        console.log(`${(share * 100).toFixed(1).padStart(5)}%  ${name}`);
    }
    inspector.close();
  } finally {
    await stop(server);
  }
}

/** The identity providers' scenarios (bench/signals.mjs), and create linked to a provider beside a plain one on 16 shards. */
async function measureSignals(base, work, server) {
  const results = await signalScenarios({
    base,
    work,
    server,
    runs: RUNS,
    adminKey: ADMIN_KEY,
    api,
    inParallel,
    measureTogether,
    log,
  });
  const plain = ["/v1/tenants/idp16/sessions", "POST", "admin", "-", ADMIN_KEY, '{"userId":"{user}"}'];
  const linked = createLinkedScript("idp16", ADMIN_KEY);
  results.push(
    ...measureTogether([
      { name: NAMES.create16Plain, server, base, path: plain[0], script: plain },
      { name: NAMES.createLinked16, server, base, path: linked[0], script: linked },
    ]),
  );
  return results;
}

/**
 * A fresh build of this tree, served by workerd on fresh storage under `work` (the service, the
 * ceiling Worker and the consumers), with the ports each listens on.
 */
async function serveFresh(work) {
  const buildDir = join(work, "build");
  const storageDir = join(work, "storage");
  mkdirSync(join(storageDir, "session-store"), { recursive: true });
  mkdirSync(join(storageDir, "ceiling-rows"), { recursive: true });
  log(`building into ${buildDir}`);
  build(buildDir);
  buildConsumers(buildDir);
  const ports = {
    main: await freePort(),
    ceiling: await freePort(),
    jwtConsumer: await freePort(),
    rpcConsumer: await freePort(),
    outboundCounter: await freePort(),
  };
  writeFileSync(join(buildDir, "config.capnp"), workerdConfig(buildDir, storageDir, ports));
  return { buildDir, storageDir, ports, workerd: await startWorkerd(buildDir, ports) };
}

/** Device binding's scenarios (bench/binding.mjs). */
function measureBinding(base, work, server) {
  return bindingScenarios({ base, work, server, runs: RUNS, api, inParallel, measureTogether, log });
}

/** `--signals` or `--binding`: those scenarios alone, on a fresh build and storage. */
async function scenariosAlone(name, measureThem) {
  const work = mkdtempSync(join(tmpdir(), `session-bench-${name}-`));
  const { ports, workerd } = await serveFresh(work);
  try {
    const results = await measureThem(`http://127.0.0.1:${ports.main}`, work, workerd);
    mkdirSync(join(benchDir, "results"), { recursive: true });
    writeFileSync(join(benchDir, "results", `${name}.json`), JSON.stringify({ machine: machine(), results }, null, 2));
    console.log(table(results));
    console.log(`\nTargets:\n${targets(results, {}, { measuredOnly: true })}`);
  } finally {
    await stop(workerd);
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * Kill-user on two tenants seeded alike, one with a webhook (a receiver of its own, on the
 * load's core): the webhook's cost is the event queued with the kill and its delivery. Then,
 * the backlog drained, each kill's event timed from the kill's answer to its arrival.
 */
async function measureWebhooks(base, workerd) {
  const receiverPort = await freePort();
  const receiver = start(LOAD_CORE, process.execPath, [join(benchDir, "webhook-receiver.mjs"), String(receiverPort)]);
  try {
    const receiverUrl = `http://127.0.0.1:${receiverPort}`;
    await waitFor(`${receiverUrl}/arrivals`);
    log(`seeding two tenants of ${SESSIONS} sessions, one with a webhook`);
    await seedTenant(base, "killplain", {}, SESSIONS);
    await seedTenant(base, "killhook", {}, SESSIONS);
    await api(base, "POST", "/v1/tenants/killhook/webhooks", { url: `${receiverUrl}/in`, format: "standard-webhooks" });
    const kill = (tenant) => [`/v1/tenants/${tenant}/users/{user}/sessions`, "DELETE", "admin", "-", ADMIN_KEY, "-"];
    const results = measureTogether([
      {
        name: NAMES.killUser,
        server: workerd,
        base,
        path: "/v1/tenants/killplain/users/{user}/sessions",
        script: kill("killplain"),
      },
      {
        name: NAMES.killUserHooked,
        server: workerd,
        base,
        path: "/v1/tenants/killhook/users/{user}/sessions",
        script: kill("killhook"),
      },
    ]);
    return { results, latency: await webhookLatency(base, receiverUrl) };
  } finally {
    await stop(receiver);
  }
}

/** `--webhooks`: the webhook scenarios alone, with the latency line. */
async function webhooksAlone() {
  const work = mkdtempSync(join(tmpdir(), "session-bench-webhooks-"));
  const { ports, workerd } = await serveFresh(work);
  try {
    const { results, latency } = await measureWebhooks(`http://127.0.0.1:${ports.main}`, workerd);
    console.log(table(results));
    console.log(`\n${webhookLatencyLine(latency)}`);
  } finally {
    await stop(workerd);
    rmSync(work, { recursive: true, force: true });
  }
}

/** `--platform`: bench/platform.mjs's scenarios, on a fresh build and storage, restarted as they ask. */
async function platformAlone() {
  const work = mkdtempSync(join(tmpdir(), "session-bench-platform-"));
  const { buildDir, ports, workerd } = await serveFresh(work);
  let server = workerd;
  try {
    const tools = {
      api,
      inParallel,
      log,
      cpuSeconds,
      adminKey: ADMIN_KEY,
      server: () => server,
      profileKill: process.argv.includes("--profile-kill"),
      /** Restarts workerd on the same storage; with `profile`, under the inspector, and answers its profiler. */
      restart: async ({ profile = false } = {}) => {
        await stop(server);
        const inspectorPort = profile ? await freePort() : null;
        server = await startWorkerd(buildDir, ports, inspectorPort);
        if (!profile) return null;
        const inspector = await inspect(inspectorPort);
        await inspector.send("Profiler.enable");
        await inspector.send("Profiler.setSamplingInterval", { interval: 100 });
        return {
          start: () => inspector.send("Profiler.start"),
          stop: async () => {
            const { profile: taken } = await inspector.send("Profiler.stop");
            inspector.close();
            return selfTimes(taken).slice(0, 30);
          },
        };
      },
    };
    const results = await platformScenarios(tools, `http://127.0.0.1:${ports.main}`);
    mkdirSync(join(benchDir, "results"), { recursive: true });
    writeFileSync(join(benchDir, "results", "platform.json"), JSON.stringify({ machine: machine(), results }, null, 2));
    console.log(platformReport(results));
  } finally {
    await stop(server);
    rmSync(work, { recursive: true, force: true });
  }
}

async function main() {
  if (PLATFORM_ONLY) {
    await platformAlone();
    return;
  }
  if (SIGNALS_ONLY) {
    await scenariosAlone("signals", measureSignals);
    return;
  }
  if (BINDING_ONLY) {
    await scenariosAlone("binding", measureBinding);
    return;
  }
  if (WEBHOOKS_ONLY) {
    await webhooksAlone();
    return;
  }
  if (PROFILE) {
    const work = mkdtempSync(join(tmpdir(), "session-bench-profile-"));
    try {
      await profileScenarios(work);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return;
  }
  if (against) {
    const work = mkdtempSync(join(tmpdir(), "session-bench-ab-"));
    try {
      await compareWith(against, work);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return;
  }
  if (!wrkPresent)
    log(
      "wrk is not installed (apt-get install wrk): autocannon drives the load instead, and may cap the fastest scenarios",
    );
  const work = mkdtempSync(join(tmpdir(), "session-bench-"));
  const served = await serveFresh(work);
  const { buildDir, storageDir, ports } = served;
  let { workerd } = served;
  const base = `http://127.0.0.1:${ports.main}`;
  const ceilingBase = `http://127.0.0.1:${ports.ceiling}`;
  const results = [];
  const extra = {};
  let peer = null;
  try {
    log(`seeding ${SESSIONS} sessions`);
    // The read path: a touch interval longer than the whole run, so no validation here writes
    // (at the default 3 minutes, sessions seeded first would fall due during the last rounds).
    // Sliding at the default interval is its own scenario, below.
    const tokens = await seedTenant(base, "bench", READ_PATH_SETTINGS, SESSIONS);
    const tokenFile = join(work, "tokens.txt");
    writeFileSync(tokenFile, tokens.join("\n"));
    const forgedFile = join(work, "forged.txt");
    writeFileSync(forgedFile, tokens.map((t) => t.slice(0, -4) + (t.endsWith("AAAA") ? "BBBB" : "AAAA")).join("\n"));
    log(`seeding ${SESSIONS} sessions over ${SHARDS} shards`);
    const tokens16File = join(work, "tokens16.txt");
    writeFileSync(
      tokens16File,
      (await seedTenant(base, "bench16", { ...READ_PATH_SETTINGS, shards: SHARDS }, SESSIONS)).join("\n"),
    );
    await fetch(`${ceilingBase}/seed?n=${SESSIONS}`, { method: "POST" });
    const idFile = join(work, "ids.txt");
    writeFileSync(
      idFile,
      Array.from({ length: SESSIONS }, (_, i) => `row${String(i + 1).padStart(19, "0")}`).join("\n"),
    );

    if (!quick) peer = await startPeer();
    // The read path and everything it is compared with, measured round-robin.
    results.push(
      ...measureTogether([
        {
          name: NAMES.hello,
          server: workerd,
          base: ceilingBase,
          path: "/hello",
          script: ["/hello", "GET", "none", "-", "-", "-"],
        },
        {
          name: NAMES.refuse,
          server: workerd,
          base: ceilingBase,
          path: "/refuse",
          script: ["/refuse", "GET", "none", "-", "-", "-"],
        },
        {
          name: NAMES.ceiling,
          server: workerd,
          base: ceilingBase,
          path: "/read",
          script: ["/read", "GET", "x-id", idFile, "-", "-"],
        },
        {
          name: NAMES.validate,
          server: workerd,
          base,
          path: "/v1/session",
          script: ["/v1/session", "GET", "cookie", tokenFile, "-", "-"],
        },
        {
          // Met by every seeded session (a day's age, the lowest level): the whole check, no 401.
          name: NAMES.validateRequired,
          server: workerd,
          base,
          path: "/v1/session?maxAuthAge=86400&acr=aal1",
          script: ["/v1/session?maxAuthAge=86400&acr=aal1", "GET", "cookie", tokenFile, "-", "-"],
        },
        {
          name: NAMES.validate16,
          server: workerd,
          base,
          path: "/v1/session",
          script: ["/v1/session", "GET", "cookie", tokens16File, "-", "-"],
        },
        {
          name: NAMES.forged,
          server: workerd,
          base,
          path: "/v1/session",
          script: ["/v1/session", "GET", "cookie", forgedFile, "-", "-"],
        },
        ...(peer?.specs ?? []),
      ]),
    );
    await peer?.stop();
    peer = null;

    // Minting a JWT against validating the same tokens (both bearer, both one store call).
    log(`seeding ${SESSIONS} sessions of a tenant with JWTs`);
    const jwtFile = join(work, "jwt-tokens.txt");
    const jwtTokens = await seedTenant(
      base,
      "benchjwt",
      { ...READ_PATH_SETTINGS, jwt: { audiences: [JWT_AUDIENCE], ttlSeconds: 900 } },
      SESSIONS,
    );
    writeFileSync(jwtFile, jwtTokens.join("\n"));
    results.push(
      ...measureTogether([
        {
          name: NAMES.validateBearer,
          server: workerd,
          base,
          path: "/v1/session",
          script: ["/v1/session", "GET", "bearer", jwtFile, "-", "-"],
        },
        {
          name: NAMES.mint,
          server: workerd,
          base,
          path: "/v1/session/token",
          script: ["/v1/session/token", "POST", "bearer", jwtFile, "-", JSON.stringify({ audience: JWT_AUDIENCE })],
        },
      ]),
    );
    // What a JWT is for: a consumer Worker checking it alone against answering the same question
    // with validate over RPC. The JWTs live 15 minutes, longer than both scenarios take.
    log(`minting ${SESSIONS} JWTs`);
    const minted = await inParallel(SESSIONS, 32, (i) =>
      api(base, "POST", "/v1/session/token", { audience: JWT_AUDIENCE }, jwtTokens[i]),
    );
    const mintedFile = join(work, "jwts.txt");
    writeFileSync(mintedFile, minted.map((body) => body.jwt).join("\n"));
    const consumer = (port) => `http://127.0.0.1:${port}`;
    results.push(
      ...measureTogether([
        {
          name: NAMES.consumerJwt,
          server: workerd,
          base: consumer(ports.jwtConsumer),
          path: "/whoami",
          script: ["/whoami", "GET", "bearer", mintedFile, "-", "-"],
        },
        {
          name: NAMES.consumerRpc,
          server: workerd,
          base: consumer(ports.rpcConsumer),
          path: "/whoami",
          script: ["/whoami", "GET", "bearer", jwtFile, "-", "-"],
        },
      ]),
    );
    extra.jwtConsumerFetches = (await (await fetch(consumer(ports.outboundCounter))).json()).fetched;

    if (!quick) {
      log("seeding the write-every-time tenant");
      const touch0File = join(work, "touch0.txt");
      writeFileSync(touch0File, (await seedTenant(base, "touch0", { touchIntervalSeconds: 0 }, SESSIONS)).join("\n"));
      results.push(
        measure(NAMES.touch0, workerd, base, "/v1/session", ["/v1/session", "GET", "cookie", touch0File, "-", "-"]),
      );
      // One shard and sixteen, side by side.
      const create = (tenant) => [
        `/v1/tenants/${tenant}/sessions`,
        "POST",
        "admin",
        "-",
        ADMIN_KEY,
        '{"userId":"{user}"}',
      ];
      const list = (tenant) => [`/v1/tenants/${tenant}/sessions?limit=100`, "GET", "admin", "-", ADMIN_KEY, "-"];
      results.push(
        ...measureTogether([
          { name: NAMES.create, server: workerd, base, path: "/v1/tenants/bench/sessions", script: create("bench") },
          {
            name: NAMES.create16,
            server: workerd,
            base,
            path: "/v1/tenants/bench16/sessions",
            script: create("bench16"),
          },
        ]),
      );
      results.push(
        ...measureTogether([
          {
            name: NAMES.list,
            server: workerd,
            base,
            path: "/v1/tenants/bench/sessions?limit=100",
            script: list("bench"),
          },
          {
            name: NAMES.list16,
            server: workerd,
            base,
            path: "/v1/tenants/bench16/sessions?limit=100",
            script: list("bench16"),
          },
        ]),
      );
      // A token rotates once: the warm-up and each run get their own slice of tokens, each used
      // once, in order (1,428 each at 6 rounds: a run of 1 s rotates fewer than 1,000).
      const sliceSize = Math.floor(tokens.length / (RUNS + 1));
      const slices = Array.from({ length: RUNS + 1 }, (_, slice) => {
        const file = join(work, `rotate${slice}.txt`);
        writeFileSync(file, tokens.slice(slice * sliceSize, (slice + 1) * sliceSize).join("\n"));
        return file;
      });
      results.push(
        measure(
          "rotate",
          workerd,
          base,
          "/v1/session/rotate",
          (run) => ["/v1/session/rotate", "POST", "bearer-once", slices[run + 1], "-", "-"],
          { warmupS: 1, runS: 1 },
        ),
      );
      const webhooks = await measureWebhooks(base, workerd);
      results.push(...webhooks.results);
      extra.webhookLatency = webhooks.latency;
      results.push(...(await measureSignals(base, work, workerd)));
      results.push(...(await measureBinding(base, work, workerd)));
      log("seeding the two sliding tenants (default settings)");
      const slide = await seedTenantWithFile(base, storageDir, "slide", {}, SESSIONS);
      const burst = await seedTenantWithFile(base, storageDir, "burst", {}, SESSIONS);
      const slideFile = join(work, "slide.txt");
      writeFileSync(slideFile, slide.tokens.join("\n"));
      const burstFile = join(work, "burst.txt");
      writeFileSync(burstFile, burst.tokens.join("\n"));
      log(
        `seeding ${BIG_TENANTS} tenants of ${BIG_TENANT_SESSIONS} sessions; ageing the sliding sessions' last writes`,
      );
      // Aged last of all while workerd is down, so the sliding scenarios start seconds later and
      // measure what they name on a machine of any speed; each reports the writes it made.
      const big = await seedBigTenants(base, storageDir, workerd, buildDir, ports, [
        [slide.file, "steady"],
        [burst.file, "burst"],
      ]);
      workerd = big.workerd;
      extra.storage = big.storage;
      extra.slidingWrites = {};
      // Steady traffic: last writes spread over the interval, so a few sessions fall due each second.
      // The worst case: every session due at once, so each one's first use writes (10,000 writes).
      for (const [key, file, tokens] of [
        ["sliding", slide.file, slideFile],
        ["slidingBurst", burst.file, burstFile],
      ]) {
        const startedAt = Date.now();
        const result = measure(NAMES[key], workerd, base, "/v1/session", [
          "/v1/session",
          "GET",
          "cookie",
          tokens,
          "-",
          "-",
        ]);
        results.push(result);
        const writes = await sessionsTouchedSince(file, startedAt);
        const requests = result.runs.reduce((n, run) => n + run.requests, 0);
        extra.slidingWrites[key] = { writes, requests };
      }
      extra.killTenant = await killBigTenants(base, big.files);
      extra.killSharded = await killShardedTenant(base);
      extra.deleteSharded = await deleteShardedTenant(base);
      log(`the platform-wide kill: ${PLATFORM_TENANTS} more tenants`);
      extra.platformKill = await killPlatform(base);
    }
  } finally {
    await peer?.stop();
    await stop(workerd);
    rmSync(work, { recursive: true, force: true });
  }

  const report = {
    machine: machine(),
    quick,
    loadTool: LOAD_TOOL,
    connections: CONNECTIONS,
    warmupSeconds: WARMUP_S,
    runSeconds: RUN_S,
    runs: RUNS,
    results,
    ...extra,
  };
  mkdirSync(join(benchDir, "results"), { recursive: true });
  writeFileSync(join(benchDir, "results", quick ? "quick.json" : "latest.json"), JSON.stringify(report, null, 2));
  const m = report.machine;
  console.log(
    `\nMachine: ${m.cores} cores, ${m.cpu}; every server on core ${SERVER_CORE} (workerd; and for the peer, Redis and Express together: both server sides get one core), wrk on core ${LOAD_CORE}${m.pinned ? "" : " (not pinned: no taskset)"}; ${m.date}`,
  );
  if (redisPresent) console.log("The peer's Redis runs as production does: appendonly yes, appendfsync everysec.");
  const tool = wrkPresent
    ? `wrk -t${CONNECTIONS} -c${CONNECTIONS} (one connection per thread)`
    : `autocannon, ${CONNECTIONS} connections`;
  console.log(
    `${tool}; latencies raw, as each client saw them; warm-up ${WARMUP_S}s, ${RUNS} runs of ${RUN_S}s each\n`,
  );
  console.log(table(results));
  console.log(`\nTargets:\n${targets(results, extra)}`);
  const steal = Math.max(...results.map((r) => r.stealPercent));
  if (steal > 5)
    console.log(
      `\nwarning: the hypervisor stole up to ${Math.round(steal)}% of this machine's CPU during the runs; these figures understate it.`,
    );
  for (const r of results) {
    // A forged token, and the bare Worker answering its bytes, are 401 by design.
    if (r.non2xx > 0 && r.name !== NAMES.forged && r.name !== NAMES.refuse)
      console.log(`note: ${r.name}: ${r.non2xx} non-2xx answers, by status ${JSON.stringify(r.nonSuccessStatuses)}`);
  }
  if (extra.killTenant) {
    const k = extra.killTenant;
    console.log(
      `\nkill-tenant of ${BIG_TENANT_SESSIONS} sessions: ${k.ms.toFixed(1)} ms for the call (median of ${BIG_TENANTS} tenants, ${k.msMin.toFixed(1)}-${k.msMax.toFixed(1)}; revoked ${k.revoked}); the purge alarm had deleted every row ${(k.purgedAfterMs / 1000).toFixed(1)} s after the call`,
    );
  }
  if (extra.killSharded) {
    const k = extra.killSharded;
    console.log(
      `kill-tenant of ${k.shards} shards x ${k.sessionsPerShard} sessions: ${k.ms.toFixed(1)} ms for the call (revoked ${k.revoked})`,
    );
  }
  if (extra.deleteSharded) {
    const d = extra.deleteSharded;
    console.log(
      `delete-tenant of ${d.shards} shards x ${d.sessionsPerShard} sessions (killed, kept for undo): ${d.ms.toFixed(1)} ms for the call`,
    );
  }
  if (extra.platformKill) {
    const p = extra.platformKill;
    console.log(
      `platform-wide kill: every tenant applied it ${p.ms.toFixed(0)} ms after the request (answered ${p.answered}; ${p.tenants} tenants, ${p.revoked} sessions)`,
    );
  }
  if (extra.webhookLatency) console.log(webhookLatencyLine(extra.webhookLatency));
  if (extra.storage) {
    console.log(
      `storage: ${extra.storage.bytesPerSession.toFixed(0)} bytes per session on disk, indexes included; ${extra.storage.bytesPerSessionWithCreatedEvent.toFixed(0)} with its "created" audit event`,
    );
  }
}

await main();
