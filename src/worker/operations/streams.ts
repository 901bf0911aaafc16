// A Shared Signals stream set up with an identity provider's transmitter (SSF 1.0): its
// configuration read, the stream created for push (to this service's receiver, with an
// Authorization value made here) or poll (its endpoint kept), a verification event asked
// for, the status read; then the provider's settings at the tenant's home follow.

import type { StreamSetupInput, StreamView } from "@session-service/client";
import type { StoreCaller } from "../../core/auth";
import { publicUrlOf } from "../../core/config";
import { randomBase64url, sha256 } from "../../core/crypto";
import { fail, ok, type Result } from "../../core/errors";
import { isProviderId, parsePoll, POLL_INTERVAL_SECONDS } from "../../core/identity-providers";
import { callJson, transmitterConfiguration } from "../../core/provider-documents";
import { callHome } from "../../../durable-objects/stubs";
import { onTenant } from "./doors";
import { getIdentityProvider, sealedPoll } from "./identity-providers";

const PUSH = "urn:ietf:rfc:8935";
const POLL = "urn:ietf:rfc:8936";
const CAEP = "https://schemas.openid.net/secevent/caep/event-type/";
const RISC = "https://schemas.openid.net/secevent/risc/event-type/";
/** The events the service acts on, asked for when a stream is made. */
export const EVENTS_REQUESTED = [
  `${CAEP}session-revoked`,
  `${CAEP}credential-change`,
  `${CAEP}assurance-level-change`,
  `${CAEP}token-claims-change`,
  `${RISC}account-disabled`,
  `${RISC}account-purged`,
  `${RISC}sessions-revoked`,
  `${RISC}credential-compromise`,
];

function parseSetup(body: unknown): Result<{ setup: StreamSetupInput }> {
  const shape = 'the body must be { "method": "push" | "poll", "authorizationHeader": "...", "intervalSeconds"? }';
  if (typeof body !== "object" || body === null || Array.isArray(body)) return fail("bad_request", shape);
  const { method, authorizationHeader, intervalSeconds, ...rest } = body as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return fail("bad_request", shape, Object.keys(rest)[0]!.slice(0, 64));
  if (method !== "push" && method !== "poll") return fail("bad_request", 'method must be "push" or "poll"', "method");
  if (typeof authorizationHeader !== "string" || authorizationHeader.length < 1 || authorizationHeader.length > 1024)
    return fail(
      "bad_request",
      "authorizationHeader must be the transmitter's credential, 1 to 1024 characters",
      "authorizationHeader",
    );
  const setup: StreamSetupInput = { method, authorizationHeader };
  if (intervalSeconds !== undefined) {
    if (method !== "poll") return fail("bad_request", "intervalSeconds is for poll only", "intervalSeconds");
    if (
      typeof intervalSeconds !== "number" ||
      !Number.isInteger(intervalSeconds) ||
      intervalSeconds < POLL_INTERVAL_SECONDS.min ||
      intervalSeconds > POLL_INTERVAL_SECONDS.max
    )
      return fail(
        "bad_request",
        `intervalSeconds must be an integer from ${POLL_INTERVAL_SECONDS.min} to ${POLL_INTERVAL_SECONDS.max}`,
        "intervalSeconds",
      );
    setup.intervalSeconds = intervalSeconds;
  }
  return ok({ setup });
}

/** Sets up a stream with the provider's transmitter, and keeps what the service needs to receive it. */
export function setUpStream(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  id: unknown,
  body: unknown,
  requestUrl: string | null,
): Promise<Result<{ stream: StreamView }>> {
  return onTenant(env, caller, tenant, "tenant", async (at, config) => {
    if (!isProviderId(id)) return fail("identity_provider_not_found", "no such identity provider");
    const parsed = parseSetup(body);
    if (!parsed.ok) return parsed;
    const { setup } = parsed;
    const found = await getIdentityProvider(env, caller, at.tenant, id, requestUrl);
    if (!found.ok) return found;
    const { identityProvider: provider } = found;
    const loopback = config.webhooksAllowLoopback;
    const transmitter = await transmitterConfiguration(provider.issuer, loopback);
    if (!transmitter.ok) return transmitter;
    const { configuration } = transmitter;
    // A push stream must reach this service at a URL the transmitter can call: PUBLIC_URL's.
    if (setup.method === "push" && !publicUrlOf(env, requestUrl).ok)
      return fail("not_configured", "a push stream needs PUBLIC_URL: the transmitter must know where to send");
    const pushAuthorization = setup.method === "push" ? `Bearer ${randomBase64url(32)}` : null;
    const delivery =
      pushAuthorization === null
        ? { method: POLL }
        : { method: PUSH, endpoint_url: provider.endpoints.events, authorization_header: pushAuthorization };
    const created = await callJson(configuration.configuration_endpoint, loopback, {
      method: "POST",
      authorization: setup.authorizationHeader,
      body: { delivery, events_requested: EVENTS_REQUESTED },
    });
    if (!created.ok) return created;
    const stream = created.body as {
      stream_id?: unknown;
      delivery?: { endpoint_url?: unknown };
      events_delivered?: unknown;
    };
    if (typeof stream.stream_id !== "string")
      return fail("discovery_failed", "the transmitter's answer has no stream_id");
    let poll = null;
    if (setup.method === "poll") {
      // The poll endpoint is the transmitter's choice: held to the same rules as any URL a tenant gives.
      const checked = parsePoll(
        {
          endpoint: stream.delivery?.endpoint_url,
          intervalSeconds: setup.intervalSeconds ?? POLL_INTERVAL_SECONDS.default,
          authorizationHeader: setup.authorizationHeader,
        },
        loopback,
      );
      if (!checked.ok) return fail("discovery_failed", `the transmitter's ${checked.error.message}`);
      const sealed = await sealedPoll(env, at.tenant, id, checked.poll);
      if (!sealed.ok) return sealed;
      poll = sealed.poll;
    }
    const kept = await callHome(env, at, (home) =>
      home.setIdentityStream(caller, id, {
        streamId: stream.stream_id as string,
        authorizationHash: pushAuthorization === null ? null : sha256(pushAuthorization),
        poll,
      }),
    );
    if (!kept.ok) return kept;
    // The transmitter sends a verification event (pushed, or in the next poll); its status says whether it is on.
    if (configuration.verification_endpoint)
      await callJson(configuration.verification_endpoint, loopback, {
        method: "POST",
        authorization: setup.authorizationHeader,
        body: { stream_id: stream.stream_id, state: randomBase64url(16) },
      });
    let status: string | null = null;
    if (configuration.status_endpoint) {
      const url = new URL(configuration.status_endpoint);
      url.searchParams.set("stream_id", stream.stream_id);
      const read = await callJson(url.href, loopback, { authorization: setup.authorizationHeader });
      if (read.ok && typeof (read.body as { status?: unknown }).status === "string")
        status = (read.body as { status: string }).status;
    }
    const delivered = Array.isArray(stream.events_delivered)
      ? stream.events_delivered.filter((e) => typeof e === "string")
      : [];
    return ok({ stream: { id: stream.stream_id, method: setup.method, status, eventsDelivered: delivered } });
  });
}
