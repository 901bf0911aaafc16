import { redirect } from "@sveltejs/kit";
import type { PageServerLoad } from "./$types";

export const load: PageServerLoad = ({ locals }) => {
  if (locals.session === null) redirect(303, "/login");
  return { userId: locals.session.userId, sessionId: locals.session.id };
};
