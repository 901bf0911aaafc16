// Finding a tenant's stores from the front Worker, and running an operation on several of them.
// A token names its store, so the token routes need none of this. Everything else names only
// the tenant: its jurisdiction comes from the TenantDirectory, once per isolate (it never
// changes); its shard placement is kept per isolate and corrected by the tenant's home.

import { fail, ok, TENANT_NOT_FOUND, type Result } from "../core/errors";
import { currentCount, SINGLE_SHARD, type Jurisdiction, type ShardHistory, type StoreTarget } from "../core/placement";
import { shardNamedBy } from "../core/placed-id";
import { callDirectory, callHome, callStore, type CallOptions, type StoreStub } from "../../durable-objects/stubs";
import { askEach, type ShardAnswer } from "../../durable-objects/stub";

/** Where a tenant's stores are, as this isolate knows it. */
export interface Located {
  tenant: string;
  jurisdiction: Jurisdiction | null;
  /** The shard count new sessions use. */
  count: number;
  history: ShardHistory;
  /** When the count was last heard from the home (or assumed): creates ask again after PLACEMENT_MAX_AGE_MS. */
  learnedAt: number;
}

/**
 * How long an isolate places sessions by a count before asking the home again. Placing by an
 * older count is correct (its shards are in the history), so this only bounds how long growth
 * takes to spread load: at most this long after a PUT, every isolate uses the new count.
 */
const PLACEMENT_MAX_AGE_MS = 60_000;

export function placementIsOld(at: Located): boolean {
  return Date.now() - at.learnedAt > PLACEMENT_MAX_AGE_MS;
}

const READ = { idempotent: true };
const MAX_LOCATED = 10_000;
const located = new Map<string, Located>();

function remember(at: Located): Located {
  if (located.size >= MAX_LOCATED) located.clear();
  located.set(at.tenant, at);
  unknown.delete(at.tenant);
  return at;
}

/**
 * Names the directory said it never heard of, until when this isolate believes it: a flood of
 * requests for made-up tenants costs the directory one lookup per name every few seconds. A
 * tenant created meanwhile is found at once by the isolate that created it (its claim is
 * remembered), and by the others within this long.
 */
const UNKNOWN_FOR_MS = 5_000;
const unknown = new Map<string, number>();

/** A tenant in one shard, as every tenant is until its home says otherwise. */
function unlocated(tenant: string, jurisdiction: Jurisdiction | null): Located {
  return { tenant, jurisdiction, count: 1, history: SINGLE_SHARD, learnedAt: Date.now() };
}

const DIRECTORY_UNREACHABLE = fail("overloaded", "the tenant directory cannot be reached; retry after a moment");

/**
 * Forgets where a tenant is: its home said it does not exist (deleted, perhaps made again in
 * another jurisdiction or with fewer shards), so the next request asks the directory.
 */
export function forgetLocation(tenant: string): void {
  located.delete(tenant);
  unknown.delete(tenant);
}

/**
 * Where a tenant's stores are. A name the directory has never heard of is looked for in no
 * jurisdiction (tenants made before the directory are recorded when their store next wakes),
 * and not remembered, so a tenant created later is found. `remembered`: the answer came from
 * this isolate's memory, not the directory (`fresh` asks the directory whatever it remembers).
 */
export async function locate(
  env: Env,
  tenant: string,
  options: { fresh?: boolean } = {},
): Promise<Result<{ located: Located; known: boolean; remembered: boolean }>> {
  const remembered = options.fresh ? undefined : located.get(tenant);
  if (remembered) return ok({ located: remembered, known: true, remembered: true });
  const unknownUntil = options.fresh ? undefined : unknown.get(tenant);
  if (unknownUntil !== undefined && unknownUntil > Date.now())
    return ok({ located: unlocated(tenant, null), known: false, remembered: true });
  let found: Result<{ known: boolean; jurisdiction: Jurisdiction | null }>;
  try {
    found = await callDirectory(env, { tenant }, (directory) => directory.locate(tenant), READ);
  } catch {
    return DIRECTORY_UNREACHABLE;
  }
  if (!found.ok) return found;
  const at = unlocated(tenant, found.jurisdiction);
  if (!found.known) {
    if (unknown.size >= MAX_LOCATED) unknown.clear();
    unknown.set(tenant, Date.now() + UNKNOWN_FOR_MS);
  }
  return ok({ located: found.known ? remember(at) : at, known: found.known, remembered: false });
}

/**
 * Claims a tenant's name in a jurisdiction before its creation (the directory keeps the first
 * claim), and says where the tenant lives.
 */
