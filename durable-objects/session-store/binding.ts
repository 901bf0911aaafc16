// Device binding at the session's store, each step in the store's transaction: one-time
// challenges, the key a registration binds the session to (once bound, always bound), and the
// proofs of possession that refresh its bound cookie and slide it.

import { type BoundKey, verifyRefresh, verifyRegistration } from "../../src/core/binding";
import { consumeChallenge, issueChallenge } from "./binding-sql";
import type { StoreHost } from "./host";
import { fail, INVALID_TOKEN, ok, type Result } from "../../src/core/errors";
import { publicSession, type Session, touched } from "../../src/core/session";
import { insertEvent } from "./audit-sql";
import { sessionForChange } from "./sessions";
import { live, type Store, SYSTEM } from "./tenant";
import { deleteSession, readLiveSession } from "./sessions-sql";

const STALE_CHALLENGE = fail(
  "bad_request",
  "the binding proof names no challenge this session was given (unknown, used, expired, or another session's)",
);

const OTHER_KEY = fail("forbidden", "this session is bound to another key: a bound session never changes its key");
const NOT_BOUND = fail("bad_request", "this session is not bound");

/** A bound session's violations and failed proofs are audited at most this often each: a thief's every request must not each write. */
const AUDITED_EVERY_MS = 60_000;

/** What a binding or refresh answers: the session, and what its bound cookie must say and for how long. */
export type Bound = Result<{ session: Session; thumbprint: string; cookieSeconds: number }>;

/** The key a session is bound to, for a refresh proof's verification; null when it is not bound (or not live). */
export function boundKeyOf(store: Store, id: string, secretHash: ArrayBuffer, now: number): BoundKey | null {
  const found = sessionForChange(store, id, secretHash, null, now, "exempt");
  if (!found.ok || found.record.bindingThumbprint === null) return null;
  const row = store.sql
    .exec<{ binding_key: string }>("SELECT binding_key FROM sessions WHERE seq = ?", found.record.seq)
    .one();
  const { jwk, alg } = JSON.parse(row.binding_key) as Pick<BoundKey, "jwk" | "alg">;
  return { jwk, alg, thumbprint: found.record.bindingThumbprint };
}

/**
 * Binds the session to the key its browser proved it holds, against a challenge it was given.
 * A session already bound stays bound to its key: the same key again is answered as before,
 * another is refused.
 */
export function bind(
  store: Store,
  id: string,
  secretHash: ArrayBuffer,
  key: BoundKey,
  challenge: string,
  now: number,
): Bound {
  const found = sessionForChange(store, id, secretHash, null, now, "exempt");
  if (!found.ok) return found;
  const { tenant, record } = found;
  if (record.bindingThumbprint !== null && record.bindingThumbprint !== key.thumbprint) return OTHER_KEY;
  if (!consumeChallenge(store.sql, challenge, id, now)) return STALE_CHALLENGE;
  const boundAt = record.boundAt ?? now;
  store.sql.exec(
    "UPDATE sessions SET binding_thumbprint = ?, binding_key = ?, bound_at = ?, last_proof_at = ? WHERE seq = ?",
    key.thumbprint,
    JSON.stringify({ jwk: key.jwk, alg: key.alg }),
    boundAt,
    now,
    record.seq,
  );
  if (record.bindingThumbprint === null)
    insertEvent(store.sql, { type: "bound", actor: "session", sessionId: id, userId: record.userId }, now);
  const session = { ...record, bindingThumbprint: key.thumbprint, boundAt, lastProofAt: now };
  return ok({
    session: publicSession(tenant.name, session, tenant.rules),
    thumbprint: key.thumbprint,
    cookieSeconds: tenant.settings.boundCookieSeconds,
  });
}

/** A refresh proved with the bound key against a challenge: the session slides, and its browser gets a fresh bound cookie. */
export function refresh(store: Store, id: string, secretHash: ArrayBuffer, challenge: string, now: number): Bound {
  const found = sessionForChange(store, id, secretHash, null, now, "exempt");
  if (!found.ok) return found;
  const { tenant, record } = found;
  if (record.bindingThumbprint === null) return NOT_BOUND;
  if (!consumeChallenge(store.sql, challenge, id, now)) return STALE_CHALLENGE;
  const slid = { ...touched(record, tenant.settings, now), lastProofAt: now };
  store.sql.exec(
    "UPDATE sessions SET last_seen_at = ?, idle_expires_at = ?, last_proof_at = ? WHERE seq = ?",
    slid.lastSeenAt,
    slid.idleExpiresAt,
    now,
    record.seq,
  );
  return ok({
    session: publicSession(tenant.name, slid, tenant.rules),
    thumbprint: record.bindingThumbprint,
    cookieSeconds: tenant.settings.boundCookieSeconds,
  });
}

