// An identity provider's signals, at the tenant's home: each token verified with the provider's
// keys (jose; keys cached by their max-age), its jti remembered, what it asks recorded as changes
// coordinated as kills (ids derived from the jti, so a retry finds them), answered once applied.

import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  type JSONWebKeySet,
  type JWTHeaderParameters,
  type JWTPayload,
  jwtVerify,
} from "jose";
import { configReport } from "../../src/core/config";
import { base64url, digestsEqual, sha256 } from "../../src/core/crypto";
import { ok } from "../../src/core/errors";
import type { IdpTarget } from "../../src/core/identity-providers";
import { logError } from "../../src/core/log";
import { fetchKeys } from "../../src/core/provider-documents";
import {
  type Accepted,
  CLOCK_SKEW_SECONDS,
  type Refusal,
  type Refused,
  type Signal,
  type SignalOutcome,
  type ClaimsRefusal,
  logoutTokenClaims,
  revocationRequestClaims,
  revocationSubject,
  securityEventClaims,
} from "../../src/core/signals";
import { insertEvent } from "./audit-sql";
import * as coordination from "./coordination";
import * as coordinator from "./coordinator";
import type { StoreHost } from "./host";
import * as sql from "./identity-providers-sql";
import { userTag } from "./sockets";

/** An unknown key fetches the provider's keys again, but not more often than this. */
const KEYS_REFETCH_MS = 60_000;

function refused(refusal: Refusal, description: string): Refused {
  return { refused: refusal, description };
}

/** Receives a signal: verified, acted on, answered. A refusal is audited as auditRefusal says. */
export async function receive(
  host: StoreHost,
  self: coordinator.CoordinatedStore,
  providerId: string,
  signal: Signal,
): Promise<SignalOutcome> {
  const outcome = await verifyAndRecord(host, providerId, signal);
  if ("refused" in outcome) {
    auditRefusal(host, providerId, outcome.refused);
    return ok(outcome);
  }
  const { name, changes } = outcome;
  for (const change of changes) host.closeDeadSockets(userTag(change.userId), "revoked");
  for (const { killId } of changes) {
    const done = await coordination.finish(host, self, killId, (store) => coordinator.killAnswer(store, killId));
    // A kill of nothing that no store held is forgotten: not a failure.
    if (!done.ok && done.error.code !== "session_not_found") return done;
  }
  return ok({ signal: name });
}

/** A refusal of each kind is audited at most this often per provider; the ones between are counted in the next. */
const REFUSAL_AUDIT_EVERY_MS = 60_000;

/**
 * Records a refusal in the audit log (never the token), at most once a minute per provider and
 * reason, with how many there were: anyone may post to a receiver, and a flood of bad tokens
 * must not push the tenant's real events out of its log. A provider the tenant does not have
 * leaves only a log line: its name is the sender's choice.
 */
function auditRefusal(host: StoreHost, providerId: string, reason: Refusal): void {
  if (reason === "unknown_provider") {
    logError({ event: "signal_refused", tenant: host.store().tenant?.name, reason, message: providerId });
    return;
  }
  const key = `${providerId}/${reason}`;
  const now = Date.now();
  const seen = host.state.refusals.get(key) ?? { auditedAt: 0, since: 0 };
  seen.since += 1;
  host.state.refusals.set(key, seen);
  if (now - seen.auditedAt < REFUSAL_AUDIT_EVERY_MS) return;
  const count = seen.since;
  host.state.refusals.set(key, { auditedAt: now, since: 0 });
  host.change((store, at) => {
    if (store.tenant)
      insertEvent(
        store.sql,
        { type: "signal_refused", reason, actor: `idp:${providerId}`, provider: providerId, count },
        at,
      );
  });
}

interface Recorded {
  name: string;
  changes: { killId: string; userId: string }[];
}

