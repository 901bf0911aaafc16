// SQL of identity providers, kept at the tenant's home: the registry and its cached keys, the
// links from a provider's subject and session to the tenant's users, and the signals received.

import type { IdpLink, IdpTarget } from "../../src/core/identity-providers";

export interface ProviderRow {
  id: string;
  issuer: string;
  audience: string;
  jwks_uri: string;
  /** JSON array of algorithm names. */
  algorithms: string;
  authorization_hash: ArrayBuffer | null;
  created_at: number;
  updated_at: number;
  /** JSON key set as last fetched. */
  jwks: string | null;
  jwks_fetched_at: number | null;
  jwks_expires_at: number | null;
  /** The last fetch tried, answered or not: an unknown key fetches again at most once a minute. */
  jwks_attempted_at: number | null;
  /** The Shared Signals stream set up with the transmitter, if any. */
  stream_id: string | null;
  /** Poll delivery (RFC 8936): where, how often, with which credential (sealed, see pollCredentialKey). */
  poll_endpoint: string | null;
  poll_interval_seconds: number | null;
  poll_credential: ArrayBuffer | null;
  poll_credential_iv: ArrayBuffer | null;
  poll_next_at: number | null;
  /** What the next poll acknowledges (JSON array of jti) and reports as errors (JSON object). */
  poll_acks: string;
  poll_errors: string;
  /** Why the last poll failed, or null. */
  poll_failure: string | null;
  [column: string]: SqlStorageValue;
}

/** A provider's poll delivery: its endpoint, interval and sealed credential (null: none). */
export interface PollSettings {
  endpoint: string;
  intervalSeconds: number;
  credential: ArrayBuffer | null;
  credentialIv: ArrayBuffer | null;
}

/**
 * A provider as registered, with the key set its registration fetched (cached until
 * `jwks_expires_at`). `authorization_hash` and `poll` undefined: as they are.
 */
export type NewProvider = Pick<
  ProviderRow,
  "id" | "issuer" | "audience" | "jwks_uri" | "algorithms" | "jwks" | "jwks_expires_at"
> & {
  authorization_hash?: ArrayBuffer | null;
  poll?: PollSettings | null;
};

export function readProvider(sql: SqlStorage, id: string): ProviderRow | null {
  return sql.exec<ProviderRow>("SELECT * FROM identity_providers WHERE id = ?", id).toArray()[0] ?? null;
}

export function readProviders(sql: SqlStorage): ProviderRow[] {
  return sql.exec<ProviderRow>("SELECT * FROM identity_providers ORDER BY id").toArray();
}

export function countProviders(sql: SqlStorage): number {
  return sql.exec<{ n: number }>("SELECT count(*) AS n FROM identity_providers").one().n;
}

/**
 * Creates or replaces a provider, with the keys its registration fetched; true when it is new.
 * Another issuer is another provider: what the former one linked, received and set up (its
 * links, receipts, stream, push Authorization and poll) goes.
 */
export function upsertProvider(sql: SqlStorage, row: NewProvider, now: number): boolean {
  const existing = readProvider(sql, row.id);
  if (existing !== null && existing.issuer !== row.issuer) {
    forgetProvider(sql, row.id);
    sql.exec("UPDATE identity_providers SET stream_id = NULL, authorization_hash = NULL WHERE id = ?", row.id);
    writePoll(sql, row.id, null, now);
  }
  sql.exec(
    `INSERT INTO identity_providers (id, issuer, audience, jwks_uri, algorithms, created_at, updated_at,
       jwks, jwks_fetched_at, jwks_expires_at, jwks_attempted_at)
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?6, ?8, ?6)
     ON CONFLICT (id) DO UPDATE SET issuer = excluded.issuer, audience = excluded.audience, jwks_uri = excluded.jwks_uri,
       algorithms = excluded.algorithms, updated_at = excluded.updated_at,
       jwks = excluded.jwks, jwks_fetched_at = excluded.jwks_fetched_at, jwks_expires_at = excluded.jwks_expires_at,
       jwks_attempted_at = excluded.jwks_attempted_at`,
    row.id,
    row.issuer,
    row.audience,
    row.jwks_uri,
    row.algorithms,
    now,
    row.jwks,
    row.jwks_expires_at,
  );
  if (row.authorization_hash !== undefined)
    sql.exec("UPDATE identity_providers SET authorization_hash = ? WHERE id = ?", row.authorization_hash, row.id);
  if (row.poll !== undefined) writePoll(sql, row.id, row.poll, now);
  return existing === null;
}

