// A tenant's identity providers (kept at its home), and the signals they send: each receiver's
// request, once rate-limited per tenant and provider, goes to the home, which verifies it.

import type { StoreCaller } from "../../core/auth";
import { configReport, loadConfig, publicUrlOf, SEALING_NOT_CONFIGURED } from "../../core/config";
import { seal } from "../../core/sealing";
import { sha256 } from "../../core/crypto";
import { fail, ok, type Result } from "../../core/errors";
import { isTenantName } from "../../core/identifiers";
import {
  credentialContext,
  type IdentityProvider,
  isProviderId,
  parseProviderInput,
  pollCredentialKey,
  type PollInput,
} from "../../core/identity-providers";
import type { PollSettings } from "../../../durable-objects/session-store/identity-providers-sql";
import { discoverJwksUri, fetchKeys } from "../../core/provider-documents";
import { callHome } from "../../../durable-objects/stubs";
import type { StoredProvider } from "../../../durable-objects/session-store/identity-providers";
import type { Signal, SignalOutcome } from "../../core/signals";
import { locate } from "../locate";
import { onTenant } from "./doors";

const PROVIDER_NOT_FOUND = fail("identity_provider_not_found", "no such identity provider");
const BAD_PROVIDER_ID = fail("bad_request", "the identity provider's id must match ^[a-z0-9-]{1,32}$", "id");

/** The receivers' URLs, as a provider is told to call them: under PUBLIC_URL, or the address this request came to. */
function withEndpoints(
  env: Env,
  tenant: string,
  provider: StoredProvider,
  requestUrl: string | null,
): IdentityProvider {
  const at = publicUrlOf(env, requestUrl);
  const base = `${at.ok ? at.publicUrl : ""}/v1/tenants/${tenant}/identity-providers/${provider.id}`;
  return {
    ...provider,
    endpoints: {
      backchannelLogout: `${base}/backchannel-logout`,
      events: `${base}/events`,
      globalTokenRevocation: `${base}/global-token-revocation`,
    },
  };
}

/**
 * Registers or replaces a provider. Its key set is found by discovery unless given, and fetched
 * once now: a provider whose keys cannot be read is refused here, not at its first logout.
 */
export function putIdentityProvider(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  id: unknown,
  body: unknown,
  requestUrl: string | null,
): Promise<Result<{ identityProvider: IdentityProvider; created: boolean }>> {
  return onTenant(env, caller, tenant, "tenant", async (at, config) => {
    if (!isProviderId(id)) return BAD_PROVIDER_ID;
    const parsed = parseProviderInput(body, config.webhooksAllowLoopback);
    if (!parsed.ok) return parsed;
    const { settings } = parsed;
    let jwksUri = settings.jwksUri;
    if (jwksUri === null) {
      const found = await discoverJwksUri(settings.issuer, config.webhooksAllowLoopback);
      if (!found.ok) return found;
      jwksUri = found.jwksUri;
    }
    const keys = await fetchKeys(jwksUri, config.webhooksAllowLoopback);
    if (!keys.ok) return keys;
    const poll = settings.poll ? await sealedPoll(env, at.tenant, id, settings.poll) : null;
    if (poll !== null && !poll.ok) return poll;
    const row = {
      id,
      issuer: settings.issuer,
      audience: settings.audience,
      jwks_uri: jwksUri,
      algorithms: JSON.stringify(settings.algorithms),
      jwks: JSON.stringify(keys.jwks),
      jwks_expires_at: Date.now() + keys.maxAgeSeconds * 1000,
      ...(settings.authorization !== undefined && {
        authorization_hash: settings.authorization === null ? null : sha256(settings.authorization),
      }),
      ...(settings.poll !== undefined && { poll: poll === null ? null : poll.poll }),
    };
    const put = await callHome(env, at, async (home) => home.putIdentityProvider(caller, row));
    if (!put.ok) return put;
    return ok({
      identityProvider: withEndpoints(env, at.tenant, put.identityProvider, requestUrl),
      created: put.created,
    });
  });
}

