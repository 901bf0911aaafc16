// SQL of the secrets rotation replaced, kept until their session's absolute expiry, so a
// logout with a superseded token still ends its session and its use shows in the audit log.

import type { SessionRecord } from "../../src/core/session";

export interface SupersededSecret {
  seq: number;
  userId: string;
  secretHash: ArrayBuffer;
  reported: boolean;
}

/** Records a secret that rotation replaced, keeping only the newest `keep` of the session. */
export function insertSupersededSecret(
  sql: SqlStorage,
  record: SessionRecord,
  secretHash: ArrayBuffer,
  keep: number,
): void {
  sql.exec(
    "INSERT INTO superseded_secrets (session_id, user_id, secret_hash, expires_at) VALUES (?, ?, ?, ?)",
    record.id,
    record.userId,
    secretHash,
    record.absoluteExpiresAt,
  );
  sql.exec(
    `DELETE FROM superseded_secrets WHERE session_id = ? AND seq <= (
       SELECT seq FROM superseded_secrets WHERE session_id = ? ORDER BY seq DESC LIMIT 1 OFFSET ?
     )`,
    record.id,
    record.id,
    keep,
  );
}

/** The superseded secrets of a session, read by its public id (never looked up by secret). */
export function supersededSecrets(sql: SqlStorage, sessionId: string): SupersededSecret[] {
  return sql
    .exec<{ seq: number; user_id: string; secret_hash: ArrayBuffer; reported: number }>(
      "SELECT seq, user_id, secret_hash, reported FROM superseded_secrets WHERE session_id = ?",
      sessionId,
    )
    .toArray()
    .map((row) => ({ seq: row.seq, userId: row.user_id, secretHash: row.secret_hash, reported: row.reported === 1 }));
}

export function markSupersededReported(sql: SqlStorage, seq: number): void {
  sql.exec("UPDATE superseded_secrets SET reported = 1 WHERE seq = ?", seq);
}

/** Deletes up to `batch` superseded secrets whose session can no longer be alive. */
export function deleteExpiredSupersededSecrets(sql: SqlStorage, now: number, batch: number): number {
  return sql
    .exec(
      "DELETE FROM superseded_secrets WHERE seq IN (SELECT seq FROM superseded_secrets WHERE expires_at <= ? LIMIT ?) RETURNING seq",
      now,
      batch,
    )
    .toArray().length;
}

export function earliestSupersededExpiry(sql: SqlStorage): number | null {
  return sql.exec<{ at: number | null }>("SELECT min(expires_at) AS at FROM superseded_secrets").one().at;
}
