// One delivery attempt of one event to one webhook, and what follows from its outcome. The
// store's alarm calls it for each due outbox row (durable-objects/session-store/session-store.ts).
// A POST, never following a redirect, given up after ATTEMPT_TIMEOUT_MS: a receiver that
// hangs costs one bounded attempt. Any 2xx delivers; 410 Gone disables the webhook; anything
// else is retried on the schedule below, or after the receiver's Retry-After within bounds.

import { configReport } from "../../src/core/config";
import { signSecurityEvent } from "../key-ring/jwt";
import {
  caepClaims,
  eventBody,
  standardWebhooksHeaders,
  urlProblem,
  type WebhookEvent,
  type WebhookFormat,
} from "../../src/core/webhooks";

export const ATTEMPT_TIMEOUT_MS = 15_000;

/**
 * The wait before each retry: the first within 10 s, then backing off to about three days in
 * all (3 d 3 h 36 min 5 s), close to the Standard Webhooks schedule. 11 attempts in all.
 */
export const RETRY_DELAYS_MS = [
  5_000,
  60_000,
  5 * 60_000,
  30 * 60_000,
  2 * 3600_000,
  5 * 3600_000,
  10 * 3600_000,
  10 * 3600_000,
  24 * 3600_000,
  24 * 3600_000,
];

/**
 * An event is given up once its next attempt would come later than this after it happened:
 * the whole schedule, with an hour to spare for attempts that ran late. A receiver's short
 * Retry-After brings attempts closer together, never the giving up sooner.
 */
export const GIVE_UP_AFTER_MS = RETRY_DELAYS_MS.reduce((sum, delay) => sum + delay, 0) + 3600_000;

/**
 * A receiver's Retry-After is followed only within bounds: never sooner than 30 s nor later
 * than a day, and after the first ATTEMPTS_RETRY_AFTER_MAY_HURRY attempts never sooner than
 * the schedule. Unbounded, `Retry-After: 1` would draw a POST a second per event for three days.
 */
const MIN_RETRY_AFTER_MS = 30_000;
const MAX_RETRY_AFTER_MS = 24 * 3600_000;
const ATTEMPTS_RETRY_AFTER_MAY_HURRY = 5;

/** The wait after failed attempt number `attempt` (1 for the first): the schedule's next step, or the receiver's Retry-After within bounds. */
export function retryDelayMs(attempt: number, retryAfterMs: number | null): number {
  const scheduled = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length) - 1]!;
  if (retryAfterMs === null) return scheduled;
  const floor =
    attempt >= ATTEMPTS_RETRY_AFTER_MAY_HURRY ? Math.max(MIN_RETRY_AFTER_MS, scheduled) : MIN_RETRY_AFTER_MS;
  return Math.min(MAX_RETRY_AFTER_MS, Math.max(floor, retryAfterMs));
}

export interface DeliveryTarget {
  url: string;
  format: WebhookFormat;
  /** The `whsec_` secret of a standard-webhooks target, unsealed for this run. */
  secret: string | null;
}

export interface AttemptOutcome {
  /** The receiver's status, or null when no answer came. */
  status: number | null;
  /** Why the attempt failed without an answer, or a note on a failing one; null when it succeeded. */
  error: string | null;
  delivered: boolean;
  /** 410 Gone: the receiver wants nothing more. */
  gone: boolean;
  /** The receiver's Retry-After as it asked; bounded by retryDelayMs. */
  retryAfterMs: number | null;
}

/** Retry-After as seconds or an HTTP date, in ms from `now` (0 for a date past); null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null) return null;
  const ms = /^\d+$/.test(header.trim()) ? Number(header.trim()) * 1000 : Date.parse(header) - now;
  if (!Number.isFinite(ms)) return null;
  return Math.max(0, ms);
}

/** The body and headers of one attempt in the target's format. */
async function request(
  env: Env,
  target: DeliveryTarget,
  eventId: string,
  event: WebhookEvent,
  at: number,
): Promise<{ body: string; headers: Record<string, string> } | { error: string }> {
  if (target.format === "caep") {
    const signed = await signSecurityEvent(env, event.data.tenant, (issuer) =>
      caepClaims(issuer, target.url, eventId, event, at),
    );
    if (!signed.ok) return { error: `signing: ${signed.error.message}` };
    return { body: signed.token, headers: { "Content-Type": "application/secevent+jwt", Accept: "application/json" } };
  }
  const body = eventBody(eventId, event, at);
  const signature = await standardWebhooksHeaders(target.secret!, eventId, Math.floor(Date.now() / 1000), body);
  return { body, headers: { "Content-Type": "application/json", ...signature } };
}

export async function attemptDelivery(
  env: Env,
  target: DeliveryTarget,
  eventId: string,
  event: WebhookEvent,
  at: number,
): Promise<AttemptOutcome> {
  const failed = (error: string): AttemptOutcome => ({
    status: null,
    error,
    delivered: false,
    gone: false,
    retryAfterMs: null,
  });
  // Checked again at each attempt: a deployment that turned loopback off reaches no loopback URL.
  const problem = urlProblem(target.url, configReport(env).config?.webhooksAllowLoopback ?? false);
  if (problem !== null) return failed(`refused: ${problem}`);
  const made = await request(env, target, eventId, event, at);
  if ("error" in made) return failed(made.error);
  let response: Response;
  try {
    response = await fetch(target.url, {
      method: "POST",
      body: made.body,
      headers: { ...made.headers, "User-Agent": "session-service-webhooks/1" },
      redirect: "manual",
      signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
    });
  } catch (error) {
    const timedOut = error instanceof Error && (error.name === "TimeoutError" || error.name === "AbortError");
    return failed(
      timedOut ? `no answer within ${ATTEMPT_TIMEOUT_MS / 1000} s` : `unreachable: ${String(error).slice(0, 200)}`,
    );
  }
  // The answer's body is never needed: let the connection go.
  await response.body?.cancel().catch(() => undefined);
  const { status } = response;
  const delivered = status >= 200 && status < 300;
  const redirect = status >= 300 && status < 400;
  return {
    status,
    error: delivered ? null : redirect ? "redirects are not followed" : null,
    delivered,
    gone: status === 410,
    retryAfterMs: retryAfterMs(response.headers.get("Retry-After"), Date.now()),
  };
}
