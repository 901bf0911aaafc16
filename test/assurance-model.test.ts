// A property of session assurance, over random sequences of operations on the real service:
// what a session shows of its authentication rises only by a step-up (and never falls), and a
// requirement it met stops being met only by a re-authentication floor.

import { env } from "cloudflare:workers";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { Session, SessionServiceBinding, ValidateOptions } from "../packages/client/src/types";
import { createTenant } from "./helpers";

const sessions: SessionServiceBinding = env.SESSIONS;
const LEVELS = ["aal1", "aal2", "aal3"];
const METHODS = ["pwd", "otp", "hwk"];
/** Requirements that time alone does not change: whether each is met moves only by the operations. */
const REQUIREMENTS: ValidateOptions[] = [
  { minAcr: "aal2" },
  { minAcr: "aal3" },
  { amr: ["otp"] },
  { amr: ["hwk", "pwd"] },
  { maxAuthAgeSeconds: 86_400 },
];

type Op =
  | { kind: "validate" }
  | { kind: "rotate" }
  | { kind: "elevate"; acr?: string; amr?: string[]; authTimeAgoSeconds?: number }
  | { kind: "reauthenticate" }
  | { kind: "undoReauthenticate" };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.constant({ kind: "validate" as const }),
  fc.constant({ kind: "rotate" as const }),
  fc.record(
    {
      kind: fc.constant("elevate" as const),
      acr: fc.constantFrom(...LEVELS),
      amr: fc.subarray(METHODS, { minLength: 1 }),
      authTimeAgoSeconds: fc.integer({ min: 0, max: 120 }),
    },
    { requiredKeys: ["kind"] },
  ),
  fc.constant({ kind: "reauthenticate" as const }),
  fc.constant({ kind: "undoReauthenticate" as const }),
);

interface Shown {
  authTime: number;
  acr: number;
  amr: string[];
}

function shown(session: Session): Shown {
  return { authTime: Date.parse(session.authTime), acr: LEVELS.indexOf(session.acr), amr: session.amr };
}

describe("session assurance, as a model", () => {
  it("rises only by a step-up, never falls, and a met requirement fails again only after a re-authentication floor", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 12 }), async (ops) => {
        const tenant = await createTenant();
        const created = await sessions.createSession(tenant, {
          userId: "u",
          authTime: Math.floor(Date.now() / 1000) - 3600,
          amr: ["pwd"],
        });
        if (!created.ok) throw new Error(created.error.message);
        let token = created.token;
        let before = shown(created.session);
        const met = async () =>
          Promise.all(
            REQUIREMENTS.map(async (requirement) => (await sessions.validate(tenant, token, requirement)).ok),
          );
        let metBefore = await met();
        const floors: string[] = [];
        for (const step of ops) {
          let elevated = false;
          let floorRaised = false;
          if (step.kind === "rotate") {
            const rotated = await sessions.rotate(tenant, token);
            if (!rotated.ok) throw new Error(rotated.error.message);
            token = rotated.token;
          } else if (step.kind === "elevate") {
            const { kind: _kind, authTimeAgoSeconds, ...rest } = step;
            const request =
              authTimeAgoSeconds === undefined
                ? rest
                : { ...rest, authTime: Math.floor(Date.now() / 1000) - authTimeAgoSeconds };
            const raised = await sessions.elevate(tenant, token, request);
            if (raised.ok) {
              token = raised.token;
              elevated = true;
            } else expect(raised.error.code).toBe("cannot_lower_assurance");
          } else if (step.kind === "reauthenticate") {
            const done = await sessions.reauthenticateUser(tenant, "u");
            if (!done.ok) throw new Error(done.error.message);
            floors.push(done.reauthId);
            floorRaised = true;
          } else if (step.kind === "undoReauthenticate" && floors.length > 0) {
            expect((await sessions.undoKill(tenant, floors.pop()!)).ok).toBe(true);
          }
          const now = await sessions.validate(tenant, token);
          if (!now.ok) throw new Error(now.error.message); // no operation here logs anyone out
          const after = shown(now.session);
          if (elevated) {
            expect(after.acr).toBeGreaterThanOrEqual(before.acr);
            expect(after.authTime).toBeGreaterThanOrEqual(before.authTime);
            expect(after.amr).toEqual(expect.arrayContaining(before.amr));
          } else expect(after).toEqual(before);
          const metAfter = await met();
          metAfter.forEach((isMet, i) => {
            if (metBefore[i] && !isMet) expect(floorRaised, `requirement ${i} stopped being met`).toBe(true);
            if (!metBefore[i] && isMet)
              expect(elevated || step.kind === "undoReauthenticate", `requirement ${i} became met`).toBe(true);
          });
          before = after;
          metBefore = metAfter;
        }
      }),
      { numRuns: 12 },
    );
  });
});
