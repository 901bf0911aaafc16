// The tenant as a store sees it (its row parsed once per change), who may act on it, its
// settings, keys and counts. Like every capability of the store, its operations are plain
// functions of (store, inputs, now), each run in one synchronous transaction of the Durable
// Object with its audit event: it commits whole or not at all, and no request interleaves.

import * as hooks from "./webhooks-sql";
import { historyAfter, type ShardHistory } from "../../src/core/placement";
import { type AbsoluteHistory, absoluteHistoryAfter, type ExpiryRules } from "../../src/core/session";
import type { StoreCaller } from "../../src/core/auth";
import { digestsEqual } from "../../src/core/crypto";
import { fail, ok, type Result, TENANT_NOT_FOUND } from "../../src/core/errors";
import {
  DEFAULT_SETTINGS,
  mergeSettings,
  resolveSettings,
  type SettingsPatch,
  type StoredSettings,
  type TenantKeyView,
  type TenantSettings,
  type TenantView,
} from "../../src/core/settings";
import { countEventsByBucket, insertEvent } from "./audit-sql";
import { migrate } from "./schema";
import { reevaluateExpiries } from "./expiry-sql";
import { capImpersonations, type LiveContext } from "./sessions-sql";
import { countLiveSessions } from "./listings-sql";
import {
  bumpCopyVersion,
  countTenantKeys,
  deleteTenantKey,
  heldTenant,
  insertErasure,
  insertTenantKey,
  readTenant,
  readTenantKey,
  readTenantKeys,
  recordKeyUse,
  recordTimeoutChange,
  writeTenant,
} from "./tenant-sql";

/** The tenant row, parsed: what nearly every operation needs first. */
export interface Tenant {
  name: string;
  /** When this tenant was made: a later tenant of the same name is another one. */
  createdAt: number;
  settings: TenantSettings;
  /** The current timeouts, and what earlier ones left behind (src/core/session.ts). */
  rules: ExpiryRules;
  /** Whether stored expiries are being brought up to date after a change of timeouts. */
  reevaluating: boolean;
  floor: number;
  /** Below this floor no kill can be undone any more: the purge may delete those rows. */
  settledFloor: number;
  /** Whether any user has a revocation floor: without one, reads skip the per-row floor lookup. */
  userFloors: boolean;
  /** Sessions authenticated before this meet no requirement (reauth-sql.ts); 0: none. */
  reauthFloor: number;
  /** Whether any user has a floor of their own: without one, a requirement reads none. */
  userReauthFloors: boolean;
  /** Which of the tenant's shards this store is (0: the home, which holds the authoritative settings). */
  shard: number;
  shardHistory: ShardHistory;
  /** At the home: the shard count every shard has heard of, which new sessions use. */
  activeShards: number;
}

/** A store as its operations see it: its SQL, and its tenant as of the transaction's start (null before the first PUT). */
export interface Store {
  sql: SqlStorage;
  tenant: Tenant | null;
}

/** Rows deleted or rewritten per statement: small statements, bounded time per transaction. */
export const PURGE_BATCH = 500;

/** Rows whose stored expiries a settings change re-evaluates in its own request; the alarm does the rest. */
const REEVALUATE_ROWS_IN_REQUEST = 2_000;

/** The actor of changes nobody asked for: expiry, eviction by the per-user cap. */
export const SYSTEM = "system";

const MS_PER_SECOND = 1000;

/**
 * A tenant key's last use is written at most this often per store: "last used" is exact to the
 * minute, and a key used all day costs one small write a minute, not one a call.
 */
export const KEY_USE_RECORDED_EVERY_MS = 60_000;

/** The tenant as stored now, or null before the first PUT. The DO keeps it between changes. */
export function readTenantState(sql: SqlStorage): Tenant | null {
  const row = heldTenant(sql);
  // A tenant being deleted is, to every operation, a tenant that does not exist.
  if (!row || row.erasing) return null;
  const settings = resolveSettings(JSON.parse(row.settings) as StoredSettings);
  return {
    name: row.name,
    createdAt: row.createdAt,
    settings,
    rules: { settings, idleLine: row.idleLine, absoluteHistory: JSON.parse(row.absoluteHistory) as AbsoluteHistory },
    reevaluating: row.reevaluating,
    floor: row.revokedBelowSeq,
    settledFloor: row.settledBelowSeq,
    userFloors: row.userFloors,
    reauthFloor: row.reauthFloor,
    userReauthFloors: row.userReauthFloors,
    shard: row.shard,
    shardHistory: row.shardHistory,
    activeShards: row.activeShards,
  };
}

