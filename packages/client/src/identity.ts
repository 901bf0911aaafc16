// The shapes of a tenant's identity providers: the issuers whose signals (back-channel logout,
// Shared Signals, universal logout) end its sessions, and a session's link to one of them.

/** Asymmetric JWS algorithms: a provider's keys are public, so never HMAC and never `none`. */
export type SigningAlgorithm =
  | "RS256"
  | "RS384"
  | "RS512"
  | "PS256"
  | "PS384"
  | "PS512"
  | "ES256"
  | "ES384"
  | "ES512"
  | "EdDSA";

/** What `PUT .../identity-providers/:id` (RPC `putIdentityProvider`) takes. */
export interface IdentityProviderInput {
  /** The provider's issuer, exactly as its tokens' `iss` writes it (https). */
  issuer: string;
  /** Your client id there: the `aud` its logout tokens and events carry. */
  audience: string;
  /** Its keys; default: the `jwks_uri` of `{issuer}/.well-known/openid-configuration`. */
  jwksUri?: string;
  /** The algorithms its tokens may use; default RS256, PS256, ES256, EdDSA. */
  algorithms?: SigningAlgorithm[];
  /** When set, Shared Signals pushes must carry exactly this `Authorization` value. Kept as a digest. */
  authorizationHeader?: string;
  /**
   * Poll delivery (RFC 8936): the transmitter's poll endpoint, asked every `intervalSeconds`
   * (30 to 3,600, default 300) with `authorizationHeader` (kept sealed).
   */
  poll?: { endpoint: string; intervalSeconds?: number; authorizationHeader?: string };
}

/** What `POST .../identity-providers/:id/stream` takes: how the transmitter should deliver, and the credential for its stream management. */
export interface StreamSetupInput {
  method: "push" | "poll";
  /** The Authorization value the transmitter's management API takes (and, for poll, its poll endpoint). */
  authorizationHeader: string;
  /** For poll: how often (default 300 s). */
  intervalSeconds?: number;
}

/** A stream set up with a Shared Signals transmitter. */
export interface StreamView {
  id: string;
  method: "push" | "poll";
  /** As the transmitter's status endpoint said (`enabled`, `paused`, `disabled`), or null without one. */
  status: string | null;
  /** The event types the transmitter said it will deliver. */
  eventsDelivered: string[];
}

/** A provider as the service shows it. */
export interface IdentityProvider {
  id: string;
  issuer: string;
  audience: string;
  jwksUri: string;
  algorithms: SigningAlgorithm[];
  /** Whether pushes must carry the configured Authorization value. */
  pushAuthorization: boolean;
  createdAt: string;
  updatedAt: string;
  /** The provider's keys as last fetched: when, until when they are trusted without asking again, and how many. */
  keys: { fetchedAt: string | null; expiresAt: string | null; count: number };
  /** Where to send its signals. */
  endpoints: { backchannelLogout: string; events: string; globalTokenRevocation: string };
  /** The Shared Signals stream set up with it, if any. */
  streamId: string | null;
  /** Poll delivery, if any: when it is next asked, and why the last poll failed (null: it did not). */
  poll: { endpoint: string; intervalSeconds: number; nextAt: string | null; failure: string | null } | null;
}

/** A session's link to the provider that authenticated its user: its subject there, and its session there. */
export interface IdpLink {
  /** The provider's id in this tenant. */
  provider: string;
  /** The user's `sub` at the provider. */
  sub: string;
  /** The provider's session id (`sid` of its ID token), when it has one. */
  sid?: string;
}
