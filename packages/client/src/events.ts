// The audit log's and the webhooks' public shapes: what GET .../events lists, what a webhook
// receives (its type and data), and the webhooks as their owners see them. Type-only.

export interface AuditEvent {
  at: string;
  /**
   * `superseded_token_used`: a token that rotation replaced was presented (first use of each).
   * `kill_undone`: a kill was undone; `count` sessions came back.
   * `elevated`: a step-up raised the session (to `acr`) and replaced its token.
   * `reauth_required`: an operator made the user's (`reason` user) or the tenant's (`tenant`)
   * sessions prove it again: those authenticated before now meet no requirement (`killId` undoes it).
   * `webhook_disabled`: the receiver answered 410 Gone; it gets nothing more.
   * `webhook_events_dropped`: `count` events will never reach the webhook; `reason` says why:
   * `disabled`, `gave_up` (every retry failed, about three days) or `outbox_full`.
   * Operator actions: `tenant_created`, `settings_changed` (`fields` names what changed),
   * `key_created` and `key_revoked` (`keyId`; a key taken back because a store could not be
   * told is revoked by `system`, reason `not_copied`), `webhook_created` and `webhook_deleted`
   * (`webhookId`, the same reason when taken back), `identity_provider_saved` and
   * `identity_provider_deleted` (`provider`).
   * Signals of an identity provider (`provider`; `actor` is `idp:<provider>`): `signal_received`
   * (`reason` the signal: `backchannel_logout`, `global_token_revocation`, or the Shared Signals
   * event's name, such as `caep.session-revoked`; `killId` when it ended or lowered sessions),
   * `signal_refused` (`reason` why: `unknown_provider`, `bad_signature`, `invalid_claims`,
   * `replayed`, `unauthorized`, `unknown_key`, `keys_unavailable`). Never the token itself.
   */
  type:
    | "created"
    | "rotated"
    | "elevated"
    | "reauth_required"
    | "revoked"
    | "expired"
    | "superseded_token_used"
    | "kill_undone"
    | "webhook_disabled"
    | "webhook_events_dropped"
    | "tenant_created"
    | "settings_changed"
    | "key_created"
    | "key_revoked"
    | "webhook_created"
    | "webhook_deleted"
    | "identity_provider_saved"
    | "identity_provider_deleted"
    | "signal_received"
    | "signal_refused"
    | "bound"
    | "binding_failed"
    | "binding_violation";
  /**
   * For `revoked`: one, user, tenant, siblings, impersonations, logout, evicted, idp (a provider's
   * signal), binding_violation. For `binding_failed`: proof (refused), challenge (unknown, used or
   * expired), other_key, not_bound.
   */
  reason?: string;
  actor: string;
  sessionId?: string;
  userId?: string;
  /** For kills of many sessions: how many were live. */
  count?: number;
  /** For kills (`revoked` but for logout, eviction and expiry) and `kill_undone`: the id undo takes. */
  killId?: string;
  /** For webhook_disabled, webhook_events_dropped, webhook_created and webhook_deleted. */
  webhookId?: string;
  /** For key_created and key_revoked. */
  keyId?: string;
  /** For settings_changed: the settings whose value changed. */
  fields?: string[];
  /** For `elevated`: the level the session reached. */
  acr?: string;
  /** For events about an impersonation: who acted as the user. */
  impersonator?: string;
  /** For events about an identity provider, and sessions its signal ended: its id. */
  provider?: string;
}

export type WebhookEventType =
  | "session.created"
  | "session.rotated"
  | "session.elevated"
  | "user.reauth_required"
  | "tenant.reauth_required"
  | "session.revoked"
  | "user.sessions_revoked"
  | "tenant.sessions_revoked"
  | "tenant.impersonations_revoked"
  | "session.expired"
  | "kill.undone"
  | "session.bound"
  | "session.binding_violation";

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

/** What createWebhook takes: `events` defaults to every type the format carries. */
export interface WebhookInputRequest {
  url: string;
  format: WebhookFormat;
  events?: WebhookEventType[];
}
