// The outbound findings of the third security review, one block each, each tried as an
// attacker would: webhook URLs that grow past the limit once encoded (F6) or end in dots (F8),
// and a receiver whose Retry-After asks for a flood. F5 (the client package's redirect) is
// tested where watchSessionScript is: packages/client/test/watch-session.test.mjs.

import { env } from "cloudflare:workers";
import { runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { recordAttempt } from "../durable-objects/session-store/webhook-operations";
import type { OutboxRow } from "../durable-objects/session-store/webhooks-sql";
import worker from "../src/worker/index.ts";
import {
  attemptDelivery,
  GIVE_UP_AFTER_MS,
  RETRY_DELAYS_MS,
  retryAfterMs,
  retryDelayMs,
} from "../durable-objects/session-store/webhook-delivery";
import { newWebhookSecret, urlProblem } from "../src/core/webhooks";
import { ADMIN_KEY, BASE, call, createSession, createTenant, errorOf, storeStub } from "./helpers";
import { storeOf } from "../durable-objects/session-store/tenant";

interface Created {
  webhook: { id: string; url: string };
}

function addWebhook(tenant: string, url: string, allowLoopback = false): Promise<Response> {
  const request = new Request(`${BASE}/v1/tenants/${tenant}/webhooks`, {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
    body: JSON.stringify({ url, format: "standard-webhooks" }),
  });
  return worker.fetch(request, { ...env, WEBHOOKS_ALLOW_LOOPBACK: String(allowLoopback) });
}

async function webhookCount(tenant: string): Promise<number> {
  return ((await (await call("GET", `/v1/tenants/${tenant}/webhooks`)).json()) as { webhooks: unknown[] }).webhooks
    .length;
}

const HOST = "https://hooks.example.com/";
/** "€" is sent as one character and stored as nine ("%E2%82%AC"). */
const EURO = "\u20ac";

describe("F6: a webhook URL's length is checked as it is stored and sent", () => {
  it("refuses with 400 a URL of 2,000 characters that percent-encoding makes longer than 2,048, and makes nothing", async () => {
    const tenant = await createTenant();
    const url = HOST + EURO.repeat(2000 - HOST.length);
    expect(url).toHaveLength(2000);
    expect(new URL(url).href.length).toBeGreaterThan(17_000);
    const response = await addWebhook(tenant, url);
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toEqual({
      code: "bad_request",
      message: "url must be at most 2048 characters once percent-encoded",
      field: "url",
    });
    expect(await webhookCount(tenant)).toBe(0);
  });

  it("takes a URL of exactly 2,048 characters once encoded, stores that form, and every attempt accepts what was stored", async () => {
    const tenant = await createTenant();
    const pad = (encodedLength: number) => HOST + EURO.repeat(200) + "x".repeat(encodedLength - HOST.length - 9 * 200);
    expect(new URL(pad(2048)).href).toHaveLength(2048);
    expect((await addWebhook(tenant, pad(2049))).status).toBe(400);
    const response = await addWebhook(tenant, pad(2048));
    expect(response.status).toBe(201);
    const { webhook } = (await response.json()) as Created;
    expect(webhook.url).toBe(new URL(pad(2048)).href);
    expect(urlProblem(webhook.url, false)).toBeNull(); // what delivery checks before each attempt
  });
});

describe("F8: a webhook host ending in a dot is refused", () => {
  it.each([
    "https://127.0.0.1../in",
    "https://169.254.169.254../latest/meta-data",
    "https://localhost../in",
    "https://10.0.0.1.../in",
    "https://127.0.0.1.%2e/in",
    "https://0x7f.1../in",
    "https://hooks.example.com./in",
  ])("refuses %s with 400 naming the trailing dot, and makes nothing", async (url) => {
    const tenant = await createTenant();
    const response = await addWebhook(tenant, url);
    expect(response.status).toBe(400);
    expect(await errorOf(response)).toEqual({
      code: "bad_request",
      message: "url's host must not end with a dot",
      field: "url",
    });
    expect(await webhookCount(tenant)).toBe(0);
  });

  it("with WEBHOOKS_ALLOW_LOOPBACK=true takes exactly localhost and 127.0.0.1, never with trailing dots", async () => {
    const tenant = await createTenant();
    for (const url of [
      "http://localhost.:9/in",
      "http://localhost..:9/in",
      "http://127.0.0.1..:9/in",
      "https://localhost./in",
    ]) {
      const response = await addWebhook(tenant, url, true);
      expect(response.status, url).toBe(400);
      expect((await errorOf(response)).message).toBe("url's host must not end with a dot");
    }
    for (const url of ["http://localhost:9/in", "http://127.0.0.1:9/in"])
      expect((await addWebhook(tenant, url, true)).status, url).toBe(201);
    // One dot after an IPv4 address is dropped by the URL parser itself: it is the address.
    const parsed = (await (await addWebhook(tenant, "http://127.0.0.1.:9/dot", true)).json()) as Created;
    expect(parsed.webhook.url).toBe("http://127.0.0.1:9/dot");
    expect((await addWebhook(tenant, "https://10.0.0.1./in")).status).toBe(400);
  });

  it("refuses, before any request, an attempt to a dotted URL stored before the rule", async () => {
    const outcome = await attemptDelivery(
      env,
      { url: "https://169.254.169.254../latest/meta-data", format: "standard-webhooks", secret: newWebhookSecret() },
      "evt_x",
      { type: "session.created", data: { tenant: "t", actor: "admin" } },
      Date.now(),
    );
    expect(outcome).toEqual({
      status: null,
      error: "refused: url's host must not end with a dot",
      delivered: false,
      gone: false,
      retryAfterMs: null,
    });
  });
});

describe("Retry-After: a receiver cannot make us retry faster than the bounds", () => {
  const SECOND = 1000;
  const HOUR = 3600 * SECOND;

  it("reads the header as the receiver asked, and follows it only within bounds", () => {
    expect(retryAfterMs("1", 0)).toBe(SECOND);
    expect(retryAfterMs(new Date(0).toUTCString(), 60 * SECOND)).toBe(0);
    expect(retryAfterMs("soon", 0)).toBeNull();
    // attempt (1 for the first), Retry-After or none -> the wait before the next attempt
    const cases: [number, number | null, number][] = [
      [1, null, RETRY_DELAYS_MS[0]!],
      [1, SECOND, 30 * SECOND], // never sooner than 30 s
      [1, 0, 30 * SECOND],
      [3, 45 * SECOND, 45 * SECOND], // within the first five attempts it may hurry the schedule (5 min)
      [4, SECOND, 30 * SECOND],
      [5, SECOND, RETRY_DELAYS_MS[4]!], // after five, never sooner than the schedule's next step
      [6, 10 * 60 * SECOND, RETRY_DELAYS_MS[5]!],
      [5, 3 * HOUR, 3 * HOUR], // but it may slow it
      [10, SECOND, 24 * HOUR],
      [2, 7 * 24 * HOUR, 24 * HOUR], // never later than a day
    ];
    for (const [attempt, asked, wait] of cases)
      expect(retryDelayMs(attempt, asked), `attempt ${attempt}, Retry-After ${asked}`).toBe(wait);
  });

  it("sends a receiver that always answers Retry-After: 1 eleven attempts in all over three days, none within 30 s of the last", async () => {
    const tenant = await createTenant();
    expect((await addWebhook(tenant, "https://hooks.example.com/in")).status).toBe(201);
    await createSession(tenant, { userId: "u" });
    const attempts = await runInDurableObject(storeStub(tenant), (_instance, state) => {
      const sql = state.storage.sql;
      const store = storeOf(sql);
      const row = () => sql.exec<OutboxRow>("SELECT * FROM outbox").toArray()[0];
      const happened = row()!.at;
      const at: number[] = [];
      // Each attempt made when the store says it is due, answered 503 with Retry-After: 1.
      for (let now = happened, next = row(); next !== undefined && at.length < 1000; next = row()) {
        now = Math.max(now, next.next_attempt_at);
        at.push(now - happened);
        recordAttempt(
          store,
          next,
          { status: 503, error: null, delivered: false, gone: false, retryAfterMs: SECOND },
          false,
          now,
        );
      }
      return at;
    });
    const gaps = attempts.slice(1).map((at, index) => at - attempts[index]!);
    expect(gaps.slice(0, 4)).toEqual([30 * SECOND, 30 * SECOND, 30 * SECOND, 30 * SECOND]);
    expect(gaps.slice(4)).toEqual(RETRY_DELAYS_MS.slice(4, 10));
    expect(attempts).toHaveLength(11);
    expect(attempts.at(-1)!).toBeLessThan(GIVE_UP_AFTER_MS);
  });
});
