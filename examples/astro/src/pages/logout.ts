import { endSession } from "@session-service/client";
import type { APIRoute } from "astro";
import { env } from "cloudflare:workers";

export const POST: APIRoute = async ({ request }) => {
  const ended = await endSession(env.SESSIONS, env.TENANT, request);
  if (!ended.ok) return Response.json({ error: ended.error }, { status: 503 });
  return new Response(null, { status: 303, headers: { Location: "/login", "Set-Cookie": ended.setCookie } });
};
