// Device binding's two paths, one implementation for both doors: the registration (a proof
// naming a challenge the session was given, signed by the key it carries) and the refresh (a
// challenge, then a proof signed by the bound key). The bound cookie is signed here.

import { boundCookieValue, fieldString, verifyRegistration } from "../../core/binding";
import { fail, ok, type Result } from "../../core/errors";
import { callStore } from "../../../durable-objects/stubs";
import { withToken } from "./doors";

/** What a registration or refresh with a proof answers: the session, and the bound cookie to set. */
export interface Bound {
  sessionId: string;
  boundCookie: string;
  cookieSeconds: number;
}

const NO_PROOF = fail("bad_request", "Secure-Session-Response must carry the browser's signed proof");

export function registerBinding(
  env: Env,
  expectedTenant: unknown,
  token: unknown,
  proofHeader: string | null,
): Promise<Result<Bound>> {
  return withToken(env, expectedTenant, token, async (t, config) => {
    const proof = fieldString(proofHeader);
    if (proof === null) return NO_PROOF;
    const verified = await verifyRegistration(proof);
    if (!verified.ok) return verified;
    const bound = await callStore(env, t, (store) =>
      store.bindSession(t.sessionId, t.secretHash, verified.key, verified.challenge),
    );
    if (!bound.ok) return bound;
    const expiresAt = Date.now() + bound.cookieSeconds * 1000;
    return ok({
      sessionId: t.sessionId,
      boundCookie: boundCookieValue(config.signingKeys, t.tenant, t.sessionId, bound.thumbprint, expiresAt),
      cookieSeconds: bound.cookieSeconds,
    });
  });
}

/**
 * A refresh: without a proof, a challenge for the browser to sign; with one, a fresh bound
 * cookie. `sessionIdHeader` (`Sec-Secure-Session-Id`) must name the token's session.
 */
export function refreshBinding(
  env: Env,
  expectedTenant: unknown,
  token: unknown,
  sessionIdHeader: string | null,
  proofHeader: string | null,
): Promise<Result<Bound | { challenge: string; sessionId: string }>> {
  return withToken(env, expectedTenant, token, async (t, config) => {
    if (fieldString(sessionIdHeader) !== t.sessionId)
      return fail("bad_request", "Sec-Secure-Session-Id must name the session of the token", "Sec-Secure-Session-Id");
    const proof = proofHeader === null ? null : fieldString(proofHeader);
    if (proofHeader !== null && proof === null) return NO_PROOF;
    const refreshed = await callStore(env, t, (store) => store.refreshBinding(t.sessionId, t.secretHash, proof));
    if (!refreshed.ok) return refreshed;
    if ("challenge" in refreshed) return ok({ challenge: refreshed.challenge, sessionId: t.sessionId });
    const expiresAt = Date.now() + refreshed.cookieSeconds * 1000;
    return ok({
      sessionId: t.sessionId,
      boundCookie: boundCookieValue(config.signingKeys, t.tenant, t.sessionId, refreshed.thumbprint, expiresAt),
      cookieSeconds: refreshed.cookieSeconds,
    });
  });
}