/** Poll settings with their credential sealed (it must stay usable to poll, so it is not a digest). */
export async function sealedPoll(
  env: Env,
  tenant: string,
  id: string,
  poll: PollInput,
): Promise<Result<{ poll: PollSettings }>> {
  if (poll.authorization === null)
    return ok({
      poll: { endpoint: poll.endpoint, intervalSeconds: poll.intervalSeconds, credential: null, credentialIv: null },
    });
  if (!configReport(env).config?.sealing) return SEALING_NOT_CONFIGURED;
  const sealed = await seal(
    await pollCredentialKey(env.KEY_ENCRYPTION_SECRET!),
    new TextEncoder().encode(poll.authorization),
    credentialContext(tenant, id),
  );
  return ok({
    poll: {
      endpoint: poll.endpoint,
      intervalSeconds: poll.intervalSeconds,
      credential: sealed.sealed,
      credentialIv: sealed.iv,
    },
  });
}

export function listIdentityProviders(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  requestUrl: string | null,
): Promise<Result<{ identityProviders: IdentityProvider[] }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    const listed = await callHome(env, at, async (home) => home.listIdentityProviders(caller), { idempotent: true });
    if (!listed.ok) return listed;
    return ok({
      identityProviders: listed.identityProviders.map((provider) =>
        withEndpoints(env, at.tenant, provider, requestUrl),
      ),
    });
  });
}

export async function getIdentityProvider(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  id: unknown,
  requestUrl: string | null,
): Promise<Result<{ identityProvider: IdentityProvider }>> {
  if (!isProviderId(id)) return PROVIDER_NOT_FOUND;
  const listed = await listIdentityProviders(env, caller, tenant, requestUrl);
  if (!listed.ok) return listed;
  const found = listed.identityProviders.find((provider) => provider.id === id);
  return found ? ok({ identityProvider: found }) : PROVIDER_NOT_FOUND;
}

export function deleteIdentityProvider(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  id: unknown,
): Promise<Result<{ deleted: string }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    if (!isProviderId(id)) return PROVIDER_NOT_FOUND;
    const deleted = await callHome(env, at, async (home) => home.deleteIdentityProvider(caller, id));
    return deleted.ok ? ok({ deleted: id }) : deleted;
  });
}

const KEYS_UNAVAILABLE = fail("provider_unavailable", "the provider's keys could not be fetched; send it again later");

/** Too many signals from one provider this minute: refused before any store is asked. */
export const SIGNALS_LIMITED = fail("rate_limited", "too many signals from this identity provider; retry in a minute");

/**
 * A signal for a tenant's provider: rate-limited per tenant and provider, then verified and acted
 * on at the home. An unknown tenant answers as an unknown provider does (nothing is recorded: it
 * has no audit log).
 */
export async function receiveSignal(env: Env, tenant: unknown, id: unknown, signal: Signal): Promise<SignalOutcome> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  const unknown: SignalOutcome = ok({
    refused: "unknown_provider",
    description: "no such identity provider for this tenant",
  });
  if (!isTenantName(tenant) || !isProviderId(id)) return unknown;
  // Per provider, and per tenant in all: the provider's id in the path is the sender's choice.
  const [perProvider, perTenant] = await Promise.all([
    env.SIGNAL_LIMITER.limit({ key: `${tenant}/${id}` }),
    env.SIGNAL_LIMITER.limit({ key: tenant }),
  ]);
  if (!perProvider.success || !perTenant.success) return SIGNALS_LIMITED;
  const located = await locate(env, tenant);
  if (!located.ok) return located;
  if (!located.known) return unknown;
  const received = await callHome(env, located.located, (home) => home.receiveSignal(id, signal));
  if (!received.ok) return received.error.code === "tenant_not_found" ? unknown : received;
  // Not the token's fault: the provider should send it again once its keys can be read.
  return "refused" in received && received.refused === "keys_unavailable" ? KEYS_UNAVAILABLE : received;
}
