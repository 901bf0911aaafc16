// The Next.js adapter's middleware, as Next calls it: a state change from another site is 403
// before any page, action or route handler runs; anything else passes (undefined).
// (getSession and requireSession read Next's request scope: e2e/next.test.mjs runs them.)

import { describe, expect, it } from "vitest";
import { originMiddleware } from "../packages/client/src/next";

const APP = "https://app.example.com";

describe("originMiddleware (Next.js)", () => {
  it("refuses a cross-origin state change, and lets reads and same-origin or trusted ones through", async () => {
    const middleware = originMiddleware(["https://admin.example.com"]);
    const post = (headers: Record<string, string>) => new Request(`${APP}/logout`, { method: "POST", headers });
    const refused = middleware(post({ "Sec-Fetch-Site": "cross-site", Origin: "https://evil.example" }));
    expect(refused?.status).toBe(403);
    expect(await refused?.json()).toMatchObject({ error: { code: "origin_not_allowed" } });
    expect(middleware(post({ Origin: "https://other.example.com" }))?.status).toBe(403);
    expect(middleware(post({ "Sec-Fetch-Site": "same-origin", Origin: APP }))).toBeUndefined();
    expect(middleware(post({ Origin: "https://admin.example.com" }))).toBeUndefined();
    expect(middleware(new Request(`${APP}/`, { headers: { "Sec-Fetch-Site": "cross-site" } }))).toBeUndefined();
  });
});
