// Operations on tenants and their keys: the platform's list, settings, counts, activity,
// keys and deletion. Changes go to the tenant's home, which copies them to its other stores.

import { actorOf, checkReach, isTenantKeyId, mintTenantKey, type StoreCaller } from "../../core/auth";
import { loadConfig } from "../../core/config";
import { fail, ok, type Result } from "../../core/errors";
import { isTenantName } from "../../core/identifiers";
import { askHome, claim, forgetLocation, learn, locate } from "../locate";
import { decodeNameCursor, encodeNameCursor } from "../pagination";
import { parseSettingsPatch, type TenantActivity, type TenantKeyView, type TenantView } from "../../core/settings";
import type { DirectoryEntry } from "../../../durable-objects/tenant-directory/tenant-directory-sql";
import { callDirectory, callHome, storeFor } from "../../../durable-objects/stubs";
import { eachAtOnce } from "../../../durable-objects/stub";
import { mergeByName, shareOf } from "../../core/merge";
import { DIRECTORY_SHARDS } from "../../core/placement";

import {
  BAD_TENANT,
  JURISDICTION_IMMUTABLE,
  READ,
  SHARD_UNAVAILABLE,
  listOptions,
  onTenant,
  readEveryShard,
} from "./doors";

const TENANTS_SCOPE = "tenants";
const DIRECTORY_UNREACHABLE = fail("overloaded", "the tenant directory cannot be reached; retry after a moment");

/** Every tenant of the platform, by name (platform admin only), from the tenant directory. */
export async function listTenants(
  env: Env,
  caller: StoreCaller,
  query: unknown,
): Promise<Result<{ tenants: DirectoryEntry[]; nextCursor: string | null }>> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  const allowed = checkReach(caller, undefined, "admin");
  if (!allowed.ok) return allowed;
  const checked = listOptions(query, ["limit", "cursor"]);
  if (!checked.ok) return checked;
  const keys = config.config.signingKeys;
  const cursor = decodeNameCursor(keys, TENANTS_SCOPE, checked.options.cursor);
  if (!cursor.ok) return cursor;
  // Merged over the directory's objects, each asked for its share of the page (and more when its share runs out).
  const want = checked.limit + 1;
  const share = shareOf(want, DIRECTORY_SHARDS);
  const read = (shard: number, after: string | undefined) =>
    callDirectory(env, shard, (directory) => directory.list(after, share), READ)
      .then((listed) => (listed.ok ? ok({ items: listed.tenants }) : listed))
      .catch(() => DIRECTORY_UNREACHABLE);
  const shards = Array.from({ length: DIRECTORY_SHARDS }, (_, shard) => shard);
  const first = await eachAtOnce(shards, (shard) => read(shard, cursor.after));
  const pages: DirectoryEntry[][] = [];
  for (const answer of first) {
    if (!("value" in answer)) return DIRECTORY_UNREACHABLE;
    if (!answer.value.ok) return answer.value;
    pages.push(answer.value.items);
  }
  const merged = await mergeByName(pages, want, share, read);
  if (!merged.ok) return merged;
  const page = merged.items.slice(0, checked.limit);
  const last = page.at(-1);
  return ok({
    tenants: page,
    nextCursor: merged.items.length > checked.limit && last ? encodeNameCursor(keys, TENANTS_SCOPE, last.tenant) : null,
  });
}

/**
 * Creates or updates a tenant at its home, which copies the settings to the other shards. A
 * new name is first claimed in its jurisdiction at the directory (a name lives in one
 * jurisdiction only). 503 when a shard could not be reached: the home keeps trying.
 */
