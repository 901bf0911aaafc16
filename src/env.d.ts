// Variables the deployment may set that wrangler.toml does not declare (so `wrangler types`
// cannot know them): LOCAL_JURISDICTIONS=ignore maps Durable Object jurisdictions to the plain
// namespace, for local development and tests only (src/placement.ts).
interface Env {
  LOCAL_JURISDICTIONS?: string;
}
