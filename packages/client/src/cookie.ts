// The session cookie: read it from a Cookie header, write it, clear it. Pure string work:
// parsing never throws and never builds an object keyed by attacker-chosen names
// (no prototype pollution, cookie CVE-2024-47764), it only looks for one name.

import type { SameSite } from "./types.js";

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

/** Only SP and HTAB surround a cookie's name and value (RFC 6265bis); nothing else is trimmed. */
function trimSpaceAndTab(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && (text[start] === " " || text[start] === "\t")) start++;
  while (end > start && (text[end - 1] === " " || text[end - 1] === "\t")) end--;
  return text.slice(start, end);
}

/**
 * The value of the one cookie called exactly `name`, or null: absent, not token-shaped, or sent
 * more than once. A name padded with any other character (U+00A0, U+2000, U+FEFF...) is another
 * cookie: browsers let a sibling subdomain or plain http set such a name without the `__Host-`
 * rules, so it must never be taken for the session cookie. Two cookies of the name mean one
 * was planted beside the real one, and which is which cannot be told: neither is used.
 */
export function readCookie(header: string | null, name: string): string | null {
  if (!header) return null;
  let found: string | null = null;
  let count = 0;
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq === -1 || trimSpaceAndTab(pair.slice(0, eq)) !== name) continue;
    if (++count > 1) return null;
    found = trimSpaceAndTab(pair.slice(eq + 1));
  }
  return found !== null && COOKIE_VALUE_PATTERN.test(found) ? found : null;
}

/** `Set-Cookie` for a session token: host-only, whole site, never readable by scripts. */
export function sessionCookie(name: string, token: string, sameSite: SameSite): string {
  if (!COOKIE_VALUE_PATTERN.test(token)) throw new TypeError("a cookie value must be token-shaped");
  return `${name}=${token}; Path=/; Secure; HttpOnly; SameSite=${sameSite}`;
}

/**
 * A session cookie's `Set-Cookie` (as `sessionCookie` writes it) in the parts a framework's
 * cookie API takes (SvelteKit's `cookies.set`, Next's), for the places that set no raw header.
 */
export function sessionCookieParts(setCookie: string): {
  name: string;
  value: string;
  options: { path: "/"; httpOnly: true; secure: true; sameSite: "lax" | "strict" };
} {
  const [pair = "", ...attributes] = setCookie.split("; ");
  const eq = pair.indexOf("=");
  const sameSite = attributes.includes("SameSite=Strict") ? "strict" : "lax";
  return {
    name: pair.slice(0, eq),
    value: pair.slice(eq + 1),
    options: { path: "/", httpOnly: true, secure: true, sameSite },
  };
}

/** `Set-Cookie` that makes the browser drop the session cookie now. */
export function clearedSessionCookie(name: string): string {
  return `${name}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;
}
