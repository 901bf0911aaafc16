import { requireSession } from "@session-service/client/next";
import { sessionOptions } from "../sessions";
import { LiveSession } from "./live-session";

export const dynamic = "force-dynamic";

export default async function Home() {
  const session = await requireSession(sessionOptions);
  return (
    <main id="dashboard">
      <h1>Dashboard</h1>
      <p>
        Signed in as <strong>{session.userId}</strong> (session <code>{session.id}</code>).
      </p>
      <form method="post" action="/logout-others">
        <button type="submit">Log out my other devices</button>
      </form>
      <form method="post" action="/logout">
        <button type="submit">Log out</button>
      </form>
      <LiveSession />
    </main>
  );
}
