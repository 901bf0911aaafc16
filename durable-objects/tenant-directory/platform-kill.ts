// The platform-wide kill, as a tree. The coordinator (directory shard 0) records the kill and
// starts its part on every directory object; each part works through the tenants its object
// knew when the kill was asked, side by side with the others, each tenant through its home
// (which reaches the tenant's other stores itself), with durable progress that its alarm
// resumes after a restart. A part says when it is done; the coordinator's alarm asks after
// those that have not, so a lost word costs a few seconds, never the kill.

import { fail, KILL_NOT_FOUND, ok, type Result } from "../../src/core/errors";
import { DIRECTORY_SHARDS } from "../../src/core/placement";
import { eachAtOnce } from "../stub";
import { callDirectory, callHome, type DirectoryStub, type HomeStub } from "../stubs";
import type { PlatformKill } from "./api";
import {
  figuresOf,
  insertKillPart,
  insertPlatformKill,
  killPartRetries,
  markKillPartDone,
  markPlatformKillDone,
  markPlatformKillUndone,
  partsOf,
  readKillPart,
  readPlatformKill,
  recordPartBatch,
  recordPartReport,
  everyPartTried,
  markKillPartTried,
  stopKillPart,
  tenantsKnownAt,
  type KnownTenant,
  type PartFigures,
} from "./platform-kill-sql";

/** Tenants read at a time from a part's list. */
const PART_PAGE = 100;
/**
 * Store calls one run (a request, an alarm) of a part may cause: each tenant counts its shard
 * count (its home reaches every one of its stores for the kill), below the 1,000 subrequests an
 * invocation may make on the older plans. A tenant of more shards than that runs alone.
 */
const PART_CALLS_PER_RUN = 900;
/** How long one alarm run of a part works through tenants. */
export const PART_ALARM_BUDGET_MS = 20_000;
/** Wait before asking again tenants that could not be reached. */
export const PART_RETRY_DELAY_MS = 30_000;
/** How often the coordinator asks after parts that have not said they are done. */
export const PARTS_CHECK_DELAY_MS = 5_000;
/** How long the request of a platform kill waits for every part before answering 202. */
export const PLATFORM_KILL_REQUEST_BUDGET_MS = 5_000;
const WAIT_STEP_MS = 25;

const ADMIN = { kind: "admin" } as const;

/** What the coordinator and the parts ask of one another. */
export type PartObject = Pick<DirectoryStub, "startKillPart" | "killPart" | "undoKillPart" | "partReport">;

/** What the kill's code needs of the directory object it runs in. */
export interface DirectoryHost {
  sql: SqlStorage;
  env: Env;
  /** This object's shard. */
  shard: number;
  /** The directory object of `shard`: this one's own methods when it is this one (an object does not call itself). */
  reach(shard: number): PartObject;
  /** Asks for the alarm at `at`, unless it is set sooner. */
  wake(at: number): Promise<void>;
}

function atHome<T extends object>(
  host: DirectoryHost,
  tenant: KnownTenant,
  call: (home: HomeStub) => Promise<Result<T>>,
): Promise<Result<T> | null> {
  return callHome(host.env, { tenant: tenant.name, jurisdiction: tenant.jurisdiction }, call).catch(() => null);
}

// The coordinator

/** Records the kill and starts every part; the kill's moment is now: sessions created after are spared. */
export async function startPlatformKill(host: DirectoryHost, killId: string, actor: string): Promise<void> {
  insertPlatformKill(host.sql, killId, actor, Date.now(), DIRECTORY_SHARDS);
  await host.wake(Date.now() + PARTS_CHECK_DELAY_MS); // parts not started now are, from the alarm
  await startParts(host, killId);
}

/**
 * Waits until every part said it is done, or that it asked each of its tenants once (those left
 * could not be reached: its alarm asks them again later), or `budgetMs` passed.
 */
