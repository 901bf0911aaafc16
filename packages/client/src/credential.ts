// Where a session token is read from a request, by the same rules in the service and in the
// Workers that call it: `Authorization: Bearer <token>` when that header is present (and then
// only if spelled exactly so), else the session cookie (see cookie.ts). Never the query string.

import { DEFAULT_COOKIE_NAME, readCookie } from "./cookie.js";

/** The longest credential worth looking at; anything longer is simply wrong. */
const MAX_CREDENTIAL_CHARS = 1024;

/** The credential of `Authorization: Bearer <credential>`, or null for any other spelling. */
export function bearerCredential(request: Request): string | null {
  const header = request.headers.get("Authorization");
  if (header === null || !header.startsWith("Bearer ")) return null;
  const credential = header.slice("Bearer ".length);
  return /^[\x21-\x7e]+$/.test(credential) && credential.length <= MAX_CREDENTIAL_CHARS ? credential : null;
}

export interface SessionCredential {
  token: string | null;
  /** Cookie-carried tokens need the cross-origin check on state changes; bearer tokens do not. */
  via: "bearer" | "cookie";
}

/** The session token of a request, and how it came. */
export function sessionCredential(request: Request, cookieName: string = DEFAULT_COOKIE_NAME): SessionCredential {
  if (request.headers.has("Authorization")) return { token: bearerCredential(request), via: "bearer" };
  return { token: readCookie(request.headers.get("Cookie"), cookieName), via: "cookie" };
}
