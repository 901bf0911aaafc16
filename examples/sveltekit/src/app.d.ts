// The bindings, typed (`wrangler types` cannot see the service's entrypoint), and the session
// the handle hook puts on `event.locals`.
import type { Session, SessionServiceBinding } from "@session-service/client";

declare global {
  namespace App {
    interface Locals {
      session: Session | null;
    }
    interface Platform {
      env: { SESSIONS: SessionServiceBinding; TENANT: string };
    }
  }
}
