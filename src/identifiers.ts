// Shapes of the identifiers that appear in paths, tokens and bodies.
// Pure patterns and checks, shared by the router, token parsing and validators.

/** SPEC: lower-case letters, digits and inner hyphens, 1 to 63 characters. */
export const TENANT_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function isTenantName(value: unknown): value is string {
  return typeof value === "string" && TENANT_PATTERN.test(value);
}

/** C0 and C1 control characters, DEL included: refused in user ids and user agents. */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;
