// The bindings, typed (`wrangler types` cannot see the service's entrypoint).
import type { SessionServiceBinding } from "@session-service/client";

declare global {
  interface CloudflareEnv {
    SESSIONS: SessionServiceBinding;
    TENANT: string;
  }
  interface Env extends CloudflareEnv {}
}
