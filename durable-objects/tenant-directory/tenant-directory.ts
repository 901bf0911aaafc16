// TenantDirectory: the platform's registry of tenants (one Durable Object, "directory"). A name
// is claimed here with its jurisdiction before its first store exists; each home records its
// tenant's settings here (its alarm retries until heard), and has the name forgotten once the
// tenant is deleted. It runs platform-wide kills too: every tenant known when asked, in batches,
// each through its home, with its progress in storage so that a restart resumes it (the alarm).

import { DurableObject } from "cloudflare:workers";
import { fail, KILL_NOT_FOUND, ok, type Result } from "../../src/core/errors";
import type { Jurisdiction } from "../../src/core/placement";
import { callHome, type HomeStub } from "../stubs";
import type { DirectoryApi, PlatformKill } from "./api";
import type { TenantSettings } from "../../src/core/settings";
import {
  claimName,
  forgetTenant,
  jurisdictionOf,
  insertPlatformKill,
  listTenants,
  markPlatformKillDone,
  markPlatformKillUndone,
  migrate,
  platformKillRetries,
  readPlatformKill,
  recordPlatformBatch,
  recordTenant,
  tenantsKnownAt,
  unfinishedPlatformKills,
  type DirectoryEntry,
  type KnownTenant,
  type PlatformKillRow,
} from "./tenant-directory-sql";

/** Tenants a platform kill (or its undo) asks at once. */
const PLATFORM_BATCH = 25;
/** How long the request of a platform kill works through tenants before answering 202. */
const PLATFORM_KILL_REQUEST_BUDGET_MS = 5_000;
/** How long one alarm run works through tenants. */
const PLATFORM_KILL_ALARM_BUDGET_MS = 20_000;
/** Wait before asking again tenants that could not be reached. */
const PLATFORM_RETRY_DELAY_MS = 30_000;
/** Wait before looking again while a request's run is still going. */
const PLATFORM_BUSY_DELAY_MS = 1_000;
/**
 * Tenants one run (a request, an alarm) may reach: one call to each one's home (which reaches
 * its other stores itself), below the 1,000 subrequests an invocation may make on the older plans.
 */
const PLATFORM_CALLS_PER_RUN = 900;

const ADMIN = { kind: "admin" } as const;

/** A tenant's home, which coordinates the tenant's part of a platform kill (durable-objects/session-store/coordinator.ts). */
function atHome<T extends object>(
  env: Env,
  tenant: KnownTenant,
  call: (home: HomeStub) => Promise<Result<T>>,
): Promise<Result<T> | null> {
  return callHome(env, { tenant: tenant.name, jurisdiction: tenant.jurisdiction }, call).catch(() => null);
}

function shown(row: PlatformKillRow): PlatformKill {
  return {
    id: row.id,
    requestedAt: new Date(row.at).toISOString(),
    tenants: row.tenants,
    applied: row.applied,
    revoked: row.revoked,
    done: row.done_at !== null,
    undone: row.undone_at !== null,
  };
}

