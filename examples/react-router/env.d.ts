// The bindings, typed: `wrangler types` cannot see the service's entrypoint, the client package can.
import type { SessionServiceBinding } from "@session-service/client";

declare global {
  namespace Cloudflare {
    interface Env {
      SESSIONS: SessionServiceBinding;
      TENANT: string;
    }
  }
  interface Env extends Cloudflare.Env {}
}
