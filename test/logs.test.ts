// Structured logs: every session change is one JSON line (the same story as the audit log),
// and no line of a whole lifecycle holds a token, secret, hash or API key.

import { env } from "cloudflare:workers";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { base64url, sha256 } from "../src/core/crypto";
import worker from "../src/worker/index.ts";
import { ADMIN_KEY, BASE, call, createSession, createTenant, secretOf, withBearer, withToken } from "./helpers";

let lines: string[] = [];

beforeEach(() => {
  lines = [];
  const capture = (...args: unknown[]) => void lines.push(args.map(String).join(" "));
  vi.spyOn(console, "log").mockImplementation(capture);
  vi.spyOn(console, "error").mockImplementation(capture);
});

afterEach(() => {
  vi.restoreAllMocks();
});

async function hashForms(secret: string): Promise<string[]> {
  const digest = new Uint8Array(sha256(secret));
  return [base64url(digest), [...digest].map((b) => b.toString(16).padStart(2, "0")).join("")];
}

describe("logs", () => {
  it("log a whole lifecycle as JSON lines without a single credential", async () => {
    const tenant = await createTenant({ maxSessionsPerUser: 3 });
    const { key } = (await (await call("POST", `/v1/tenants/${tenant}/keys`)).json()) as { key: string };
    const a = await createSession(tenant, { userId: "alice" }, key);
    const b = await createSession(tenant, { userId: "alice" });
    const c = await createSession(tenant, { userId: "bob" });
    await call("GET", "/v1/session", withToken(a.token));
    const rotated = (await (await call("POST", "/v1/session/rotate", withBearer(a.token))).json()) as { token: string };
    await call("GET", "/v1/session/siblings", withBearer(rotated.token));
    await call("DELETE", "/v1/session/siblings", withBearer(rotated.token));
    await call("DELETE", "/v1/session", withToken(rotated.token));
    await call("DELETE", `/v1/tenants/${tenant}/sessions/${c.session.id}`, { key });
    await createSession(tenant, { userId: "carol" });
    await call("DELETE", `/v1/tenants/${tenant}/users/carol/sessions`);
    await call("DELETE", `/v1/tenants/${tenant}/sessions`);
    await call("GET", "/v1/session", withToken(`${b.token}x`));
    // An unexpected failure is logged too (a store that throws), and still without secrets.
    const broken = {
      ...env,
      SESSION_STORE: {
        idFromName: () => {
          throw new Error("store unreachable");
        },
        get: () => null,
      },
    } as unknown as Env;
    await worker.fetch(new Request(`${BASE}/v1/session`, { headers: { Authorization: `Bearer ${b.token}` } }), broken);

    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    for (const entry of parsed) {
      expect(["info", "error"]).toContain(entry.level);
      expect(entry.event).toEqual(expect.any(String));
    }
    const summary = parsed
      .filter((e) => /^(session|operator)\./.test(String(e.event)))
      .map((e) => `${e.event}:${e.reason ?? ""}`);
    expect(summary).toEqual([
      "operator.tenant_created:",
      "operator.key_created:",
      "session.created:",
      "session.created:",
      "session.created:",
      "session.rotated:",
      "session.revoked:siblings",
      "session.revoked:logout",
      "session.revoked:one",
      "session.created:",
      "session.revoked:user",
      "session.revoked:tenant",
    ]);
    expect(parsed.find((e) => e.event === "session.created")).toMatchObject({
      tenant,
      userId: "alice",
      sessionId: a.session.id,
    });
    expect(parsed.some((e) => e.level === "error" && e.event === "unhandled_error")).toBe(true);

    const text = lines.join("\n");
    const secrets = [a, b, c].flatMap((s) => [s.token, secretOf(s.token)]);
    secrets.push(rotated.token, secretOf(rotated.token), key, key.split(".")[3]!, ADMIN_KEY);
    for (const secret of [secretOf(a.token), secretOf(rotated.token), key.split(".")[3]!])
      secrets.push(...(await hashForms(secret)));
    for (const secret of secrets) expect(text).not.toContain(secret);
  });
  it("logs no JWT signing key material through rotations, mints and the key routes", async () => {
    const tenant = await createTenant({ jwt: { audiences: ["https://api.example.com"] } });
    const issued = await createSession(tenant, { userId: "u" });
    await call("POST", "/v1/signing-keys/rotate");
    await call("GET", "/v1/signing-keys");
    await call("GET", "/.well-known/jwks.json", { key: null });
    await call("POST", "/v1/session/token", {
      ...withBearer(issued.token),
      body: { audience: "https://api.example.com" },
    });
    await call("POST", "/v1/session/token", { ...withBearer(issued.token), body: { audience: "nope" } });
    const ring = env.KEY_RING.get(env.KEY_RING.idFromName("keys"));
    const current = await ring.signingKey();
    if (!current.ok) throw new Error(current.error.message);
    const seed = new Uint8Array(current.pkcs8).slice(-32);
    const forms = [
      base64url(seed),
      [...seed].map((b) => b.toString(16).padStart(2, "0")).join(""),
      btoa(String.fromCharCode(...seed)),
    ];
    expect(lines.length).toBeGreaterThan(0); // the session's creation, at least, was logged
    for (const line of lines) for (const form of forms) expect(line).not.toContain(form);
  });
});
