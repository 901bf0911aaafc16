// Poll delivery of Security Event Tokens (RFC 8936), at the tenant's home, on its alarm: each
// provider with a poll endpoint is asked at its interval, acknowledging what the last poll
// brought and reporting the tokens it refused; each token is received as a push is (signals.ts).

import { configReport } from "../../src/core/config";
import type { Result } from "../../src/core/errors";
import { credentialContext, pollCredentialKey } from "../../src/core/identity-providers";
import { logError } from "../../src/core/log";
import { callJson } from "../../src/core/provider-documents";
import { unseal } from "../../src/core/sealing";
import { SET_ERRORS } from "../../src/core/signals";
import type { CoordinatedStore } from "./coordinator";
import type { StoreHost } from "./host";
import * as sql from "./identity-providers-sql";
import { receive } from "./signals";

/** After a change of a provider (its poll settings among them): the alarm woken for the next poll due. */
export async function afterProviderChange<T extends object>(host: StoreHost, result: Result<T>): Promise<Result<T>> {
  if (result.ok) await host.scheduler.wake("polls", sql.nextPollAt(host.ctx.storage.sql));
  return result;
}

/** Tokens asked for per poll; a transmitter with more says so, and is asked again at once. */
export const POLL_MAX_EVENTS = 25;

/** Polls every provider whose poll is due. A failure is recorded on the provider and logged, never thrown. */
export async function pollDue(host: StoreHost, self: CoordinatedStore): Promise<void> {
  const tenant = host.store().tenant;
  if (tenant?.shard !== 0) return;
  for (const provider of sql.duePolls(host.ctx.storage.sql, Date.now())) {
    const failure = await pollOnce(host, self, tenant.name, provider).catch((error: unknown) => String(error));
    if (failure !== null) {
      logError({ event: "idp_poll_failed", tenant: tenant.name, message: `${provider.id}: ${failure}` });
      host.change(() =>
        sql.writePollOutcome(host.ctx.storage.sql, provider.id, {
          acks: JSON.parse(provider.poll_acks) as string[],
          errors: JSON.parse(provider.poll_errors) as Record<string, { err: string; description: string }>,
          nextAt: Date.now() + provider.poll_interval_seconds! * 1000,
          failure,
        }),
      );
    }
  }
}

/** One poll: null when it was answered (its tokens received and their outcome kept for the next), else why not. */
async function pollOnce(
  host: StoreHost,
  self: CoordinatedStore,
  tenant: string,
  provider: sql.ProviderRow,
): Promise<string | null> {
  let authorization: string | null = null;
  if (provider.poll_credential !== null) {
    const key = await pollCredentialKey(host.env.KEY_ENCRYPTION_SECRET ?? "");
    const plain = await unseal(
      key,
      { sealed: provider.poll_credential, iv: provider.poll_credential_iv! },
      credentialContext(tenant, provider.id),
    ).catch(() => null);
    if (plain === null) return "the poll credential cannot be unsealed (was KEY_ENCRYPTION_SECRET changed?)";
    authorization = new TextDecoder().decode(plain);
  }
  const answered = await callJson(
    provider.poll_endpoint!,
    configReport(host.env).config?.webhooksAllowLoopback ?? false,
    {
      method: "POST",
      authorization,
      body: {
        ack: JSON.parse(provider.poll_acks) as string[],
        setErrs: JSON.parse(provider.poll_errors) as object,
        maxEvents: POLL_MAX_EVENTS,
        returnImmediately: true,
      },
    },
  );
  if (!answered.ok) return answered.error.message;
  const { sets, moreAvailable } = answered.body as { sets?: unknown; moreAvailable?: unknown };
  if (typeof sets !== "object" || sets === null || Array.isArray(sets)) return "the answer has no sets object";
  const acks: string[] = [];
  const errors: Record<string, { err: string; description: string }> = {};
  for (const [jti, token] of Object.entries(sets as Record<string, unknown>).slice(0, POLL_MAX_EVENTS)) {
    if (typeof token !== "string") {
      errors[jti] = { err: "invalid_request", description: "not a token" };
      continue;
    }
    const outcome = await receive(host, self, provider.id, { kind: "polled-event", token });
    // Neither acknowledged nor refused when the service could not act on it (a store out of
    // reach, the provider's keys unreadable): the transmitter offers it again.
    if (!outcome.ok || ("refused" in outcome && outcome.refused === "keys_unavailable")) continue;
    if ("refused" in outcome) errors[jti] = { err: SET_ERRORS[outcome.refused], description: outcome.description };
    else acks.push(jti);
  }
  const received = Object.keys(sets as object).length;
  host.change(() =>
    sql.writePollOutcome(host.ctx.storage.sql, provider.id, {
      acks,
      errors,
      // At once again only when this poll brought tokens and the transmitter has more: never a loop of empty polls.
      nextAt: moreAvailable === true && received > 0 ? Date.now() : Date.now() + provider.poll_interval_seconds! * 1000,
      failure: null,
    }),
  );
  return null;
}
