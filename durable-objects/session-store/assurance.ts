// Session assurance on one store: whether a live session meets what a validation requires.
// src/core/assurance.ts decides; this store knows the tenant's levels and re-authentication
// floors. The step-up that raises a session is elevation.ts.

import { resolvedRequirement, shortfall, stepUpRequired, type ValidateOptions } from "../../src/core/assurance";
import { ok, type Result } from "../../src/core/errors";
import { assuranceOf, type SessionRecord } from "../../src/core/session";
import { userReauthFloor } from "./reauth-sql";
import type { Store, Tenant } from "./tenant";

/**
 * Whether the session meets `requirement`; `step_up_required` with what it lacks, if not. A
 * re-authentication floor (reauth-sql.ts) is read only here: a validation without a
 * requirement never asks, so "prove it again" logs nobody out.
 */
export function meetsRequirement(
  store: Store,
  tenant: Tenant,
  record: SessionRecord,
  requirement: ValidateOptions,
  now: number,
): Result {
  const { acrValues, privilegedRequirement } = tenant.settings;
  const resolved = resolvedRequirement(requirement, privilegedRequirement, acrValues);
  if (!resolved.ok) return resolved;
  const floor = tenant.userReauthFloors
    ? Math.max(tenant.reauthFloor, userReauthFloor(store.sql, record.userId))
    : tenant.reauthFloor;
  const found = shortfall(assuranceOf(record), resolved.requirement, acrValues, floor, now);
  if (!found.ok) return found;
  return found.required === null ? ok({}) : stepUpRequired(found.required);
}