export async function claim(
  env: Env,
  tenant: string,
  jurisdiction: Jurisdiction | null,
): Promise<Result<{ located: Located }>> {
  let claimed: Result<{ jurisdiction: Jurisdiction | null }>;
  try {
    claimed = await callDirectory(env, { tenant }, (directory) => directory.claim(tenant, jurisdiction));
  } catch {
    return DIRECTORY_UNREACHABLE;
  }
  if (!claimed.ok) return claimed;
  return ok({ located: remember(unlocated(tenant, claimed.jurisdiction)) });
}

export function targetOf(at: Located, shard: number): StoreTarget {
  return { tenant: at.tenant, shard, jurisdiction: at.jurisdiction };
}

/** The placement the home answered: remembered for the next request. */
export function learn(at: Located, placement: { count: number; history: ShardHistory }): Located {
  return remember({ ...at, count: placement.count, history: placement.history, learnedAt: Date.now() });
}

const HOME_UNREACHABLE = fail(
  "shard_unavailable",
  "the tenant's home store could not be reached; retry after a moment",
);

/**
 * Asks the tenant's home where its sessions go. A create placed by a count the home no longer
 * uses is refused, and the front asks the home and places it again.
 */
export async function askHome(env: Env, at: Located): Promise<Result<{ located: Located }>> {
  try {
    const answer = await callHome(env, at, (home) => home.placement(), READ);
    return answer.ok ? ok({ located: learn(at, answer.placement) }) : answer;
  } catch {
    return HOME_UNREACHABLE;
  }
}

/**
 * The store an id of the tenant names (a session's, or a kill's: placed-id.ts): "any" for an id
 * from before, which names none; null for one that names no store of the tenant, known with no
 * store call (but the home's, for a shard this isolate has not heard of: the tenant may have grown).
 */
export async function storeNamedBy(
  env: Env,
  at: Located,
  id: string,
): Promise<Result<{ located: Located; shard: number | "any" | null }>> {
  const named = shardNamedBy(at.tenant, id);
  if (typeof named !== "number" || named < currentCount(at.history)) return ok({ located: at, shard: named });
  const home = await askHome(env, at);
  if (!home.ok) return home;
  return ok({ located: home.located, shard: named < currentCount(home.located.history) ? named : null });
}

export type { ShardAnswer } from "../../durable-objects/stub";

/**
 * Runs `operation` on every shard `shardsOf` names for the tenant's placement. The home is
 * asked for the placement at the same time; shards it names that were not asked are asked
 * next (a shard count is used for new sessions only once every shard has heard of it:
 * `checkPlacement` in durable-objects/session-store/sessions.ts, `markCopied` in replication.ts).
 * A tenant that does not exist is `tenant_not_found` (its home says so). A shard that could not
 * be reached is an `unreachable` answer, for the caller to decide; when the home
 * could not be, `placed` is false: shards added lately may have been missed.
 * `historyIn`: for an operation whose answers carry the shard history of the store that gave
 * them, no call to the home: any store's history holds every shard count in use (a count is
 * used only once every store has it), so one answer says which shards were missed.
 */
export async function onShards<T extends object>(
  env: Env,
  at: Located,
  shardsOf: (history: ShardHistory) => number[],
  operation: (store: StoreStub, shard: number) => Promise<Result<T>>,
  options: CallOptions & { historyIn?: (answer: T) => ShardHistory } = {},
): Promise<Result<{ answers: ShardAnswer<T>[]; placed: boolean }>> {
  const run = (shards: number[]) =>
    askEach(shards, (shard) => callStore(env, targetOf(at, shard), (store) => operation(store, shard), options));
  const asked = shardsOf(at.history);
  /** The first answers, and those of the shards `history` names that were not asked. */
  const withMissed = async (first: ShardAnswer<T>[], history: ShardHistory) => {
    const missed = shardsOf(history).filter((shard) => !asked.includes(shard));
    return ok({ answers: missed.length === 0 ? first : [...first, ...(await run(missed))], placed: true });
  };
  const fromHome = async (first: ShardAnswer<T>[], home: Result<{ located: Located }>) => {
    if (!home.ok)
      return home.error.code === "tenant_not_found" ? TENANT_NOT_FOUND : ok({ answers: first, placed: false });
    return withMissed(first, home.located.history);
  };
  if (options.historyIn) {
    const first = await run(asked);
    const histories = first.flatMap((answer) =>
      "result" in answer && answer.result.ok ? [options.historyIn!(answer.result)] : [],
    );
    const seen = histories.reduce<ShardHistory | null>(
      (longest, history) => (longest === null || history.length > longest.length ? history : longest),
      null,
    );
    // No store answered with its history (none has the tenant, or none answered): the home decides.
    return seen !== null ? withMissed(first, seen) : fromHome(first, await askHome(env, at));
  }
  const [home, first] = await Promise.all([askHome(env, at), run(asked)]);
  return fromHome(first, home);
}
