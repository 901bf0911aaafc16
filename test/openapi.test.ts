// docs/openapi.json kept honest: every route the router serves is in it and nothing else, and
// the answers of a walk through the API (every route, errors among them) validate against its
// schemas, checked by a maintained JSON Schema validator (@cfworker/json-schema).

import { Validator } from "@cfworker/json-schema";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { describe, expect, it } from "vitest";
import apiText from "../docs/API.md?raw";
import openapi from "../docs/openapi.json";
import { STATUS_BY_CODE } from "../src/core/errors";
import { ROUTES } from "../src/worker/router";
import { call, COOKIE_NAME, createTenant, seed, withBearer } from "./helpers";
import { logoutClaims, logoutForm, newProvider, postLogout, pushEvent, setClaims } from "./support/provider";

const DOCUMENT_ID = "https://session-service.invalid/openapi.json";

type Operation = { responses: Record<string, { content?: Record<string, unknown> }> };
const paths = openapi.paths as unknown as Record<string, Record<string, Operation>>;

/** "/v1/tenants/:tenant" as the document writes it: "/v1/tenants/{tenant}". */
const template = (routerPath: string) => routerPath.replace(/:(\w+)/g, "{$1}");

/** The answer's JSON, after checking it against the document's schema for its route and status. */
async function documented(method: string, path: string, response: Response): Promise<unknown> {
  const operation = paths[path]?.[method.toLowerCase()];
  expect(operation, `${method} ${path} is documented`).toBeDefined();
  const status = String(response.status) in operation!.responses ? String(response.status) : "default";
  const answer = operation!.responses[status]!;
  if (!answer.content) {
    expect(await response.text()).toBe("");
    return null;
  }
  const body = await response.json();
  // The answer's schema, its references made absolute so they resolve in the document.
  const local = (answer.content["application/json"] as { schema: object }).schema;
  const schema = JSON.parse(
    JSON.stringify(local).replaceAll('"#/components/', `"${DOCUMENT_ID}#/components/`),
  ) as object;
  const check = new Validator(schema as never, "2020-12", false);
  check.addSchema(openapi as never, DOCUMENT_ID);
  const { valid, errors } = check.validate(body);
  expect(valid, `${method} ${path} ${response.status}: ${JSON.stringify(errors.slice(0, 3))}`).toBe(true);
  return body;
}

