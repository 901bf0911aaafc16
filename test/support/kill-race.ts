// The revocation race: sessions are validated by hundreds of requests in flight while an
// operator kills their user (all of one user's sessions) or the whole tenant (sessions of many
// users, spread over the tenant's shards). A validate sent after the kill's answer arrived must
// never succeed. Shared by the in-process test and `npm run kill-race` against a live server,
// so it only needs a fetch function. "After" is decided by the event loop, not by clocks.

export type Fetch = (path: string, init?: RequestInit) => Promise<Response>;

export interface KillRaceOptions {
  tenant: string;
  adminKey: string;
  sessions?: number;
  /** Validates to send in all; at least `afterKill` of them go out after the kill answered. */
  validates?: number;
  afterKill?: number;
  /** Most validates in flight at once. */
  maxInFlight?: number;
  /** The tenant's shard count (default 1). */
  shards?: number;
  /** Kill the user (default), or the tenant, whose sessions then belong to one user each. */
  kill?: "user" | "tenant";
}

export interface KillRaceReport {
  sessions: number;
  revoked: number;
  killMs: number;
  sentBeforeKillAnswered: { ok: number; unauthorized: number; other: number };
  sentAfterKillAnswered: { ok: number; unauthorized: number; other: number };
}

const USER = "racer";

export async function killRace(fetchApi: Fetch, options: KillRaceOptions): Promise<KillRaceReport> {
  const {
    tenant,
    adminKey,
    sessions = 20,
    validates = 400,
    afterKill = 100,
    maxInFlight = 200,
    shards = 1,
    kill: scope = "user",
  } = options;
  const admin = { Authorization: `Bearer ${adminKey}`, "Content-Type": "application/json" };
  const put = await fetchApi(`/v1/tenants/${tenant}`, {
    method: "PUT",
    headers: admin,
    body: JSON.stringify({ shards }),
  });
  if (!put.ok) throw new Error(`PUT tenant: ${put.status} ${await put.text()}`);
  const tokens: string[] = [];
  for (let i = 0; i < sessions; i++) {
    const userId = scope === "user" ? USER : `${USER}-${i}`;
    const created = await fetchApi(`/v1/tenants/${tenant}/sessions`, {
      method: "POST",
      headers: admin,
      body: JSON.stringify({ userId }),
    });
    if (created.status !== 201) throw new Error(`create session: ${created.status}`);
    tokens.push(((await created.json()) as { token: string }).token);
  }

  let killAnswered = false;
  let revoked = -1;
  let killMs = 0;
  const inFlight: Promise<{ afterKill: boolean; status: number }>[] = [];
  const validate = (token: string) => {
    const afterKillAnswered = killAnswered;
    return fetchApi("/v1/session", { headers: { Authorization: `Bearer ${token}` } }).then(async (response) => {
      await response.body?.cancel();
      return { afterKill: afterKillAnswered, status: response.status };
    });
  };

  let kill: Promise<void> | null = null;
  let sentAfter = 0;
  let pending = 0;
  const done = (sent: number) => sent >= validates && killAnswered && sentAfter >= afterKill;
  // Bounded whatever happens: never more than ten times the planned number of requests.
  for (let i = 0; !done(i) && i < validates * 10; i++) {
    while (pending >= maxInFlight) await new Promise((resolve) => setTimeout(resolve, 1));
    if (killAnswered) sentAfter += 1;
    pending += 1;
    inFlight.push(validate(tokens[i % tokens.length]!).finally(() => (pending -= 1)));
    if (i === Math.floor(validates / 2)) {
      const started = performance.now();
      const path = scope === "user" ? `/v1/tenants/${tenant}/users/${USER}/sessions` : `/v1/tenants/${tenant}/sessions`;
      kill = fetchApi(path, { method: "DELETE", headers: admin }).then(async (response) => {
        revoked = ((await response.json()) as { revoked: number }).revoked;
        killMs = performance.now() - started;
        killAnswered = true;
      });
    }
    // Let responses arrive between sends, so requests overlap the kill instead of queueing all up front.
    if (i % 10 === 9) await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await kill;
  const results = await Promise.all(inFlight);
  const tally = (afterKill: boolean) => {
    const mine = results.filter((r) => r.afterKill === afterKill);
    return {
      ok: mine.filter((r) => r.status === 200).length,
      unauthorized: mine.filter((r) => r.status === 401).length,
      other: mine.filter((r) => r.status !== 200 && r.status !== 401).length,
    };
  };
  return { sessions, revoked, killMs, sentBeforeKillAnswered: tally(false), sentAfterKillAnswered: tally(true) };
}
