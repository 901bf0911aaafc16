// One store's part of the listings of sessions: a page of the tenant's (merged over its stores
// by the front Worker), one session by id, and a user's sessions as "my other sessions" shows them.

import { MAX_SIBLINGS, publicSession, type Session } from "../../src/core/session";
import type { StoreCaller } from "../../src/core/auth";
import type { ShardHistory } from "../../src/core/placement";
import type { SiblingSession } from "@session-service/client";
import { ok, type Result, SESSION_NOT_FOUND } from "../../src/core/errors";
import type { Row } from "../../src/core/merge";
import { useSession } from "./sessions";
import { readLiveSession } from "./sessions-sql";
import { listLiveSessions, type ListQuery } from "./listings-sql";
import { authorized, live, type Store } from "./tenant";

/**
 * One store's part of a listing, with the shard history (which stores hold the rest) and when
 * the tenant was made (a cursor is good for this tenant only, not a later one of its name).
 */
export interface Listed<Item> {
  rows: Row<Item>[];
  history: ShardHistory;
  tenantCreatedAt: number;
}

export function listSessions(
  store: Store,
  caller: StoreCaller,
  options: ListQuery,
  now: number,
): Result<Listed<Session>> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const { tenant } = allowed;
  const rows = listLiveSessions(store.sql, live(tenant, now), options);
  return ok({
    rows: rows.map((r) => ({ time: r.createdAt, seq: r.seq, item: publicSession(tenant.name, r, tenant.rules) })),
    history: tenant.shardHistory,
    tenantCreatedAt: tenant.createdAt,
  });
}

export function getSession(store: Store, caller: StoreCaller, id: string, now: number): Result<{ session: Session }> {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  const { tenant } = allowed;
  const stored = readLiveSession(store.sql, live(tenant, now), id);
  return stored ? ok({ session: publicSession(tenant.name, stored.record, tenant.rules) }) : SESSION_NOT_FOUND;
}

/**
 * The user's live sessions, newest first, the presenting one marked. Slides it like validate.
 * Also says which user, and the shard history: the user's other shards hold the rest.
 */
export function listSiblings(
  store: Store,
  id: string,
  secretHash: ArrayBuffer,
  now: number,
  boundThumbprint: string | null = null,
): Result<{ sessions: SiblingSession[]; userId: string; history: ShardHistory }> {
  const used = useSession(store, id, secretHash, now, { thumbprint: boundThumbprint });
  if (!used.ok) return used;
  const { tenant, record: current } = used;
  const records = listLiveSessions(store.sql, live(tenant, now), { userId: current.userId, limit: MAX_SIBLINGS });
  // The session asking is always shown, even when it is older than the newest MAX_SIBLINGS.
  if (!records.some((r) => r.seq === current.seq)) records.splice(MAX_SIBLINGS - 1, records.length, current);
  const sessions = records.map((r) => ({
    ...publicSession(tenant.name, r, tenant.rules),
    current: r.seq === current.seq,
  }));
  return ok({ sessions, userId: current.userId, history: tenant.shardHistory });
}
