import { endOtherSessions } from "@session-service/client";
import { sessionOptions } from "../../sessions";

export async function POST(request: Request) {
  const ended = await endOtherSessions(sessionOptions.sessions(), sessionOptions.tenant, request);
  if (!ended.ok && ended.error.code !== "invalid_token") return Response.json({ error: ended.error }, { status: 503 });
  return new Response(null, { status: 303, headers: { Location: ended.ok ? "/" : "/login" } });
}
