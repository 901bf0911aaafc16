import { endOtherSessions } from "@session-service/client";
import { env } from "cloudflare:workers";
import { redirect } from "react-router";
import { requireSession } from "../sessions.server";
import type { Route } from "./+types/logout-others";

export async function action({ request }: Route.ActionArgs) {
  await requireSession(request);
  const ended = await endOtherSessions(env.SESSIONS, env.TENANT, request);
  if (!ended.ok) throw Response.json({ error: ended.error }, { status: 503 });
  return redirect("/");
}
