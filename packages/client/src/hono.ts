// Hono middleware: the request's session, validated by the service and pinned to a tenant,
// on the context as `c.get("session")`. `hono` is an optional peer dependency: only this
// entry point (`@session-service/client/hono`) needs it.

import type { Context, MiddlewareHandler } from "hono";
import { raw } from "hono/html";
import { answerBinding, type DeviceBindingOptions } from "./binding.js";
import { crossOriginRefusal } from "./cross-origin.js";
import { errorAnswer } from "./errors.js";
import { validateRequest, type TokenOptions } from "./session.js";
import { requirementOf, stepUpResponse } from "./step-up.js";
import type { Session, SessionServiceBinding, ValidateOptions } from "./types.js";
import { watchSessionScript as script, type WatchSessionScriptOptions } from "./watch-script.js";

/** The context this middleware fills: `c.get("session")` in every handler after it. */
export interface SessionVariables {
  session: Session;
}

export interface SessionMiddlewareOptions<E extends { Bindings: object }> extends TokenOptions {
  /** The tenant whose sessions this app takes: a session of any other tenant is no session here. */
  tenant: string | ((c: Context<E>) => string);
  /** The service binding; default `c.env.SESSIONS`. */
  sessions?: (c: Context<E>) => SessionServiceBinding;
  /**
   * The answer when there is no live session (none, ended, another tenant's); default 401
   * with `{ "error": { "code": "invalid_token", ... } }`. A dead session cookie is cleared
   * on whatever this answers.
   */
  onMissing?: (c: Context<E>) => Response | Promise<Response>;
  /**
   * Origins besides the request's own whose pages may send state changes (POST, PUT, PATCH,
   * DELETE) with the session cookie. Any other cross-origin one is 403 before the session is
   * looked at; `checkOrigin: false` leaves that check to you.
   */
  trustedOrigins?: readonly string[];
  checkOrigin?: boolean;
  /**
   * Device Bound Session Credentials: this middleware answers the registration (`path`) and
   * refresh (`${path}/refresh`) POSTs itself, so mount it where those paths pass through it.
   * Pass the same `path` to createSession as `bindingPath`. See answerBinding.
   */
  deviceBinding?: Omit<DeviceBindingOptions, "cookieName">;
}

export interface AssuranceOptions<E extends { Bindings: object }> extends SessionMiddlewareOptions<E>, ValidateOptions {
  /**
   * The app's re-authentication page (a path): a page load short of the requirement is sent
   * there with `return_to`; without it, or for an API call, the answer is RFC 9470's 401.
   */
  reauthenticate?: string;
}

/**
 * Requires a live session of `tenant` (from the session cookie; see TokenOptions for bearer
 * tokens), after the cross-origin check of state changes. Other failures of the service
 * (overload, a malformed tenant name) are answered with the service's own error and status,
 * never as "logged out".
 */
export function sessionMiddleware<E extends { Bindings: object; Variables?: object }>(
  options: SessionMiddlewareOptions<E>,
): MiddlewareHandler<E & { Variables: SessionVariables }> {
  return gate(options, undefined);
}

/**
 * Like sessionMiddleware, and the session must also meet a requirement: authentication within
 * `maxAuthAgeSeconds`, a level of at least `minAcr`, methods `amr` (and no re-authentication
 * floor since). Put it on the routes that need it ("change password"): a session short of it
 * stays logged in, and is asked to prove it again (see `reauthenticate`).
 */
export function requireAssurance<E extends { Bindings: object; Variables?: object }>(
  options: AssuranceOptions<E>,
): MiddlewareHandler<E & { Variables: SessionVariables }> {
  return gate(options, { requirement: requirementOf(options), reauthenticate: options.reauthenticate });
}

function gate<E extends { Bindings: object; Variables?: object }>(
  options: SessionMiddlewareOptions<E>,
  assurance: { requirement: ValidateOptions; reauthenticate: string | undefined } | undefined,
): MiddlewareHandler<E & { Variables: SessionVariables }> {
  return async (c, next) => {
    const context = c as unknown as Context<E>;
    const sessions = options.sessions?.(context) ?? (c.env as { SESSIONS?: SessionServiceBinding }).SESSIONS;
    if (sessions === undefined) throw new Error("sessionMiddleware: no SESSIONS binding; pass `sessions`");
    const tenant = typeof options.tenant === "function" ? options.tenant(context) : options.tenant;
    if (options.deviceBinding) {
      const answered = await answerBinding(sessions, tenant, c.req.raw, {
        ...options.deviceBinding,
        ...(options.cookieName && { cookieName: options.cookieName }),
      });
      if (answered) return answered;
    }
    const refused = options.checkOrigin === false ? null : crossOriginRefusal(c.req.raw, options.trustedOrigins);
    if (refused) return refused;
    const result = await validateRequest(sessions, tenant, c.req.raw, {
      ...options,
      ...(assurance && { require: assurance.requirement }),
    });
    if (result.ok) {
      c.set("session", result.session);
      return next();
    }
    if (result.error.code === "step_up_required")
      return stepUpResponse(c.req.raw, result.error, assurance?.reauthenticate);
    if (result.error.code !== "invalid_token") return errorAnswer(result.error);
    const answer = options.onMissing ? await options.onMissing(context) : c.json({ error: result.error }, 401);
    if (result.clearCookie === undefined) return answer;
    const cleared = new Response(answer.body, answer);
    cleared.headers.append("Set-Cookie", result.clearCookie);
    return cleared;
  };
}

/**
 * The page's side of the live socket for Hono's JSX and `html` templates, which escape what
 * they are given: `<script>{watchSessionScript({ redirectTo: "/login" })}</script>`. (Given the
 * plain string, the escaping breaks the script, and live revocation with it, silently.)
 */
export function watchSessionScript(options: WatchSessionScriptOptions = {}) {
  return raw(script(options));
}
