// A tenant's identity providers: the issuers whose signals (back-channel logout, Shared Signals,
// universal logout) may end its sessions. The rules of what may be registered, and the links
// a session keeps to the provider's subject and session. Pure: the store keeps them.

import type { IdentityProviderInput, IdpLink, SigningAlgorithm } from "@session-service/client";
import { fail, ok, type Result } from "./errors";
import { CONTROL_CHARACTERS } from "./identifiers";
import { sealingKey } from "./sealing";
import { urlProblem } from "./webhooks";

export type { IdentityProvider, IdentityProviderInput, IdpLink, SigningAlgorithm } from "@session-service/client";

export const MAX_IDENTITY_PROVIDERS_PER_TENANT = 10;
const PROVIDER_ID_PATTERN = /^[a-z0-9-]{1,32}$/;
/** `sub` and `sid` are strings the provider chooses: OpenID Connect bounds `sub` at 255 ASCII characters. */
const MAX_SUBJECT_CHARS = 255;
const MAX_AUDIENCE_CHARS = 255;
/** An Authorization value a transmitter sends with its pushes; kept as a digest only. */
const MAX_AUTHORIZATION_CHARS = 1024;

/**
 * Asymmetric algorithms only: a provider's keys are public, so an HMAC "signed" with one would
 * be a forgery anyone can make, and `none` is no signature at all.
 */
export const SIGNING_ALGORITHMS: readonly SigningAlgorithm[] = [
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA",
];
/** What most providers sign with: OpenID Connect's default (RS256), and the common elliptic ones. */
export const DEFAULT_ALGORITHMS: readonly SigningAlgorithm[] = ["RS256", "PS256", "ES256", "EdDSA"];

export function isProviderId(value: unknown): value is string {
  return typeof value === "string" && PROVIDER_ID_PATTERN.test(value);
}

/** A provider as a PUT asks for it, checked; `authorization` is the exact header value pushes must carry. */
export interface ProviderSettings {
  issuer: string;
  audience: string;
  jwksUri: string | null;
  algorithms: SigningAlgorithm[];
  /** Undefined: as it is (a stream's setup may have set it); null: none. */
  authorization: string | null | undefined;
  /**
   * Poll delivery (RFC 8936): the transmitter's endpoint, how often, and the Authorization value
   * to send. Undefined: as it is (a stream's setup may have set it); null: none.
   */
  poll: PollInput | null | undefined;
}

export interface PollInput {
  endpoint: string;
  intervalSeconds: number;
  authorization: string | null;
}

const FIELDS = ["issuer", "audience", "jwksUri", "algorithms", "authorizationHeader", "poll"];
/** How often a transmitter is polled: at most every 30 s, at least hourly; every 5 minutes unless told. */
export const POLL_INTERVAL_SECONDS = { min: 30, max: 3_600, default: 300 };

function isCleanString(value: unknown, max: number): value is string {
  return typeof value === "string" && value.length >= 1 && value.length <= max && !CONTROL_CHARACTERS.test(value);
}

/** The provider a PUT asks for: its URLs by the webhooks' rules (`urlProblem`), its algorithms asymmetric. */
export function parseProviderInput(body: unknown, allowLoopback: boolean): Result<{ settings: ProviderSettings }> {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    return fail("bad_request", 'the body must be { "issuer": "https://...", "audience": "...", ... }');
  const fields = body as Partial<Record<keyof IdentityProviderInput, unknown>> & Record<string, unknown>;
  const unknown = Object.keys(fields).find((field) => !FIELDS.includes(field));
  if (unknown !== undefined)
    return fail("bad_request", `unknown field ${JSON.stringify(unknown.slice(0, 64))}`, unknown.slice(0, 64));
  const { issuer, audience, jwksUri, algorithms, authorizationHeader, poll } = fields;
  if (typeof issuer !== "string") return fail("bad_request", "issuer must be a URL", "issuer");
  const issuerProblem = urlProblem(issuer, allowLoopback);
  if (issuerProblem !== null) return fail("bad_request", issuerProblem.replace(/^url/, "issuer"), "issuer");
  if (new URL(issuer).search !== "") return fail("bad_request", "issuer must not have a query", "issuer");
  if (!isCleanString(audience, MAX_AUDIENCE_CHARS))
    return fail(
      "bad_request",
      `audience (your client id there) must be 1 to ${MAX_AUDIENCE_CHARS} characters`,
      "audience",
    );
  let jwks: string | null = null;
  if (jwksUri !== undefined) {
    if (typeof jwksUri !== "string") return fail("bad_request", "jwksUri must be a URL", "jwksUri");
    const problem = urlProblem(jwksUri, allowLoopback);
    if (problem !== null) return fail("bad_request", problem.replace(/^url/, "jwksUri"), "jwksUri");
    jwks = new URL(jwksUri).href;
  }
  const chosen = algorithms === undefined ? [...DEFAULT_ALGORITHMS] : algorithms;
  if (
    !Array.isArray(chosen) ||
    chosen.length === 0 ||
    new Set(chosen).size !== chosen.length ||
    !chosen.every((alg) => SIGNING_ALGORITHMS.includes(alg as SigningAlgorithm))
  )
    return fail(
      "bad_request",
      `algorithms must be a non-empty list without repeats of asymmetric algorithms: ${SIGNING_ALGORITHMS.join(", ")}`,
      "algorithms",
    );
  if (
    authorizationHeader !== undefined &&
    authorizationHeader !== null &&
    !isCleanString(authorizationHeader, MAX_AUTHORIZATION_CHARS)
  )
    return fail(
      "bad_request",
      `authorizationHeader must be null or 1 to ${MAX_AUTHORIZATION_CHARS} characters: the exact Authorization value the transmitter sends`,
      "authorizationHeader",
    );
  const polled = poll === undefined || poll === null ? ok({ poll }) : parsePoll(poll, allowLoopback);
  if (!polled.ok) return polled;
  return ok({
    settings: {
      // Compared with `iss` exactly as the provider writes it: no normalization beyond the checks.
      issuer,
      audience,
      jwksUri: jwks,
      algorithms: chosen as SigningAlgorithm[],
      authorization: authorizationHeader as string | null | undefined,
      poll: polled.poll,
    },
  });
}

