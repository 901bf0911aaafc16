import { describe, expect, it } from "vitest";
import { call, createSession, createTenant, withToken } from "./helpers";

describe("smoke", () => {
  it("creates a tenant and a session and validates it", async () => {
    const health = await call("GET", "/health", { key: null });
    expect(health.status).toBe(200);
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const response = await call("GET", "/v1/session", withToken(issued.token));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ session: { id: issued.session.id } });
  });
});
