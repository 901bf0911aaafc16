import { Form, redirect } from "react-router";
import { checkPassword } from "../../../demo-users/passwords";
import { storage } from "../sessions.server";
import type { Route } from "./+types/login";

export async function action({ request }: Route.ActionArgs) {
  const form = await request.formData();
  const userId = await checkPassword(String(form.get("username") ?? ""), String(form.get("password") ?? ""));
  if (userId === null) return { error: "Wrong username or password." };
  const session = await storage.getSession();
  session.set("userId", userId);
  return redirect("/", { headers: { "Set-Cookie": await storage.commitSession(session) } });
}

export default function Login({ actionData }: Route.ComponentProps) {
  return (
    <main id="login">
      <h1>Sign in</h1>
      {actionData?.error && <p role="alert">{actionData.error}</p>}
      <Form method="post">
        <label htmlFor="username">Username</label>
        <input id="username" name="username" autoComplete="username" required />
        <label htmlFor="password">Password</label>
        <input id="password" name="password" type="password" autoComplete="current-password" required />
        <button type="submit">Sign in</button>
      </Form>
    </main>
  );
}
