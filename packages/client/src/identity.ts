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
