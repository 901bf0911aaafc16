import { endSession } from "@session-service/client";
import { sessionOptions } from "../../sessions";

export async function POST(request: Request) {
  const ended = await endSession(sessionOptions.sessions(), sessionOptions.tenant, request);
  if (!ended.ok) return Response.json({ error: ended.error }, { status: 503 });
  return new Response(null, { status: 303, headers: { Location: "/login", "Set-Cookie": ended.setCookie } });
}
