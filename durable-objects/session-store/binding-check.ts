// Whether a use of a bound session's token brought what binding asks: the bound cookie naming
// the session's key. Read by every authentication of a token (sessions.ts).

import { fail, type Result } from "../../src/core/errors";
import type { SessionRecord } from "../../src/core/session";

/**
 * What a use of a token brings of device binding: the thumbprint its bound cookie names (the
 * front Worker checked the cookie's signature; null: none came), or `exempt` for what a stolen
 * token may do anyway (logging out ends access) and binding's own paths (they prove the key).
 */
export type BindingCheck = { thumbprint: string | null } | "exempt";

/**
 * The browser's requests sent while its registration was under way carry no bound cookie yet:
 * for this long after the binding, a request with none (never one naming another key) is taken
 * as the token alone was a moment before.
 */
const REGISTRATION_RACE_MS = 10_000;

const BINDING_REQUIRED = fail(
  "binding_required",
  "this session is bound to a device key: its bound cookie is missing or expired, and the browser refreshes it",
);

/** `binding_required` when the session is bound and the use brought no cookie naming its key; else null. */
export function bindingRefusal(record: SessionRecord, binding: BindingCheck, now: number): Result<never> | null {
  const bound = record.bindingThumbprint;
  if (bound === null || binding === "exempt" || binding.thumbprint === bound) return null;
  const registering =
    binding.thumbprint === null && record.boundAt !== null && now - record.boundAt < REGISTRATION_RACE_MS;
  return registering ? null : BINDING_REQUIRED;
}
