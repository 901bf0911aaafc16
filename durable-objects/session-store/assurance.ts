// Session assurance on one store: whether a live session meets what a validation requires.
// src/core/assurance.ts decides; this store knows the tenant's levels. The step-up that raises
// a session is elevation.ts.

import { shortfall, stepUpRequired, type ValidateOptions } from "../../src/core/assurance";
import { ok, type Result } from "../../src/core/errors";
import { assuranceOf, type SessionRecord } from "../../src/core/session";
import type { Store, Tenant } from "./tenant";

/** Whether the session meets `requirement`; `step_up_required` with what it lacks, if not. */
export function meetsRequirement(
  _store: Store,
  tenant: Tenant,
  record: SessionRecord,
  requirement: ValidateOptions,
  now: number,
): Result {
  const found = shortfall(assuranceOf(record), requirement, tenant.settings.acrValues, 0, now);
  if (!found.ok) return found;
  return found.required === null ? ok({}) : stepUpRequired(found.required);
}
