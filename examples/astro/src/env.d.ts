// The bindings, typed (`wrangler types` cannot see the service's entrypoint), and the session
// the middleware puts on `Astro.locals`.
import type { Session, SessionServiceBinding } from "@session-service/client";

declare global {
  namespace Cloudflare {
    interface Env {
      SESSIONS: SessionServiceBinding;
      TENANT: string;
    }
  }
  namespace App {
    interface Locals {
      session: Session | null;
    }
  }
}
