// Shapes of the identifiers that appear in paths, tokens and bodies.
// Pure patterns and checks, shared by the router, token parsing and validators.

import { ID_PATTERN } from "./placed-id";

/** Tenant names: lower-case letters, digits and inner hyphens, 1 to 63 characters. */
export const TENANT_PATTERN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

export function isTenantName(value: unknown): value is string {
  return typeof value === "string" && TENANT_PATTERN.test(value);
}

/**
 * Kill ids, shared by every store a kill reaches: 128 random bits (a kill its tenant's home
 * coordinates, and a platform kill), or an id naming the store that coordinates it (placed-id.ts).
 */
export function isKillId(value: unknown): value is string {
  return typeof value === "string" && ID_PATTERN.test(value);
}

/** C0 and C1 control characters, DEL included: refused in user ids and user agents. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this finds
export const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Characters that make one id look like another or reorder the text around it: every
 * bidirectional control (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), and the
 * invisible ones: soft hyphen, combining grapheme joiner, Hangul and Khmer fillers, the
 * Mongolian vowel separator, zero-width space, word joiner and invisible operators, deprecated
 * format characters, BOM, interlinear annotation marks, the language tag, and the line and
 * paragraph separators. Invisible characters that real text needs stay allowed: U+200C and
 * U+200D (joiners, in Persian, Indic scripts and emoji), variation selectors (emoji
 * presentation) and tag characters (subdivision flags).
 */
export const DECEPTIVE_CHARACTERS =
  // biome-ignore lint/suspicious/noMisleadingCharacterClass: each code point stands alone here, joining nothing
  /[\p{Bidi_Control}\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180e\u200b\u2028\u2029\u2060-\u2064\u206a-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb\u{e0001}]/u;
