// SQL of the listings of sessions: newest first by creation (merged across shards on
// (created_at, shard, seq) by the front Worker), by user, user id prefix or impersonation; and
// live counts. Each applies the LIVE rule of sessions-sql.ts.

import type { SessionRecord } from "../../src/core/session";
import { type LiveContext, liveBindings, liveRule, SESSION_COLUMNS, sessionRecords } from "./sessions-sql";

/**
 * A place in a newest-first listing: everything before (time, seq), time being a session's
 * creation or an event's instant. Listings of several shards merge on it (src/core/merge.ts).
 */
export interface Position {
  time: number;
  seq: number;
}

export const FROM_THE_TOP: Position = { time: Number.MAX_SAFE_INTEGER, seq: 0 };

/**
 * The smallest text above every text that starts with `prefix` (code point order, which is
 * SQLite's byte order for UTF-8), or null when none exists: the prefix's last code point
 * raised by one, surrogates skipped.
 */
export function prefixEnd(prefix: string): string | null {
  const points = [...prefix].map((character) => character.codePointAt(0)!);
  while (points.length > 0) {
    const last = points.pop()!;
    if (last < 0x10ffff) return String.fromCodePoint(...points, last + 1 === 0xd800 ? 0xe000 : last + 1);
  }
  return null;
}

/** The user filter of a listing, as SQL and its bindings: one user (an index lookup), a prefix (an index range), or none. */
function userFilter(options: { userId?: string | undefined; userPrefix?: string | undefined }): {
  clause: string;
  bindings: string[];
} {
  if (options.userId !== undefined) return { clause: "s.user_id = ? AND ", bindings: [options.userId] };
  if (options.userPrefix === undefined) return { clause: "", bindings: [] };
  const end = prefixEnd(options.userPrefix);
  return end === null
    ? { clause: "s.user_id >= ? AND ", bindings: [options.userPrefix] }
    : { clause: "s.user_id >= ? AND s.user_id < ? AND ", bindings: [options.userPrefix, end] };
}

/** Which page of a listing: up to `limit` items before `before` (the front Worker decodes cursors into it). */
export interface ListQuery {
  userId?: string | undefined;
  /** Sessions of every user whose id starts with this. */
  userPrefix?: string | undefined;
  /** Only impersonations. */
  impersonated?: true | undefined;
  before?: Position | undefined;
  limit: number;
}

/** Live sessions newest first (by creation, then seq), before `before` when given, optionally of one user or a user id prefix. */
export function listLiveSessions(sql: SqlStorage, live: LiveContext, options: ListQuery): SessionRecord[] {
  const before = options.before ?? FROM_THE_TOP;
  const user = userFilter(options);
  const impersonated = options.impersonated ? "s.actor IS NOT NULL AND " : "";
  return sessionRecords(
    sql.exec(
      `SELECT ${SESSION_COLUMNS} FROM sessions s
       WHERE ${user.clause}${impersonated}(s.created_at < ? OR (s.created_at = ? AND s.seq < ?)) AND ${liveRule(live)}
       ORDER BY s.created_at DESC, s.seq DESC LIMIT ?`,
      ...user.bindings,
      before.time,
      before.time,
      before.seq,
      ...liveBindings(live),
      options.limit,
    ),
  );
}

/** Live sessions of the tenant, or of one user. An index scan: no row is read from the table twice. */
export function countLiveSessions(sql: SqlStorage, live: LiveContext, userId?: string): number {
  const query =
    userId === undefined
      ? sql.exec<{ n: number }>(`SELECT count(*) AS n FROM sessions s WHERE ${liveRule(live)}`, ...liveBindings(live))
      : sql.exec<{ n: number }>(
          `SELECT count(*) AS n FROM sessions s WHERE s.user_id = ? AND ${liveRule(live)}`,
          userId,
          ...liveBindings(live),
        );
  return query.one().n;
}
