import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_KEY, BASE, freshTenantName } from "./helpers";
import { killRace } from "./support/kill-race";

describe("kill-user under concurrent validates", () => {
  it("lets no validate sent after the kill answered succeed, with 10,000 validates in flight", { timeout: 120_000 }, async () => {
    const report = await killRace((path, init) => exports.default.fetch(new Request(`${BASE}${path}`, init)), {
      tenant: freshTenantName("race"),
      adminKey: ADMIN_KEY,
      validates: 10_000,
      maxInFlight: 10_000,
    });
    console.log("kill race (in-process):", JSON.stringify(report));
    expect(report.revoked).toBe(20);
    expect(report.sentAfterKillAnswered.ok).toBe(0);
    expect(report.sentAfterKillAnswered.unauthorized).toBeGreaterThanOrEqual(100);
    expect(report.sentBeforeKillAnswered.ok).toBeGreaterThan(0); // the race really overlapped live sessions
    expect(report.sentBeforeKillAnswered.other + report.sentAfterKillAnswered.other).toBe(0);
  });
});
