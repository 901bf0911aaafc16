// What a consumer answers when a live session falls short of a requirement (step_up_required):
// a browser's page load is sent to the app's re-authentication page, anything else gets RFC
// 9470's challenge (OAuth 2.0 Step-Up Authentication Challenge), as the service itself answers.

import type { ApiError, AssuranceRequirement, ValidateOptions } from "./types.js";

/**
 * The requirement among a helper's options: only the fields given. One that asks nothing is a
 * programming error (a misspelt option would otherwise let every live session through).
 */
export function requirementOf({ maxAuthAgeSeconds, minAcr, amr, privileged }: ValidateOptions): ValidateOptions {
  const requirement: ValidateOptions = {
    ...(maxAuthAgeSeconds !== undefined && { maxAuthAgeSeconds }),
    ...(minAcr !== undefined && { minAcr }),
    ...(amr !== undefined && { amr }),
    ...(privileged === true && { privileged: true }),
  };
  if (Object.keys(requirement).length === 0)
    throw new Error("requireAssurance: give maxAuthAgeSeconds, minAcr, amr or privileged: true");
  return requirement;
}

/**
 * RFC 9470, section 3: `Bearer error="insufficient_user_authentication", error_description="...",
 * max_age=N, acr_values="V"`, each parameter only where it applies. The description is kept to
 * what a quoted-string may hold.
 */
export function stepUpChallenge(required: AssuranceRequirement, description: string): string {
  const safe = description.replace(/[^\x20\x21\x23-\x5b\x5d-\x7e]/g, "");
  const parts = ['Bearer error="insufficient_user_authentication"', `error_description="${safe}"`];
  if (required.maxAuthAgeSeconds !== undefined) parts.push(`max_age=${required.maxAuthAgeSeconds}`);
  if (required.acr !== undefined) parts.push(`acr_values="${required.acr}"`);
  return parts.join(", ");
}

/** Whether the request is a page the browser navigates to (not a fetch or an API call). */
function isNavigation(request: Request): boolean {
  const mode = request.headers.get("Sec-Fetch-Mode");
  if (mode !== null) return mode === "navigate";
  return request.method === "GET" && (request.headers.get("Accept") ?? "").includes("text/html");
}

/**
 * The answer to a `step_up_required` failure. With `reauthenticate` (a path of this app), a
 * page load is redirected there (303) with `return_to` (this path and query) and what is
 * required (`max_age`, `acr_values`), for the page to ask the user to prove it again and then
 * call `elevate`. Anything else: 401 with the error as JSON and the RFC 9470 challenge.
 */
export function stepUpResponse(request: Request, error: ApiError, reauthenticate?: string): Response {
  const required = error.required ?? {};
  if (reauthenticate !== undefined && isNavigation(request)) {
    const here = new URL(request.url);
    const target = new URL(reauthenticate, here);
    target.searchParams.set("return_to", here.pathname + here.search);
    if (required.maxAuthAgeSeconds !== undefined)
      target.searchParams.set("max_age", String(required.maxAuthAgeSeconds));
    if (required.acr !== undefined) target.searchParams.set("acr_values", required.acr);
    return new Response(null, {
      status: 303,
      headers: { Location: target.pathname + target.search, "Cache-Control": "no-store" },
    });
  }
  return new Response(JSON.stringify({ error }), {
    status: 401,
    headers: {
      "Content-Type": "application/json; charset=utf-8",
      "Cache-Control": "no-store",
      "WWW-Authenticate": stepUpChallenge(required, error.message),
    },
  });
}

/** An origin no URL of the app can have: what a return path must resolve against to be a path of this app. */
const NOWHERE = "https://return-path.invalid";

/**
 * A `return_to` to send the user back to after a step-up: a path of this app only, else
 * `fallback`. Judged as the browser will read it, by resolving it (a browser drops tabs and
 * newlines and reads `\` as `/`, so `/\t/evil.example` is `//evil.example`, another site).
 */
export function safeReturnPath(value: string | null, fallback = "/"): string {
  if (value === null || !value.startsWith("/")) return fallback;
  let url: URL;
  try {
    url = new URL(value, NOWHERE);
  } catch {
    return fallback;
  }
  return url.origin === NOWHERE ? url.pathname + url.search : fallback;
}
