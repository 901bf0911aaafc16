// Variables and secrets the deployment sets that wrangler.toml does not declare (so `wrangler
// types` cannot know them): LOCAL_JURISDICTIONS=ignore maps Durable Object jurisdictions to the
// plain namespace, for local development and tests only (src/core/placement.ts);
// KEY_ENCRYPTION_SECRET seals the JWT signing keys and webhook secrets at rest (src/core/sealing.ts);
// WEBHOOKS_ALLOW_LOOPBACK=true lets webhooks point at 127.0.0.1 or localhost, for local
// development and tests only (src/core/webhooks.ts).
interface Env {
  WEBHOOKS_ALLOW_LOOPBACK?: string;
  LOCAL_JURISDICTIONS?: string;
  KEY_ENCRYPTION_SECRET?: string;
  /** The deployment's origin: each tenant's JWTs and CAEP events are issued by `{PUBLIC_URL}/tenants/{tenant}`. Required except in local development (src/core/config.ts). */
  PUBLIC_URL?: string;
}
