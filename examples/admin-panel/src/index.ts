// An example admin panel that keeps its logins in the session service and reaches it only
// through a service binding, with the helpers of @session-service/client. Every page load
// validates the request's session over RPC, pinned to TENANT (a session of any other tenant
// is no login here); the dashboard keeps a live socket, proxied through this Worker, that
// swaps the page to the login form the moment the service ends the session. Changing the
// password asks for a recent sign-in (requireAssurance): an older one proves it again first.
// With OIDC_ISSUER set, users may sign in with an identity provider instead (oidc.ts), whose
// logout then ends the session at once. When the tenant offers device binding, a browser that
// can binds its session to a key it keeps (answerBinding): a copied cookie then opens nothing.

import {
  answerBinding,
  boundCookieOf,
  crossOriginAllowed,
  endSession,
  proxyLiveSocket,
  requestToken,
  requireAssurance,
  safeReturnPath,
  validateRequest,
  type SessionServiceBinding,
} from "@session-service/client";
import { BINDING, signedIn } from "./binding";
import { CLEAR_FLOW_COOKIE, finishLogin, oidcEnabled, type OidcEnv, startLogin } from "./oidc";
import { checkPassword } from "../../demo-users/passwords";
import { dashboardPage, loginPage, passwordPage, stepUpPage } from "./pages";

/** Changing the password needs a sign-in at most this recent. */
const PASSWORD_CHANGE_MAX_AUTH_AGE_SECONDS = 300;

interface Env extends OidcEnv {
  SESSIONS: SessionServiceBinding;
  TENANT: string;
}

function html(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy":
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'",
      ...headers,
    },
  });
}

function redirect(location: string, headers: Record<string, string> = {}): Response {
  return new Response(null, { status: 303, headers: { Location: location, "Cache-Control": "no-store", ...headers } });
}

async function login(request: Request, env: Env): Promise<Response> {
  const form = await request.formData();
  const userId = await checkPassword(String(form.get("username") ?? ""), String(form.get("password") ?? ""));
  if (userId === null) return html(loginPage("Wrong username or password."), 401);
  const input = {
    userId,
    userAgent: request.headers.get("User-Agent")?.slice(0, 512) ?? null,
    bindingPath: BINDING.path,
  };
  let created = await env.SESSIONS.createSession(env.TENANT, input);
  if (!created.ok && created.error.code === "tenant_not_found") {
    // First login of a fresh demo: make the tenant with default settings.
    await env.SESSIONS.putTenant(env.TENANT, {});
    created = await env.SESSIONS.createSession(env.TENANT, input);
  }
  if (!created.ok) return html(loginPage(`Could not sign in: ${created.error.message}`), 503);
  return redirect("/", signedIn(created));
}

/** The password form, for a recent sign-in only; an older one is sent to /step-up first. */
async function passwordForm(request: Request, env: Env): Promise<Response> {
  const checked = await requireAssurance(env.SESSIONS, env.TENANT, request, {
    maxAuthAgeSeconds: PASSWORD_CHANGE_MAX_AUTH_AGE_SECONDS,
    reauthenticate: "/step-up",
  });
  if (checked.ok) return html(passwordPage(checked.session.userId));
  if (checked.stepUp) return checked.stepUp;
  return redirect("/login", checked.clearCookie ? { "Set-Cookie": checked.clearCookie } : {});
}

/** The user proves it again (their password), and the service raises the session: a new cookie. */
async function stepUp(request: Request, env: Env): Promise<Response> {
  const form = await request.formData();
  const returnTo = safeReturnPath(String(form.get("return_to") ?? "/"));
  const validated = await validateRequest(env.SESSIONS, env.TENANT, request);
  if (!validated.ok) return redirect("/login", validated.clearCookie ? { "Set-Cookie": validated.clearCookie } : {});
  const { userId } = validated.session;
  if ((await checkPassword(userId, String(form.get("password") ?? ""))) !== userId)
    return html(stepUpPage(userId, returnTo, "Wrong password."), 401);
  const raised = await env.SESSIONS.elevate(env.TENANT, requestToken(request).token!, {
    amr: ["pwd"],
    ...boundCookieOf(request),
  });
  if (!raised.ok) return html(stepUpPage(userId, returnTo, `Could not confirm: ${raised.error.message}`), 503);
  return redirect(returnTo, { "Set-Cookie": raised.setCookie });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    const route = `${request.method} ${pathname}`;
    // Device binding's registration and refresh: proofs signed by the browser's key, no cookie check needed.
    const binding = await answerBinding(env.SESSIONS, env.TENANT, request, BINDING);
    if (binding) return binding;
    // Session plumbing, all of it: the origin check, the protected page, the socket, logout.
    if (request.method === "POST" && !crossOriginAllowed(request))
      return html(loginPage("Cross-site request refused."), 403);
    if (route === "GET /") {
      const validated = await validateRequest(env.SESSIONS, env.TENANT, request);
      if (validated.ok) return html(dashboardPage(validated.session, oidcEnabled(env)));
      return redirect("/login", validated.clearCookie ? { "Set-Cookie": validated.clearCookie } : {});
    }
    if (route === "GET /live") return proxyLiveSocket(request, env.SESSIONS, env.TENANT);
    if (route === "POST /logout" || route === "POST /logout-everywhere") {
      const validated =
        pathname === "/logout-everywhere" ? await validateRequest(env.SESSIONS, env.TENANT, request) : null;
      const everywhere = validated?.ok ? await env.SESSIONS.revokeUser(env.TENANT, validated.session.userId) : null;
      if (everywhere && !everywhere.ok)
        return html(loginPage(`Could not sign out everywhere: ${everywhere.error.message}`), 503);
      const ended = await endSession(env.SESSIONS, env.TENANT, request);
      return ended.ok
        ? redirect("/login", { "Set-Cookie": ended.setCookie })
        : html(loginPage(`Could not sign out: ${ended.error.message}`), 503);
    }
    if (route === "GET /account/password") return passwordForm(request, env);
    if (route === "GET /step-up") {
      const validated = await validateRequest(env.SESSIONS, env.TENANT, request);
      if (!validated.ok) return redirect("/login");
      const returnTo = safeReturnPath(new URL(request.url).searchParams.get("return_to"));
      return html(stepUpPage(validated.session.userId, returnTo, null));
    }
    if (route === "POST /step-up") return stepUp(request, env);
    if (route === "GET /login") return html(loginPage(null, oidcEnabled(env)));
    if (route === "GET /login/oidc" && oidcEnabled(env)) return startLogin(request, env);
    if (route === "GET /oidc/callback" && oidcEnabled(env)) {
      const created = await finishLogin(request, env);
      if (!created) return html(loginPage("The identity provider's sign-in did not hold up.", true), 401);
      const headers = new Headers({ Location: "/", "Cache-Control": "no-store", ...signedIn(created) });
      headers.append("Set-Cookie", CLEAR_FLOW_COOKIE);
      return new Response(null, { status: 303, headers });
    }
    if (route === "POST /login") return login(request, env);
    return new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