export class TenantDirectory extends DurableObject<Env> implements DirectoryApi {
  /** The run through platform kills under way, if any: one at a time, or two would count a batch twice. */
  #advancing: Promise<unknown> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage);
      // Alarms are not kept across a local restart: a kill still under way resumes.
      if (unfinishedPlatformKills(ctx.storage.sql).length > 0 && (await ctx.storage.getAlarm()) === null)
        await ctx.storage.setAlarm(Date.now());
    });
  }

  record(name: string, settings: TenantSettings, createdAt: number, updatedAt: number): Result {
    recordTenant(this.ctx.storage.sql, name, settings, createdAt, updatedAt);
    return ok({});
  }

  /** The tenant's home erased it and every shard: its name is free again. */
  forget(name: string, createdAt: number, actor: string): Result {
    this.ctx.storage.transactionSync(() => forgetTenant(this.ctx.storage.sql, name, createdAt, actor, Date.now()));
    return ok({});
  }

  /** Claims a name before its tenant is created: see claimName. */
  claim(name: string, jurisdiction: Jurisdiction | null): Result<{ jurisdiction: Jurisdiction | null }> {
    return ok({ jurisdiction: claimName(this.ctx.storage.sql, name, jurisdiction, Date.now()) });
  }

  /** Where a tenant lives: `known` is false for a name never claimed nor recorded. */
  locate(name: string): Result<{ known: boolean; jurisdiction: Jurisdiction | null }> {
    const jurisdiction = jurisdictionOf(this.ctx.storage.sql, name);
    return ok({ known: jurisdiction !== undefined, jurisdiction: jurisdiction ?? null });
  }

  /** Up to `limit` tenants by name, after `after`; `limit + 1` are read to say whether more follow. */
  list(after: string | undefined, limit: number): Result<{ tenants: DirectoryEntry[]; more: boolean }> {
    const rows = listTenants(this.ctx.storage.sql, after, limit + 1);
    return ok({ tenants: rows.slice(0, limit), more: rows.length > limit });
  }

  // Platform-wide kills

  /**
   * Starts killing every session of every tenant known now; works through them for `budgetMs`
   * (a few seconds for a request), then in the background.
   */
  async startPlatformKill(
    killId: string,
    actor: string,
    budgetMs = PLATFORM_KILL_REQUEST_BUDGET_MS,
  ): Promise<Result<{ kill: PlatformKill }>> {
    insertPlatformKill(this.ctx.storage.sql, killId, actor, Date.now());
    const kill = await this.#advance(killId, Date.now() + budgetMs);
    if (!kill.done) await this.ctx.storage.setAlarm(Date.now());
    return ok({ kill });
  }

  platformKill(killId: string): Result<{ kill: PlatformKill }> {
    const row = readPlatformKill(this.ctx.storage.sql, killId);
    return row ? ok({ kill: shown(row) }) : KILL_NOT_FOUND;
  }

  override async alarm(): Promise<void> {
    let waiting = false;
    for (const killId of unfinishedPlatformKills(this.ctx.storage.sql)) {
      const kill = await this.#advance(killId, Date.now() + PLATFORM_KILL_ALARM_BUDGET_MS);
      waiting ||= !kill.done;
    }
    if (waiting)
      await this.ctx.storage.setAlarm(
        Date.now() + (this.#advancing ? PLATFORM_BUSY_DELAY_MS : PLATFORM_RETRY_DELAY_MS),
      );
  }

  /**
   * Kills the next tenants, batch by batch, until every tenant was reached or `deadline`:
   * first by name, then those that could not be reached. Each batch's outcome is stored before
   * the next starts; a tenant asked twice answers without killing twice (same kill id).
   */
  async #advance(killId: string, deadline: number): Promise<PlatformKill> {
    const sql = this.ctx.storage.sql;
    if (this.#advancing) return shown(readPlatformKill(sql, killId)!); // the run under way (or the alarm) goes on with it
    const run = this.#advanceAlone(killId, deadline);
    this.#advancing = run;
    try {
      return await run;
    } finally {
      this.#advancing = null;
    }
  }

  async #advanceAlone(killId: string, deadline: number): Promise<PlatformKill> {
    const sql = this.ctx.storage.sql;
    let calls = 0;
    for (;;) {
      const kill = readPlatformKill(sql, killId)!;
      if (kill.done_at !== null || kill.undone_at !== null || Date.now() >= deadline) return shown(kill);
      const named = tenantsKnownAt(sql, kill.at, kill.after, PLATFORM_BATCH);
      const waiting = named.length > 0 ? named : platformKillRetries(sql, killId, PLATFORM_BATCH);
      if (waiting.length === 0) {
        markPlatformKillDone(sql, killId, Date.now());
        continue;
      }
      const batch = waiting.slice(0, PLATFORM_CALLS_PER_RUN - calls);
      if (batch.length === 0) return shown(kill); // this run's calls are spent: the next run goes on
      calls += batch.length;
      const next = named.length > 0 ? batch : [];
      // Every tenant applies the kill's one moment: sessions created after it was asked are spared.
      const outcomes = await Promise.all(
        batch.map((tenant) =>
          atHome(this.env, tenant, (home) => home.kill(ADMIN, killId, { kind: "tenant" }, kill.at)),
        ),
      );
      const applied: string[] = [];
      const retry: string[] = [];
      let revoked = 0;
      outcomes.forEach((outcome, i) => {
        const name = batch[i]!.name;
        // A name claimed for a tenant whose creation failed holds nothing: reached all the same.
        if (outcome?.ok || outcome?.error.code === "tenant_not_found") applied.push(name);
        else retry.push(name);
        if (outcome?.ok) revoked += outcome.revoked;
      });
      recordPlatformBatch(sql, killId, next.length > 0 ? next[next.length - 1]!.name : null, applied, revoked, retry);
      if (next.length === 0 && applied.length === 0) return shown(readPlatformKill(sql, killId)!); // none reachable again yet: the alarm asks later
    }
  }

  /**
   * Undoes a platform kill on every tenant it may have reached, each within its own undo
   * window (tenants past it are skipped, and counted). A kill still under way stops first.
   * 503 when a tenant could not be reached: the call may be repeated (tenants already undone
   * are left as they are).
   */
  async undoPlatformKill(killId: string): Promise<Result<{ restored: number; skipped: number; killId: string }>> {
    const sql = this.ctx.storage.sql;
    const kill = readPlatformKill(sql, killId);
    if (!kill) return KILL_NOT_FOUND;
    if (kill.undone_at !== null) return fail("already_undone", "this kill was already undone");
    // Stops the kill where it is, and lets its batch in flight land first: undo comes after it.
    if (kill.done_at === null) markPlatformKillDone(sql, killId, Date.now());
    await this.#advancing?.catch(() => undefined);
    let restored = 0;
    let skipped = 0;
    let unreachable = false;
    for (
      let batch = tenantsKnownAt(sql, kill.at, "", PLATFORM_BATCH);
      batch.length > 0;
      batch = tenantsKnownAt(sql, kill.at, batch[batch.length - 1]!.name, PLATFORM_BATCH)
    ) {
      const outcomes = await Promise.all(
        batch.map((tenant) => atHome(this.env, tenant, (home) => home.undo(ADMIN, killId, true))),
      );
      // Any other answer is a tenant reached with nothing to count: the kill never got there
      // (404), or this same undo, asked again after another tenant could not be reached, was
      // already decided there (409 already_undone; its home finishes it).
      for (const outcome of outcomes) {
        if (outcome === null) unreachable = true;
        else if (outcome.ok) restored += outcome.restored;
        else if (outcome.error.code === "undo_window_passed") skipped += 1;
        else if (outcome.error.code === "shard_unavailable" || outcome.error.code === "overloaded") unreachable = true;
      }
    }
    if (unreachable)
      return fail("shard_unavailable", "some tenants could not be reached; repeat the undo to reach them");
    markPlatformKillUndone(sql, killId, Date.now());
    return ok({ restored, skipped, killId });
  }
}
