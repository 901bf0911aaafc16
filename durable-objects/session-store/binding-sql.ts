// SQL of device binding's one-time challenges: issued to a session, consumed by the proof
// that names them, purged past their time.

import { CHALLENGE_TTL_MS, newChallenge } from "../../src/core/binding";

/** A fresh one-time challenge for this session's browser to sign. */
export function issueChallenge(sql: SqlStorage, sessionId: string, now: number): string {
  const challenge = newChallenge();
  sql.exec(
    "INSERT INTO binding_challenges (challenge, session_id, expires_at) VALUES (?, ?, ?)",
    challenge,
    sessionId,
    now + CHALLENGE_TTL_MS,
  );
  return challenge;
}

/** Uses up a challenge of this session, if it is one and still good. */
export function consumeChallenge(sql: SqlStorage, challenge: string, sessionId: string, now: number): boolean {
  return (
    sql
      .exec(
        "DELETE FROM binding_challenges WHERE challenge = ? AND session_id = ? AND expires_at > ? RETURNING challenge",
        challenge,
        sessionId,
        now,
      )
      .toArray().length === 1
  );
}

/** Deletes up to `batch` challenges past their time. */
export function deleteExpiredChallenges(sql: SqlStorage, now: number, batch: number): number {
  return sql
    .exec(
      "DELETE FROM binding_challenges WHERE challenge IN (SELECT challenge FROM binding_challenges WHERE expires_at <= ? LIMIT ?) RETURNING 1",
      now,
      batch,
    )
    .toArray().length;
}

/** When the next challenge expires, or null. */
export function earliestChallengeExpiry(sql: SqlStorage): number | null {
  return sql.exec<{ at: number | null }>("SELECT min(expires_at) AS at FROM binding_challenges").one().at;
}
