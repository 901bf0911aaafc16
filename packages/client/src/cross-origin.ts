// Cross-site request protection for cookie-authenticated state changes, after Go's
// http.CrossOriginProtection: trust Sec-Fetch-Site when the browser sends it, else compare
// Origin with the request's own origin; a request with neither comes from no browser.
// One rule is stricter than Go's: see `crossOriginVerdict`.
// Pure: the tenant's allowed origins are checked by its store, with the rest of the operation.

export type CrossOriginVerdict =
  /** Same origin, or not a browser: no tenant check needed. */
  | { allowed: true; origin: null }
  /** Another origin of the same site (or a browser too old to say): allowed only if the tenant lists it. */
  | { allowed: true; origin: string }
  /** Cross-site, or a cross-origin request that names no origin to check. */
  | { allowed: false };

/**
 * One rule is stricter than Go's: `Sec-Fetch-Site: cross-site` is refused whatever Origin
 * says (Go lets a trusted origin through; a cross-site page has no business changing a
 * session, and SameSite cookies would not be sent with it anyway).
 */
export function crossOriginVerdict(request: Request): CrossOriginVerdict {
  const fetchSite = request.headers.get("Sec-Fetch-Site");
  if (fetchSite === "same-origin" || fetchSite === "none") return { allowed: true, origin: null };
  if (fetchSite === "cross-site") return { allowed: false };
  const origin = request.headers.get("Origin");
  if (fetchSite !== null) return origin === null ? { allowed: false } : { allowed: true, origin };
  if (origin === null) return { allowed: true, origin: null };
  if (origin === new URL(request.url).origin) return { allowed: true, origin: null };
  return { allowed: true, origin };
}

/** The answer to a cross-origin state change refused: 403 `origin_not_allowed`. */
export function originRefused(): Response {
  return Response.json(
    { error: { code: "origin_not_allowed", message: "cross-origin requests may not change a cookie session" } },
    { status: 403 },
  );
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/** For a framework's middleware: the 403 a state change (not GET, HEAD, OPTIONS) from an origin not allowed gets, or null. */
export function crossOriginRefusal(request: Request, trustedOrigins: readonly string[] = []): Response | null {
  return SAFE_METHODS.has(request.method) || crossOriginAllowed(request, trustedOrigins) ? null : originRefused();
}

/**
 * Whether a consumer Worker should take a state change (or a live socket) carried by its
 * session cookie: same origin, not a browser, or an origin of the same site listed in
 * `trustedOrigins`. Cross-site is always refused.
 */
export function crossOriginAllowed(request: Request, trustedOrigins: readonly string[] = []): boolean {
  const verdict = crossOriginVerdict(request);
  return verdict.allowed && (verdict.origin === null || trustedOrigins.includes(verdict.origin));
}
