// The SessionStore's schema: ordered migrations, each run once in one transaction with the
// bump of `schema_version`. Append only: a migration is never edited once released.

import { applyMigrations } from "../migrations";

/** Ordered; each runs once, in one transaction with the bump of `schema_version`. Append only. */
export const MIGRATIONS: readonly (readonly string[])[] = [
  [
    `CREATE TABLE tenant (
       id INTEGER PRIMARY KEY CHECK (id = 1),
       name TEXT NOT NULL,
       settings TEXT NOT NULL,
       created_at INTEGER NOT NULL,
       updated_at INTEGER NOT NULL,
       revoked_below_seq INTEGER NOT NULL DEFAULT 0
     )`,
    `CREATE TABLE tenant_keys (
       id TEXT PRIMARY KEY,
       secret_hash BLOB NOT NULL,
       created_at INTEGER NOT NULL
     ) WITHOUT ROWID`,
    `CREATE TABLE sessions (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       id TEXT NOT NULL UNIQUE,
       user_id TEXT NOT NULL,
       secret_hash BLOB NOT NULL,
       created_at INTEGER NOT NULL,
       last_seen_at INTEGER NOT NULL,
       idle_expires_at INTEGER NOT NULL,
       absolute_expires_at INTEGER NOT NULL,
       ip TEXT,
       user_agent TEXT,
       data TEXT NOT NULL
     )`,
    // Listing a user's sessions newest first, killing a user's sessions, eviction.
    `CREATE INDEX sessions_by_user ON sessions (user_id, seq)`,
    // The purge: sessions by stored expiry.
    `CREATE INDEX sessions_by_expiry ON sessions (min(idle_expires_at, absolute_expires_at))`,
    `CREATE TABLE user_revocations (
       user_id TEXT PRIMARY KEY,
       revoked_below_seq INTEGER NOT NULL
     ) WITHOUT ROWID`,
    `CREATE TABLE events (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       at INTEGER NOT NULL,
       type TEXT NOT NULL,
       reason TEXT,
       actor TEXT NOT NULL,
       session_id TEXT,
       user_id TEXT,
       count INTEGER
     )`,
    `CREATE INDEX events_by_time ON events (at)`,
  ],
  [
    // Digests of secrets that rotation replaced, so a logout with a superseded token still ends
    // its session and a use of one shows in the audit log (a sign of theft). Kept until the
    // session's absolute expiry, at most SUPERSEDED_PER_SESSION per session.
    `CREATE TABLE superseded_secrets (
       seq INTEGER PRIMARY KEY,
       session_id TEXT NOT NULL,
       user_id TEXT NOT NULL,
       secret_hash BLOB NOT NULL,
       expires_at INTEGER NOT NULL,
       reported INTEGER NOT NULL DEFAULT 0
     )`,
    `CREATE INDEX superseded_by_session ON superseded_secrets (session_id, seq)`,
    `CREATE INDEX superseded_by_expiry ON superseded_secrets (expires_at)`,
  ],
  [
    // What earlier timeouts leave behind (src/core/session.ts): the idle line and the absolute
    // timeouts of past periods; and the re-evaluation pass a change of timeouts starts: rows
    // from `reevaluate_next_seq` to `reevaluate_end_seq` may still have stored expiries of
    // earlier settings (NULL: none pending).
    `ALTER TABLE tenant ADD COLUMN idle_line INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE tenant ADD COLUMN absolute_history TEXT NOT NULL DEFAULT '[]'`,
    `ALTER TABLE tenant ADD COLUMN reevaluate_next_seq INTEGER`,
    `ALTER TABLE tenant ADD COLUMN reevaluate_end_seq INTEGER`,
    // The earlier rule ended a session at min(stored idle expiry, last seen + idle timeout);
    // the new one reads only the latter. Moving "last seen" back to where the stored expiry
    // puts it keeps every verdict as it was, ended sessions ended (and never lets a stored
    // expiry run ahead of the rule, so the purge stays safe before the pass has run).
    `UPDATE sessions SET last_seen_at = min(last_seen_at,
       idle_expires_at - 1000 * coalesce((SELECT json_extract(settings, '$.idleTimeoutSeconds') FROM tenant WHERE id = 1), 1800))`,
    `UPDATE tenant SET reevaluate_next_seq = 0, reevaluate_end_seq = (SELECT coalesce(max(seq), 0) FROM sessions)`,
  ],
  [
    // Whether the TenantDirectory still has to hear of the tenant's latest settings (every
    // tenant that existed before the directory starts out so).
    `ALTER TABLE tenant ADD COLUMN registry_pending INTEGER NOT NULL DEFAULT 1`,
  ],
  [
    // Undoable kills. Each kill is recorded under the id its answer carries. A kill of one
    // session or of "my other devices" moves the rows to killed_sessions; a kill of a user or
    // of the tenant raises a floor, and its rows stay below it. Until the kill's undo window
    // passes, undo can move the rows back or lower the floor again. Once the window passes,
    // the kill is settled: its floor joins the settled floors, and the purge deletes only
    // what is below a settled floor.
    `CREATE TABLE kills (
       id TEXT PRIMARY KEY,
       kind TEXT NOT NULL,
       user_id TEXT,
       floor INTEGER,
       actor TEXT NOT NULL,
       at INTEGER NOT NULL,
       undo_until INTEGER NOT NULL,
       revoked INTEGER NOT NULL,
       platform INTEGER NOT NULL DEFAULT 0,
       lead INTEGER NOT NULL DEFAULT 1,
       settled INTEGER NOT NULL DEFAULT 0,
       undone_at INTEGER
     ) WITHOUT ROWID`,
    `CREATE INDEX kills_to_settle ON kills (undo_until) WHERE settled = 0 AND undone_at IS NULL`,
    `CREATE INDEX kills_by_time ON kills (at)`,
    `CREATE TABLE killed_sessions (
       seq INTEGER PRIMARY KEY,
       id TEXT NOT NULL,
       user_id TEXT NOT NULL,
       secret_hash BLOB NOT NULL,
       created_at INTEGER NOT NULL,
       last_seen_at INTEGER NOT NULL,
       idle_expires_at INTEGER NOT NULL,
       absolute_expires_at INTEGER NOT NULL,
       ip TEXT,
       user_agent TEXT,
       data TEXT NOT NULL,
       kill_id TEXT NOT NULL
     )`,
    `CREATE INDEX killed_by_kill ON killed_sessions (kill_id)`,
    `CREATE INDEX killed_by_id ON killed_sessions (id)`,
    `ALTER TABLE tenant ADD COLUMN settled_below_seq INTEGER NOT NULL DEFAULT 0`,
    `UPDATE tenant SET settled_below_seq = revoked_below_seq`,
    `ALTER TABLE user_revocations ADD COLUMN settled_below_seq INTEGER NOT NULL DEFAULT 0`,
    `UPDATE user_revocations SET settled_below_seq = revoked_below_seq`,
    `ALTER TABLE events ADD COLUMN kill_id TEXT`,
    // How many rows of sessions are above both floors, killed by nothing: a kill's exact
    // count without scanning rows (see countUnkilledRows). Rows come and go through the
    // triggers; floors move only in raiseTenantFloor, raiseUserFloor and the undo functions,
    // which adjust it themselves.
    `ALTER TABLE tenant ADD COLUMN unkilled_rows INTEGER NOT NULL DEFAULT 0`,
    `UPDATE tenant SET unkilled_rows = (SELECT count(*) FROM sessions s WHERE s.seq >= tenant.revoked_below_seq
       AND s.seq >= coalesce((SELECT r.revoked_below_seq FROM user_revocations r WHERE r.user_id = s.user_id), 0))`,
    `CREATE TRIGGER unkilled_insert AFTER INSERT ON sessions
       WHEN new.seq >= (SELECT revoked_below_seq FROM tenant WHERE id = 1)
        AND new.seq >= coalesce((SELECT revoked_below_seq FROM user_revocations WHERE user_id = new.user_id), 0)
     BEGIN UPDATE tenant SET unkilled_rows = unkilled_rows + 1 WHERE id = 1; END`,
    `CREATE TRIGGER unkilled_delete AFTER DELETE ON sessions
       WHEN old.seq >= (SELECT revoked_below_seq FROM tenant WHERE id = 1)
        AND old.seq >= coalesce((SELECT revoked_below_seq FROM user_revocations WHERE user_id = old.user_id), 0)
     BEGIN UPDATE tenant SET unkilled_rows = unkilled_rows - 1 WHERE id = 1; END`,
  ],
  [
    // Sharded tenants (src/core/placement.ts). Every shard keeps a copy of the tenant (settings,
    // expiry rules, shard history, keys) made by the home shard (0), versioned by
    // `copy_version`; the home also keeps which version every shard has (`copied_version`)
    // and the shard count every shard has heard of (`active_shards`: new sessions use it).
    `ALTER TABLE tenant ADD COLUMN shard INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE tenant ADD COLUMN shard_history TEXT NOT NULL DEFAULT '[{"count":1,"since":0}]'`,
    `ALTER TABLE tenant ADD COLUMN active_shards INTEGER NOT NULL DEFAULT 1`,
    `ALTER TABLE tenant ADD COLUMN copy_version INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE tenant ADD COLUMN copied_version INTEGER NOT NULL DEFAULT 0`,
    // Kills that missed a shard, finished in the background by this store's alarm: `request`
    // is a KillRequest (JSON); every shard it concerns is asked again, and a shard that already
    // has the kill answers without killing twice.
    `CREATE TABLE pending_kills (
       kill_id TEXT PRIMARY KEY,
       request TEXT NOT NULL,
       attempts INTEGER NOT NULL DEFAULT 0,
       next_at INTEGER NOT NULL
     ) WITHOUT ROWID`,
    // Listings newest first by creation, merged across shards on (created_at, shard, seq).
    `CREATE INDEX sessions_by_creation ON sessions (created_at)`,
  ],
  [
    // Webhooks (src/core/webhooks.ts): made at the home and copied to every shard like keys; the
    // signing secret sealed (src/core/sealing.ts), never in clear. Once disabled (a 410), never again
    // enabled: a copy cannot undo it. A shard other than the home that disables one tells the
    // home, retried by the alarm until heard (`home_told`).
    `CREATE TABLE webhooks (
       id TEXT PRIMARY KEY,
       url TEXT NOT NULL,
       format TEXT NOT NULL,
       events TEXT NOT NULL,
       sealed_secret BLOB,
       secret_iv BLOB,
       created_at INTEGER NOT NULL,
       disabled_at INTEGER,
       home_told INTEGER NOT NULL DEFAULT 1
     ) WITHOUT ROWID`,
    // The outbox: one row per event and webhook, written in the transaction of the change that
    // made the event (insertEvent), deleted once delivered or given up. `data` is the event's
    // data (JSON); a sharded kill's total is written into it when every shard has answered.
    `CREATE TABLE outbox (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       webhook_id TEXT NOT NULL,
       event_id TEXT NOT NULL,
       type TEXT NOT NULL,
       at INTEGER NOT NULL,
       data TEXT NOT NULL,
       kill_id TEXT,
       attempts INTEGER NOT NULL DEFAULT 0,
       next_attempt_at INTEGER NOT NULL
     )`,
    `CREATE INDEX outbox_due ON outbox (next_attempt_at)`,
    `CREATE INDEX outbox_by_webhook ON outbox (webhook_id, seq)`,
    // The recent attempts of each webhook, newest kept (WEBHOOK_ATTEMPTS_KEPT).
    `CREATE TABLE webhook_attempts (
       seq INTEGER PRIMARY KEY AUTOINCREMENT,
       webhook_id TEXT NOT NULL,
       event_id TEXT NOT NULL,
       type TEXT NOT NULL,
       attempt INTEGER NOT NULL,
       at INTEGER NOT NULL,
       status INTEGER,
       error TEXT,
       next_attempt_at INTEGER
     )`,
    `CREATE INDEX webhook_attempts_by_webhook ON webhook_attempts (webhook_id, seq)`,
    // Audit events about a webhook (disabled, events dropped) name it.
    `ALTER TABLE events ADD COLUMN webhook_id TEXT`,
  ],
  [
    // At a tenant's home: the tenant is being deleted (DELETE /v1/tenants/:tenant). From the
    // moment this row exists the home answers as if the tenant did not exist; the row goes
    // with everything else once every shard is erased and the directory has forgotten the name.
    `CREATE TABLE erasure (
       id INTEGER PRIMARY KEY CHECK (id = 1),
       requested_at INTEGER NOT NULL,
       actor TEXT NOT NULL,
       attempts INTEGER NOT NULL DEFAULT 0
     )`,
  ],
  [
    // When each tenant key was last used on this store, recorded at most once a
    // KEY_USE_RECORDED_EVERY_MS (tenant.ts); a listing takes the latest of every shard.
    `ALTER TABLE tenant_keys ADD COLUMN last_used_at INTEGER`,
  ],
  [
    // Operator actions in the audit log: which key a key event names, which settings changed (JSON array).
    `ALTER TABLE events ADD COLUMN key_id TEXT`,
    `ALTER TABLE events ADD COLUMN fields TEXT`,
  ],
  [
    // Kills and undos this store coordinates over the tenant's stores (coordinator.ts): each
    // recorded before any store is asked, with the moment and undo deadline every store
    // applies; `waiting` names the stores the current step (the kill, or once `undo_at` is
    // set, its undo) has yet to reach, and the alarm asks them again at `next_at`.
    `CREATE TABLE changes (
       id TEXT PRIMARY KEY,
       kind TEXT NOT NULL,
       user_id TEXT,
       session_id TEXT,
       actor TEXT NOT NULL,
       platform INTEGER NOT NULL,
       at INTEGER NOT NULL,
       undo_until INTEGER NOT NULL,
       shards TEXT,
       waiting TEXT,
       revoked INTEGER NOT NULL DEFAULT 0,
       killed_at INTEGER,
       undo_at INTEGER,
       undo_actor TEXT,
       restored INTEGER NOT NULL DEFAULT 0,
       undone_at INTEGER,
       attempts INTEGER NOT NULL DEFAULT 0,
       next_at INTEGER
     ) WITHOUT ROWID`,
    `CREATE INDEX changes_due ON changes (next_at) WHERE next_at IS NOT NULL`,
    // Kills that an earlier release was finishing in the background: finished the new way. Which
    // stores they concern is worked out from the shard history when they are next asked (NULL).
    `INSERT INTO changes (id, kind, user_id, actor, platform, at, undo_until, killed_at, next_at)
       SELECT p.kill_id, json_extract(p.request, '$.kind'), json_extract(p.request, '$.userId'),
         coalesce(json_extract(p.request, '$.actor'), 'session'), coalesce(json_extract(p.request, '$.platform'), 0),
         json_extract(p.request, '$.requestedAt'), coalesce(k.undo_until, json_extract(p.request, '$.requestedAt')), p.next_at, p.next_at
       FROM pending_kills p LEFT JOIN kills k ON k.id = p.kill_id`,
    `DROP TABLE pending_kills`,
  ],
  [
    // Session assurance (src/core/assurance.ts): when the user last proved who they are
    // (NULL: at creation), how (RFC 8176 methods, JSON), the level reached (NULL: the tenant's
    // lowest), and an impersonation's actor (JSON). Kept with a killed session for its undo.
    `ALTER TABLE sessions ADD COLUMN auth_time INTEGER`,
    `ALTER TABLE sessions ADD COLUMN amr TEXT`,
    `ALTER TABLE sessions ADD COLUMN acr TEXT`,
    `ALTER TABLE sessions ADD COLUMN actor TEXT`,
    `ALTER TABLE killed_sessions ADD COLUMN auth_time INTEGER`,
    `ALTER TABLE killed_sessions ADD COLUMN amr TEXT`,
    `ALTER TABLE killed_sessions ADD COLUMN acr TEXT`,
    `ALTER TABLE killed_sessions ADD COLUMN actor TEXT`,
    // Impersonations are few: listing them, or ending them all, reads only theirs.
    `CREATE INDEX sessions_impersonated ON sessions (created_at) WHERE actor IS NOT NULL`,
    // Events about an impersonation name who acted; an elevation, the level reached.
    `ALTER TABLE events ADD COLUMN impersonator TEXT`,
    `ALTER TABLE events ADD COLUMN acr TEXT`,
    // Re-authentication floors (reauth-sql.ts): sessions authenticated before the tenant's, or
    // their user's, meet no requirement. Raised by kills of kind reauth-*, lowered by their
    // undo, never below the settled floor (the floors of those past their undo window).
    `ALTER TABLE tenant ADD COLUMN reauth_floor INTEGER NOT NULL DEFAULT 0`,
    `ALTER TABLE tenant ADD COLUMN reauth_settled INTEGER NOT NULL DEFAULT 0`,
    `CREATE TABLE user_reauth (
       user_id TEXT PRIMARY KEY,
       floor INTEGER NOT NULL,
       settled INTEGER NOT NULL DEFAULT 0
     ) WITHOUT ROWID`,
  ],
  [
    // Identity providers (identity-providers.ts), kept at the home only: every signal is
    // received there. Their keys are cached here by the max-age their server gave; a provider
    // that delivers by poll keeps its endpoint, its sealed credential, and what the next poll
    // acknowledges (polling.ts).
    `CREATE TABLE identity_providers (
       id TEXT PRIMARY KEY,
       issuer TEXT NOT NULL,
       audience TEXT NOT NULL,
       jwks_uri TEXT NOT NULL,
       algorithms TEXT NOT NULL,
       authorization_hash BLOB,
       created_at INTEGER NOT NULL,
       updated_at INTEGER NOT NULL,
       jwks TEXT,
       jwks_fetched_at INTEGER,
       jwks_expires_at INTEGER,
       jwks_attempted_at INTEGER,
       stream_id TEXT,
       poll_endpoint TEXT,
       poll_interval_seconds INTEGER,
       poll_credential BLOB,
       poll_credential_iv BLOB,
       poll_next_at INTEGER,
       poll_acks TEXT NOT NULL DEFAULT '[]',
       poll_errors TEXT NOT NULL DEFAULT '{}',
       poll_failure TEXT
     ) WITHOUT ROWID`,
    // Providers that deliver by poll (RFC 8936), by when each is next asked.
    `CREATE INDEX identity_providers_polled ON identity_providers (poll_next_at) WHERE poll_next_at IS NOT NULL`,
    // A session's link to the provider that authenticated its user (JSON { provider, sub, sid? }).
    `ALTER TABLE sessions ADD COLUMN idp TEXT`,
    `ALTER TABLE killed_sessions ADD COLUMN idp TEXT`,
    // At the home: which users a provider's subject, or its session id, names, and until when a
    // session of theirs may live. A signal asks only those users' stores, never every shard.
    `CREATE TABLE idp_links (
       provider TEXT NOT NULL,
       sub TEXT NOT NULL,
       sid TEXT NOT NULL,
       user_id TEXT NOT NULL,
       expires_at INTEGER NOT NULL,
       PRIMARY KEY (provider, sub, sid, user_id)
     ) WITHOUT ROWID`,
    `CREATE INDEX idp_links_by_sid ON idp_links (provider, sid)`,
    `CREATE INDEX idp_links_by_expiry ON idp_links (expires_at)`,
    // Signals received (their jti), kept for the token's lifetime: the same token again gets the
    // same answer and ends nothing more; another token with a used jti is refused.
    `CREATE TABLE signal_receipts (
       provider TEXT NOT NULL,
       jti TEXT NOT NULL,
       digest BLOB NOT NULL,
       kill_ids TEXT NOT NULL,
       expires_at INTEGER NOT NULL,
       PRIMARY KEY (provider, jti)
     ) WITHOUT ROWID`,
    `CREATE INDEX signal_receipts_by_expiry ON signal_receipts (expires_at)`,
    // A kill of the sessions linked to a provider's subject or session (kind idp): JSON { provider, sub, sid }.
    `ALTER TABLE changes ADD COLUMN target TEXT`,
    `ALTER TABLE events ADD COLUMN provider TEXT`,
    // The next kill to settle, found by an index rather than by reading every kill still in its
    // window (a cost each kill paid, growing with the kills of the last 15 minutes). The
    // expression is SETTLES_AT of kills-sql.ts, its grace written out (test/purge.test.ts checks
    // the plan uses it).
    `CREATE INDEX kills_settling ON kills ((undo_until + CASE WHEN undo_until > at THEN 60000 ELSE 0 END))
       WHERE settled = 0 AND undone_at IS NULL`,
  ],
  [
    // Device binding (binding.ts): the key a session is bound to (JSON { jwk, alg }), its
    // thumbprint (what a bound cookie names, read by validation), when it was bound and last
    // proved possession. Kept with a killed session for its undo.
    `ALTER TABLE sessions ADD COLUMN binding_thumbprint TEXT`,
    `ALTER TABLE sessions ADD COLUMN binding_key TEXT`,
    `ALTER TABLE sessions ADD COLUMN bound_at INTEGER`,
    `ALTER TABLE sessions ADD COLUMN last_proof_at INTEGER`,
    `ALTER TABLE killed_sessions ADD COLUMN binding_thumbprint TEXT`,
    `ALTER TABLE killed_sessions ADD COLUMN binding_key TEXT`,
    `ALTER TABLE killed_sessions ADD COLUMN bound_at INTEGER`,
    `ALTER TABLE killed_sessions ADD COLUMN last_proof_at INTEGER`,
    // One-time challenges a session's browser signs: consumed by the proof that names them.
    `CREATE TABLE binding_challenges (
       challenge TEXT PRIMARY KEY,
       session_id TEXT NOT NULL,
       expires_at INTEGER NOT NULL
     ) WITHOUT ROWID`,
    `CREATE INDEX binding_challenges_by_expiry ON binding_challenges (expires_at)`,
  ],
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Brings the schema to the latest version. Idempotent: safe on every start. */
export function migrate(storage: DurableObjectStorage): void {
  applyMigrations(storage, MIGRATIONS);
}
