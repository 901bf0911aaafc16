// The one way to reach a tenant's SessionStores (and the platform's TenantDirectory), and how
// their infrastructure errors become outcomes. An "overloaded" Durable Object is a 503 for the caller to retry later, never
// retried here (that would only add load to the object that is already drowning). A
// "retryable" error is retried with backoff on a fresh stub, but only for idempotent calls:
// repeating a create or a kill whose first attempt may have committed could do it twice.

import type { KeyRing } from "./key-ring/key-ring";
import type { HomeApi, ShardApi } from "./session-store/api";
import type { Stub } from "./stub";
import type { DirectoryApi } from "./tenant-directory/api";
import { fail, ok, type Failure, type Result } from "../src/core/errors";
import {
  DIRECTORY_SHARDS,
  directoryShardOf,
  namespaceIn,
  objectName,
  type Jurisdiction,
  type StoreTarget,
} from "../src/core/placement";

/** Any store of a tenant; the home (shard 0) has more: see session-store/api.ts. */
export type StoreStub = Stub<ShardApi>;
export type HomeStub = Stub<HomeApi>;
export type DirectoryStub = Stub<DirectoryApi>;

/** The KeyRing is one object for the whole deployment. */
const KEY_RING_NAME = "keys";

export function keyRing(env: Env): DurableObjectStub<KeyRing> {
  return env.KEY_RING.get(env.KEY_RING.idFromName(KEY_RING_NAME));
}

/**
 * The directory's objects: "directory" (shard 0, the whole directory before it was spread, and
 * the coordinator of platform kills) and "directory/<n>".
 */
export function directoryName(shard: number): string {
  return shard === 0 ? "directory" : `directory/${shard}`;
}

/** The shard a directory object's name says (its own, read from `ctx.id.name`). */
export function directoryShardNamed(name: string | undefined): number {
  const shard = name === "directory" ? 0 : Number(/^directory\/([1-9][0-9]*)$/.exec(name ?? "")?.[1]);
  if (!Number.isInteger(shard) || shard >= DIRECTORY_SHARDS) throw new Error(`not a directory object: ${name}`);
  return shard;
}

/** The directory object of `shard`. */
export function directoryAt(env: Env, shard: number): DirectoryStub {
  const namespace = env.TENANT_DIRECTORY;
  return namespace.get(namespace.idFromName(directoryName(shard))) as unknown as DirectoryStub;
}

/** The directory object that keeps `tenant`'s name. */
export function directoryFor(env: Env, tenant: string): DirectoryStub {
  return directoryAt(env, directoryShardOf(tenant));
}

/**
 * Ids of stores by jurisdiction and object name, per binding. `idFromName` hashes the name on
 * every call; an id is a plain value, safe to keep across requests. A stub is not (the runtime
 * refuses I/O through a stub made by another request), so each request still makes its own.
 * Bounded, so a flood of tenant names cannot grow it without limit.
 */
const idsByNamespace = new WeakMap<Env["SESSION_STORE"], Map<string, DurableObjectId>>();
const MAX_REMEMBERED_IDS = 10_000;

/** Whether this deployment maps jurisdictions to the plain namespace (local development and tests only). */
export function ignoresJurisdictions(env: Env): boolean {
  return env.LOCAL_JURISDICTIONS === "ignore";
}

/**
 * A stub of the store at `target`, or 503 `jurisdiction_unavailable` when the runtime refuses
 * its jurisdiction. The stub comes from the namespace of the jurisdiction that made the id.
 */
export function storeFor(env: Env, target: StoreTarget): Result<{ stub: StoreStub }> {
  return stubAt<StoreStub>(env, target);
}

/** A tenant's home (shard 0), which answers more than any store: see session-store/api.ts. */
export interface HomeTarget {
  tenant: string;
  jurisdiction: Jurisdiction | null;
}

export function homeFor(env: Env, home: HomeTarget): Result<{ stub: HomeStub }> {
  return stubAt<HomeStub>(env, { ...home, shard: 0 });
}