/** A store with its tenant read fresh: for callers that keep no copy (tests, one-off reads). */
export function storeOf(sql: SqlStorage): Store {
  return { sql, tenant: readTenantState(sql) };
}

export function live(tenant: Tenant, now: number): LiveContext {
  return { now, rules: tenant.rules, tenantFloor: tenant.floor, userFloors: tenant.userFloors };
}

function tenantView(sql: SqlStorage, tenant: Tenant, now: number): TenantView {
  const row = readTenant(sql)!;
  return {
    tenant: tenant.name,
    settings: tenant.settings,
    createdAt: new Date(row.createdAt).toISOString(),
    updatedAt: new Date(row.updatedAt).toISOString(),
    counts: {
      sessions: countLiveSessions(sql, live(tenant, now)),
      keys: countTenantKeys(sql),
      webhooks: hooks.countWebhooks(sql),
      disabledWebhooks: hooks.countDisabledWebhooks(sql),
    },
  };
}

/**
 * Whether a tenant key (already signature-checked by the front Worker) is one this tenant
 * still holds; other callers pass. Revocation of a key is effective from the next request.
 */
function checkTenantKey(sql: SqlStorage, tenant: Tenant, caller: StoreCaller, now: number): Result {
  if (caller.kind !== "tenant_key") return ok({});
  if (caller.tenant !== tenant.name) return fail("forbidden", "this key belongs to another tenant");
  const stored = readTenantKey(sql, caller.keyId);
  if (stored === null || !digestsEqual(stored.secretHash, caller.secretHash))
    return fail("unauthorized", "the API key is invalid or revoked");
  // One write a while, not one a call.
  if (stored.lastUsedAt === null || now - stored.lastUsedAt >= KEY_USE_RECORDED_EVERY_MS)
    recordKeyUse(sql, caller.keyId, now);
  return ok({});
}

/** The tenant, if it exists and the caller may act on it. */
export function authorized({ sql, tenant }: Store, caller: StoreCaller, now: number): Result<{ tenant: Tenant }> {
  if (!tenant) return TENANT_NOT_FOUND;
  const allowed = checkTenantKey(sql, tenant, caller, now);
  return allowed.ok ? ok({ tenant }) : allowed;
}

/** Browsers' cross-origin state changes must come from an origin the tenant allows. */
export function checkOrigin(tenant: Tenant, origin: string | null): Result {
  if (origin === null || tenant.settings.allowedOrigins.includes(origin)) return ok({});
  return fail("origin_not_allowed", "this origin may not change sessions of this tenant");
}

export function putTenant(
  storage: DurableObjectStorage,
  name: string,
  patch: SettingsPatch,
  actor: string,
  now: number,
): Result<{ tenant: TenantView; created: boolean }> {
  const sql = storage.sql;
  const existing = heldTenant(sql);
  if (existing && existing.name !== name) throw new Error("a store holds exactly one tenant");
  if (existing?.erasing) return TENANT_DELETING;
  const before = existing ? (JSON.parse(existing.settings) as StoredSettings) : null;
  const previous = existing ? readTenantState(sql) : null;
  if (existing && existing.shard !== 0) throw new Error("settings are written at the tenant's home shard");
  const merged = mergeSettings(before ?? DEFAULT_SETTINGS, patch, existing !== null);
  if (!merged.ok) return merged;
  const shards = historyAfter(previous?.shardHistory ?? [{ count: 1, since: now }], merged.settings.shards ?? 1, now);
  // The schema is made by the first PUT, so a call naming an unknown tenant writes nothing.
  migrate(storage);
  writeTenant(sql, name, JSON.stringify(merged.settings), shards, now);
  if (
    before &&
    previous &&
    (before.idleTimeoutSeconds !== merged.settings.idleTimeoutSeconds ||
      before.absoluteTimeoutSeconds !== merged.settings.absoluteTimeoutSeconds)
  ) {
    // What ended under the timeouts in force until now stays ended; what they bound stays bound (src/core/session.ts).
    const oldAbsoluteMs = before.absoluteTimeoutSeconds * MS_PER_SECOND;
    const history = absoluteHistoryAfter(
      previous.rules.absoluteHistory,
      oldAbsoluteMs,
      merged.settings.absoluteTimeoutSeconds * MS_PER_SECOND,
      now,
    );
    recordTimeoutChange(sql, now - before.idleTimeoutSeconds * MS_PER_SECOND, history);
  }
  // Against the stored settings as a no-op PUT would merge them: a setting added by a later release is no change.
  const changed = before ? changedSettings(mergeSettings(before, {}, true), merged.settings) : [];
  if (changed.includes("impersonationMaxSeconds"))
    capImpersonations(sql, resolveSettings(merged.settings).impersonationMaxSeconds);
  if (!before) insertEvent(sql, { type: "tenant_created", actor }, now);
  else if (changed.length > 0) insertEvent(sql, { type: "settings_changed", actor, fields: changed }, now);
  const tenant = readTenantState(sql)!;
  reevaluateSome(sql, tenant);
  return ok({ tenant: tenantView(sql, tenant, now), created: existing === null }); // the pass changes nothing the view shows
}

