// The binding the test run adds (vitest.config.ts): SessionService through a real service
// binding, as a consumer Worker reaches it. Not in wrangler.toml, so not in the generated Env:
// a deployment never binds to itself.
declare namespace Cloudflare {
  interface Env {
    SESSIONS: Service<typeof import("../src/worker/index.ts").SessionService>;
  }
}
