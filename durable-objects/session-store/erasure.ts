// Deleting a tenant, run by its home: marked first (from then on the home answers as if the
// tenant did not exist, copies nothing more, and its sockets are told), then every other shard
// marked the same way, then each erased, then the directory forgets the name, then the home is
// erased: in that order, so that what is left of a deletion is always reachable from the home.
// When a shard or the directory cannot be reached, the alarm tries again with backoff.

import { ok, type Result } from "../../src/core/errors";
import { logError, logInfo } from "../../src/core/log";
import { allShards } from "../../src/core/placement";
import { resolveSettings, type StoredSettings } from "../../src/core/settings";
import { askEach } from "../stub";
import { directoryFor, storeFor, type StoreStub } from "../stubs";
import type { StoreHost } from "./host";
import { closeAllSockets } from "./sockets";
import { markErasing } from "./tenant";
import { countErasureAttempt, heldTenant, insertErasure, readErasure } from "./tenant-sql";

/** Backoff of a deletion that keeps missing a shard or the directory: as a kill's. */
const ERASE_FIRST_DELAY_MS = 5_000;
const ERASE_MAX_DELAY_MS = 10 * 60_000;

/** At the home: starts the deletion. `erased` false: it fell short, and the alarm goes on with it. */
export async function eraseTenant(host: StoreHost, actor: string): Promise<Result<{ erased: boolean }>> {
  const marked = host.change((_store, now) => markErasing(host.ctx.storage.sql, actor, now));
  if (!marked.ok) return marked;
  closeAllSockets(host.ctx);
  // Armed before anything is asked of another object: if this object restarts mid-way, the
  // alarm finishes the deletion (the purge's alarm is no use now; this replaces it).
  host.scheduler.release();
  await host.scheduler.wake("erasure", Date.now() + ERASE_FIRST_DELAY_MS);
  return ok({ erased: await eraseOrRetry(host) });
}

/** Runs the deletion (or joins the run under way); when it falls short, arms the next try. */
export async function eraseOrRetry(host: StoreHost): Promise<boolean> {
  host.state.erasing ??= erase(host).finally(() => {
    host.state.erasing = null;
  });
  const erased = await host.state.erasing;
  const erasure = readErasure(host.ctx.storage.sql);
  if (!erased && erasure) {
    host.scheduler.release();
    await host.scheduler.wake(
      "erasure",
      Date.now() + Math.min(ERASE_MAX_DELAY_MS, ERASE_FIRST_DELAY_MS * 2 ** (erasure.attempts - 1)),
    );
  }
  return erased;
}

async function erase(host: StoreHost): Promise<boolean> {
  const sql = host.ctx.storage.sql;
  const erasure = readErasure(sql);
  if (!erasure) return true; // a run that ended meanwhile erased it
  const { tenant, actor } = erasure;
  const fellShort = (event: string, count: number, message: string) => {
    logError({ event, tenant: tenant.name, count, message });
    host.change(() => countErasureAttempt(sql));
    return false;
  };
  await Promise.allSettled([...host.state.copies]);
  const jurisdiction = resolveSettings(JSON.parse(tenant.settings) as StoredSettings).jurisdiction;
  const shards = allShards(tenant.shardHistory).slice(1);
  /** What every shard but the home failed to do: the messages of those unreachable or refusing. */
  const onEveryShard = async (step: (store: StoreStub) => Promise<Result>) => {
    const answers = await askEach(shards, async (shard) => {
      const store = storeFor(host.env, { tenant: tenant.name, shard, jurisdiction });
      return store.ok ? step(store.stub) : store;
    });
    return answers.flatMap((answer) =>
      "unreachable" in answer ? [String(answer.unreachable)] : answer.result.ok ? [] : [answer.result.error.message],
    );
  };
  // First every shard refuses the tenant (a small write: its sessions end, creates are
  // refused), then each is erased (which may take long): a shard whose erasure falls short
  // serves nothing meanwhile.
  const unmarked = await onEveryShard((store) => store.markShardErasing(tenant.name, tenant.createdAt, actor));
  if (unmarked.length > 0) return fellShort("tenant_erase_incomplete", unmarked.length, unmarked[0]!);
  const failed = await onEveryShard((store) => store.eraseShard(tenant.name, tenant.createdAt));
  if (failed.length > 0) return fellShort("tenant_erase_incomplete", failed.length, failed[0]!);
  try {
    await directoryFor(host.env, tenant.name).forget(tenant.name, tenant.createdAt, actor);
  } catch (error) {
    return fellShort("directory_unreachable", 1, String(error));
  }
  await eraseHere(host);
  logInfo({ event: "tenant.deleted", tenant: tenant.name, actor, count: shards.length + 1 });
  return true;
}

/**
 * On a shard other than the home, as the deletion of the tenant made at `createdAt` starts:
 * from now on this store answers as if the tenant did not exist (its home erases it next).
 */
export function markShardErasing(host: StoreHost, name: string, createdAt: number, actor: string): Result {
  const held = heldTenant(host.ctx.storage.sql);
  if (held && (held.name !== name || held.shard === 0)) throw new Error("a shard is marked by its own tenant's home");
  if (!held || held.createdAt !== createdAt) return ok({}); // erased already, or a later tenant of the same name
  host.change((_store, now) => insertErasure(host.ctx.storage.sql, actor, now));
  closeAllSockets(host.ctx);
  return ok({});
}

/**
 * On a shard other than the home, during the deletion of the tenant made at `createdAt`:
 * erases this store (already erased is fine; a later tenant of the same name is left alone).
 */
export async function eraseShard(host: StoreHost, name: string, createdAt: number): Promise<Result> {
  const held = heldTenant(host.ctx.storage.sql);
  if (held && (held.name !== name || held.shard === 0)) throw new Error("a shard is erased by its own tenant's home");
  if (held && held.createdAt > createdAt) return ok({});
  await eraseHere(host);
  return ok({});
}

/**
 * Erases this store: its sockets are told, an alarm run under way ends first (its deliveries
 * stop), then storage and alarm go; it is then as a store never used.
 */
export async function eraseHere(host: StoreHost): Promise<void> {
  host.state.wiping = true;
  try {
    closeAllSockets(host.ctx);
    await host.state.upkeeping?.catch(() => undefined);
    // deleteAll() takes the alarm with it (compatibility date 2026-02-24 and later).
    await host.ctx.storage.deleteAll();
  } finally {
    host.state.wiping = false;
    host.forgetTenant();
    host.scheduler.release();
  }
}
