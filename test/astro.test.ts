// The Astro middleware against the real service, called as Astro calls it: a context with the
// request and `locals`, and `next` for the page.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sessionMiddleware } from "../packages/client/src/astro";
import type { Session, SessionServiceBinding } from "../packages/client/src/types";
import { COOKIE_NAME, createSession, createTenant } from "./helpers";

const SESSIONS = env.SESSIONS as unknown as SessionServiceBinding;
const CLEARED = `${COOKIE_NAME}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;

async function run(tenant: string, request: Request, page: () => Response = () => new Response("page")) {
  const locals = {} as { session?: Session | null };
  const middleware = sessionMiddleware({ sessions: SESSIONS, tenant });
  const response = await middleware({ request, locals } as never, async () => page());
  return { response: response as Response, locals };
}

describe("sessionMiddleware (Astro)", () => {
  it("puts the live session on locals, null for none or another tenant's, and clears a dead cookie", async () => {
    const [tenant, other] = [await createTenant(), await createTenant()];
    const mine = await createSession(tenant, { userId: "alice" });
    const theirs = await createSession(other, { userId: "eve" });
    const cookie = (token: string) => ({ Cookie: `${COOKIE_NAME}=${token}` });

    const live = await run(tenant, new Request("https://app.example.com/", { headers: cookie(mine.token) }));
    expect(live.locals.session?.userId).toBe("alice");
    expect(live.response.headers.get("Set-Cookie")).toBeNull();

    const none = await run(tenant, new Request("https://app.example.com/"));
    expect(none.locals.session).toBeNull();
    expect(none.response.headers.get("Set-Cookie")).toBeNull();

    const foreign = await run(tenant, new Request("https://app.example.com/", { headers: cookie(theirs.token) }));
    expect(foreign.locals.session).toBeNull();
    expect(foreign.response.headers.get("Set-Cookie")).toBe(CLEARED);

    // A sign-in over a dead cookie keeps the cookie it sets.
    const signIn = await run(
      tenant,
      new Request("https://app.example.com/login", {
        method: "POST",
        headers: { ...cookie(theirs.token), "Sec-Fetch-Site": "same-origin" },
      }),
      () => new Response(null, { status: 303, headers: { "Set-Cookie": mine.setCookie } }),
    );
    expect(signIn.response.headers.getSetCookie()).toEqual([mine.setCookie]);
  });

  it("refuses a cross-site state change before the page runs", async () => {
    const tenant = await createTenant();
    let ran = false;
    const { response } = await run(
      tenant,
      new Request("https://app.example.com/logout", { method: "POST", headers: { "Sec-Fetch-Site": "cross-site" } }),
      () => {
        ran = true;
        return new Response("page");
      },
    );
    expect(response.status).toBe(403);
    expect(ran).toBe(false);
  });
});
