// What a tenant's home does with its identity providers, each inside the store's transaction:
// the registry (at most MAX_IDENTITY_PROVIDERS_PER_TENANT), and the links a session's creation
// leaves, by which a provider's signal finds the users whose stores hold its sessions.

import { actorOf, type StoreCaller } from "../../src/core/auth";
import { fail, ok, type Result } from "../../src/core/errors";
import {
  type IdentityProvider,
  type IdpLink,
  MAX_IDENTITY_PROVIDERS_PER_TENANT,
  type SigningAlgorithm,
} from "../../src/core/identity-providers";
import { insertEvent } from "./audit-sql";
import * as sql from "./identity-providers-sql";
import { authorized, type Store } from "./tenant";

export const PROVIDER_NOT_FOUND = fail("identity_provider_not_found", "no such identity provider");

/** A provider as the store shows it; the front Worker adds the endpoints, which depend on its public URL. */
export type StoredProvider = Omit<IdentityProvider, "endpoints">;

function iso(at: number | null): string | null {
  return at === null ? null : new Date(at).toISOString();
}

export function providerView(row: sql.ProviderRow): StoredProvider {
  const keys = row.jwks === null ? [] : (JSON.parse(row.jwks) as { keys: unknown[] }).keys;
  return {
    id: row.id,
    issuer: row.issuer,
    audience: row.audience,
    jwksUri: row.jwks_uri,
    algorithms: JSON.parse(row.algorithms) as SigningAlgorithm[],
    pushAuthorization: row.authorization_hash !== null,
    createdAt: new Date(row.created_at).toISOString(),
    updatedAt: new Date(row.updated_at).toISOString(),
    keys: { fetchedAt: iso(row.jwks_fetched_at), expiresAt: iso(row.jwks_expires_at), count: keys.length },
    streamId: row.stream_id,
    poll:
      row.poll_endpoint === null
        ? null
        : {
            endpoint: row.poll_endpoint,
            intervalSeconds: row.poll_interval_seconds!,
            nextAt: iso(row.poll_next_at),
            failure: row.poll_failure,
          },
  };
}

function atHome(store: Store, caller: StoreCaller, now: number): Result {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  if (allowed.tenant.shard !== 0) throw new Error("identity providers are kept at the tenant's home");
  return allowed;
}

export function putProvider(
  store: Store,
  caller: StoreCaller,
  row: sql.NewProvider,
  now: number,
): Result<{ identityProvider: StoredProvider; created: boolean }> {
  const allowed = atHome(store, caller, now);
  if (!allowed.ok) return allowed;
  if (
    sql.readProvider(store.sql, row.id) === null &&
    sql.countProviders(store.sql) >= MAX_IDENTITY_PROVIDERS_PER_TENANT
  )
    return fail(
      "too_many_identity_providers",
      `a tenant has at most ${MAX_IDENTITY_PROVIDERS_PER_TENANT} identity providers; delete one first`,
    );
  const created = sql.upsertProvider(store.sql, row, now);
  insertEvent(store.sql, { type: "identity_provider_saved", actor: actorOf(caller), provider: row.id }, now);
  return ok({ identityProvider: providerView(sql.readProvider(store.sql, row.id)!), created });
}

export function getProvider(
  store: Store,
  caller: StoreCaller,
  id: string,
  now: number,
): Result<{ identityProvider: StoredProvider }> {
  const allowed = atHome(store, caller, now);
  if (!allowed.ok) return allowed;
  const row = sql.readProvider(store.sql, id);
  return row === null ? PROVIDER_NOT_FOUND : ok({ identityProvider: providerView(row) });
}

export function listProviders(
  store: Store,
  caller: StoreCaller,
  now: number,
): Result<{ identityProviders: StoredProvider[] }> {
  const allowed = atHome(store, caller, now);
  if (!allowed.ok) return allowed;
  return ok({ identityProviders: sql.readProviders(store.sql).map(providerView) });
}

/** A stream set up with the provider's transmitter: its id, and push's Authorization digest or poll's settings. */
export interface StreamSettings {
  streamId: string;
  authorizationHash: ArrayBuffer | null;
  poll: sql.PollSettings | null;
}

export function setStream(
  store: Store,
  caller: StoreCaller,
  id: string,
  stream: StreamSettings,
  now: number,
): Result<{ identityProvider: StoredProvider }> {
  const allowed = atHome(store, caller, now);
  if (!allowed.ok) return allowed;
  if (sql.readProvider(store.sql, id) === null) return PROVIDER_NOT_FOUND;
  sql.writeStream(store.sql, id, stream.streamId, stream.authorizationHash);
  if (stream.poll !== null) sql.writePoll(store.sql, id, stream.poll, now);
  insertEvent(
    store.sql,
    { type: "identity_provider_saved", actor: actorOf(caller), provider: id, reason: "stream" },
    now,
  );
  return ok({ identityProvider: providerView(sql.readProvider(store.sql, id)!) });
}

/** Removes a provider: its signals are refused from now on. Its links go with their sessions' expiry. */
export function deleteProvider(store: Store, caller: StoreCaller, id: string, now: number): Result {
  const allowed = atHome(store, caller, now);
  if (!allowed.ok) return allowed;
  if (!sql.deleteProvider(store.sql, id)) return PROVIDER_NOT_FOUND;
  insertEvent(store.sql, { type: "identity_provider_deleted", actor: actorOf(caller), provider: id }, now);
  return ok({});
}

/**
 * At the home, before a session linked to a provider is made (on any shard): the provider must
 * be registered, and the link is kept until the session can live no longer.
 */
export function linkSession(store: Store, link: IdpLink, userId: string, expiresAt: number): Result {
  if (!store.tenant) return fail("tenant_not_found", "no such tenant");
  if (sql.readProvider(store.sql, link.provider) === null)
    return fail("identity_provider_not_found", `no identity provider "${link.provider}" in this tenant`, "idp");
  sql.upsertLink(store.sql, link, userId, expiresAt);
  return ok({});
}
