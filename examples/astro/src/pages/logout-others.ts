import { endOtherSessions } from "@session-service/client";
import type { APIRoute } from "astro";
import { env } from "cloudflare:workers";

export const POST: APIRoute = async ({ request, locals, redirect }) => {
  if (locals.session === null) return redirect("/login", 303);
  const ended = await endOtherSessions(env.SESSIONS, env.TENANT, request);
  if (!ended.ok) return Response.json({ error: ended.error }, { status: 503 });
  return redirect("/", 303);
};