export async function awaitPlatformKill(host: DirectoryHost, killId: string, budgetMs: number): Promise<void> {
  const deadline = Date.now() + budgetMs;
  while (!everyPartTried(host.sql, killId) && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
}

async function startParts(host: DirectoryHost, killId: string): Promise<void> {
  const kill = readPlatformKill(host.sql, killId)!;
  const waiting = partsOf(host.sql, killId).filter((part) => part.started === 0);
  // All at once: each start is answered at once, and a start asked late would wait behind the
  // work of the parts started before it (locally, where every object shares one thread).
  const started = await eachAtOnce(
    waiting,
    (part) => host.reach(part.shard).startKillPart(killId, kill.at),
    waiting.length,
  );
  started.forEach((answer, i) => {
    if ("value" in answer && answer.value.ok)
      recordPartReport(host.sql, killId, waiting[i]!.shard, answer.value.part, Date.now());
  });
}

/** From the coordinator's alarm: starts the parts not started yet, and asks after those that have not said they are done. */
export async function checkParts(host: DirectoryHost, killId: string): Promise<void> {
  await startParts(host, killId);
  const quiet = partsOf(host.sql, killId).filter((part) => part.started === 1 && part.done === 0);
  const answers = await eachAtOnce(quiet, (part) => host.reach(part.shard).killPart(killId));
  answers.forEach((answer, i) => {
    const part = "value" in answer && answer.value.ok ? answer.value.part : null;
    if (part) recordPartReport(host.sql, killId, quiet[i]!.shard, part, Date.now());
  });
}

/**
 * The kill as the API shows it, from this object's storage alone (a poll while it runs costs no
 * call): a finished one from its record, one under way from what its parts last reported.
 */
export function viewPlatformKill(host: DirectoryHost, killId: string): Result<{ kill: PlatformKill }> {
  const row = readPlatformKill(host.sql, killId);
  if (!row) return KILL_NOT_FOUND;
  const parts = partsOf(host.sql, killId);
  // A kill from before the tree, or one every part finished: its record holds its figures.
  const finished = parts.length === 0 || (row.done_at !== null && parts.every((part) => part.done === 1));
  const sum = (pick: (part: (typeof parts)[number]) => number) => parts.reduce((total, part) => total + pick(part), 0);
  return ok({
    kill: {
      id: row.id,
      requestedAt: new Date(row.at).toISOString(),
      tenants: finished ? row.tenants : sum((part) => part.tenants),
      applied: finished ? row.applied : sum((part) => part.applied),
      shards: finished ? row.shards : sum((part) => part.shards),
      shardsApplied: finished ? row.shards_applied : sum((part) => part.shards_applied),
      revoked: finished ? row.revoked : sum((part) => part.revoked),
      done: row.done_at !== null,
      undone: row.undone_at !== null,
    },
  });
}

/**
 * Undoes a platform kill on every tenant it may have reached, each within its own undo window
 * (tenants past it are skipped, and counted). A kill still under way stops first, on every
 * part. 503 when a tenant or a part could not be reached: the call may be repeated (tenants
 * already undone are left as they are).
 */
export async function undoPlatformKill(
  host: DirectoryHost,
  killId: string,
): Promise<Result<{ restored: number; skipped: number; killId: string }>> {
  const kill = readPlatformKill(host.sql, killId);
  if (!kill) return KILL_NOT_FOUND;
  if (kill.undone_at !== null) return fail("already_undone", "this kill was already undone");
  markPlatformKillDone(host.sql, killId, Date.now()); // no part is started from now on
  const shards = Array.from({ length: DIRECTORY_SHARDS }, (_, shard) => shard);
  const answers = await eachAtOnce(shards, (shard) => host.reach(shard).undoKillPart(killId, kill.at));
  let restored = 0;
  let skipped = 0;
  let unreachable = false;
  for (const answer of answers) {
    if (!("value" in answer) || !answer.value.ok) unreachable = true;
    else {
      restored += answer.value.restored;
      skipped += answer.value.skipped;
      unreachable ||= answer.value.unreachable;
    }
  }
  if (unreachable) return fail("shard_unavailable", "some tenants could not be reached; repeat the undo to reach them");
  markPlatformKillUndone(host.sql, killId, Date.now());
  return ok({ restored, skipped, killId });
}

// A part, at every directory object

/** Records this object's part (once) and asks its alarm to work it: the coordinator is answered at once. */
export async function startKillPart(host: DirectoryHost, killId: string, at: number): Promise<PartFigures> {
  insertKillPart(host.sql, killId, at);
  await host.wake(Date.now());
  return figuresOf(readKillPart(host.sql, killId)!);
}

/**
 * Kills the part's next tenants, batch by batch, until every one was reached, `deadline`, or the
 * run's calls are spent: first by name, then those that could not be reached. Each batch's
 * outcome is stored before the next starts; a tenant asked twice answers without killing twice
 * (same kill id). Returns how the run ended: the part done; its calls or time spent (the next
 * run goes on at once); or only tenants that could not be reached left (asked again later).
 */
export async function advanceKillPart(
  host: DirectoryHost,
  killId: string,
  deadline: number,
): Promise<"done" | "spent" | "waiting"> {
  const { sql } = host;
  let calls = 0;
  for (;;) {
    const part = readKillPart(sql, killId)!;
    if (part.done_at !== null || part.stopped_at !== null) return "done";
    if (Date.now() >= deadline) return "spent";
    const named = tenantsKnownAt(sql, part.at, part.after, PART_PAGE);
    const waiting = named.length > 0 ? named : killPartRetries(sql, killId, PART_PAGE);
    if (named.length === 0 && part.tried_at === null) {
      markKillPartTried(sql, killId, Date.now());
      if (waiting.length > 0) await tellCoordinator(host, killId);
    }
    if (waiting.length === 0) {
      markKillPartDone(sql, killId, Date.now());
      await tellCoordinator(host, killId);
      return "done";
    }
    const batch: KnownTenant[] = [];
    for (const tenant of waiting) {
      if (calls + tenant.shards > PART_CALLS_PER_RUN && (calls > 0 || batch.length > 0)) break;
      calls += tenant.shards;
      batch.push(tenant);
    }
    if (batch.length === 0) return "spent";
    // Every tenant applies the kill's one moment: sessions created after it was asked are spared.
    const outcomes = await eachAtOnce(batch, (tenant) =>
      atHome(host, tenant, (home) => home.kill(ADMIN, killId, { kind: "tenant" }, part.at)),
    );
    const applied: KnownTenant[] = [];
    const retry: string[] = [];
    let revoked = 0;
    outcomes.forEach((answer, i) => {
      const outcome = "value" in answer ? answer.value : null;
      // A name claimed for a tenant whose creation failed holds nothing: reached all the same.
      if (outcome?.ok || outcome?.error.code === "tenant_not_found") applied.push(batch[i]!);
      else retry.push(batch[i]!.name);
      if (outcome?.ok) revoked += outcome.revoked;
    });
    const next = named.length > 0 ? batch : [];
    recordPartBatch(sql, killId, next.length > 0 ? next.at(-1)!.name : null, applied, revoked, retry, Date.now());
    await tellCoordinator(host, killId); // its progress, for a poll to read there
    if (next.length === 0 && applied.length === 0) return "waiting";
  }
}

/** Tells the coordinator how far the part is. Best effort: its alarm asks after a part that stays quiet. */
async function tellCoordinator(host: DirectoryHost, killId: string): Promise<void> {
  const figures = figuresOf(readKillPart(host.sql, killId)!);
  await host
    .reach(0)
    .partReport(killId, host.shard, figures)
    .catch(() => undefined);
}

/**
 * Undoes this part's tenants (every one it knew when the kill was asked), after stopping the
 * part: the run in flight, if any, lands first (`settled`).
 */
export async function undoKillPart(
  host: DirectoryHost,
  killId: string,
  at: number,
  settled: () => Promise<unknown>,
): Promise<{ restored: number; skipped: number; unreachable: boolean }> {
  const { sql } = host;
  const never = !readKillPart(sql, killId);
  // A part never started is recorded stopped: a start still on its way finds it so, and kills nothing.
  if (never) insertKillPart(sql, killId, at);
  stopKillPart(sql, killId, Date.now());
  if (never) return { restored: 0, skipped: 0, unreachable: false };
  await settled();
  const part = readKillPart(sql, killId)!;
  let restored = 0;
  let skipped = 0;
  let unreachable = false;
  for (
    let batch = tenantsKnownAt(sql, part.at, "", PART_PAGE);
    batch.length > 0;
    batch = tenantsKnownAt(sql, part.at, batch.at(-1)!.name, PART_PAGE)
  ) {
    const outcomes = await eachAtOnce(batch, (tenant) =>
      atHome(host, tenant, (home) => home.undo(ADMIN, killId, true)),
    );
    // Any other answer is a tenant reached with nothing to count: the kill never got there
    // (404), or this same undo, asked again after another tenant could not be reached, was
    // already decided there (409 already_undone; its home finishes it).
    for (const answer of outcomes) {
      const outcome = "value" in answer ? answer.value : null;
      if (outcome === null) unreachable = true;
      else if (outcome.ok) restored += outcome.restored;
      else if (outcome.error.code === "undo_window_passed") skipped += 1;
      else if (outcome.error.code === "shard_unavailable" || outcome.error.code === "overloaded") unreachable = true;
    }
  }
  return { restored, skipped, unreachable };
}

/** Another directory object, as the kill's code reaches it. */
export function directoryObject(env: Env, shard: number): PartObject {
  return {
    startKillPart: (killId, at) => callDirectory(env, shard, (d) => d.startKillPart(killId, at)),
    killPart: (killId) => callDirectory(env, shard, (d) => d.killPart(killId), { idempotent: true }),
    undoKillPart: (killId, at) => callDirectory(env, shard, (d) => d.undoKillPart(killId, at)),
    partReport: (killId, from, figures) => callDirectory(env, shard, (d) => d.partReport(killId, from, figures)),
  };
}