describe("docs/API.md", () => {
  it("lists every error code with its status, and no other", () => {
    const rows = [...apiText.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map(([, code, status]) => [
      code,
      Number(status),
    ]);
    expect(Object.fromEntries(rows)).toEqual(STATUS_BY_CODE);
    expect(rows).toHaveLength(Object.keys(STATUS_BY_CODE).length);
  });
});

describe("docs/openapi.json", () => {
  it("documents exactly the routes the router serves", () => {
    const served = ROUTES.map(([method, path]) => `${method} ${template(path)}`).sort();
    const documentedRoutes = Object.entries(paths)
      .flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    expect(documentedRoutes).toEqual(served);
  });

  it("describes the answers of a walk through the API, errors included", async () => {
    const tenant = await createTenant({ jwt: { audiences: ["https://api.example.com"] } });
    const t = (suffix = "") => `/v1/tenants/${tenant}${suffix}`;
    await documented("GET", "/health", await call("GET", "/health"));
    await documented("GET", "/.well-known/jwks.json", await call("GET", "/.well-known/jwks.json"));
    await documented(
      "GET",
      "/tenants/{tenant}/.well-known/openid-configuration",
      await call("GET", `/tenants/${tenant}/.well-known/openid-configuration`, { key: null }),
    );
    await documented(
      "GET",
      "/tenants/{tenant}/.well-known/openid-configuration",
      await call("GET", "/tenants/No_Such/.well-known/openid-configuration", { key: null }),
    );
    await documented("GET", "/v1/signing-keys", await call("GET", "/v1/signing-keys"));
    await documented("GET", "/v1/tenants", await call("GET", "/v1/tenants?limit=5"));
    await documented("PUT", "/v1/tenants/{tenant}", await call("PUT", t(), { body: { idleTimeoutSeconds: 900 } }));
    await documented("PUT", "/v1/tenants/{tenant}", await call("PUT", t(), { body: { idleTimeoutSeconds: -1 } }));
    await documented("GET", "/v1/tenants/{tenant}", await call("GET", t()));
    const key = (await documented("POST", "/v1/tenants/{tenant}/keys", await call("POST", t("/keys")))) as {
      id: string;
    };
    await documented("GET", "/v1/tenants/{tenant}/keys", await call("GET", t("/keys")));
    await documented("GET", "/v1/tenants/{tenant}/activity", await call("GET", t("/activity?window=7d")));
    await documented("DELETE", "/v1/tenants/{tenant}/keys/{keyId}", await call("DELETE", t(`/keys/${key.id}`)));
    const tokenKeys = "/v1/tenants/{tenant}/token-keys";
    await documented("GET", tokenKeys, await call("GET", t("/token-keys")));
    await documented("POST", `${tokenKeys}/restore`, await call("POST", t("/token-keys/restore")));
    await documented("POST", `${tokenKeys}/retire`, await call("POST", t("/token-keys/retire")));
    await documented("POST", `${tokenKeys}/restore`, await call("POST", t("/token-keys/restore")));
    await documented("POST", `${tokenKeys}/retire`, await call("POST", "/v1/tenants/No_Such/token-keys/retire"));
    const [alice, alice2, bob] = await seed(tenant, ["alice", "alice", "bob"]);
    await documented(
      "POST",
      "/v1/tenants/{tenant}/sessions",
      await call("POST", t("/sessions"), { body: { userId: "carol", data: { plan: "pro" } } }),
    );
    await documented(
      "POST",
      "/v1/tenants/{tenant}/sessions",
      await call("POST", t("/sessions"), { body: { userId: "" } }),
    );
    await documented("GET", "/v1/tenants/{tenant}/sessions", await call("GET", t("/sessions?limit=2")));
    await documented("GET", "/v1/tenants/{tenant}/sessions/{id}", await call("GET", t(`/sessions/${bob!.session.id}`)));
    await documented("GET", "/v1/session", await call("GET", "/v1/session", withBearer(alice!.token)));
    await documented("GET", "/v1/session", await call("GET", "/v1/session", withBearer("nope")));
    await documented(
      "POST",
      "/v1/session/token",
      await call("POST", "/v1/session/token", {
        ...withBearer(alice!.token),
        body: { audience: "https://api.example.com" },
      }),
    );
    await documented(
      "GET",
      "/v1/session/siblings",
      await call("GET", "/v1/session/siblings", withBearer(alice!.token)),
    );
    const rotated = (await documented(
      "POST",
      "/v1/session/rotate",
      await call("POST", "/v1/session/rotate", withBearer(alice2!.token)),
    )) as { token: string };
    await documented("DELETE", "/v1/session", await call("DELETE", "/v1/session", withBearer(rotated.token)));
    await documented(
      "DELETE",
      "/v1/session/siblings",
      await call("DELETE", "/v1/session/siblings", withBearer(alice!.token)),
    );
    const one = (await documented(
      "DELETE",
      "/v1/tenants/{tenant}/sessions/{id}",
      await call("DELETE", t(`/sessions/${bob!.session.id}`)),
    )) as { killId: string };
    await documented(
      "POST",
      "/v1/tenants/{tenant}/kills/{killId}/undo",
      await call("POST", t(`/kills/${one.killId}/undo`)),
    );
    await documented(
      "DELETE",
      "/v1/tenants/{tenant}/users/{userId}/sessions",
      await call("DELETE", t("/users/bob/sessions")),
    );
    await documented("DELETE", "/v1/tenants/{tenant}/sessions", await call("DELETE", t("/sessions")));
    await documented("GET", "/v1/tenants/{tenant}/events", await call("GET", t("/events?limit=20")));
    const hook = (await documented(
      "POST",
      "/v1/tenants/{tenant}/webhooks",
      await call("POST", t("/webhooks"), {
        body: { url: "https://hooks.example.com/in", format: "standard-webhooks" },
      }),
    )) as { webhook: { id: string } };
    await documented("GET", "/v1/tenants/{tenant}/webhooks", await call("GET", t("/webhooks")));
    await documented(
      "GET",
      "/v1/tenants/{tenant}/webhooks/{id}/deliveries",
      await call("GET", t(`/webhooks/${hook.webhook.id}/deliveries`)),
    );
    await documented(
      "DELETE",
      "/v1/tenants/{tenant}/webhooks/{id}",
      await call("DELETE", t(`/webhooks/${hook.webhook.id}`)),
    );
    await walkIdentityProviders(t);
    await walkDeviceBinding(t);
    await documented("GET", "/v1/session/live", await call("GET", "/v1/session/live"));
    await documented("DELETE", "/v1/tenants/{tenant}", await call("DELETE", t()));
    await documented("DELETE", "/v1/tenants/{tenant}", await call("DELETE", t(`?confirm=${tenant}`)));
    await documented("POST", "/v1/signing-keys/rotate", await call("POST", "/v1/signing-keys/rotate"));
    // Last: the platform's kill reaches every tenant of this file's storage.
    const platform = (await documented("DELETE", "/v1/sessions", await call("DELETE", "/v1/sessions"))) as {
      killId: string;
    };
    await documented("GET", "/v1/kills/{killId}", await call("GET", `/v1/kills/${platform.killId}`));
    await documented("POST", "/v1/kills/{killId}/undo", await call("POST", `/v1/kills/${platform.killId}/undo`));
    await documented("GET", "/v1/kills/{killId}", await call("GET", "/v1/kills/nope"));
  });
});

/** The identity-provider routes and the three receivers, each in its answers' several shapes. */
async function walkIdentityProviders(t: (suffix?: string) => string): Promise<void> {
  const provider = await newProvider();
  const tenant = t().split("/")[3]!;
  const base = "/v1/tenants/{tenant}/identity-providers";
  const body = { issuer: provider.issuer, audience: "client-1" };
  await documented("PUT", `${base}/{id}`, await call("PUT", t("/identity-providers/corp"), { body }));
  await documented("PUT", `${base}/{id}`, await call("PUT", t("/identity-providers/corp"), { body }));
  await documented("PUT", `${base}/{id}`, await call("PUT", t("/identity-providers/corp"), { body: {} }));
  await documented("GET", base, await call("GET", t("/identity-providers")));
  await documented("GET", `${base}/{id}`, await call("GET", t("/identity-providers/corp")));
  await documented(
    "POST",
    "/v1/tenants/{tenant}/sessions",
    await call("POST", t("/sessions"), { body: { userId: "dana", idp: { provider: "corp", sub: "s", sid: "x" } } }),
  );
  const logout = await provider.sign(logoutClaims(provider, { sid: "x" }));
  await documented("POST", `${base}/{id}/backchannel-logout`, await postLogout(tenant, "corp", logoutForm(logout)));
  await documented("POST", `${base}/{id}/backchannel-logout`, await postLogout(tenant, "corp", "logout_token=x"));
  const subject = { format: "iss_sub", iss: provider.issuer, sub: "s" };
  const event = await provider.sign(setClaims(provider, "urn:example:event", {}, subject), { typ: "secevent+jwt" });
  await documented("POST", `${base}/{id}/events`, await pushEvent(tenant, "corp", event));
  await documented("POST", `${base}/{id}/events`, await pushEvent(tenant, "corp", "x.y.z"));
  const revocation = (authorization?: string) =>
    call("POST", t("/identity-providers/corp/global-token-revocation"), {
      key: null,
      rawBody: JSON.stringify({ sub_id: subject }),
      headers: { "Content-Type": "application/json", ...(authorization && { Authorization: authorization }) },
    });
  const bearer = await provider.sign({
    iss: provider.issuer,
    aud: `https://sessions.example.com/v1/tenants/${tenant}/identity-providers/corp/global-token-revocation`,
    exp: Math.floor(Date.now() / 1000) + 60,
    jti: crypto.randomUUID(),
  });
  await documented("POST", `${base}/{id}/global-token-revocation`, await revocation(`Bearer ${bearer}`));
  await documented("POST", `${base}/{id}/global-token-revocation`, await revocation());
  await documented(
    "POST",
    `${base}/{id}/stream`,
    await call("POST", t("/identity-providers/corp/stream"), { body: { method: "poll", authorizationHeader: "x" } }),
  );
  await documented(
    "POST",
    `${base}/{id}/stream`,
    await call("POST", t("/identity-providers/corp/stream"), { body: {} }),
  );
  await documented("DELETE", `${base}/{id}`, await call("DELETE", t("/identity-providers/corp")));
  await documented("GET", `${base}/{id}`, await call("GET", t("/identity-providers/corp")));
}

/** Device binding's two routes, with a WebCrypto key as a browser's: bound, a challenge, refreshed, refused, ended. */
async function walkDeviceBinding(t: (suffix?: string) => string): Promise<void> {
  await documented("PUT", "/v1/tenants/{tenant}", await call("PUT", t(), { body: { deviceBinding: "offer" } }));
  const issued = (await documented(
    "POST",
    "/v1/tenants/{tenant}/sessions",
    await call("POST", t("/sessions"), { body: { userId: "erin", bindingPath: "/auth/binding" } }),
  )) as { token: string; session: { id: string }; registration: string };
  const { publicKey, privateKey } = await generateKeyPair("ES256", { extractable: true });
  const jwk = await exportJWK(publicKey);
  const sign = (jti: string, withKey: boolean) =>
    new SignJWT({ jti })
      .setProtectedHeader({ alg: "ES256", typ: "dbsc+jwt", ...(withKey && { jwk }) })
      .sign(privateKey);
  const post = (path: string, headers: Record<string, string>) =>
    call("POST", path, { key: null, headers: { Cookie: `${COOKIE_NAME}=${issued.token}`, ...headers } });
  const challenge = /challenge="([^"]+)"/.exec(issued.registration)![1]!;
  const register = (proof: string) => post("/v1/session/binding", { "Secure-Session-Response": proof });
  await documented("POST", "/v1/session/binding", await register(await sign(challenge, true)));
  await documented("POST", "/v1/session/binding", await register("not-a-proof"));
  const refresh = "/v1/session/binding/refresh";
  const asked = await post(refresh, { "Sec-Secure-Session-Id": issued.session.id });
  await documented("POST", refresh, asked);
  const next = /^"([^"]+)"/.exec(asked.headers.get("Secure-Session-Challenge")!)![1]!;
  const proof = await sign(next, false);
  const withProof = { "Sec-Secure-Session-Id": issued.session.id, "Secure-Session-Response": proof };
  await documented("POST", refresh, await post(refresh, withProof));
  await documented("POST", refresh, await post(refresh, withProof));
  await call("DELETE", t(`/sessions/${issued.session.id}`));
  await documented("POST", refresh, await post(refresh, { "Sec-Secure-Session-Id": issued.session.id }));
}
