// The step-up: the app's back end re-authenticated the user and says so. The session is raised
// (src/core/assurance.ts: never lowered, never an impersonation) and its token replaced, in one
// transaction with its audit event.

import { elevated, type ElevateRequest } from "../../src/core/assurance";
import { actorOf, type StoreCaller } from "../../src/core/auth";
import { ok } from "../../src/core/errors";
import { assuranceColumns, assuranceOf, publicSession, type SessionRecord, touched } from "../../src/core/session";
import { insertEvent } from "./audit-sql";
import { type Issued, SUPERSEDED_PER_SESSION, sessionForChange } from "./sessions";
import { writeSessionElevation } from "./sessions-sql";
import { insertSupersededSecret } from "./superseded-sql";
import { authorized, type Store } from "./tenant";

/**
 * A step-up reported by the app's back end (`caller`) for the session `id` and `oldSecretHash`
 * name: raised as `request` says, never lowered, and given the new secret (the old token fails
 * from this commit on: a change of privilege is where a planted session would profit).
 */
export function elevateSession(
  store: Store,
  caller: StoreCaller,
  id: string,
  oldSecretHash: ArrayBuffer,
  newSecretHash: ArrayBuffer,
  request: ElevateRequest,
  now: number,
  boundThumbprint: string | null = null,
): Issued {
  const allowed = authorized(store, caller, now);
  if (!allowed.ok) return allowed;
  // A back end's call: no browser origin to check.
  const found = sessionForChange(store, id, oldSecretHash, null, now, { thumbprint: boundThumbprint });
  if (!found.ok) return found;
  const { tenant, record } = found;
  const raised = elevated(assuranceOf(record), request, tenant.settings.acrValues, now);
  if (!raised.ok) return raised;
  const next: SessionRecord = { ...touched(record, tenant.settings, now), ...assuranceColumns(raised.assurance) };
  writeSessionElevation(store.sql, next, newSecretHash);
  insertSupersededSecret(store.sql, record, oldSecretHash, SUPERSEDED_PER_SESSION);
  const session = publicSession(tenant.name, next, tenant.rules);
  insertEvent(
    store.sql,
    { type: "elevated", actor: actorOf(caller), sessionId: id, userId: record.userId, acr: session.acr },
    now,
  );
  return ok({ session, sameSite: tenant.settings.sameSite });
}
