// Durable Object failures as the front Worker meets them, injected through the one seam where
// it reaches a store (the SESSION_STORE binding): an overload is a 503 with Retry-After and is
// not retried; a retryable error is retried on a fresh stub for idempotent calls only.

import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import worker from "../src/worker/index.ts";
import { BASE, COOKIE_NAME, createSession, createTenant, errorOf } from "./helpers";

type Flags = { overloaded?: boolean; retryable?: boolean };

/** A binding whose stubs fail the first `failures` calls of `method` with an error carrying `flags`. */
function failingNamespace(method: string, flags: Flags, failures: number) {
  const counts = { calls: 0, stubs: 0 };
  const namespace = {
    idFromName: (name: string) => env.SESSION_STORE.idFromName(name),
    get: (id: DurableObjectId) => {
      counts.stubs += 1;
      const real = env.SESSION_STORE.get(id) as unknown as Record<string, (...args: unknown[]) => unknown>;
      return new Proxy(real, {
        get(target, property) {
          if (property !== method) return Reflect.get(target, property);
          return (...args: unknown[]) => {
            counts.calls += 1;
            if (counts.calls <= failures)
              return Promise.reject(Object.assign(new Error("injected store failure"), flags));
            return target[method]!(...args);
          };
        },
      });
    },
  } as unknown as Env["SESSION_STORE"];
  return { env: { ...env, SESSION_STORE: namespace } as Env, counts };
}

function fetchWith(testEnv: Env, path: string, init: RequestInit): Promise<Response> {
  return worker.fetch(new Request(`${BASE}${path}`, init), testEnv);
}

describe("store failures", () => {
  it("turns an overloaded store into 503 with Retry-After, without retrying", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const failing = failingNamespace("validateSession", { overloaded: true, retryable: true }, 1);
    const response = await fetchWith(failing.env, "/v1/session", {
      headers: { Cookie: `${COOKIE_NAME}=${issued.token}` },
    });
    expect(response.status).toBe(503);
    expect(response.headers.get("Retry-After")).toBe("1");
    expect(await errorOf(response)).toEqual({
      code: "overloaded",
      message: "the tenant's store is overloaded; retry after a moment",
    });
    expect(failing.counts.calls).toBe(1);
  });

  it("retries an idempotent read after a retryable error, on a fresh stub", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const failing = failingNamespace("validateSession", { retryable: true }, 2);
    const response = await fetchWith(failing.env, "/v1/session", {
      headers: { Cookie: `${COOKIE_NAME}=${issued.token}` },
    });
    expect(response.status).toBe(200);
    expect(failing.counts.calls).toBe(3);
    expect(failing.counts.stubs).toBe(3);
  });

  it("gives up after three attempts and answers a logged 500 without details", async () => {
    const tenant = await createTenant();
    const issued = await createSession(tenant);
    const failing = failingNamespace("validateSession", { retryable: true }, 10);
    const response = await fetchWith(failing.env, "/v1/session", {
      headers: { Cookie: `${COOKIE_NAME}=${issued.token}` },
    });
    expect(response.status).toBe(500);
    expect(await errorOf(response)).toEqual({ code: "internal_error", message: "internal error" });
    expect(failing.counts.calls).toBe(3);
  });

  it("never retries a write that may have committed", async () => {
    const tenant = await createTenant();
    const failing = failingNamespace("createSession", { retryable: true }, 1);
    const response = await fetchWith(failing.env, `/v1/tenants/${tenant}/sessions`, {
      method: "POST",
      headers: { Authorization: `Bearer ${env.ADMIN_API_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ userId: "u1" }),
    });
    expect(response.status).toBe(500);
    expect(failing.counts.calls).toBe(1);
  });
});