/** What a provider's signals left: the links to its users and the tokens received. */
function forgetProvider(sql: SqlStorage, id: string): void {
  sql.exec("DELETE FROM idp_links WHERE provider = ?", id);
  sql.exec("DELETE FROM signal_receipts WHERE provider = ?", id);
}

/** Sets (or, with null, ends) a provider's poll delivery; the first poll is due at once. */
export function writePoll(sql: SqlStorage, id: string, poll: PollSettings | null, now: number): void {
  sql.exec(
    `UPDATE identity_providers SET poll_endpoint = ?, poll_interval_seconds = ?, poll_credential = ?, poll_credential_iv = ?,
       poll_next_at = ?, poll_acks = '[]', poll_errors = '{}', poll_failure = NULL WHERE id = ?`,
    poll?.endpoint ?? null,
    poll?.intervalSeconds ?? null,
    poll?.credential ?? null,
    poll?.credentialIv ?? null,
    poll === null ? null : now,
    id,
  );
}

/** The stream a setup made: its id, and for push the Authorization value the transmitter was given (as a digest). */
export function writeStream(
  sql: SqlStorage,
  id: string,
  streamId: string,
  authorizationHash: ArrayBuffer | null,
): void {
  sql.exec(
    "UPDATE identity_providers SET stream_id = ?, authorization_hash = coalesce(?, authorization_hash) WHERE id = ?",
    streamId,
    authorizationHash,
    id,
  );
}

/** Providers whose poll is due by `now`. */
export function duePolls(sql: SqlStorage, now: number): ProviderRow[] {
  return sql
    .exec<ProviderRow>("SELECT * FROM identity_providers WHERE poll_next_at <= ? ORDER BY poll_next_at", now)
    .toArray();
}

export function nextPollAt(sql: SqlStorage): number | null {
  return sql.exec<{ at: number | null }>("SELECT min(poll_next_at) AS at FROM identity_providers").one().at;
}

/** After a poll: what the next one acknowledges and reports, when it is due, and why this one failed (or null). */
export function writePollOutcome(
  sql: SqlStorage,
  id: string,
  outcome: {
    acks: string[];
    errors: Record<string, { err: string; description: string }>;
    nextAt: number;
    failure: string | null;
  },
): void {
  sql.exec(
    "UPDATE identity_providers SET poll_acks = ?, poll_errors = ?, poll_next_at = ?, poll_failure = ? WHERE id = ? AND poll_endpoint IS NOT NULL",
    JSON.stringify(outcome.acks),
    JSON.stringify(outcome.errors),
    outcome.nextAt,
    outcome.failure,
    id,
  );
}

/** Removes a provider, and what its signals left (its sessions keep their `idp`, which now links them to nothing). */
export function deleteProvider(sql: SqlStorage, id: string): boolean {
  const deleted = sql.exec("DELETE FROM identity_providers WHERE id = ? RETURNING id", id).toArray().length > 0;
  if (deleted) forgetProvider(sql, id);
  return deleted;
}

/** Keys fetched from `jwksUri` (only if the provider still reads its keys there). */
export function storeKeys(
  sql: SqlStorage,
  id: string,
  jwksUri: string,
  jwks: string,
  now: number,
  expiresAt: number,
): void {
  sql.exec(
    "UPDATE identity_providers SET jwks = ?, jwks_fetched_at = ?, jwks_expires_at = ?, jwks_attempted_at = ? WHERE id = ? AND jwks_uri = ?",
    jwks,
    now,
    expiresAt,
    now,
    id,
    jwksUri,
  );
}

