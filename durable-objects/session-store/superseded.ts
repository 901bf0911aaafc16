// The secrets rotation replaced (kept by superseded-sql.ts): a token that uses one is refused,
// and its first use is recorded, since an old token in use after a rotation is what a stolen
// one looks like. Logout still takes one (sessions.ts).

import { digestsEqual } from "../../src/core/crypto";
import { insertEvent } from "./audit-sql";
import { markSupersededReported, type SupersededSecret, supersededSecrets } from "./superseded-sql";
import type { Store } from "./tenant";

/** The superseded secret of this session that `secretHash` is, if any. Read by public id, compared in constant time. */
function supersededSecret({ sql, tenant }: Store, id: string, secretHash: ArrayBuffer): SupersededSecret | null {
  if (!tenant) return null;
  return supersededSecrets(sql, id).find((superseded) => digestsEqual(superseded.secretHash, secretHash)) ?? null;
}

/** Whether a refused token was one that rotation replaced and whose use is not recorded yet. */
export function supersededUseUnrecorded(store: Store, id: string, secretHash: ArrayBuffer): boolean {
  return supersededSecret(store, id, secretHash)?.reported === false;
}

/**
 * Whether `secretHash` is one that rotation replaced on this session. The first use of each
 * such secret is recorded (`superseded_token_used`): an old token in use after a rotation is
 * what a stolen one looks like.
 */
export function supersededSecretUsed(store: Store, id: string, secretHash: ArrayBuffer, now: number): boolean {
  const match = supersededSecret(store, id, secretHash);
  if (!match) return false;
  if (!match.reported) {
    markSupersededReported(store.sql, match.seq);
    insertEvent(
      store.sql,
      { type: "superseded_token_used", actor: "session", sessionId: id, userId: match.userId },
      now,
    );
  }
  return true;
}
