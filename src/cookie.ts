// The session cookie: read it from a Cookie header, write it, clear it. Pure string work:
// parsing never throws and never builds an object keyed by attacker-chosen names
// (no prototype pollution, cookie CVE-2024-47764), it only looks for one name.

export type SameSite = "Lax" | "Strict";

/** Cookie values we issue are tokens: this alphabet and nothing else (no quotes, no %-escapes). */
const COOKIE_VALUE_PATTERN = /^[A-Za-z0-9._-]+$/;
/** RFC 6265 token characters, for the configured cookie name. */
const COOKIE_NAME_PATTERN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Browsers drop cookies whose name plus value exceed this. */
export const MAX_COOKIE_BYTES = 4096;

export const DEFAULT_COOKIE_NAME = "__Host-session";

export function isCookieName(name: string): boolean {
  return COOKIE_NAME_PATTERN.test(name);
}

/**
 * The value of the first cookie called `name`, or null if absent or not token-shaped.
 * The first wins because browsers send the most specific (longest path) cookie first.
 */
export function readCookie(header: string | null, name: string): string | null {
  if (!header) return null;
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq === -1 || pair.slice(0, eq).trim() !== name) continue;
    const value = pair.slice(eq + 1).trim();
    return COOKIE_VALUE_PATTERN.test(value) ? value : null;
  }
  return null;
}

/** `Set-Cookie` for a session token: host-only, whole site, never readable by scripts. */
export function sessionCookie(name: string, token: string, sameSite: SameSite): string {
  if (!COOKIE_VALUE_PATTERN.test(token)) throw new TypeError("a cookie value must be token-shaped");
  return `${name}=${token}; Path=/; Secure; HttpOnly; SameSite=${sameSite}`;
}

/** `Set-Cookie` that makes the browser drop the session cookie now. */
export function clearedSessionCookie(name: string): string {
  return `${name}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;
}
