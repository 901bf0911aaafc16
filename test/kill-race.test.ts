import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { ADMIN_KEY, BASE, freshTenantName } from "./helpers";
import { killRace } from "./support/kill-race";

describe("kills under concurrent validates", () => {
  it("lets no validate sent after the kill answered succeed, with 10,000 validates in flight", {
    timeout: 120_000,
  }, async () => {
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

  it("lets no validate sent after a kill of a 16-shard tenant answered succeed, with 10,000 validates in flight", {
    timeout: 120_000,
  }, async () => {
    const report = await killRace((path, init) => exports.default.fetch(new Request(`${BASE}${path}`, init)), {
      tenant: freshTenantName("race16"),
      adminKey: ADMIN_KEY,
      sessions: 64,
      validates: 10_000,
      maxInFlight: 10_000,
      shards: 16,
      kill: "tenant",
    });
    console.log("kill race, 16 shards (in-process):", JSON.stringify(report));
    expect(report.revoked).toBe(64);
    expect(report.sentAfterKillAnswered.ok).toBe(0);
    expect(report.sentAfterKillAnswered.unauthorized).toBeGreaterThanOrEqual(100);
    expect(report.sentBeforeKillAnswered.ok).toBeGreaterThan(0);
    expect(report.sentBeforeKillAnswered.other + report.sentAfterKillAnswered.other).toBe(0);
  });
});
