// The same user's other sessions (self-service): the token's own store authenticates it.

import type { Killed, SiblingSession } from "@session-service/client";
import { ok, type Result } from "../../core/errors";
import { liveRequest } from "../../core/live";
import { onShards, type Located } from "../locate";
import { currentCount, shardsOfUser, type ShardHistory, type StoreTarget } from "../../core/placement";
import { MAX_SIBLINGS } from "../../core/session";
import { callStore } from "../../../durable-objects/stubs";
import { newPlacedId } from "../../core/placed-id";

import { LISTING, READ, SHARD_UNAVAILABLE, answered, boundThumbprint, withToken } from "./doors";

/**
 * The tenant as a token and its store know it: every shard count that holds sessions is in
 * every shard's history (a count is used only once every shard has it).
 */
function fromToken(t: StoreTarget, history: ShardHistory): Located {
  return {
    tenant: t.tenant,
    jurisdiction: t.jurisdiction,
    count: currentCount(history),
    history,
    learnedAt: Date.now(),
  };
}

/**
 * The token's user's live sessions on every shard that may hold them: the token's own store
 * authenticates and slides it (and says who the user is), then the user's other shards are
 * asked, as the holder of that session.
 */
export function listSiblings(
  env: Env,
  expectedTenant: unknown,
  token: unknown,
  boundCookie: string | null = null,
): Promise<Result<{ sessions: SiblingSession[] }>> {
  return withToken(env, expectedTenant, token, async (t, config) => {
    const bound = boundThumbprint(config, t, boundCookie);
    const own = await callStore(env, t, (store) => store.listSiblings(t.sessionId, t.secretHash, bound), READ);
    if (!own.ok) return own;
    if (currentCount(own.history) === 1) return ok({ sessions: own.sessions });
    const others = (history: ShardHistory) => shardsOfUser(history, own.userId).filter((shard) => shard !== t.shard);
    const ran = await onShards(
      env,
      fromToken(t, own.history),
      others,
      (store) => store.listSessions({ kind: "session" }, { userId: own.userId, limit: MAX_SIBLINGS }),
      LISTING,
    );
    if (!ran.ok) return ran;
    const pages = answered(ran.answers);
    if (!pages.ok) return pages;
    if (pages.unreachable.length > 0) return SHARD_UNAVAILABLE;
    const current = own.sessions.find((session) => session.current)!;
    const elsewhere = pages.results.flatMap(({ value }) => value.rows.map((row) => ({ ...row.item, current: false })));
    const newestFirst = [...own.sessions, ...elsewhere]
      .sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0))
      .slice(0, MAX_SIBLINGS);
    if (!newestFirst.includes(current)) newestFirst.splice(MAX_SIBLINGS - 1, 1, current);
    return ok({ sessions: newestFirst });
  });
}

/**
 * "Log out my other devices" on every store of the user: the token's own store authenticates
 * it and coordinates the kill over the user's other stores, as the home does an operator's.
 */
export function revokeSiblings(
  env: Env,
  expectedTenant: unknown,
  token: unknown,
  origin: string | null,
  boundCookie: string | null = null,
): Promise<Result<Killed>> {
  return withToken(env, expectedTenant, token, (t, config) => {
    const bound = boundThumbprint(config, t, boundCookie);
    // The kill's id names the store that coordinates it, so that its undo asks that store alone.
    const killId = newPlacedId(t.tenant, t.shard);
    return callStore(env, t, (store) => store.revokeSiblings(t.sessionId, t.secretHash, origin, killId, bound));
  });
}

/**
 * Opens the live revocation socket: the token is verified here, then the upgrade is handed to
 * the session's store, which checks the session and origin and keeps the socket.
 */
export function openLive(
  env: Env,
  expectedTenant: unknown,
  token: unknown,
  origin: string | null,
  boundCookie: string | null = null,
): Promise<Result<{ response: Response }>> {
  return withToken(env, expectedTenant, token, (t, config) => {
    const bound = boundThumbprint(config, t, boundCookie);
    return callStore(env, t, async (store) =>
      ok({ response: await store.fetch(liveRequest(t.sessionId, t.secretHash, origin, bound)) }),
    );
  });
}