export async function putTenant(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  body: unknown,
): Promise<Result<{ tenant: TenantView; created: boolean }>> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  if (!isTenantName(tenant)) return BAD_TENANT;
  const allowed = checkReach(caller, tenant, "admin");
  if (!allowed.ok) return allowed;
  const parsed = parseSettingsPatch(body);
  if (!parsed.ok) return parsed;
  const wanted = parsed.patch.jurisdiction;
  // Asked of the directory, never remembered: a tenant deleted since (and its name claimed
  // again elsewhere) must be created where the directory says.
  const found = await locate(env, tenant, { fresh: true });
  if (!found.ok) return found;
  let at = found.located;
  if (!found.known) {
    // A jurisdiction this deployment cannot reach holds no tenant: refused before the name is
    // claimed, or the name would be taken for good by a tenant that can never be made.
    const reachable = wanted ? storeFor(env, { tenant, shard: 0, jurisdiction: wanted }) : null;
    if (reachable && !reachable.ok) return reachable;
    // A name the directory never heard of: claimed before anything is created. A tenant made
    // before the directory (in no jurisdiction) may not be recorded yet: its home says so.
    const older = wanted ? await askHome(env, at) : null;
    const claimed = await claim(env, tenant, older?.ok ? null : (wanted ?? null));
    if (!claimed.ok) return claimed;
    at = claimed.located;
  }
  if (wanted !== undefined && wanted !== at.jurisdiction) return JURISDICTION_IMMUTABLE;
  const located = at;
  const put = await callHome(env, located, (home) =>
    home.putTenant(tenant, { ...parsed.patch, jurisdiction: located.jurisdiction }, actorOf(caller)),
  );
  if (!put.ok) return put;
  if (!put.copied) return SHARD_UNAVAILABLE;
  learn(located, put.placement); // this isolate places new sessions by a grown count at once
  return ok({ tenant: put.tenant, created: put.created });
}

/** The tenant's settings and keys as its home has them, with the live sessions of every shard added up. */
export function getTenant(env: Env, caller: StoreCaller, tenant: unknown): Promise<Result<{ tenant: TenantView }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    const views = await readEveryShard(env, at, (store) => store.getTenant(caller));
    if (!views.ok) return views;
    const { tenant: home } = views.home;
    const sessions = views.all.reduce((sum, view) => sum + view.tenant.counts.sessions, 0);
    return ok({ tenant: { ...home, counts: { ...home.counts, sessions } } });
  });
}

/** The windows the activity picture covers, each in buckets of equal length. */
const ACTIVITY_WINDOWS: Record<TenantActivity["window"], { buckets: number; bucketMs: number }> = {
  "24h": { buckets: 24, bucketMs: 3600_000 },
  "7d": { buckets: 28, bucketMs: 6 * 3600_000 },
};

/**
 * Sessions created and ended over the last day or week, from the audit log of every shard,
 * and how many were live at the end of each bucket: counted back from the live count now
 * (each bucket's live is the next one's, less what that next bucket added).
 */
export function activity(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  query: Record<string, string>,
): Promise<Result<{ activity: TenantActivity }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    const unknown = Object.keys(query).find((name) => name !== "window");
    if (unknown !== undefined)
      return fail(
        "bad_request",
        `unknown query parameter ${JSON.stringify(unknown.slice(0, 64))}`,
        unknown.slice(0, 64),
      );
    const name = query.window ?? "24h";
    if (!Object.hasOwn(ACTIVITY_WINDOWS, name)) return fail("bad_request", 'window must be "24h" or "7d"', "window");
    const window = name as TenantActivity["window"];
    const shape = ACTIVITY_WINDOWS[window];
    // The window ends at the next full hour: its last bucket holds the current hour (the last
    // hour of a 6-hour bucket, for 7 days), so far.
    const end = Math.ceil((Date.now() + 1) / 3600_000) * 3600_000;
    const since = end - shape.buckets * shape.bucketMs;
    const views = await readEveryShard(env, at, (store) => store.activity(caller, since, shape.bucketMs));
    if (!views.ok) return views;
    const buckets = Array.from({ length: shape.buckets }, (_, index) => ({
      start: new Date(since + index * shape.bucketMs).toISOString(),
      created: 0,
      ended: 0,
      restored: 0,
      live: 0,
    }));
    let live = 0;
    for (const value of views.all) {
      live += value.live;
      for (const { bucket, type, n } of value.counts) {
        const into = buckets[bucket];
        if (!into) continue;
        if (type === "created") into.created += n;
        else if (type === "kill_undone") into.restored += n;
        else into.ended += n;
      }
    }
    let after = live;
    for (let index = buckets.length - 1; index >= 0; index--) {
      const bucket = buckets[index]!;
      bucket.live = Math.max(0, after);
      after -= bucket.created + bucket.restored - bucket.ended;
    }
    return ok({ activity: { window, bucketSeconds: shape.bucketMs / 1000, live, buckets } });
  });
}

