// The stored expiries of session rows brought up to date by the rule as it stands (after a
// change of timeouts, in batches; after an undo, for the rows it brought back). The purge goes
// by these stored values (sessions-sql.ts).

import type { ExpiryRules } from "../../src/core/session";
import { absoluteLimit } from "./sessions-sql";

/**
 * Rewrites the stored expiries of up to `batch` rows of the pending re-evaluation by the rule
 * as it stands, and moves on. Returns the rows rewritten (at least 1 while one is pending);
 * 0 when none is pending.
 */
export function reevaluateExpiries(sql: SqlStorage, rules: ExpiryRules, batch: number): number {
  const range = sql
    .exec<{ next: number | null; end: number | null }>(
      "SELECT reevaluate_next_seq AS next, reevaluate_end_seq AS end FROM tenant WHERE id = 1",
    )
    .one();
  if (range.next === null || range.end === null) return 0;
  const rewritten = rewriteExpiries(
    sql,
    rules,
    "seq IN (SELECT seq FROM sessions WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?)",
    [range.next, range.end, batch],
  );
  if (rewritten.length < batch) {
    sql.exec("UPDATE tenant SET reevaluate_next_seq = NULL, reevaluate_end_seq = NULL WHERE id = 1");
  } else {
    sql.exec(
      "UPDATE tenant SET reevaluate_next_seq = ? WHERE id = 1",
      Math.max(...rewritten.map((row) => row.seq)) + 1,
    );
  }
  return Math.max(rewritten.length, 1); // the step did work even when the last batch was empty
}

/** Rewrites the stored expiries of the rows `where` names by the rule as it stands; returns their seqs. */
export function rewriteExpiries(
  sql: SqlStorage,
  rules: ExpiryRules,
  where: string,
  bindings: SqlStorageValue[],
): { seq: number }[] {
  const limit = absoluteLimit(rules);
  return sql
    .exec<{ seq: number }>(
      `UPDATE sessions SET
         idle_expires_at = CASE WHEN last_seen_at <= ? THEN last_seen_at ELSE last_seen_at + ? END,
         absolute_expires_at = min(absolute_expires_at, created_at + ${limit.sql})
       WHERE ${where}
       RETURNING seq`,
      rules.idleLine,
      rules.settings.idleTimeoutSeconds * 1000,
      ...limit.bindings,
      ...bindings,
    )
    .toArray();
}
