// TenantDirectory: the platform's registry of tenants, spread over DIRECTORY_SHARDS objects, a
// name kept by the one its hash names (stubs.directoryFor). A name is claimed here with its
// jurisdiction before its first store exists; each home records its tenant's settings here (its
// alarm retries until heard), and has the name forgotten once the tenant is deleted. Every
// object works its part of each platform kill over its own tenants; shard 0 coordinates them
// (platform-kill.ts), and moves out the names it kept before the directory was spread
// (legacy-move.ts).

import { DurableObject } from "cloudflare:workers";
import { ok, type Result } from "../../src/core/errors";
import { logError } from "../../src/core/log";
import type { Jurisdiction } from "../../src/core/placement";
import type { TenantSettings } from "../../src/core/settings";
import { directoryShardNamed } from "../stubs";
import type { DirectoryApi, PartFigures, PlatformKill } from "./api";
import { forgetLegacyName, legacyMoved, moveLegacyNames, pullLegacyName } from "./legacy-move";
import * as platformKill from "./platform-kill";
import {
  figuresOf,
  readKillPart,
  recordPartReport,
  unfinishedKillParts,
  unfinishedPlatformKills,
} from "./platform-kill-sql";
import {
  adoptName,
  claimName,
  forgetTenant,
  heldName,
  jurisdictionOf,
  listTenants,
  migrate,
  recordTenant,
  type DirectoryEntry,
  type HeldName,
} from "./tenant-directory-sql";

/** How long one alarm run moves names out of shard 0. */
const MOVE_BUDGET_MS = 10_000;
/** Wait before moving again after an object could not be reached. */
const MOVE_RETRY_DELAY_MS = 30_000;

