// Cross-site request protection for cookie-authenticated state changes, after Go's
// http.CrossOriginProtection: trust Sec-Fetch-Site when the browser sends it, else compare
// Origin with the request's own origin; a request with neither comes from no browser.
// Pure: the tenant's allowed origins are checked by its store, with the rest of the operation.

export type CrossOriginVerdict =
  /** Same origin, or not a browser: no tenant check needed. */
  | { allowed: true; origin: null }
  /** Another origin: allowed only if the tenant lists it. */
  | { allowed: true; origin: string }
  /** A cross-site request that names no origin to check. */
  | { allowed: false };

export function crossOriginVerdict(request: Request): CrossOriginVerdict {
  const fetchSite = request.headers.get("Sec-Fetch-Site");
  if (fetchSite === "same-origin" || fetchSite === "none") return { allowed: true, origin: null };
  const origin = request.headers.get("Origin");
  if (origin === null) return fetchSite === null ? { allowed: true, origin: null } : { allowed: false };
  if (origin === new URL(request.url).origin) return { allowed: true, origin: null };
  return { allowed: true, origin };
}
