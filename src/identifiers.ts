// Shapes of the identifiers that appear in paths, tokens and bodies.
// Pure patterns and checks, shared by the router, token parsing and validators.

/** Tenant names: lower-case letters, digits and inner hyphens, 1 to 63 characters. */
export const TENANT_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function isTenantName(value: unknown): value is string {
  return typeof value === "string" && TENANT_PATTERN.test(value);
}

/** C0 and C1 control characters, DEL included: refused in user ids and user agents. */
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Characters that make one id look like another or reorder the text around it: bidirectional
 * controls (U+202A-U+202E, U+2066-U+2069), zero-width space and BOM (U+200B, U+FEFF), and the
 * line and paragraph separators (U+2028, U+2029). U+200D (zero-width joiner) stays allowed:
 * emoji sequences need it.
 */
export const DECEPTIVE_CHARACTERS = /[\u202a-\u202e\u2066-\u2069\u200b\ufeff\u2028\u2029]/;
