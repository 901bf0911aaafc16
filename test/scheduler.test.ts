// The one alarm of a store (durable-objects/session-store/scheduler.ts): whatever a sequence of
// changes, the alarm is never later than the earliest work any capability has by what storage
// says, and after a run it is armed again for the earliest of them (the purge's coalescing aside).

import { runInDurableObject } from "cloudflare:test";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SessionStore } from "../durable-objects/session-store/session-store";
import { PURGE_COALESCE_MS } from "../durable-objects/session-store/purge";
import { dueFromStorage } from "../durable-objects/session-store/upkeep";
import { storeOf } from "../durable-objects/session-store/tenant";
import { hashSecret, newSecret } from "../src/core/token";
import { createTenant, storeStub, unplacedId } from "./helpers";

const ADMIN = { kind: "admin" } as const;
const USERS = ["ann", "bob", "cyd"];

const op = fc.oneof(
  fc.record({
    op: fc.constant("create" as const),
    user: fc.constantFrom(...USERS),
    ttl: fc.option(fc.integer({ min: 120, max: 7200 }), { nil: undefined }),
  }),
  fc.record({ op: fc.constant("logout" as const), pick: fc.nat() }),
  fc.record({ op: fc.constant("killUser" as const), user: fc.constantFrom(...USERS) }),
  fc.record({ op: fc.constant("killOne" as const), pick: fc.nat() }),
  fc.record({ op: fc.constant("killTenant" as const) }),
  fc.record({ op: fc.constant("undo" as const), pick: fc.nat() }),
  fc.record({
    op: fc.constant("settings" as const),
    idle: fc.integer({ min: 600, max: 86_400 }),
    window: fc.constantFrom(0, 60, 3600),
  }),
);

/**
 * The alarm as storage has it once no run is under way: a run due now may start by itself
 * between two steps, and while it runs the alarm reads as unset. Waits up to a second for one.
 */
async function alarmOnceSettled(storage: DurableObjectStorage): Promise<number | null> {
  for (let waited = 0; ; waited += 20) {
    const armed = await storage.getAlarm();
    if (armed !== null || waited >= 1000) return armed;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** The earliest time storage says any capability has work, or null. */
function earliestDue(storage: DurableObjectStorage, now: number): number | null {
  const store = storeOf(storage.sql);
  const host = { ctx: { storage }, store: () => store } as unknown as Parameters<typeof dueFromStorage>[0];
  const times = dueFromStorage(host, now, now).flatMap(([, at]) => (at === null ? [] : [at]));
  return times.length === 0 ? null : Math.min(...times);
}

describe("one scheduler", () => {
  it("keeps the alarm no later than the earliest work of any capability, through any sequence of changes", {
    timeout: 120_000,
  }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 14 }), async (ops) => {
        const tenant = await createTenant({
          idleTimeoutSeconds: 86_400,
          absoluteTimeoutSeconds: 86_400,
          undoWindowSeconds: 3600,
        });
        await runInDurableObject(storeStub(tenant), async (instance: SessionStore, state) => {
          const sessions: { id: string; secretHash: ArrayBuffer }[] = [];
          const kills: string[] = [];
          for (const step of ops) {
            if (step.op === "create") {
              const id = unplacedId();
              const secretHash = hashSecret(newSecret());
              const input = {
                userId: step.user,
                data: "{}",
                ip: null,
                userAgent: null,
                assurance: {},
                ...(step.ttl === undefined ? {} : { ttlSeconds: step.ttl }),
              };
              if ((await instance.createSession(ADMIN, id, secretHash, input, 1)).ok) sessions.push({ id, secretHash });
            } else if (step.op === "logout" && sessions.length > 0) {
              const session = sessions[step.pick % sessions.length]!;
              instance.logout(session.id, session.secretHash, null);
            } else if (
              step.op === "killUser" ||
              step.op === "killTenant" ||
              (step.op === "killOne" && sessions.length > 0)
            ) {
              const killId = crypto.randomUUID();
              const request =
                step.op === "killUser"
                  ? { kind: "user" as const, userId: step.user }
                  : step.op === "killTenant"
                    ? { kind: "tenant" as const }
                    : { kind: "one" as const, sessionId: sessions[step.pick % sessions.length]!.id };
              if ((await instance.kill(ADMIN, killId, request)).ok) kills.push(killId);
            } else if (step.op === "undo" && kills.length > 0) {
              await instance.undo(ADMIN, kills[step.pick % kills.length]!, false);
            } else if (step.op === "settings") {
              await instance.putTenant(
                tenant,
                { idleTimeoutSeconds: step.idle, absoluteTimeoutSeconds: 86_400, undoWindowSeconds: step.window },
                "admin",
              );
            }
            // Read together: no run can start between the alarm's read and storage's (synchronous).
            const armed = await alarmOnceSettled(state.storage);
            const due = earliestDue(state.storage, Date.now());
            if (due !== null) {
              expect(armed, `after ${step.op}`).not.toBeNull();
              // Earlier than the work, or a run since (which re-armed from storage, the purge coalesced).
              expect(armed!, `after ${step.op}`).toBeLessThanOrEqual(Math.max(due, Date.now() + PURGE_COALESCE_MS));
            }
          }
          // A run arms again for the earliest work left (the purge at least a while away).
          await instance.alarm();
          const now = Date.now();
          const due = earliestDue(state.storage, now);
          const armed = await state.storage.getAlarm();
          if (due === null) expect(armed === null || armed >= now).toBe(true);
          else expect(armed!).toBeLessThanOrEqual(Math.max(due, now + PURGE_COALESCE_MS));
        });
      }),
      { numRuns: 25 },
    );
  });
});
