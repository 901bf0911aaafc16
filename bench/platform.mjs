// Platform operations at scale, on this machine: get and kill-one by id on 256 shards against
// 1 (and against the fan-out an id from before costs); what a cold isolate asks the directory;
// and the platform kill over 10,000 tenants (some sharded), with its progress while it runs.
// Everything goes through the real API of one workerd, which the load shares one core with.

/** Tenants the platform kill reaches: every 50th has 8 shards. */
const TENANTS = 10_000;
const SHARDED_EVERY = 50;
const SHARDED_COUNT = 8;
/** Sessions per tenant of the per-id scenarios, each asked once by get and once by kill. */
const BY_ID_SESSIONS = 1_000;
const BY_ID_WIDTH = 8;
/** The kill's progress is polled this often while it runs. */
const POLL_MS = 250;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** CPU µs of the server per request while `count` jobs run, `width` at once. */
async function cpuPerRequest({ server, cpuSeconds, inParallel }, count, width, job) {
  const pid = server().pid;
  const before = cpuSeconds(pid);
  const started = performance.now();
  await inParallel(count, width, job);
  const wall = performance.now() - started;
  return { cpuUs: ((cpuSeconds(pid) - before) * 1e6) / count, perSecond: (count * 1000) / wall };
}

/** A 22-character id that names no store: what an id from before costs (every store asked), here not found. */
function unplacedId(i) {
  return `old${String(i).padStart(19, "0")}`;
}

async function byId(tools, base, shards) {
  const { api, inParallel, log } = tools;
  const tenant = `byid${shards}`;
  log(`per-id routes: a tenant of ${shards} shard(s), ${BY_ID_SESSIONS} sessions`);
  await api(base, "PUT", `/v1/tenants/${tenant}`, { shards });
  const ids = await inParallel(BY_ID_SESSIONS, 16, async (i) => {
    const issued = await api(base, "POST", `/v1/tenants/${tenant}/sessions`, { userId: `user${i}` });
    return issued.session.id;
  });
  const get = (id) => api(base, "GET", `/v1/tenants/${tenant}/sessions/${id}`);
  await get(ids[0]); // this isolate learns the tenant
  const gets = await cpuPerRequest(tools, BY_ID_SESSIONS, BY_ID_WIDTH, (i) => get(ids[i]));
  const fanOut = await cpuPerRequest(tools, 200, BY_ID_WIDTH, async (i) => {
    const response = await fetch(`${base}/v1/tenants/${tenant}/sessions/${unplacedId(i)}`, {
      headers: { Authorization: `Bearer ${tools.adminKey}` },
    });
    if (response.status !== 404) throw new Error(`an id from before: ${response.status}`);
    await response.arrayBuffer();
  });
  const kills = await cpuPerRequest(tools, BY_ID_SESSIONS, BY_ID_WIDTH, (i) =>
    api(base, "DELETE", `/v1/tenants/${tenant}/sessions/${ids[i]}`),
  );
  return { shards, get: gets, getFromBefore: fanOut, kill: kills };
}

/**
 * A cold isolate (workerd restarted): the first request of each tenant asks the directory where
 * it lives; the next asks only its home.
 */
async function coldIsolate(tools, base, tenants) {
  tools.log(`a cold isolate: ${tenants.length} tenants, each asked twice`);
  await tools.restart();
  const read = (i) => tools.api(base, "GET", `/v1/tenants/${tenants[i]}`);
  const first = await cpuPerRequest(tools, tenants.length, 8, read);
  const again = await cpuPerRequest(tools, tenants.length, 8, read);
  return { tenants: tenants.length, first, again };
}

async function seedTenants(tools, base) {
  const { api, inParallel, log } = tools;
  log(`seeding ${TENANTS} tenants (every ${SHARDED_EVERY}th of ${SHARDED_COUNT} shards), a session each`);
  const names = Array.from({ length: TENANTS }, (_, i) => `p${i}`);
  await inParallel(TENANTS, 16, async (i) => {
    await api(base, "PUT", `/v1/tenants/${names[i]}`, i % SHARDED_EVERY === 0 ? { shards: SHARDED_COUNT } : {});
    await api(base, "POST", `/v1/tenants/${names[i]}/sessions`, { userId: "u" });
  });
  return names;
}

/**
 * The platform kill: `cold`, right after a restart (every object asleep, as after a quiet
 * night); else with every object as the seeding left it (awake, but for those workerd evicted).
 */