/**
 * A registration: the proof (verified outside the transaction: it carries its own key) binds
 * the session. A proof refused for a live session is audited as `binding_failed`.
 */
export async function registerBinding(
  host: StoreHost,
  id: string,
  secretHash: ArrayBuffer,
  proof: string,
): Promise<Bound> {
  const verified = await verifyRegistration(proof);
  const bound = verified.ok
    ? host.change((store, now) => bind(store, id, secretHash, verified.key, verified.challenge, now))
    : verified;
  return failureAudited(host, bound, id, secretHash);
}

/** A refresh's answer: a challenge to sign (no proof came), or the session slid (see Bound). */
export type Refreshed = Result<{ challenge: string }> | Bound;

/** The refresh of a bound session (its proof verified outside the transaction, with the stored key). */
export async function refreshBinding(
  host: StoreHost,
  id: string,
  secretHash: ArrayBuffer,
  proof: string | null,
): Promise<Refreshed> {
  const key = host.transaction((store, now) => boundKeyOf(store, id, secretHash, now));
  if (key === null) return INVALID_TOKEN;
  if (proof === null) return ok({ challenge: host.change((store, now) => issueChallenge(store.sql, id, now)) });
  const verified = await verifyRefresh(proof, key);
  const refreshed = verified.ok
    ? host.change((store, now) => refresh(store, id, secretHash, verified.challenge, now))
    : verified;
  return failureAudited(host, refreshed, id, secretHash);
}

/** Whether an audit of `kind` for this session is due: none in the last minute. */
export function auditDue(host: StoreHost, kind: "violation" | "failed", id: string): boolean {
  return Date.now() - (host.state.bindingAudited.get(`${kind}:${id}`) ?? 0) >= AUDITED_EVERY_MS;
}

/** Notes that an audit of `kind` for this session was made now. */
export function audited(host: StoreHost, kind: "violation" | "failed", id: string): void {
  const made = host.state.bindingAudited;
  if (made.size >= 10_000) made.clear();
  made.set(`${kind}:${id}`, Date.now());
}

/**
 * A proof refused (its signature, its challenge, another key) for a live session whose token is
 * good: `binding_failed`, with the reason, at most once a minute per session. A dead token's
 * failure is no one's business.
 */
function failureAudited<T extends Bound>(host: StoreHost, result: T, id: string, secretHash: ArrayBuffer): T {
  if (result.ok || result.error.code === "invalid_token" || !auditDue(host, "failed", id)) return result;
  audited(host, "failed", id);
  host.change((store, now) => {
    const found = sessionForChange(store, id, secretHash, null, now, "exempt");
    if (found.ok)
      insertEvent(
        store.sql,
        {
          type: "binding_failed",
          reason: failureReason(result.error),
          actor: "session",
          sessionId: id,
          userId: found.record.userId,
        },
        now,
      );
  });
  return result;
}

/** Why a proof was refused, as the audit says it: its challenge, another key, no binding, or the proof itself. */
function failureReason(error: { message: string }): string {
  if (error.message === STALE_CHALLENGE.error.message) return "challenge";
  if (error.message === OTHER_KEY.error.message) return "other_key";
  if (error.message === NOT_BOUND.error.message) return "not_bound";
  return "proof";
}

/**
 * A bound session's token came without a valid bound cookie. Within the cookie's life and the
 * grace after it a browser may be refreshing it: nothing to say. Past that, a browser holding
 * the key would have refreshed before sending: the token is in other hands. Recorded as
 * `binding_violation` (at most once a minute per session, by the caller), and with the
 * tenant's `bindingViolation: "kill"` the session ends. True when it was a violation.
 */
export function bindingRefused(store: Store, id: string, now: number): { violation: boolean; ended: boolean } {
  const { sql, tenant } = store;
  if (!tenant) return { violation: false, ended: false };
  const stored = readLiveSession(sql, live(tenant, now), id);
  if (!stored || stored.record.bindingThumbprint === null) return { violation: false, ended: false };
  const { settings } = tenant;
  const provedAt = stored.record.lastProofAt ?? stored.record.boundAt ?? 0;
  if (now <= provedAt + (settings.boundCookieSeconds + settings.bindingGraceSeconds) * 1000)
    return { violation: false, ended: false };
  const kill = settings.bindingViolation === "kill";
  insertEvent(sql, { type: "binding_violation", actor: SYSTEM, sessionId: id, userId: stored.record.userId }, now);
  if (kill) {
    deleteSession(sql, stored.record.seq);
    insertEvent(
      sql,
      { type: "revoked", reason: "binding_violation", actor: SYSTEM, sessionId: id, userId: stored.record.userId },
      now,
    );
  }
  return { violation: true, ended: kill };
}
