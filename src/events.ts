// The audit log's public shape. Events name sessions and users by their public ids and the
// actor by kind (admin, tenant_key:<keyId>, service, session, system): never a token or hash.

export interface AuditEvent {
  at: string;
  /**
   * `superseded_token_used`: a token that rotation replaced was presented (first use of each).
   * `kill_undone`: a kill was undone; `count` sessions came back.
   */
  type: "created" | "rotated" | "revoked" | "expired" | "superseded_token_used" | "kill_undone";
  /** For `revoked`: one, user, tenant, siblings, logout, evicted. */
  reason?: string;
  actor: string;
  sessionId?: string;
  userId?: string;
  /** For kills of many sessions: how many were live. */
  count?: number;
  /** For kills (`revoked` but for logout, eviction and expiry) and `kill_undone`: the id undo takes. */
  killId?: string;
}