async function platformKill(tools, base, { cold }) {
  const { api, log } = tools;
  const profiler = cold ? await tools.restart({ profile: tools.profileKill }) : null;
  log(`the platform kill (${cold ? "cold" : "warm"}): DELETE /v1/sessions`);
  await profiler?.start();
  const cpuBefore = tools.cpuSeconds(tools.server().pid);
  const started = performance.now();
  const first = await fetch(`${base}/v1/sessions`, {
    method: "DELETE",
    headers: { Authorization: `Bearer ${tools.adminKey}` },
  });
  const body = await first.json();
  const answeredMs = performance.now() - started;
  const progress = [];
  let kill = first.status === 200 ? null : body.kill;
  while (kill && !kill.done) {
    await sleep(POLL_MS);
    kill = (await api(base, "GET", `/v1/kills/${kill.id}`)).kill;
    progress.push({
      ms: Math.round(performance.now() - started),
      applied: kill.applied,
      shardsApplied: kill.shardsApplied,
    });
  }
  const doneMs = performance.now() - started;
  const cpu = tools.cpuSeconds(tools.server().pid) - cpuBefore;
  const profile = (await profiler?.stop()) ?? null;
  const killId = kill?.id ?? body.killId;
  const final = (await api(base, "GET", `/v1/kills/${killId}`)).kill;
  return {
    cold,
    answered: first.status,
    answeredMs: Math.round(answeredMs),
    doneMs: Math.round(doneMs),
    tenants: final.tenants,
    applied: final.applied,
    shards: final.shards,
    shardsApplied: final.shardsApplied,
    revoked: final.revoked,
    cpuSeconds: cpu,
    progress,
    profile,
  };
}

/** Runs every scenario; `tools` are run.mjs's (api, inParallel, log, cpuSeconds, server(), restart(), adminKey). */
export async function platformScenarios(tools, base) {
  const one = await byId(tools, base, 1);
  const many = await byId(tools, base, 256);
  const names = await seedTenants(tools, base);
  const warmKill = await platformKill(tools, base, { cold: false });
  tools.log(`a session more in each of the ${names.length} tenants`);
  await tools.inParallel(names.length, 16, (i) =>
    tools.api(base, "POST", `/v1/tenants/${names[i]}/sessions`, { userId: "v" }),
  );
  const cold = await coldIsolate(tools, base, names.slice(0, 1_000));
  const coldKill = await platformKill(tools, base, { cold: true });
  return { byId: [one, many], cold, kills: [warmKill, coldKill] };
}

/** The report, as printed and recorded. */
export function platformReport({ byId, cold, kills }) {
  const [one, many] = byId;
  const us = (x) => `${x.cpuUs.toFixed(0)} µs`;
  const lines = [
    "| per-id route | 1 shard | 256 shards | 256 / 1 |",
    "|---|---|---|---|",
    `| get by id (CPU per request) | ${us(one.get)} | ${us(many.get)} | ${(many.get.cpuUs / one.get.cpuUs).toFixed(2)}x |`,
    `| kill one by id (CPU per request) | ${us(one.kill)} | ${us(many.kill)} | ${(many.kill.cpuUs / one.kill.cpuUs).toFixed(2)}x |`,
    `| get by an id from before (every store asked) | ${us(one.getFromBefore)} | ${us(many.getFromBefore)} | ${(many.getFromBefore.cpuUs / one.getFromBefore.cpuUs).toFixed(2)}x |`,
    "",
    `cold isolate: ${cold.tenants} tenant lookups, first ${us(cold.first)} per request, then ${us(cold.again)}`,
  ];
  for (const kill of kills) {
    lines.push(
      "",
      `platform kill (${kill.cold ? "cold: after a restart" : "warm: right after seeding"}): ${kill.tenants} tenants (${kill.shards} stores), answered ${kill.answered} after ${kill.answeredMs} ms; every tenant applied ${kill.doneMs} ms after the request (${kill.applied} applied, ${kill.shardsApplied} stores, ${kill.revoked} sessions); server CPU ${kill.cpuSeconds.toFixed(1)} s, ${((kill.cpuSeconds * 1e6) / kill.tenants).toFixed(0)} µs per tenant; progress seen at ${kill.progress.length} polls`,
      `progress: ${kill.progress.map((p) => `${p.ms} ms: ${p.applied}`).join(", ")}`,
    );
    if (kill.profile)
      lines.push(
        "",
        "the kill's server CPU, self time by function:",
        ...kill.profile.map(({ key, share }) => `${(share * 100).toFixed(1).padStart(5)}%  ${key}`),
      );
  }
  return lines.join("\n");
}
