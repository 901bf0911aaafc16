// Seeing sessions and the audit log (operators): pages merged newest first over the shards
// that may hold them, with a signed cursor.

import type { StoreCaller } from "../../core/auth";
import { fail, ok, SESSION_NOT_FOUND, type Result } from "../../core/errors";
import type { AuditEvent } from "../../core/events";
import { mergeNewestFirst, shareOf, type Before, type Row } from "../../core/merge";
import { onShards, storeNamedBy, targetOf, type ShardAnswer } from "../locate";
import { decodeCursor, encodeCursor, peekCursor, shardBefore } from "../pagination";
import { allShards, shardsOfUser, type ShardHistory } from "../../core/placement";
import type { Session } from "../../core/session";
import { isUserId } from "../../core/session-input";
import type { ListQuery } from "../../../durable-objects/session-store/api";
import { callStore, type StoreStub } from "../../../durable-objects/stubs";
import { isSessionId } from "../../core/token";

import {
  LISTING,
  READ,
  SHARD_UNAVAILABLE,
  answered,
  checkUserId,
  couldNotAnswer,
  listOptions,
  onTenant,
} from "./doors";

/** A prefix of user ids: what a user id may be, and not beside `userId`. */
function checkUserPrefix(prefix: unknown, userId: unknown): Result {
  if (userId !== undefined) return fail("bad_request", "give userId or userPrefix, not both", "userPrefix");
  return isUserId(prefix)
    ? ok({})
    : fail(
        "bad_request",
        "userPrefix must be 1 to 256 characters without control, bidirectional or invisible characters",
        "userPrefix",
      );
}

/**
 * One page of a listing merged over the shards that may hold its items, newest first by
 * (time, shard, seq) (src/core/merge.ts): one more than the page is merged, so the merge knows
 * whether more follow. The next cursor is signed for this very listing (tenant, user filter).
 */
function listPage<Item>(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  query: unknown,
  listing: "sessions" | "events",
  read: (
    store: StoreStub,
    page: ListQuery,
  ) => Promise<Result<{ rows: Row<Item>[]; history: ShardHistory; tenantCreatedAt: number }>>,
): Promise<Result<{ items: Item[]; nextCursor: string | null }>> {
  return onTenant(env, caller, tenant, "tenant", async (at, config) => {
    const checked = listOptions(
      query,
      listing === "sessions" ? ["userId", "userPrefix", "impersonated", "limit", "cursor"] : ["limit", "cursor"],
    );
    if (!checked.ok) return checked;
    const { options, limit } = checked;
    const user = options.userId === undefined ? ok({}) : checkUserId(options.userId);
    if (!user.ok) return user;
    const prefix = options.userPrefix === undefined ? ok({}) : checkUserPrefix(options.userPrefix, options.userId);
    if (!prefix.ok) return prefix;
    // Only impersonations (sessions with an actor): `true` over RPC, "true" in a query string.
    if (options.impersonated !== undefined && options.impersonated !== true && options.impersonated !== "true")
      return fail("bad_request", "impersonated must be true, or absent", "impersonated");
    const impersonated = options.impersonated === undefined ? undefined : true;
    const userId = options.userId as string | undefined;
    const userPrefix = options.userPrefix as string | undefined;
    const keys = config.signingKeys;
    const cursor = peekCursor(options.cursor);
    if (!cursor.ok) return cursor;
    const shardsOf = (history: ShardHistory) =>
      userId === undefined ? allShards(history) : shardsOfUser(history, userId);
    const share = shareOf(limit + 1, shardsOf(at.history).length);
    const ran = await onShards(
      env,
      at,
      shardsOf,
      (store, shard) =>
        read(store, { userId, userPrefix, impersonated, limit: share, before: shardBefore(cursor.after, shard) }),
      LISTING,
    );
    if (!ran.ok) return ran;
    const pages = answered(ran.answers);
    if (!pages.ok) return pages;
    if (pages.unreachable.length > 0 || !ran.placed) return SHARD_UNAVAILABLE;
    // A cursor is signed for its listing: the tenant (as made when: a later one of its name is
    // another), user, prefix. Checked once a store said when the tenant was made.
    const made = pages.results[0]?.value.tenantCreatedAt ?? 0;
    const scope = `${listing}\n${at.tenant}\n${made}\n${userId ?? ""}${userPrefix === undefined ? "" : `\nprefix\n${userPrefix}`}${impersonated ? "\nimpersonated" : ""}`;
    const signed = decodeCursor(keys, scope, options.cursor);
    if (!signed.ok) return signed;
    const readMore = (shard: number, before: Before) =>
      callStore(
        env,
        targetOf(at, shard),
        (store) => read(store, { userId, userPrefix, impersonated, limit: share, before }),
        READ,
      ).catch(() => SHARD_UNAVAILABLE);
    const merged = await mergeNewestFirst(
      pages.results.map(({ shard, value }) => ({ shard, rows: value.rows })),
      limit + 1,
      share,
      readMore,
    );
    if (!merged.ok) return merged;
    const page = merged.rows.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor = merged.rows.length > limit && last ? encodeCursor(keys, scope, last) : null;
    return ok({ items: page.map((row) => row.item), nextCursor });
  });
}

export async function listSessions(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  query: unknown,
): Promise<Result<{ sessions: Session[]; nextCursor: string | null }>> {
  const page = await listPage(env, caller, tenant, query, "sessions", (store, q) => store.listSessions(caller, q));
  return page.ok ? ok({ sessions: page.items, nextCursor: page.nextCursor }) : page;
}

export async function listEvents(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  query: unknown,
): Promise<Result<{ events: AuditEvent[]; nextCursor: string | null }>> {
  const page = await listPage(env, caller, tenant, query, "events", (store, q) => store.listEvents(caller, q));
  return page.ok ? ok({ events: page.items, nextCursor: page.nextCursor }) : page;
}

/** A session by its public id: the one store it names, or every store for an id from before. */
export function getSession(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  id: unknown,
): Promise<Result<{ session: Session }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    if (typeof id !== "string" || !isSessionId(id)) return SESSION_NOT_FOUND;
    const named = await storeNamedBy(env, at, id);
    if (!named.ok) return named;
    if (named.shard === null) return SESSION_NOT_FOUND;
    if (named.shard !== "any")
      return callStore(env, targetOf(named.located, named.shard), (store) => store.getSession(caller, id), READ).catch(
        () => SHARD_UNAVAILABLE, // as the fan-out answers for a store it could not reach
      );
    const ran = await onShards(env, at, allShards, (store) => store.getSession(caller, id), READ);
    if (!ran.ok) return ran;
    return oneOf(ran.answers, ran.placed);
  });
}

/** The one shard's answer that found the session, or not found (when every shard answered, the home included). */
function oneOf<T extends object>(answers: ShardAnswer<T>[], placed: boolean): Result<T> {
  let unreachable = !placed;
  for (const answer of answers) {
    if (couldNotAnswer(answer)) unreachable = true;
    else if ("unreachable" in answer) continue;
    else if (answer.result.ok || answer.result.error.code !== "session_not_found") {
      if (answer.result.ok || answer.shard === 0 || answer.result.error.code !== "tenant_not_found")
        return answer.result;
    }
  }
  return unreachable ? SHARD_UNAVAILABLE : SESSION_NOT_FOUND;
}

/** A kill's id: made here, so that every store a kill reaches records it under the same one. */