async function verifyAndRecord(host: StoreHost, providerId: string, signal: Signal): Promise<Recorded | Refused> {
  const provider = sql.readProvider(host.ctx.storage.sql, providerId);
  if (provider === null || host.store().tenant === null)
    return refused("unknown_provider", "no such identity provider for this tenant");
  if (signal.kind === "security-event" && provider.authorization_hash !== null) {
    const given = signal.authorization === null ? null : sha256(signal.authorization);
    if (given === null || !digestsEqual(given, provider.authorization_hash))
      return refused("unauthorized", "the Authorization header is missing or wrong");
  }
  const token = signal.token;
  if (token === null) return refused("unauthorized", "a bearer token signed by the provider is required");
  // A revocation request names this endpoint: the provider's audience (the client id) alone is
  // every ID token's, and a user's own must never end another user's sessions.
  const audience = signal.kind === "global-token-revocation" ? signal.endpoint : provider.audience;
  const verified = await verify(host, provider, token, audience);
  if ("refused" in verified) return verified;
  const nowSeconds = Math.floor(Date.now() / 1000);
  // A revocation request is its token and its body: the same token naming another user is no retry.
  const digest = sha256(signal.kind === "global-token-revocation" ? `${token}\n${JSON.stringify(signal.body)}` : token);
  let accepted: Accepted | ClaimsRefusal;
  if (signal.kind === "backchannel-logout") accepted = logoutTokenClaims(verified.header, verified.payload, nowSeconds);
  else if (signal.kind === "security-event" || signal.kind === "polled-event")
    accepted = securityEventClaims(verified.header, verified.payload, provider.issuer, nowSeconds);
  else {
    const request = revocationRequestClaims(verified.payload, nowSeconds);
    const subject = revocationSubject(signal.body, provider.issuer);
    if ("refused" in request) accepted = request;
    else if ("refused" in subject) return refused("invalid_subject", subject.refused);
    else accepted = { ...request, name: "global_token_revocation", subject, action: "end-users" };
  }
  if ("refused" in accepted) return refused("invalid_claims", accepted.refused);
  return record(host, providerId, accepted, digest);
}

/** In one transaction: the jti checked and remembered, the changes recorded (applied here), the signal audited. */
function record(host: StoreHost, providerId: string, accepted: Accepted, digest: ArrayBuffer): Recorded | Refused {
  return host.change((store, now): Recorded | Refused => {
    const seen = sql.readReceipt(store.sql, providerId, accepted.jti);
    if (seen !== null) {
      // The same token again (a retry): the same answer, and the kills it started finished if they are not yet.
      if (!digestsEqual(seen.digest, digest)) return refused("replayed", "this jti was already used by another token");
      const users = store.sql
        .exec<{ id: string; user_id: string }>(
          "SELECT id, user_id FROM changes WHERE id IN (SELECT value FROM json_each(?))",
          JSON.stringify(seen.killIds),
        )
        .toArray();
      return { name: accepted.name, changes: users.map((row) => ({ killId: row.id, userId: row.user_id })) };
    }
    const tenant = store.tenant!;
    const subject = accepted.subject;
    const target: IdpTarget = { provider: providerId, sub: subject?.sub ?? null, sid: subject?.sid ?? null };
    if (subject?.either) target.either = true;
    const users = subject === null || accepted.action === "record" ? [] : sql.usersLinked(store.sql, target);
    const kind = accepted.action === "end-linked" ? "idp" : accepted.action === "end-users" ? "user" : "reauth-user";
    const changes = users.map((userId) => ({ killId: killIdOf(providerId, accepted.jti, userId), userId }));
    for (const change of changes)
      coordinator.startSignalChange(store, tenant, { ...change, kind, target, actor: `idp:${providerId}` }, now);
    sql.insertReceipt(store.sql, {
      provider: providerId,
      jti: accepted.jti,
      digest,
      killIds: changes.map((change) => change.killId),
      expiresAt: accepted.keepUntilSeconds * 1000,
    });
    insertEvent(
      store.sql,
      {
        type: "signal_received",
        reason: accepted.name,
        actor: `idp:${providerId}`,
        provider: providerId,
        ...(changes.length === 1 && { killId: changes[0]!.killId, userId: changes[0]!.userId }),
        ...(changes.length > 1 && { count: changes.length }),
      },
      now,
    );
    return { name: accepted.name, changes };
  });
}

/** The id of the change a signal makes for one user: the same for the same token, every time. */
function killIdOf(providerId: string, jti: string, userId: string): string {
  return base64url(new Uint8Array(sha256(`${providerId}\n${jti}\n${userId}`)).slice(0, 16));
}

interface Verified {
  header: JWTHeaderParameters;
  payload: JWTPayload;
}

/**
 * The token's signature (an allowed algorithm, a key of the provider's), `iss`, `aud`, and `exp`
 * when present. Keys come from the cache while fresh; an unknown `kid` fetches them again, at
 * most once a KEYS_REFETCH_MS; keys that cannot be fetched leave the cached ones in use.
 */
