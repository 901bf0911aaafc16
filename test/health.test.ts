// GET /health: liveness for anyone (broken configuration is in test/security-review.test.ts, L3).

import { describe, expect, it } from "vitest";
import packageJson from "../package.json";
import { call } from "./helpers";

describe("GET /health", () => {
  it("answers ok with the version, to anyone", async () => {
    const response = await call("GET", "/health", { key: null });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true, version: packageJson.version });
  });
});
