// An example admin panel that uses the session service only through its service binding.
// Logins become sessions of tenant TENANT; every page load validates the cookie's token over
// RPC, pinned to TENANT (a session of any other tenant is no login here); the dashboard keeps a live socket (proxied through this Worker) that ends the page's
// session view the moment the session service kills the session.

import type { SessionServiceBinding } from "../../../src/client";
import { readCookie } from "../../../src/cookie";
import { checkPassword } from "./passwords";
import { dashboardPage, loginPage } from "./pages";

interface Env {
  SESSIONS: SessionServiceBinding;
  TENANT: string;
}

const COOKIE_NAME = "__Host-session";
const CLEARED_COOKIE = `${COOKIE_NAME}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;

function html(body: string, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: {
      "Content-Type": "text/html; charset=utf-8",
      "Cache-Control": "no-store",
      "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'",
      ...headers,
    },
  });
}

function redirect(location: string, headers: Record<string, string> = {}): Response {
  return new Response(null, { status: 303, headers: { Location: location, "Cache-Control": "no-store", ...headers } });
}

/** The service's own cookie reader: a padded or doubled session cookie is no session. */
function tokenOf(request: Request): string | null {
  return readCookie(request.headers.get("Cookie"), COOKIE_NAME);
}

/** State changes and the socket must come from this panel's own pages. */
function sameOrigin(request: Request): boolean {
  const origin = request.headers.get("Origin");
  return origin === null || origin === new URL(request.url).origin;
}

async function login(request: Request, env: Env): Promise<Response> {
  const form = await request.formData();
  const username = String(form.get("username") ?? "");
  const password = String(form.get("password") ?? "");
  const userId = await checkPassword(username, password);
  if (userId === null) return html(loginPage("Wrong username or password."), 401);
  const input = { userId, userAgent: request.headers.get("User-Agent")?.slice(0, 512) ?? null };
  let created = await env.SESSIONS.createSession(env.TENANT, input);
  if (!created.ok && created.error.code === "tenant_not_found") {
    // First login of a fresh demo: make the tenant with default settings.
    await env.SESSIONS.putTenant(env.TENANT, {});
    created = await env.SESSIONS.createSession(env.TENANT, input);
  }
  if (!created.ok) return html(loginPage(`Could not sign in: ${created.error.message}`), 503);
  return redirect("/", { "Set-Cookie": created.setCookie });
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const { pathname } = new URL(request.url);
    const token = tokenOf(request);
    if (request.method === "GET" && pathname === "/login") return html(loginPage(null));
    if (request.method === "POST" && pathname === "/login") {
      return sameOrigin(request) ? login(request, env) : html(loginPage("Cross-site sign-in refused."), 403);
    }
    if (request.method === "GET" && pathname === "/") {
      const validated = token ? await env.SESSIONS.validate(env.TENANT, token) : null;
      return validated?.ok ? html(dashboardPage(validated.session)) : redirect("/login");
    }
    if (request.method === "GET" && pathname === "/live") {
      if (!token || !sameOrigin(request)) return new Response("Forbidden", { status: 403 });
      // The session service checks the token and keeps the socket; the bearer header marks
      // this as a server-side call whose origin this Worker has already checked.
      return env.SESSIONS.fetch("https://session-service/v1/session/live", {
        headers: { Upgrade: "websocket", Authorization: `Bearer ${token}`, "Session-Tenant": env.TENANT },
      });
    }
    if (request.method === "POST" && (pathname === "/logout" || pathname === "/logout-everywhere")) {
      if (!sameOrigin(request)) return new Response("Forbidden", { status: 403 });
      if (token && pathname === "/logout-everywhere") {
        const validated = await env.SESSIONS.validate(env.TENANT, token);
        if (validated.ok) await env.SESSIONS.revokeUser(env.TENANT, validated.session.userId);
      }
      if (token) await env.SESSIONS.destroy(env.TENANT, token);
      return redirect("/login", { "Set-Cookie": CLEARED_COOKIE, "Clear-Site-Data": '"cookies"' });
    }
    return new Response("Not found", { status: 404 });
  },
} satisfies ExportedHandler<Env>;
