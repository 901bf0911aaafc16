import { endSession } from "@session-service/client";
import type { RequestHandler } from "./$types";

export const POST: RequestHandler = async ({ request, platform }) => {
  const ended = await endSession(platform!.env.SESSIONS, platform!.env.TENANT, request);
  if (!ended.ok) return Response.json({ error: ended.error }, { status: 503 });
  return new Response(null, { status: 303, headers: { Location: "/login", "Set-Cookie": ended.setCookie } });
};