export class TenantDirectory extends DurableObject<Env> implements DirectoryApi {
  readonly #host: platformKill.DirectoryHost;
  /** The run through this object's kill parts under way, if any: one at a time, or two would count a batch twice. */
  #advancing: Promise<unknown> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const shard = directoryShardNamed(ctx.id.name);
    const self = this;
    this.#host = {
      sql: ctx.storage.sql,
      get env() {
        return self.env; // read at each use: a test may swap it
      },
      shard,
      reach: (other) => (other === shard ? this.#asPart() : platformKill.directoryObject(self.env, other)),
      wake: async (at) => {
        const set = await ctx.storage.getAlarm();
        if (set === null || set > at) await ctx.storage.setAlarm(at);
      },
    };
    void ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage);
      const sql = ctx.storage.sql;
      // Alarms are not kept across a local restart: work still under way resumes.
      const busy =
        unfinishedKillParts(sql).length > 0 ||
        unfinishedPlatformKills(sql).length > 0 ||
        (shard === 0 && !legacyMoved(sql));
      if (busy) await this.#host.wake(Date.now());
    });
  }

  // The registry

  record(name: string, settings: TenantSettings, createdAt: number, updatedAt: number): Result {
    recordTenant(this.ctx.storage.sql, name, settings, createdAt, updatedAt);
    return ok({});
  }

  /** The tenant's home erased it and every shard: its name is free again. */
  async forget(name: string, createdAt: number, actor: string): Promise<Result> {
    await forgetLegacyName(this.#host, name, createdAt, actor);
    this.ctx.storage.transactionSync(() => forgetTenant(this.ctx.storage.sql, name, createdAt, actor, Date.now()));
    return ok({});
  }

  /** Claims a name before its tenant is created: see claimName. */
  async claim(name: string, jurisdiction: Jurisdiction | null): Promise<Result<{ jurisdiction: Jurisdiction | null }>> {
    if (jurisdictionOf(this.ctx.storage.sql, name) === undefined) await pullLegacyName(this.#host, name);
    return ok({ jurisdiction: claimName(this.ctx.storage.sql, name, jurisdiction, Date.now()) });
  }

  /** Where a tenant lives: `known` is false for a name never claimed nor recorded. */
  async locate(name: string): Promise<Result<{ known: boolean; jurisdiction: Jurisdiction | null }>> {
    const sql = this.ctx.storage.sql;
    if (jurisdictionOf(sql, name) === undefined) await pullLegacyName(this.#host, name);
    const jurisdiction = jurisdictionOf(sql, name);
    return ok({ known: jurisdiction !== undefined, jurisdiction: jurisdiction ?? null });
  }

  /** Up to `limit` of this object's tenants by name, after `after`; `limit + 1` are read to say whether more follow. */
  list(after: string | undefined, limit: number): Result<{ tenants: DirectoryEntry[]; more: boolean }> {
    const rows = listTenants(this.ctx.storage.sql, after, limit + 1);
    return ok({ tenants: rows.slice(0, limit), more: rows.length > limit });
  }

  held(name: string): Result<{ held: HeldName | null; moved: boolean }> {
    const sql = this.ctx.storage.sql;
    return ok({ held: heldName(sql, name), moved: legacyMoved(sql) });
  }

  adopt(names: HeldName[]): Result {
    this.ctx.storage.transactionSync(() => {
      for (const held of names) adoptName(this.ctx.storage.sql, held);
    });
    return ok({});
  }

  // The platform kill, at its coordinator

  async startPlatformKill(
    killId: string,
    actor: string,
    budgetMs = platformKill.PLATFORM_KILL_REQUEST_BUDGET_MS,
  ): Promise<Result<{ kill: PlatformKill }>> {
    await platformKill.startPlatformKill(this.#host, killId, actor);
    await platformKill.awaitPlatformKill(this.#host, killId, budgetMs);
    return platformKill.viewPlatformKill(this.#host, killId);
  }

  platformKill(killId: string): Result<{ kill: PlatformKill }> {
    return platformKill.viewPlatformKill(this.#host, killId);
  }

  undoPlatformKill(killId: string): Promise<Result<{ restored: number; skipped: number; killId: string }>> {
    return platformKill.undoPlatformKill(this.#host, killId);
  }

  partReport(killId: string, shard: number, figures: PartFigures): Result {
    this.ctx.storage.transactionSync(() => recordPartReport(this.ctx.storage.sql, killId, shard, figures, Date.now()));
    return ok({});
  }

  // This object's part

  /**
   * Records the part and starts working it at once, without holding the coordinator's call (the
   * alarm, armed first, goes on after a restart, or after this run's budget).
   */
  async startKillPart(killId: string, at: number): Promise<Result<{ part: PartFigures }>> {
    const part = await platformKill.startKillPart(this.#host, killId, at);
    void this.#work();
    return ok({ part });
  }

  killPart(killId: string): Result<{ part: PartFigures | null }> {
    const part = readKillPart(this.ctx.storage.sql, killId);
    return ok({ part: part ? figuresOf(part) : null });
  }

  async undoKillPart(
    killId: string,
    at: number,
  ): Promise<Result<{ restored: number; skipped: number; unreachable: boolean }>> {
    const undone = await platformKill.undoKillPart(this.#host, killId, at, async () => {
      await this.#advancing?.catch(() => undefined);
    });
    return ok(undone);
  }

  /**
   * Works this object's unfinished parts, unless a run is under way (two would count a batch
   * twice). Returns when the next run is due: null, none left; at once when a run's calls were
   * spent; later when only tenants out of reach are left, or a run is under way.
   */
  async #work(): Promise<number | null> {
    if (this.#advancing) return Date.now() + 1_000;
    const run = this.#advanceParts();
    this.#advancing = run;
    try {
      const ended = await run;
      if (ended.includes("spent")) return Date.now();
      return ended.includes("waiting") ? Date.now() + platformKill.PART_RETRY_DELAY_MS : null;
    } catch (error) {
      logError({ event: "platform_kill_part_failed", message: String(error) });
      return Date.now() + platformKill.PART_RETRY_DELAY_MS;
    } finally {
      this.#advancing = null;
    }
  }

  override async alarm(): Promise<void> {
    const sql = this.ctx.storage.sql;
    let next: number | null = null;
    const later = (at: number) => {
      next = next === null ? at : Math.min(next, at);
    };
    const parts = await this.#work();
    if (parts !== null) later(parts);
    for (const killId of unfinishedPlatformKills(sql)) {
      await platformKill.checkParts(this.#host, killId);
      if (unfinishedPlatformKills(sql).includes(killId)) later(Date.now() + platformKill.PARTS_CHECK_DELAY_MS);
    }
    if (this.#host.shard === 0 && !(await moveLegacyNames(this.#host, Date.now() + MOVE_BUDGET_MS)))
      later(Date.now() + (unfinishedKillParts(sql).length > 0 ? 1_000 : MOVE_RETRY_DELAY_MS));
    if (next !== null) await this.#host.wake(next);
  }

  /** This object as the kill's code reaches another. */
  #asPart(): platformKill.PartObject {
    return {
      startKillPart: (killId, at) => this.startKillPart(killId, at),
      killPart: async (killId) => this.killPart(killId),
      undoKillPart: (killId, at) => this.undoKillPart(killId, at),
      partReport: async (killId, shard, figures) => this.partReport(killId, shard, figures),
    };
  }

  /** Works every unfinished part for one run's budget each: how each run ended. */
  async #advanceParts(): Promise<("done" | "spent" | "waiting")[]> {
    const ended: ("done" | "spent" | "waiting")[] = [];
    for (const killId of unfinishedKillParts(this.ctx.storage.sql))
      ended.push(
        await platformKill.advanceKillPart(this.#host, killId, Date.now() + platformKill.PART_ALARM_BUDGET_MS),
      );
    return ended;
  }
}
