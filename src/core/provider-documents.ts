// Calls to an identity provider's servers: its documents (discovery, keys, Shared Signals
// configuration), its stream management and its poll endpoint. Each to a URL that passed the
// webhooks' rules, never following a redirect, bounded in time and size: a slow or hostile
// server costs a call at most a few seconds and a few kilobytes.

import type { JSONWebKeySet } from "jose";
import { readAtMost } from "./bounded-read";
import { fail, ok, type Result } from "./errors";
import { urlProblem } from "./webhooks";

const FETCH_TIMEOUT_MS = 5_000;
/** A key set of 10 RSA-4096 keys is about 8 KiB, a discovery document a few; a poll's answer holds at most POLL_MAX_EVENTS tokens. */
const MAX_DOCUMENT_BYTES = 256 * 1024;
/** Keys are trusted for what Cache-Control says, within these bounds (an hour when it says nothing). */
const KEYS_MIN_AGE_SECONDS = 300;
const KEYS_MAX_AGE_SECONDS = 86_400;
const KEYS_DEFAULT_AGE_SECONDS = 3_600;

/** A call answered with a JSON object (or nothing, for 202 and 204); a failure says what went wrong in words an operator can act on. */
export async function callJson(
  url: string,
  allowLoopback: boolean,
  init: { method?: "GET" | "POST"; body?: unknown; authorization?: string | null } = {},
): Promise<Result<{ body: object; response: Response }>> {
  const problem = urlProblem(url, allowLoopback);
  if (problem !== null) return fail("discovery_failed", `${url}: ${problem}`);
  let response: Response;
  try {
    response = await fetch(url, {
      method: init.method ?? "GET",
      headers: {
        Accept: "application/json",
        ...(init.body !== undefined && { "Content-Type": "application/json" }),
        ...(init.authorization && { Authorization: init.authorization }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      redirect: "manual",
      signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
    });
  } catch (error) {
    return fail("discovery_failed", `${url}: unreachable (${String(error).slice(0, 120)})`);
  }
  if (response.status === 202 || response.status === 204) {
    await response.body?.cancel();
    return ok({ body: {}, response });
  }
  if (response.status !== 200 && response.status !== 201) {
    await response.body?.cancel();
    return fail(
      "discovery_failed",
      `${url} answered ${response.status}${response.status < 400 ? " (redirects are not followed)" : ""}`,
    );
  }
  const text = await readBounded(response);
  if (text === null) return fail("discovery_failed", `${url}: the answer exceeds ${MAX_DOCUMENT_BYTES} bytes`);
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === "object" && body !== null && !Array.isArray(body)) return ok({ body, response });
  } catch {
    // answered below
  }
  return fail("discovery_failed", `${url}: not a JSON object`);
}

async function readBounded(response: Response): Promise<string | null> {
  const bytes = await readAtMost(response.body, MAX_DOCUMENT_BYTES);
  return bytes === null ? null : new TextDecoder().decode(bytes);
}

/**
 * The provider's key set URL from OpenID Connect discovery (`{issuer}/.well-known/openid-configuration`),
 * whose `issuer` must be exactly the one registered (OpenID Connect Discovery 1.0, section 4.3).
 */
export async function discoverJwksUri(issuer: string, allowLoopback: boolean): Promise<Result<{ jwksUri: string }>> {
  const url = `${issuer.replace(/\/$/, "")}/.well-known/openid-configuration`;
  const got = await callJson(url, allowLoopback);
  if (!got.ok) return got;
  const { issuer: said, jwks_uri: jwksUri } = got.body as { issuer?: unknown; jwks_uri?: unknown };
  if (said !== issuer)
    return fail("discovery_failed", `${url} names the issuer ${JSON.stringify(said)}, not ${JSON.stringify(issuer)}`);
  if (typeof jwksUri !== "string") return fail("discovery_failed", `${url} has no jwks_uri`);
  const problem = urlProblem(jwksUri, allowLoopback);
  if (problem !== null) return fail("discovery_failed", `its jwks_uri ${jwksUri}: ${problem}`);
  return ok({ jwksUri: new URL(jwksUri).href });
}

/**
 * The provider's public keys, and how long they may be trusted without asking again. Only
 * public asymmetric keys are kept: a key set carrying a private or symmetric key is refused whole.
 */
export async function fetchKeys(
  jwksUri: string,
  allowLoopback: boolean,
): Promise<Result<{ jwks: JSONWebKeySet; maxAgeSeconds: number }>> {
  const got = await callJson(jwksUri, allowLoopback);
  if (!got.ok) return got;
  const { keys } = got.body as { keys?: unknown };
  if (!Array.isArray(keys) || keys.length === 0) return fail("discovery_failed", `${jwksUri} holds no keys`);
  const usable = keys.every(
    (key) =>
      typeof key === "object" &&
      key !== null &&
      ["RSA", "EC", "OKP"].includes((key as { kty?: unknown }).kty as string) &&
      !("d" in key) &&
      !("k" in key),
  );
  if (!usable) return fail("discovery_failed", `${jwksUri} must hold public RSA, EC or OKP keys only`);
  return ok({ jwks: { keys } as JSONWebKeySet, maxAgeSeconds: maxAgeOf(got.response.headers.get("Cache-Control")) });
}

function maxAgeOf(cacheControl: string | null): number {
  const said = cacheControl === null ? null : /(?:^|,)\s*max-age=(\d+)/i.exec(cacheControl)?.[1];
  const seconds = said == null ? KEYS_DEFAULT_AGE_SECONDS : Number(said);
  return Math.min(KEYS_MAX_AGE_SECONDS, Math.max(KEYS_MIN_AGE_SECONDS, seconds));
}

/** A Shared Signals transmitter's configuration (SSF 1.0, section 7): where its streams are managed. */
export interface TransmitterConfiguration {
  configuration_endpoint: string;
  verification_endpoint?: string;
  status_endpoint?: string;
  delivery_methods_supported?: string[];
}

/**
 * The transmitter's configuration, at its issuer's host with `/.well-known/ssf-configuration`
 * put before the issuer's path (SSF 1.0, section 7.1); its `issuer` must be the registered one.
 */
export async function transmitterConfiguration(
  issuer: string,
  allowLoopback: boolean,
): Promise<Result<{ configuration: TransmitterConfiguration }>> {
  const { origin, pathname } = new URL(issuer);
  const url = `${origin}/.well-known/ssf-configuration${pathname === "/" ? "" : pathname}`;
  const got = await callJson(url, allowLoopback);
  if (!got.ok) return got;
  const configuration = got.body as TransmitterConfiguration & { issuer?: unknown };
  if (configuration.issuer !== issuer)
    return fail(
      "discovery_failed",
      `${url} names the issuer ${JSON.stringify(configuration.issuer)}, not ${JSON.stringify(issuer)}`,
    );
  for (const endpoint of [
    configuration.configuration_endpoint,
    configuration.verification_endpoint,
    configuration.status_endpoint,
  ]) {
    if (endpoint === undefined) continue;
    const problem = typeof endpoint === "string" ? urlProblem(endpoint, allowLoopback) : "not a URL";
    if (problem !== null)
      return fail("discovery_failed", `${url}: an endpoint ${JSON.stringify(endpoint)}: ${problem}`);
  }
  if (typeof configuration.configuration_endpoint !== "string")
    return fail("discovery_failed", `${url} has no configuration_endpoint`);
  return ok({ configuration });
}
