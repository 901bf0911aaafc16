// The audit log's public shape, and the webhooks' (src/webhooks.ts). Events name sessions and users by their public ids and the
// actor by kind (admin, tenant_key:<keyId>, service, session, system): never a token or hash.

export interface AuditEvent {
  at: string;
  /**
   * `superseded_token_used`: a token that rotation replaced was presented (first use of each).
   * `kill_undone`: a kill was undone; `count` sessions came back.
   * `webhook_disabled`: the receiver answered 410 Gone; it gets nothing more.
   * `webhook_events_dropped`: `count` events will never reach the webhook; `reason` says why:
   * `disabled`, `gave_up` (every retry failed, about three days) or `outbox_full`.
   */
  type: "created" | "rotated" | "revoked" | "expired" | "superseded_token_used" | "kill_undone" | "webhook_disabled" | "webhook_events_dropped";
  /** For `revoked`: one, user, tenant, siblings, logout, evicted. */
  reason?: string;
  actor: string;
  sessionId?: string;
  userId?: string;
  /** For kills of many sessions: how many were live. */
  count?: number;
  /** For kills (`revoked` but for logout, eviction and expiry) and `kill_undone`: the id undo takes. */
  killId?: string;
  /** For webhook_disabled and webhook_events_dropped. */
  webhookId?: string;
}

export type WebhookEventType =
  | "session.created"
  | "session.rotated"
  | "session.revoked"
  | "user.sessions_revoked"
  | "tenant.sessions_revoked"
  | "session.expired"
  | "kill.undone";

export type WebhookFormat = "standard-webhooks" | "caep";

/** A webhook as its owner sees it: never its secret. */
export interface WebhookView {
  id: string;
  url: string;
  format: WebhookFormat;
  events: WebhookEventType[];
  createdAt: string;
  /** When a 410 from the receiver disabled it; a disabled webhook receives nothing more. */
  disabledAt: string | null;
}

/** One delivery attempt, as GET .../deliveries and a webhook's `lastDelivery` show it. */
export interface DeliveryAttempt {
  eventId: string;
  type: WebhookEventType;
  attempt: number;
  at: string;
  /** The receiver's HTTP status, or null when none came (`error` says why). */
  status: number | null;
  error: string | null;
  /** When the next attempt is due; null once delivered, given up, or disabled. */
  nextAttemptAt: string | null;
}
