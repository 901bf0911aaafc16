// Where a tenant's sessions live: which Durable Objects (shards), in which jurisdiction. Pure,
// but for the one call that reaches a jurisdiction's namespace. A tenant is spread over
// `shards` SessionStores (1 to 256). Shard 0 is the tenant's home: it holds the authoritative
// settings and keys, and copies them to the other shards.

import { sha256 } from "./crypto";
import { fail, ok, type Result } from "./errors";
import type { Jurisdiction } from "@session-service/client";

export type { Jurisdiction } from "@session-service/client";

/**
 * A tenant in a jurisdiction ("eu", "fedramp") has every object created inside it; the
 * token names it (signed), so a token is routed in one step with no lookup.
 */
export const JURISDICTIONS = ["eu", "fedramp"] as const satisfies readonly Jurisdiction[];

export const MAX_SHARDS = 256;

/**
 * The platform's tenant directory is spread over this many objects, a tenant's name kept by the
 * one its hash names. Permanent: changing it would lose every name (a name is looked for only
 * where its hash says). 32 objects share the lookups of a million tenants (each isolate asks
 * once per tenant) and work a platform kill in parallel: docs/CAPACITY.md has the arithmetic.
 */
export const DIRECTORY_SHARDS = 32;

/** The directory object that keeps a tenant's name: by SHA-256, as a user's shard is chosen. */
export function directoryShardOf(tenant: string): number {
  return shardOf(tenant, DIRECTORY_SHARDS);
}

/** One shard count and when it came into use. Counts rise along the history. */
export interface ShardEra {
  count: number;
  since: number;
}

/**
 * The shard counts in use since the tenant was created: the count only grows, and the tenant
 * keeps this history.
 */
export type ShardHistory = readonly ShardEra[];

/** Where one of a tenant's stores is. */
export interface StoreTarget {
  tenant: string;
  shard: number;
  jurisdiction: Jurisdiction | null;
}

export function isJurisdiction(value: unknown): value is Jurisdiction {
  return typeof value === "string" && (JURISDICTIONS as readonly string[]).includes(value);
}

/**
 * The shard of a user under a shard count: the first 32 bits of SHA-256(user id), modulo the count.
 * Sessions are placed by user, so one user's sessions of one shard count share a shard.
 */
export function shardOf(userId: string, count: number): number {
  if (count === 1) return 0;
  return new DataView(sha256(userId)).getUint32(0) % count;
}

/**
 * Every shard that may hold a user's sessions: one per shard count ever used (in the history).
 * Kill-user and the user's listings ask exactly those.
 */
export function shardsOfUser(history: ShardHistory, userId: string): number[] {
  return [...new Set(history.map((era) => shardOf(userId, era.count)))].sort((a, b) => a - b);
}

/** Every shard of the tenant: counts only grow, so those of the newest count. */
export function allShards(history: ShardHistory): number[] {
  return Array.from({ length: currentCount(history) }, (_, shard) => shard);
}

export function currentCount(history: ShardHistory): number {
  return history[history.length - 1]?.count ?? 1;
}

/** A tenant that never grew: one shard since the start. */
export const SINGLE_SHARD: ShardHistory = [{ count: 1, since: 0 }];

/** The history after the tenant's count became `count` at `now` (no change if it already is). */
export function historyAfter(history: ShardHistory, count: number, now: number): ShardHistory {
  return count === currentCount(history) ? history : [...history, { count, since: now }];
}

/**
 * The name of a shard's object. Shard 0 is named by the tenant alone, as every tenant's only
 * store was before sharding; the others add `/<shard>`, which no tenant name can contain.
 */
export function objectName(target: StoreTarget): string {
  return target.shard === 0 ? target.tenant : `${target.tenant}/${target.shard}`;
}

const JURISDICTION_UNAVAILABLE = fail(
  "jurisdiction_unavailable",
  "this tenant's jurisdiction is not available on this deployment",
);

/**
 * The namespace of a jurisdiction's objects. The runtime refuses a jurisdiction it does not
 * implement (workerd locally): then the call fails closed (503 `jurisdiction_unavailable`), never
 * silently elsewhere, unless the deployment says LOCAL_JURISDICTIONS=ignore (local development
 * and tests only): `ignoreJurisdictions` then maps every jurisdiction to the plain namespace, for
 * a runtime that implements none.
 */
export function namespaceIn<N extends { jurisdiction(name: DurableObjectJurisdiction): unknown }>(
  namespace: N,
  jurisdiction: Jurisdiction | null,
  ignoreJurisdictions: boolean,
): Result<{ namespace: N }> {
  if (jurisdiction === null || ignoreJurisdictions) return ok({ namespace });
  try {
    return ok({ namespace: namespace.jurisdiction(jurisdiction) as N });
  } catch {
    return JURISDICTION_UNAVAILABLE;
  }
}
