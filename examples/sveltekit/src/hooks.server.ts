// The session plumbing of this app: every request's session on `event.locals.session`.
import { sessionHandle } from "@session-service/client/sveltekit";

export const handle = sessionHandle({
  sessions: (event) => event.platform!.env.SESSIONS,
  tenant: (event) => event.platform!.env.TENANT,
});
