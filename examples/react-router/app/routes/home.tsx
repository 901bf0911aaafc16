import { useSessionWatch } from "@session-service/client/react-router";
import { Form } from "react-router";
import { requireSession } from "../sessions.server";
import type { Route } from "./+types/home";

export async function loader({ request }: Route.LoaderArgs) {
  const session = await requireSession(request);
  return { userId: session.userId, sessionId: session.id };
}

export default function Home({ loaderData }: Route.ComponentProps) {
  useSessionWatch({ redirectTo: "/login" });
  return (
    <main id="dashboard">
      <h1>Dashboard</h1>
      <p>
        Signed in as <strong>{loaderData.userId}</strong> (session <code>{loaderData.sessionId}</code>).
      </p>
      <Form method="post" action="/logout-others">
        <button type="submit">Log out my other devices</button>
      </Form>
      <Form method="post" action="/logout">
        <button type="submit">Log out</button>
      </Form>
    </main>
  );
}
