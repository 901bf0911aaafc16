// Variables and secrets the deployment sets that wrangler.toml does not declare (so `wrangler
// types` cannot know them): LOCAL_JURISDICTIONS=ignore maps Durable Object jurisdictions to the
// plain namespace, for local development and tests only (src/placement.ts);
// KEY_ENCRYPTION_SECRET seals the JWT signing keys and webhook secrets at rest (src/sealing.ts);
// WEBHOOKS_ALLOW_LOOPBACK=true lets webhooks point at 127.0.0.1 or localhost, for local
// development and tests only (src/webhooks.ts).
interface Env {
  WEBHOOKS_ALLOW_LOOPBACK?: string;
  LOCAL_JURISDICTIONS?: string;
  KEY_ENCRYPTION_SECRET?: string;
  /** The issuer (`iss`) of the JWTs this deployment mints; default http://127.0.0.1:8787. */
  PUBLIC_URL?: string;
}
