// What the home tells others of the tenant: the TenantDirectory hears of its latest settings
// (retried by the alarm until heard), and every other shard gets the home's copy (settings,
// expiry rules, shard history, keys, webhooks) before the answer of a change to them; when a
// shard cannot be told, the alarm keeps trying (see replication.ts for the copy itself).

import type { ErrorCode, Result } from "../../src/core/errors";
import { ok } from "../../src/core/errors";
import { logError } from "../../src/core/log";
import { allShards, currentCount } from "../../src/core/placement";
import { resolveSettings, type StoredSettings } from "../../src/core/settings";
import { askEach } from "../stub";
import { directoryFor, storeFor } from "../stubs";
import type { StoreHost } from "./host";
import { nextPurgeAt, PURGE_COALESCE_MS } from "./purge";
import { applyCopy, markCopied, pendingCopyVersion, readCopy, type TenantCopy } from "./replication";
import { placement, putTenant, type Placement, type Store } from "./tenant";
import { heldTenant, markRegistered, pendingRegistration } from "./tenant-sql";
import { eraseHere } from "./erasure";
import { recordCopiedDrops } from "./webhook-operations";
import type { SettingsPatch, TenantView } from "../../src/core/settings";

/**
 * Tells the TenantDirectory of the tenant's latest settings if it has not heard of them yet.
 * False when it could not be reached: the caller arms the alarm to ask again.
 */
export async function register(host: StoreHost): Promise<boolean> {
  const sql = host.ctx.storage.sql;
  const pending = pendingRegistration(sql);
  if (!pending) return true;
  try {
    await directoryFor(host.env, pending.name).record(
      pending.name,
      resolveSettings(JSON.parse(pending.settings) as StoredSettings),
      pending.createdAt,
      pending.updatedAt,
    );
    host.change(() => markRegistered(sql, pending.updatedAt));
    return true;
  } catch (error) {
    logError({ event: "directory_unreachable", tenant: pending.name, message: String(error) });
    return false;
  }
}

/**
 * At a tenant's home: copies the tenant to every other shard that lacks its latest version.
 * False when a shard could not be reached: the caller arms the alarm to try again.
 */
export function copyToShards(host: StoreHost): Promise<boolean> {
  const run = copyOnce(host);
  host.state.copies.add(run);
  const done = () => host.state.copies.delete(run);
  run.then(done, done);
  return run;
}

async function copyOnce(host: StoreHost): Promise<boolean> {
  const sql = host.ctx.storage.sql;
  const tenant = host.store().tenant;
  if (tenant?.shard !== 0 || pendingCopyVersion(sql) === null) return true;
  const copy = readCopy(sql);
  const shards = allShards(tenant.shardHistory).slice(1);
  const jurisdiction = tenant.settings.jurisdiction;
  const answers = await askEach(shards, async (shard) => {
    const store = storeFor(host.env, { tenant: tenant.name, shard, jurisdiction });
    return store.ok ? store.stub.applyCopy(copy, shard) : store;
  });
  const failed = answers.flatMap((answer) =>
    "unreachable" in answer ? [String(answer.unreachable)] : answer.result.ok ? [] : [answer.result.error.message],
  );
  if (failed.length > 0) {
    logError({ event: "shard_copy_failed", tenant: tenant.name, count: failed.length, message: failed[0] });
    return false;
  }
  host.change(() => markCopied(sql, copy.version, currentCount(tenant.shardHistory)));
  return true;
}

/** Copies, and when a shard could not be told, has the alarm try again. */
export async function copyOrRetry(host: StoreHost): Promise<boolean> {
  const copied = await copyToShards(host);
  if (!copied) await host.scheduler.wake("copies", Date.now() + PURGE_COALESCE_MS);
  return copied;
}

/**
 * After an addition at the home (a tenant key, a webhook), copies it to every other shard
 * before the answer. When one could not be told (`copied` false), the addition is taken back:
 * the caller is answered 503 and never sees its secret, so nothing may act on it. The shards
 * that got it are told at once, without holding the answer (and again by the alarm).
 */
export async function addEverywhere<T extends object>(
  host: StoreHost,
  added: Result<T>,
  takeBack: (store: Store, now: number) => unknown,
): Promise<Result<T & { copied: boolean }>> {
  if (!added.ok) return added;
  const copied = await copyOrRetry(host);
  if (!copied) {
    host.change(takeBack);
    void copyToShards(host);
  }
  return { ...added, copied };
}

/**
 * After a removal at the home, copies it to every other shard before the answer (`copied`
 * false: the alarm keeps trying). What this home no longer holds may still be on a shard that
 * an earlier removal, answered 503, has not reached: `notFound` is answered only once every
 * shard has the home's copy, else the same 503 again.
 */
export async function removeEverywhere(
  host: StoreHost,
  removed: Result,
  notFound: ErrorCode,
): Promise<Result<{ copied: boolean }>> {
  if (!removed.ok && removed.error.code !== notFound) return removed;
  const copied = await copyOrRetry(host);
  return removed.ok || !copied ? ok({ copied }) : removed;
}

/**
 * At the tenant's home: creates or updates it. A change of timeouts can end sessions at once:
 * their sockets are told now, and the purge re-armed (at once while stored expiries are
 * re-evaluated). `copied`: every other shard has the new settings; when one could not be
 * reached, the alarm keeps trying and the caller is told to retry.
 */
export async function putTenantAtHome(
  host: StoreHost,
  name: string,
  patch: SettingsPatch,
  actor: string,
): Promise<Result<{ tenant: TenantView; created: boolean; copied: boolean; placement: Placement }>> {
  const result = host.change((_store, now) => putTenant(host.ctx.storage, name, patch, actor, now));
  if (!result.ok) return result;
  // A new tenant's first event is due for the purge in a month; changed timeouts may end sessions now.
  if (result.created) await host.scheduler.wake("purge", nextPurgeAt(host.store(), Date.now()));
  else await afterSettings(host);
  // Last, as they wait on other objects: the sockets and the purge must not wait with them.
  const [registered, copied] = await Promise.all([register(host), copyToShards(host)]);
  if (!registered || !copied)
    await host.scheduler.wake(registered ? "copies" : "directory", Date.now() + PURGE_COALESCE_MS);
  const placed = placement(host.store());
  return placed.ok
    ? ok({ tenant: result.tenant, created: result.created, copied, placement: placed.placement })
    : placed;
}

/**
 * On a shard other than the home: takes the home's copy. A store holds one tenant: of two of the
 * same name, the later one. What a deleted one left here (a copy that landed after this shard
 * was erased) is erased before a later one's copy is taken, and a late copy of a deleted one is
 * ignored. Webhooks the copy disabled drop what they had yet to receive, with an audit event each.
 */
export async function takeCopy(host: StoreHost, copy: TenantCopy, shard: number): Promise<void> {
  const held = heldTenant(host.ctx.storage.sql);
  if (held && held.createdAt > copy.createdAt) return;
  if (held && held.createdAt < copy.createdAt) await eraseHere(host);
  const result = host.change((_store, now) => {
    const applied = applyCopy(host.ctx.storage, copy, shard);
    if (applied.ok) recordCopiedDrops(host.ctx.storage.sql, applied.dropped, now);
    return applied;
  });
  if (result.ok && result.taken) await afterSettings(host);
}

/** After settings changed: sockets of sessions the new timeouts ended are told, and the purge re-armed. */
async function afterSettings(host: StoreHost): Promise<void> {
  await host.scheduler.wake("purge", nextPurgeAt(host.store(), Date.now()));
  await host.scheduler.wake("sockets", host.closeDeadSockets(undefined, "expired"));
}
