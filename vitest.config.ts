import { cloudflareTest } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

// Tests run inside workerd with the real Worker, real SQLite-backed Durable Objects and a real
// service binding to the Worker's RPC entrypoint. Secrets get fixed test values here.
export const TEST_ADMIN_API_KEY = "test-admin-key-0123456789abcdef0123456789";
export const TEST_SIGNING_KEYS = "k2:second-signing-secret-0123456789abcdef,k1:first-signing-secret-0123456789abcdef";
export const TEST_KEY_ENCRYPTION_SECRET = "test-key-encryption-secret-0123456789abcdef";

export default defineConfig({
  plugins: [
    cloudflareTest({
      wrangler: { configPath: "./wrangler.toml" },
      miniflare: {
        bindings: {
          ADMIN_API_KEY: TEST_ADMIN_API_KEY,
          SESSION_SIGNING_KEYS: TEST_SIGNING_KEYS,
          KEY_ENCRYPTION_SECRET: TEST_KEY_ENCRYPTION_SECRET,
          LOCAL_JURISDICTIONS: "ignore",
          // The address the tests' requests name (BASE in test/helpers.ts), as a deployment's would be.
          PUBLIC_URL: "https://sessions.example.com",
          // The stand-in identity provider of test/support/provider-server.mjs is on loopback.
          WEBHOOKS_ALLOW_LOOPBACK: "true",
        },
        // The tests reach SessionService as a consumer Worker does, through a real service
        // binding to this Worker. Only here: a deployment never binds to itself.
        serviceBindings: { SESSIONS: { name: "session-service", entrypoint: "SessionService" } },
      },
    }),
  ],
  test: {
    include: ["test/**/*.test.ts"],
    // A stand-in identity provider's key sets, over real HTTP (test/support/provider-server.mjs).
    globalSetup: ["test/support/provider-server.mjs"],
    // The service's own info lines (one per session change) would drown the test output.
    onConsoleLog: (log) => !log.startsWith('{"level":"info"'),
  },
});