async function verify(
  host: StoreHost,
  provider: sql.ProviderRow,
  token: string,
  audience: string | string[],
): Promise<Verified | Refused> {
  try {
    decodeProtectedHeader(token);
  } catch {
    return refused("malformed", "the token is not a signed JWT");
  }
  let keys = provider.jwks === null ? null : keySetOf(host, provider);
  // Stale keys are fetched again, but not more often than an unknown key would be: while their
  // server is down, each signal uses the stale ones rather than waiting on it again.
  const stale = provider.jwks_expires_at === null || provider.jwks_expires_at <= Date.now();
  const mayFetch = (provider.jwks_attempted_at ?? 0) <= Date.now() - KEYS_REFETCH_MS;
  if (keys === null || (stale && mayFetch)) keys = (await refreshKeys(host, provider)) ?? keys;
  if (keys === null) return refused("keys_unavailable", "the provider's keys could not be fetched");
  for (let attempt = 0; ; attempt++) {
    try {
      const { payload, protectedHeader } = await jwtVerify(token, keys, {
        issuer: provider.issuer,
        audience,
        algorithms: JSON.parse(provider.algorithms) as string[],
        clockTolerance: CLOCK_SKEW_SECONDS,
      });
      return { header: protectedHeader as JWTHeaderParameters, payload };
    } catch (error) {
      const unknownKey = error instanceof errors.JWKSNoMatchingKey;
      const mayRefetch = (provider.jwks_attempted_at ?? 0) <= Date.now() - KEYS_REFETCH_MS;
      if (unknownKey && attempt === 0 && mayRefetch) {
        const fresh = await refreshKeys(host, provider);
        if (fresh !== null) {
          keys = fresh;
          continue;
        }
      }
      return refusalOf(error);
    }
  }
}

type KeySet = ReturnType<typeof createLocalJWKSet>;

/** The provider's cached key set, as jose reads it: made once per fetch, so its imported keys are kept. */
function keySetOf(host: StoreHost, provider: sql.ProviderRow): KeySet {
  const held = host.state.keySets.get(provider.id);
  if (held && held.fetchedAt === provider.jwks_fetched_at) return held.keys;
  const keys = createLocalJWKSet(JSON.parse(provider.jwks!) as JSONWebKeySet);
  host.state.keySets.set(provider.id, { fetchedAt: provider.jwks_fetched_at, keys });
  return keys;
}

function refusalOf(error: unknown): Refused {
  if (error instanceof errors.JWKSNoMatchingKey)
    return refused("unknown_key", "no key of the provider matches the token");
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "iss") return refused("invalid_issuer", "iss is not the provider's issuer");
    if (error.claim === "aud") return refused("invalid_audience", "aud does not name this receiver");
    return refused("invalid_claims", error.message);
  }
  if (error instanceof errors.JWTExpired) return refused("invalid_claims", "the token has expired");
  if (error instanceof errors.JOSEAlgNotAllowed)
    return refused("bad_signature", "the token's algorithm is not allowed");
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return refused("bad_signature", "the signature does not verify");
  if (error instanceof errors.JOSEError) return refused("malformed", error.message);
  throw error;
}

/** Fetches the provider's keys and caches them; null (logged) when they could not be had. */
async function refreshKeys(host: StoreHost, provider: sql.ProviderRow): Promise<KeySet | null> {
  const allowLoopback = configReport(host.env).config?.webhooksAllowLoopback ?? false;
  const fetched = await fetchKeys(provider.jwks_uri, allowLoopback);
  const now = Date.now();
  if (!fetched.ok) {
    host.change(() => sql.noteKeysAttempt(host.ctx.storage.sql, provider.id, now));
    logError({ event: "idp_keys_unavailable", tenant: host.store().tenant?.name, message: fetched.error.message });
    return null;
  }
  const { jwks, maxAgeSeconds } = fetched;
  host.change(() =>
    sql.storeKeys(
      host.ctx.storage.sql,
      provider.id,
      provider.jwks_uri,
      JSON.stringify(jwks),
      now,
      now + maxAgeSeconds * 1000,
    ),
  );
  provider.jwks_attempted_at = now;
  const keys = createLocalJWKSet(jwks);
  host.state.keySets.set(provider.id, { fetchedAt: now, keys });
  return keys;
}
