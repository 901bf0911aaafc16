// The session plumbing of this app, all of it: the service's sessions as React Router's
// SessionStorage, and what a loader asks of a request.
import { env } from "cloudflare:workers";
import { createServiceSessionStorage, requireSession as require } from "@session-service/client/react-router";

const options = { sessions: env.SESSIONS, tenant: env.TENANT };
export const storage = createServiceSessionStorage(options);
export const requireSession = (request: Request) => require(request, options);
