// The purge, run by the alarm: bounded steps that delete only what is already refused.

import { deleteOldEvents, oldestEventAt } from "./audit-sql";
import { deleteOldChanges } from "./coordinator";
import { deleteOldKills, nextKillToSettle, settleKills } from "./kills-sql";
import { deleteBelowTenantFloor, deleteBelowUserFloors, hasRevokedRows, userFloor } from "./floors-sql";
import { endExpired } from "./sessions";
import { reevaluateExpiries } from "./expiry-sql";
import { deleteExpiredSessions, earliestExpiry } from "./sessions-sql";
import { deleteExpiredSupersededSecrets, earliestSupersededExpiry } from "./superseded-sql";
import { deleteExpiredLinks, deleteExpiredReceipts, earliestSignalExpiry } from "./identity-providers-sql";
import { PURGE_BATCH, type Store } from "./tenant";
import { deleteExpiredChallenges, earliestChallengeExpiry } from "./binding-sql";

/**
 * Most rows one alarm run handles before it re-arms for right away, so requests to this store
 * wait at most one short run behind a purge (a few milliseconds here), never the whole backlog.
 * Bounded in rows, not time: Date.now() does not advance during synchronous work in Workers.
 */
export const PURGE_ROWS_PER_RUN = 2_000;

/** Sessions expiring close together are purged in one run: the alarm never re-arms sooner than this after a run. */
export const PURGE_COALESCE_MS = 60_000;

export { UNDO_SETTLE_GRACE_MS } from "./kills-sql";

/** Audit events are kept this long, and at most this many. */
export const EVENT_RETENTION_DAYS = 30;

export const MAX_EVENTS = 100_000;

const EVENT_RETENTION_MS = EVENT_RETENTION_DAYS * 24 * 3600 * 1000;

/**
 * One bounded step of cleanup: the re-evaluation of stored expiries after a change of
 * timeouts, then kills whose undo window passed (settled), then rows under a settled floor,
 * then expired sessions (with an `expired` event each, unless a kill had ended them), then
 * superseded secrets past their session's life, identity providers' links and signal receipts
 * past theirs, then old events, kill records and the records
 * of kills coordinated here.
 * Returns the rows it handled; 0 means done. Idempotent: running it again, or after a
 * failed run, finds only what is left.
 */
export function purgeStep({ sql, tenant }: Store, now: number): number {
  if (!tenant) return 0;
  // Stored expiries first: the purge goes by them, so they must follow the current rule.
  const reevaluated = tenant.reevaluating ? reevaluateExpiries(sql, tenant.rules, PURGE_BATCH) : 0;
  if (reevaluated > 0) return reevaluated;
  // A step that settles kills moves the settled floors: the next step reads them afresh.
  const settled = settleKills(sql, now, PURGE_BATCH);
  if (settled > 0) return settled;
  // Killed rows before expired ones, and without events: the kill's own event is their end.
  const belowTenant = deleteBelowTenantFloor(sql, tenant.settledFloor, PURGE_BATCH);
  if (belowTenant > 0) return belowTenant;
  const belowUser = tenant.userFloors ? deleteBelowUserFloors(sql, PURGE_BATCH) : 0;
  if (belowUser > 0) return belowUser;
  // An expired session that a kill had ended (undo could not bring it back alive) goes silently.
  const expired = deleteExpiredSessions(sql, now, PURGE_BATCH);
  const floorOf = (userId: string) => (tenant.userFloors ? userFloor(sql, userId) : 0);
  endExpired(
    sql,
    expired.filter((session) => session.seq >= tenant.floor && session.seq >= floorOf(session.userId)),
    now,
  );
  if (expired.length > 0) return expired.length;
  const superseded = deleteExpiredSupersededSecrets(sql, now, PURGE_BATCH);
  if (superseded > 0) return superseded;
  const signals =
    deleteExpiredLinks(sql, now, PURGE_BATCH) +
    deleteExpiredReceipts(sql, now, PURGE_BATCH) +
    deleteExpiredChallenges(sql, now, PURGE_BATCH);
  if (signals > 0) return signals;
  const kills = deleteOldKills(sql, now - EVENT_RETENTION_MS, PURGE_BATCH);
  if (kills > 0) return kills;
  const changes = deleteOldChanges(sql, now - EVENT_RETENTION_MS, PURGE_BATCH);
  if (changes > 0) return changes;
  return deleteOldEvents(sql, now - EVENT_RETENTION_MS, MAX_EVENTS, PURGE_BATCH);
}

/** When the purge should next run, or null when there is nothing it will ever have to do. */
export function nextPurgeAt({ sql, tenant }: Store, now: number): number | null {
  if (!tenant) return null;
  if (tenant.reevaluating || hasRevokedRows(sql, tenant.settledFloor)) return now;
  const oldestEvent = oldestEventAt(sql);
  const eventsDueAt = oldestEvent === null ? null : oldestEvent + EVENT_RETENTION_MS;
  const times = [
    earliestExpiry(sql),
    earliestSupersededExpiry(sql),
    earliestSignalExpiry(sql),
    earliestChallengeExpiry(sql),
    nextKillToSettle(sql),
    eventsDueAt,
  ].filter((at): at is number => at !== null);
  return times.length === 0 ? null : Math.max(now, Math.min(...times));
}