function stubAt<S>(env: Env, target: StoreTarget): Result<{ stub: S }> {
  const namespace = namespaceIn(env.SESSION_STORE, target.jurisdiction, ignoresJurisdictions(env));
  if (!namespace.ok) return namespace;
  let ids = idsByNamespace.get(env.SESSION_STORE);
  if (!ids) {
    ids = new Map();
    idsByNamespace.set(env.SESSION_STORE, ids);
  }
  const name = objectName(target);
  const key = `${target.jurisdiction ?? ""}:${name}`;
  let id = ids.get(key);
  if (!id) {
    if (ids.size >= MAX_REMEMBERED_IDS) ids.clear();
    id = namespace.namespace.idFromName(name);
    ids.set(key, id);
  }
  return ok({ stub: namespace.namespace.get(id) as unknown as S });
}

const STORE_OVERLOADED = fail("overloaded", "the tenant's store is overloaded; retry after a moment");
const DIRECTORY_OVERLOADED = fail("overloaded", "the tenant directory is overloaded; retry after a moment");
/** Attempts in all for an idempotent call that keeps failing with a retryable error. */
const MAX_ATTEMPTS = 3;
const FIRST_BACKOFF_MS = 20;

export interface CallOptions {
  /** Safe to repeat: the call reads, or writes nothing a second run would change. */
  idempotent?: boolean;
}

function flagsOf(error: unknown): { overloaded: boolean; retryable: boolean } {
  const flags = (typeof error === "object" && error !== null ? error : {}) as {
    overloaded?: unknown;
    retryable?: unknown;
  };
  return { overloaded: flags.overloaded === true, retryable: flags.retryable === true };
}

/** Runs one call on one of a tenant's stores, turning an overload into a value. Other errors propagate. */
export function callStore<T extends object>(
  env: Env,
  target: StoreTarget,
  call: (store: StoreStub) => Promise<Result<T>>,
  options: CallOptions = {},
): Promise<Result<T>> {
  return callAt(env, target, call, options);
}

/** Runs one call on a tenant's home, as `callStore` does on any store. */
export function callHome<T extends object>(
  env: Env,
  home: HomeTarget,
  call: (home: HomeStub) => Promise<Result<T>>,
  options: CallOptions = {},
): Promise<Result<T>> {
  return callAt(env, { ...home, shard: 0 }, call, options);
}

async function callAt<S, T extends object>(
  env: Env,
  target: StoreTarget,
  call: (stub: S) => Promise<Result<T>>,
  options: CallOptions,
): Promise<Result<T>> {
  const reachable = stubAt<S>(env, target);
  if (!reachable.ok) return reachable;
  let first: S | null = reachable.stub;
  const stub = () => {
    const next = first ?? (stubAt<S>(env, target) as { stub: S }).stub; // reachable once is reachable again
    first = null;
    return next;
  };
  return callObject(stub, call, options, STORE_OVERLOADED);
}

/** Runs one call on a directory object (`shard`: by number, or the one keeping a tenant's name), as `callStore` does on a store. */
export function callDirectory<T extends object>(
  env: Env,
  shard: number | { tenant: string },
  call: (directory: DirectoryStub) => Promise<Result<T>>,
  options: CallOptions = {},
): Promise<Result<T>> {
  const at = typeof shard === "number" ? shard : directoryShardOf(shard.tenant);
  return callObject(() => directoryAt(env, at), call, options, DIRECTORY_OVERLOADED);
}

async function callObject<S, T extends object>(
  stub: () => S,
  call: (stub: S) => Promise<Result<T>>,
  options: CallOptions,
  overloaded: Failure,
): Promise<Result<T>> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await call(stub()); // a fresh stub each attempt: a broken one stays broken
    } catch (error) {
      const flags = flagsOf(error);
      if (flags.overloaded) return overloaded;
      if (!options.idempotent || !flags.retryable || attempt === MAX_ATTEMPTS) throw error;
      // Exponential, with jitter so that many callers hit by one failure do not retry in step.
      const backoff = FIRST_BACKOFF_MS * 2 ** (attempt - 1);
      const jitter = crypto.getRandomValues(new Uint8Array(1))[0]! / 255;
      await new Promise((resolve) => setTimeout(resolve, backoff * (0.5 + jitter)));
    }
  }
}
