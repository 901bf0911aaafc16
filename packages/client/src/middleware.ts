// What every framework's middleware does with a request (Astro's, SvelteKit's, Next.js'): the
// cross-origin check of state changes, the session validated and pinned to a tenant (or null),
// and a dead cookie cleared on the answer, unless the page set a new one (a sign-in).

import { DEFAULT_COOKIE_NAME } from "./cookie.js";
import { crossOriginRefusal } from "./cross-origin.js";
import { errorAnswer } from "./errors.js";
import { type TokenOptions, validateRequest } from "./session.js";
import type { Session, SessionServiceApi } from "./types.js";

export interface RequestSessionOptions extends TokenOptions {
  /** Origins of your site besides the request's own that may send state changes with the cookie. */
  trustedOrigins?: readonly string[];
}

export type RequestSession =
  /** Answer this at once: a cross-origin state change (403), or a failure of the service (never a logout). */
  | { answer: Response }
  /** The live session or null; pass the page's response through `finish`. */
  | { session: Session | null; finish(response: Response): Response };

export async function requestSession(
  sessions: Pick<SessionServiceApi, "validate" | "destroy">,
  tenant: string,
  request: Request,
  options: RequestSessionOptions = {},
): Promise<RequestSession> {
  const refused = crossOriginRefusal(request, options.trustedOrigins);
  if (refused) return { answer: refused };
  const result = await validateRequest(sessions, tenant, request, options);
  if (!result.ok && result.error.code !== "invalid_token") return { answer: errorAnswer(result.error) };
  const { clearCookie } = result;
  const name = `${options.cookieName ?? DEFAULT_COOKIE_NAME}=`;
  return {
    session: result.ok ? result.session : null,
    finish(response) {
      if (clearCookie === undefined) return response;
      if (response.headers.getSetCookie().some((cookie) => cookie.startsWith(name))) return response;
      const cleared = new Response(response.body, response);
      cleared.headers.append("Set-Cookie", clearCookie);
      return cleared;
    },
  };
}
