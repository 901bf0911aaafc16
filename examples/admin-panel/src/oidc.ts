// "Sign in with your identity provider": OpenID Connect's code flow with PKCE, and the session
// made linked to the provider (`idp`), so that the provider's back-channel logout ends it.
// Optional: on when OIDC_ISSUER is set (with OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and OIDC_PROVIDER,
// the provider's id in the tenant). The ID token is verified with jose, never by hand.

import type { IssuedSession, SessionServiceBinding } from "@session-service/client";
import { BINDING } from "./binding";
import { createRemoteJWKSet, jwtVerify } from "jose";

export interface OidcEnv {
  SESSIONS: SessionServiceBinding;
  TENANT: string;
  OIDC_ISSUER?: string;
  OIDC_CLIENT_ID?: string;
  OIDC_CLIENT_SECRET?: string;
  OIDC_PROVIDER?: string;
}

/** The login attempt's state, nonce and PKCE verifier, for ten minutes, readable by this app only. */
const FLOW_COOKIE = "__Host-oidc-flow";

interface Discovery {
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
}

function random(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

async function challengeOf(verifier: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)));
  return btoa(String.fromCharCode(...digest))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

async function discover(issuer: string): Promise<Discovery> {
  const response = await fetch(`${issuer}/.well-known/openid-configuration`);
  if (!response.ok) throw new Error(`discovery failed: ${response.status}`);
  return (await response.json()) as Discovery;
}

export function oidcEnabled(env: OidcEnv): boolean {
  return Boolean(env.OIDC_ISSUER && env.OIDC_CLIENT_ID && env.OIDC_CLIENT_SECRET && env.OIDC_PROVIDER);
}

/** GET /login/oidc: off to the provider, with a fresh state, nonce and PKCE challenge. */
export async function startLogin(request: Request, env: OidcEnv): Promise<Response> {
  const { authorization_endpoint } = await discover(env.OIDC_ISSUER!);
  const flow = { state: random(), nonce: random(), verifier: random() };
  const url = new URL(authorization_endpoint);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: env.OIDC_CLIENT_ID!,
    redirect_uri: new URL("/oidc/callback", request.url).href,
    scope: "openid",
    state: flow.state,
    nonce: flow.nonce,
    code_challenge: await challengeOf(flow.verifier),
    code_challenge_method: "S256",
  }).toString();
  const cookie = `${FLOW_COOKIE}=${btoa(JSON.stringify(flow))}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600`;
  return new Response(null, {
    status: 303,
    headers: { Location: url.href, "Set-Cookie": cookie, "Cache-Control": "no-store" },
  });
}

/**
 * GET /oidc/callback: the code exchanged, the ID token verified (issuer, audience, nonce), and a
 * session made with `idp: { provider, sub, sid }`. Answers the session's cookie, or null when the
 * provider's answer does not hold up.
 */
export async function finishLogin(request: Request, env: OidcEnv): Promise<IssuedSession | null> {
  const params = new URL(request.url).searchParams;
  const raw = request.headers.get("Cookie")?.match(new RegExp(`(?:^|; )${FLOW_COOKIE}=([^;]+)`))?.[1];
  if (!raw) return null;
  const flow = JSON.parse(atob(raw)) as { state: string; nonce: string; verifier: string };
  if (params.get("state") !== flow.state || !params.get("code")) return null;
  const { token_endpoint, jwks_uri } = await discover(env.OIDC_ISSUER!);
  const exchanged = await fetch(token_endpoint, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Authorization: `Basic ${btoa(`${env.OIDC_CLIENT_ID}:${env.OIDC_CLIENT_SECRET}`)}`,
    },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      code: params.get("code")!,
      redirect_uri: new URL("/oidc/callback", request.url).href,
      code_verifier: flow.verifier,
    }),
  });
  if (!exchanged.ok) return null;
  const { id_token } = (await exchanged.json()) as { id_token?: string };
  if (!id_token) return null;
  const { payload } = await jwtVerify(id_token, createRemoteJWKSet(new URL(jwks_uri)), {
    issuer: env.OIDC_ISSUER!,
    audience: env.OIDC_CLIENT_ID!,
  });
  if (payload.nonce !== flow.nonce || typeof payload.sub !== "string") return null;
  const sid = typeof payload.sid === "string" ? payload.sid : undefined;
  const created = await env.SESSIONS.createSession(env.TENANT, {
    userId: payload.sub,
    userAgent: request.headers.get("User-Agent")?.slice(0, 512) ?? null,
    ...(typeof payload.auth_time === "number" && { authTime: payload.auth_time }),
    idp: { provider: env.OIDC_PROVIDER!, sub: payload.sub, ...(sid !== undefined && { sid }) },
    bindingPath: BINDING.path,
  });
  return created.ok ? created : null;
}

/** The flow cookie, cleared once used. */
export const CLEAR_FLOW_COOKIE = `${FLOW_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0`;