/** Keys are kept at the home, which copies them to the other shards before the answer (and keeps none it could not copy). */
export function createTenantKey(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
): Promise<Result<{ id: string; key: string }>> {
  return onTenant(env, caller, tenant, "admin", async (at, config) => {
    const minted = mintTenantKey(config.signingKeys, at.tenant);
    const added = await callHome(env, at, (home) => home.addTenantKey(minted.id, minted.secretHash, actorOf(caller)));
    if (!added.ok) return added;
    return added.copied
      ? ok({ id: minted.id, key: minted.key })
      : fail("shard_unavailable", "one of the tenant's stores could not be reached, so no key was kept: mint again");
  });
}

/**
 * The tenant's keys as its home holds them, each with its latest use on any shard: 503 when a
 * shard cannot answer, rather than a "last used" that may be older than the truth (the answer
 * an operator goes by to decide that a key is unused).
 */
export function listTenantKeys(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
): Promise<Result<{ keys: TenantKeyView[] }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    const lists = await readEveryShard(env, at, (store) => store.listTenantKeys(caller));
    if (!lists.ok) return lists;
    const latest = (a: string | null, b: string | null) => (a === null || (b !== null && b > a) ? b : a);
    const keys = lists.home.keys.map((key) => ({
      ...key,
      lastUsedAt: lists.all
        .flatMap((list) => list.keys.filter((other) => other.id === key.id))
        .reduce<string | null>((last, other) => latest(last, other.lastUsedAt), null),
    }));
    return ok({ keys });
  });
}

export function revokeTenantKey(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  keyId: unknown,
): Promise<Result<{ revoked: number }>> {
  return onTenant(env, caller, tenant, "admin", async (at) => {
    if (typeof keyId !== "string" || !isTenantKeyId(keyId)) return fail("key_not_found", "no such key");
    const removed = await callHome(env, at, (home) => home.removeTenantKey(keyId, actorOf(caller)));
    if (!removed.ok) return removed;
    return removed.copied ? ok({ revoked: 1 }) : SHARD_UNAVAILABLE;
  });
}

const DELETION_UNFINISHED = fail(
  "shard_unavailable",
  "the tenant is deleted in part: a store or the directory could not be reached; the deletion goes on in the background, and repeating the call is safe",
);

/**
 * Deletes a tenant: every session (each ended at once: the tokens, live sockets and tenant keys
 * stop working), the audit log, keys, webhooks and their queued events, on every shard, then
 * the directory's entry. The caller repeats the name in `?confirm=`. Done by the home
 * (SessionStore.eraseTenant); 503 when it fell short, and then finished in the background.
 */
export function deleteTenant(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  query: Record<string, string>,
): Promise<Result<{ deleted: string }>> {
  return onTenant(env, caller, tenant, "admin", async (at) => {
    const unknown = Object.keys(query).find((name) => name !== "confirm");
    if (unknown !== undefined)
      return fail(
        "bad_request",
        `unknown query parameter ${JSON.stringify(unknown.slice(0, 64))}`,
        unknown.slice(0, 64),
      );
    if (query.confirm !== at.tenant)
      return fail(
        "bad_request",
        "confirm must repeat the tenant's name (?confirm=<tenant>): a deletion cannot be undone",
        "confirm",
      );
    const erased = await callHome(env, at, (home) => home.eraseTenant(actorOf(caller)));
    if (!erased.ok) return erased;
    forgetLocation(at.tenant);
    return erased.erased ? ok({ deleted: at.tenant }) : DELETION_UNFINISHED;
  });
}
