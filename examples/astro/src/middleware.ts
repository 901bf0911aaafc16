// The session plumbing of this app: every request's session on `Astro.locals.session`.
import { sessionMiddleware } from "@session-service/client/astro";
import { env } from "cloudflare:workers";

export const onRequest = sessionMiddleware({ sessions: env.SESSIONS, tenant: env.TENANT });