export function parsePoll(value: unknown, allowLoopback: boolean): Result<{ poll: PollInput }> {
  const bad = (message: string) => fail("bad_request", `poll ${message}`, "poll");
  if (typeof value !== "object" || value === null || Array.isArray(value))
    return bad('must be { "endpoint": "https://...", "intervalSeconds"?, "authorizationHeader"? }');
  const {
    endpoint,
    intervalSeconds = POLL_INTERVAL_SECONDS.default,
    authorizationHeader,
    ...rest
  } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0)
    return bad(`has an unknown field ${JSON.stringify(Object.keys(rest)[0]!.slice(0, 64))}`);
  if (typeof endpoint !== "string") return bad("endpoint must be a URL");
  const problem = urlProblem(endpoint, allowLoopback);
  if (problem !== null) return bad(problem.replace(/^url/, "endpoint"));
  if (
    typeof intervalSeconds !== "number" ||
    !Number.isInteger(intervalSeconds) ||
    intervalSeconds < POLL_INTERVAL_SECONDS.min ||
    intervalSeconds > POLL_INTERVAL_SECONDS.max
  )
    return bad(`intervalSeconds must be an integer from ${POLL_INTERVAL_SECONDS.min} to ${POLL_INTERVAL_SECONDS.max}`);
  if (authorizationHeader !== undefined && !isCleanString(authorizationHeader, MAX_AUTHORIZATION_CHARS))
    return bad(`authorizationHeader must be 1 to ${MAX_AUTHORIZATION_CHARS} characters`);
  return ok({
    poll: { endpoint: new URL(endpoint).href, intervalSeconds, authorization: authorizationHeader ?? null },
  });
}

/** A provider's poll credential is sealed at rest under its own key, derived from KEY_ENCRYPTION_SECRET. */
export function pollCredentialKey(secret: string): Promise<CryptoKey> {
  return sealingKey(secret, "identity provider credentials v1");
}

/** What a sealed credential is bound to: its tenant and provider, so it cannot be moved to another. */
export function credentialContext(tenant: string, providerId: string): string {
  return `${tenant}/${providerId}`;
}

/** A new session's link to the provider that authenticated its user, checked (the store checks the provider exists). */
export function parseIdpLink(value: unknown): Result<{ link: IdpLink }> {
  const bad = fail(
    "bad_request",
    `idp must be { "provider": "<id>", "sub": "...", "sid"?: "..." }, sub and sid 1 to ${MAX_SUBJECT_CHARS} characters`,
    "idp",
  );
  if (typeof value !== "object" || value === null || Array.isArray(value)) return bad;
  const { provider, sub, sid, ...rest } = value as Record<string, unknown>;
  if (Object.keys(rest).length > 0) return bad;
  if (!isProviderId(provider) || !isCleanString(sub, MAX_SUBJECT_CHARS)) return bad;
  if (sid !== undefined && !isCleanString(sid, MAX_SUBJECT_CHARS)) return bad;
  return ok({ link: sid === undefined ? { provider, sub } : { provider, sub, sid } });
}

/**
 * The sessions a provider's signal names: linked to `provider`, with this session id there
 * and/or this subject; `either`: with this session id or this subject (an opaque id).
 */
export interface IdpTarget {
  provider: string;
  sub: string | null;
  sid: string | null;
  either?: true;
}
