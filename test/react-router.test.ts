// The React Router adapter against the real service: its SessionStorage's sessions are the
// service's (commit creates or rotates, destroy logs out), and requireSession answers as a
// loader needs (a redirect, a 403, a step-up) by throwing what React Router sends.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createServiceSessionStorage, requireSession } from "../packages/client/src/react-router";
import type { SessionServiceBinding } from "../packages/client/src/types";
import { COOKIE_NAME, createSession, createTenant } from "./helpers";

const SESSIONS = env.SESSIONS as unknown as SessionServiceBinding;
const APP = "https://app.example.com";

const jar = (setCookie: string) => setCookie.split(";")[0]!;

describe("createServiceSessionStorage", () => {
  it("signs in on commit, reads the session back, rotates on a later commit, and logs out on destroy", async () => {
    const tenant = await createTenant();
    const storage = createServiceSessionStorage({ sessions: SESSIONS, tenant });
    const fresh = await storage.getSession(null);
    expect(fresh.id).toBe("");
    await expect(storage.commitSession(fresh)).rejects.toThrow(/set userId/);
    fresh.set("userId", "alice");
    const signedIn = jar(await storage.commitSession(fresh));
    expect(signedIn).toMatch(new RegExp(`^${COOKIE_NAME}=v2\\.`));

    const read = await storage.getSession(signedIn);
    expect(read.get("userId")).toBe("alice");
    expect(read.id).toBe(read.get("session")?.id);
    const rotated = jar(await storage.commitSession(read));
    expect(rotated).not.toBe(signedIn);
    expect((await storage.getSession(signedIn)).id).toBe("");
    const again = await storage.getSession(rotated);
    expect(again.id).toBe(read.id);

    again.set("userId", "mallory");
    await expect(storage.commitSession(again)).rejects.toThrow(/set at sign-in/);
    const ended = await storage.destroySession(await storage.getSession(rotated));
    expect(ended).toBe(`${COOKIE_NAME}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`);
    expect((await storage.getSession(rotated)).id).toBe("");
  });

  it("takes no session of another tenant", async () => {
    const [tenant, other] = [await createTenant(), await createTenant()];
    const foreign = await createSession(other, { userId: "eve" });
    const storage = createServiceSessionStorage({ sessions: SESSIONS, tenant });
    expect((await storage.getSession(`${COOKIE_NAME}=${foreign.token}`)).id).toBe("");
  });
});

describe("requireSession", () => {
  it("gives the live session, and otherwise throws the redirect, the 403 or the step-up React Router sends", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant, { userId: "alice" });
    const options = { sessions: SESSIONS, tenant };
    const cookie = { Cookie: `${COOKIE_NAME}=${issued.token}` };
    expect(await requireSession(new Request(`${APP}/`, { headers: cookie }), options)).toMatchObject({
      userId: "alice",
    });

    const none = await requireSession(new Request(`${APP}/`), options).catch((thrown: Response) => thrown);
    expect(none).toBeInstanceOf(Response);
    expect((none as Response).status).toBe(302);
    expect((none as Response).headers.get("Location")).toBe("/login");

    const dead = await requireSession(new Request(`${APP}/`, { headers: { Cookie: `${COOKIE_NAME}=v2.x` } }), {
      ...options,
      loginPath: "/sign-in",
    }).catch((thrown: Response) => thrown);
    expect((dead as Response).headers.get("Location")).toBe("/sign-in");
    expect((dead as Response).headers.get("Set-Cookie")).toMatch(/Max-Age=0$/);

    const crossSite = await requireSession(
      new Request(`${APP}/`, { method: "POST", headers: { ...cookie, "Sec-Fetch-Site": "cross-site" } }),
      options,
    ).catch((thrown: Response) => thrown);
    expect((crossSite as Response).status).toBe(403);

    await SESSIONS.reauthenticateUser(tenant, "alice");
    const stepUp = await requireSession(
      new Request(`${APP}/account`, { headers: { ...cookie, "Sec-Fetch-Mode": "navigate" } }),
      { ...options, require: { maxAuthAgeSeconds: 300 }, reauthenticate: "/step-up" },
    ).catch((thrown: Response) => thrown);
    expect((stepUp as Response).status).toBe(303);
    expect((stepUp as Response).headers.get("Location")).toMatch(/^\/step-up\?return_to=%2Faccount/);
  });
});
