// Session assurance on one store: whether a live session meets what a validation requires,
// and whether its authentication may be vouched for. src/core/assurance.ts decides; this store
// knows the tenant's levels and re-authentication floors. The step-up is elevation.ts.

import {
  isAssured,
  resolvedRequirement,
  shortfall,
  stepUpRequired,
  type ValidateOptions,
} from "../../src/core/assurance";
import { ok, type Result } from "../../src/core/errors";
import { assuranceOf, type SessionRecord } from "../../src/core/session";
import { userReauthFloor } from "./reauth-sql";
import type { Store, Tenant } from "./tenant";

/** A validation's requirement as the tenant reads it (`privileged`, its levels): checked before the session is used. */
export function tenantRequirement(
  tenant: Tenant,
  requirement: ValidateOptions,
): Result<{ requirement: ValidateOptions }> {
  const { acrValues, privilegedRequirement } = tenant.settings;
  return resolvedRequirement(requirement, privilegedRequirement, acrValues);
}

/**
 * The re-authentication floor in force for a user's sessions. The tenant's comes with the
 * tenant row; a user's is read only while some user has one.
 */
function reauthFloorFor(store: Store, tenant: Tenant, userId: string): number {
  return tenant.userReauthFloors
    ? Math.max(tenant.reauthFloor, userReauthFloor(store.sql, userId))
    : tenant.reauthFloor;
}

/** Whether the session meets a requirement (already `tenantRequirement`'s); `step_up_required` with what it lacks, if not. */
export function meetsRequirement(
  store: Store,
  tenant: Tenant,
  record: SessionRecord,
  requirement: ValidateOptions,
  now: number,
): Result {
  const floor = reauthFloorFor(store, tenant, record.userId);
  const found = shortfall(assuranceOf(record), requirement, tenant.settings.acrValues, floor, now);
  if (!found.ok) return found;
  return found.required === null ? ok({}) : stepUpRequired(found.required);
}

/**
 * Whether what the session says of its authentication may be vouched for to another service
 * (a JWT's auth_time, amr, acr): not for an impersonation, nor below a re-authentication floor.
 */
export function assured(store: Store, tenant: Tenant, record: SessionRecord): boolean {
  return isAssured(assuranceOf(record), reauthFloorFor(store, tenant, record.userId));
}
