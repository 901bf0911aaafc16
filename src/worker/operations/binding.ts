// Device binding's two paths, one implementation for both doors (the service's own HTTP paths
// and RPC for the middleware that mounts them on an app's paths): the registration (a proof
// naming a challenge the session was given, signed by the key it carries) and the refresh (a
// challenge, then a proof signed by the bound key). The store verifies and audits the proofs;
// the bound cookie is signed here.

import type { BindingAnswer, BindingHeaders, BoundCredential } from "@session-service/client";
import { boundCookieValue, fieldString } from "../../core/binding";
import type { Config } from "../../core/config";
import { fail, ok, type Result } from "../../core/errors";
import { callStore } from "../../../durable-objects/stubs";
import { type VerifiedToken, withToken } from "./doors";

const NO_PROOF = fail("bad_request", "Secure-Session-Response must carry the browser's signed proof", "response");

/** The headers as they came over RPC: strings or nothing, and nothing else. */
function headerOf(headers: unknown, name: keyof BindingHeaders): string | null {
  if (typeof headers !== "object" || headers === null) return null;
  const value = (headers as Record<string, unknown>)[name];
  return typeof value === "string" ? value : null;
}

function credential(config: Config, t: VerifiedToken, thumbprint: string, cookieSeconds: number): BoundCredential {
  const expiresAt = Date.now() + cookieSeconds * 1000;
  return {
    sessionId: t.sessionId,
    boundCookie: boundCookieValue(config.signingKeys, t.tenant, t.sessionId, thumbprint, expiresAt),
    cookieSeconds,
  };
}

export function registerBinding(
  env: Env,
  expectedTenant: unknown,
  token: unknown,
  headers: unknown,
): Promise<Result<BoundCredential>> {
  return withToken(env, expectedTenant, token, async (t, config) => {
    const proof = fieldString(headerOf(headers, "response"));
    if (proof === null) return NO_PROOF;
    const bound = await callStore(env, t, (store) => store.registerBinding(t.sessionId, t.secretHash, proof));
    if (!bound.ok) return bound;
    return ok(credential(config, t, bound.thumbprint, bound.cookieSeconds));
  });
}

/**
 * A refresh: without a proof, a challenge for the browser to sign; with one, a fresh bound
 * cookie. `Sec-Secure-Session-Id` must name the token's session.
 */
export function refreshBinding(
  env: Env,
  expectedTenant: unknown,
  token: unknown,
  headers: unknown,
): Promise<BindingAnswer> {
  return withToken(env, expectedTenant, token, async (t, config) => {
    if (fieldString(headerOf(headers, "sessionId")) !== t.sessionId)
      return fail("bad_request", "Sec-Secure-Session-Id must name the session of the token", "sessionId");
    const sent = headerOf(headers, "response");
    const proof = sent === null ? null : fieldString(sent);
    if (sent !== null && proof === null) return NO_PROOF;
    const refreshed = await callStore(env, t, (store) => store.refreshBinding(t.sessionId, t.secretHash, proof));
    if (!refreshed.ok) return refreshed;
    if ("challenge" in refreshed) return ok({ challenge: refreshed.challenge, sessionId: t.sessionId });
    return ok(credential(config, t, refreshed.thumbprint, refreshed.cookieSeconds));
  });
}
