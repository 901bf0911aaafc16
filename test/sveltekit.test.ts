// The SvelteKit handle hook against the real service, called as SvelteKit calls it: an event
// with the request and `locals`, and `resolve` for the page. And the cookie helper for actions.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { sessionHandle, setSessionCookie } from "../packages/client/src/sveltekit";
import type { Session, SessionServiceBinding } from "../packages/client/src/types";
import { COOKIE_NAME, createSession, createTenant } from "./helpers";

const SESSIONS = env.SESSIONS as unknown as SessionServiceBinding;

describe("sessionHandle (SvelteKit)", () => {
  it("puts the live session on locals (null otherwise), finding the binding and tenant on the event", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant, { userId: "alice" });
    const handle = sessionHandle({ sessions: () => SESSIONS, tenant: () => tenant });
    const locals = {} as { session?: Session | null };
    const request = new Request("https://app.example.com/", { headers: { Cookie: `${COOKIE_NAME}=${issued.token}` } });
    const response = await handle({ event: { request, locals } as never, resolve: async () => new Response("page") });
    expect(locals.session?.userId).toBe("alice");
    expect(await response.text()).toBe("page");
    const anonymous = {} as { session?: Session | null };
    await handle({
      event: { request: new Request("https://app.example.com/"), locals: anonymous } as never,
      resolve: async () => new Response("page"),
    });
    expect(anonymous.session).toBeNull();
  });

  it("sets the service's cookie through SvelteKit's cookies, SameSite as the tenant says", async () => {
    const tenant = await createTenant({ sameSite: "Strict" });
    const issued = await createSession(tenant, { userId: "alice" });
    const set: unknown[] = [];
    setSessionCookie({ set: (...args: unknown[]) => set.push(args) } as never, issued.setCookie);
    expect(set).toEqual([[COOKIE_NAME, issued.token, { path: "/", httpOnly: true, secure: true, sameSite: "strict" }]]);
  });
});