/** The names of the settings whose value differs, in a stable order. */
function changedSettings(baseline: Result<{ settings: StoredSettings }>, after: StoredSettings): string[] {
  if (!baseline.ok) return [];
  const before = baseline.settings;
  const names = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return names.filter(
    (name) =>
      JSON.stringify(before[name as keyof StoredSettings]) !== JSON.stringify(after[name as keyof StoredSettings]),
  );
}

const TENANT_DELETING = fail(
  "tenant_deleting",
  "the tenant is being deleted; once that is done, its name can be used again",
);

/**
 * At the home: marks the tenant as being deleted (SessionStore.eraseTenant). Repeating it
 * during the deletion is allowed, so a caller that got 503 can finish the job.
 */
export function markErasing(sql: SqlStorage, actor: string, now: number): Result {
  const row = heldTenant(sql);
  if (!row) return TENANT_NOT_FOUND;
  if (row.shard !== 0) throw new Error("a tenant is deleted at its home shard");
  insertErasure(sql, actor, now);
  return ok({});
}

export function getTenant(store: Store, caller: StoreCaller, now: number): Result<{ tenant: TenantView }> {
  const allowed = authorized(store, caller, now);
  return allowed.ok ? ok({ tenant: tenantView(store.sql, allowed.tenant, now) }) : allowed;
}

/** The shard's part of a tenant's activity: its events counted into buckets, and its live sessions now. */
export function activity(
  store: Store,
  caller: StoreCaller,
  since: number,
  bucketMs: number,
  now: number,
): Result<{ counts: { bucket: number; type: string; n: number }[]; live: number }> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  return ok({
    counts: countEventsByBucket(store.sql, since, bucketMs),
    live: countLiveSessions(store.sql, live(allowed.tenant, now)),
  });
}

export function listTenantKeys(store: Store, caller: StoreCaller, now: number): Result<{ keys: TenantKeyView[] }> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const keys = readTenantKeys(store.sql).map((key) => ({
    id: key.id,
    createdAt: new Date(key.createdAt).toISOString(),
    lastUsedAt: key.lastUsedAt === null ? null : new Date(key.lastUsedAt).toISOString(),
  }));
  return ok({ keys });
}

export function addTenantKey(
  { sql, tenant }: Store,
  keyId: string,
  secretHash: ArrayBuffer,
  actor: string,
  now: number,
): Result {
  if (!tenant) return TENANT_NOT_FOUND;
  insertTenantKey(sql, keyId, secretHash, now);
  bumpCopyVersion(sql);
  insertEvent(sql, { type: "key_created", actor, keyId }, now);
  return ok({});
}

/**
 * Who removed a key or webhook that the home took back because a store could not be told of
 * it (`takenBack`): the service itself, not the operator who asked for it.
 */
export const TAKEN_BACK = { actor: SYSTEM, reason: "not_copied" } as const;

export function removeTenantKey(
  { sql, tenant }: Store,
  keyId: string,
  actor: string,
  now: number,
  takenBack = false,
): Result {
  if (!tenant) return TENANT_NOT_FOUND;
  if (deleteTenantKey(sql, keyId) === 0) return fail("key_not_found", "no such key");
  bumpCopyVersion(sql);
  insertEvent(sql, { type: "key_revoked", keyId, ...(takenBack ? TAKEN_BACK : { actor }) }, now);
  return ok({});
}

/** Where the tenant's sessions go, as its home knows it: new sessions use `count` shards. */
export interface Placement {
  count: number;
  history: ShardHistory;
}

export function placement({ tenant }: Store): Result<{ placement: Placement }> {
  if (!tenant) return TENANT_NOT_FOUND;
  return ok({ placement: { count: tenant.activeShards, history: tenant.shardHistory } });
}

/** A small store's stored expiries are brought up to date right away; a large one's, by the alarm. */
export function reevaluateSome(sql: SqlStorage, tenant: Tenant): void {
  for (let done = 0, step = 1; step > 0 && done < REEVALUATE_ROWS_IN_REQUEST; done += step)
    step = reevaluateExpiries(sql, tenant.rules, PURGE_BATCH);
}