export function noteKeysAttempt(sql: SqlStorage, id: string, now: number): void {
  sql.exec("UPDATE identity_providers SET jwks_attempted_at = ? WHERE id = ?", now, id);
}

// Links

/** Notes that `userId` has a session from this provider's subject (and session) until `expiresAt`. */
export function upsertLink(sql: SqlStorage, link: IdpLink, userId: string, expiresAt: number): void {
  sql.exec(
    `INSERT INTO idp_links (provider, sub, sid, user_id, expires_at) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (provider, sub, sid, user_id) DO UPDATE SET expires_at = max(idp_links.expires_at, excluded.expires_at)`,
    link.provider,
    link.sub,
    link.sid ?? "",
    userId,
    expiresAt,
  );
}

/** The users whose sessions a provider's signal may name (see IdpTarget): each form read by an index. */
export function usersLinked(sql: SqlStorage, target: IdpTarget): string[] {
  const bySid = "SELECT user_id FROM idp_links WHERE provider = ?1 AND sid = ?2";
  const bySub = "SELECT user_id FROM idp_links WHERE provider = ?1 AND sub = ?3";
  const query = target.either
    ? `${bySid} UNION ${bySub}`
    : target.sid !== null
      ? `SELECT DISTINCT user_id FROM idp_links WHERE provider = ?1 AND sid = ?2 AND (?3 IS NULL OR sub = ?3)`
      : `SELECT DISTINCT user_id FROM idp_links WHERE provider = ?1 AND sub = ?3`;
  return sql
    .exec<{ user_id: string }>(query, target.provider, target.sid, target.sub)
    .toArray()
    .map((row) => row.user_id);
}

export function deleteExpiredLinks(sql: SqlStorage, now: number, batch: number): number {
  return sql
    .exec(
      `DELETE FROM idp_links WHERE (provider, sub, sid, user_id) IN
         (SELECT provider, sub, sid, user_id FROM idp_links WHERE expires_at <= ? LIMIT ?) RETURNING 1`,
      now,
      batch,
    )
    .toArray().length;
}

// Receipts

/** A signal already received with this jti: the digest of its token, and the kills it started. */
export function readReceipt(
  sql: SqlStorage,
  provider: string,
  jti: string,
): { digest: ArrayBuffer; killIds: string[] } | null {
  const row = sql
    .exec<{ digest: ArrayBuffer; kill_ids: string }>(
      "SELECT digest, kill_ids FROM signal_receipts WHERE provider = ? AND jti = ?",
      provider,
      jti,
    )
    .toArray()[0];
  return row ? { digest: row.digest, killIds: JSON.parse(row.kill_ids) as string[] } : null;
}

export function insertReceipt(
  sql: SqlStorage,
  receipt: { provider: string; jti: string; digest: ArrayBuffer; killIds: string[]; expiresAt: number },
): void {
  sql.exec(
    "INSERT INTO signal_receipts (provider, jti, digest, kill_ids, expires_at) VALUES (?, ?, ?, ?, ?)",
    receipt.provider,
    receipt.jti,
    receipt.digest,
    JSON.stringify(receipt.killIds),
    receipt.expiresAt,
  );
}

export function deleteExpiredReceipts(sql: SqlStorage, now: number, batch: number): number {
  return sql
    .exec(
      "DELETE FROM signal_receipts WHERE (provider, jti) IN (SELECT provider, jti FROM signal_receipts WHERE expires_at <= ? LIMIT ?) RETURNING 1",
      now,
      batch,
    )
    .toArray().length;
}

/** When the next link or receipt expires, or null. */
export function earliestSignalExpiry(sql: SqlStorage): number | null {
  return sql
    .exec<{ at: number | null }>(
      "SELECT min(at) AS at FROM (SELECT min(expires_at) AS at FROM idp_links UNION ALL SELECT min(expires_at) FROM signal_receipts)",
    )
    .one().at;
}
