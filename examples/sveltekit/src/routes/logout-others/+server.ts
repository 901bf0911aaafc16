import { endOtherSessions } from "@session-service/client";
import { redirect } from "@sveltejs/kit";
import type { RequestHandler } from "./$types";

export const POST: RequestHandler = async ({ request, locals, platform }) => {
  if (locals.session === null) redirect(303, "/login");
  const ended = await endOtherSessions(platform!.env.SESSIONS, platform!.env.TENANT, request);
  if (!ended.ok) return Response.json({ error: ended.error }, { status: 503 });
  redirect(303, "/");
};
