import { setSessionCookie } from "@session-service/client/sveltekit";
import { fail, redirect } from "@sveltejs/kit";
import { checkPassword } from "../../../../demo-users/passwords";
import type { Actions } from "./$types";

export const actions: Actions = {
  default: async ({ request, cookies, platform }) => {
    const form = await request.formData();
    const userId = await checkPassword(String(form.get("username") ?? ""), String(form.get("password") ?? ""));
    if (userId === null) return fail(401, { error: "Wrong username or password." });
    const { SESSIONS, TENANT } = platform!.env;
    const created = await SESSIONS.createSession(TENANT, { userId });
    if (!created.ok) return fail(503, { error: `Could not sign in: ${created.error.message}` });
    setSessionCookie(cookies, created.setCookie);
    redirect(303, "/");
  },
};
