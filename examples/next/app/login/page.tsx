import { setSessionCookie } from "@session-service/client/next";
import { redirect } from "next/navigation";
import { checkPassword } from "../../../demo-users/passwords";
import { sessionOptions } from "../../sessions";

async function signIn(form: FormData) {
  "use server";
  const userId = await checkPassword(String(form.get("username") ?? ""), String(form.get("password") ?? ""));
  if (userId === null) redirect("/login?error=1");
  const created = await sessionOptions.sessions().createSession(sessionOptions.tenant, { userId });
  if (!created.ok) throw new Error(`Could not sign in: ${created.error.message}`);
  await setSessionCookie(created.setCookie);
  redirect("/");
}

export default async function Login({ searchParams }: { searchParams: Promise<{ error?: string }> }) {
  const { error } = await searchParams;
  return (
    <main id="login">
      <h1>Sign in</h1>
      {error && <p role="alert">Wrong username or password.</p>}
      <form action={signIn}>
        <label htmlFor="username">Username</label>
        <input id="username" name="username" autoComplete="username" required />
        <label htmlFor="password">Password</label>
        <input id="password" name="password" type="password" autoComplete="current-password" required />
        <button type="submit">Sign in</button>
      </form>
    </main>
  );
}
