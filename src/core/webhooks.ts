// Webhooks: a tenant's session changes pushed out as they happen, in one of two formats (`WEBHOOK_FORMATS`).
// This module holds the rules and the shapes; the store keeps the outbox and delivers it
// (durable-objects/session-store/webhook-delivery.ts). Every HMAC and signature is WebCrypto's.

import { randomBase64url } from "./crypto";
import { fail, ok, type Result } from "./errors";
import type { AuditEvent, DeliveryAttempt, WebhookEventType, WebhookFormat, WebhookView } from "./events";

export type { DeliveryAttempt, WebhookEventType, WebhookFormat, WebhookView };
import { sealingKey } from "./sealing";

export const WEBHOOK_EVENT_TYPES: readonly WebhookEventType[] = [
  "session.created",
  "session.rotated",
  "session.elevated",
  "user.reauth_required",
  "tenant.reauth_required",
  "session.revoked",
  "user.sessions_revoked",
  "tenant.sessions_revoked",
  "tenant.impersonations_revoked",
  "session.expired",
  "kill.undone",
  "session.bound",
  "session.binding_violation",
];

/**
 * What a `caep` webhook can receive: each becomes a CAEP session-revoked event. Not "log out
 * my other devices" (a user.sessions_revoked with reason `siblings`): session-revoked names a
 * session or all of a user's, never all but one, so a receiver would end the one kept too.
 */
export const REVOCATION_EVENT_TYPES: readonly WebhookEventType[] = [
  "session.revoked",
  "user.sessions_revoked",
  "tenant.sessions_revoked",
];

/**
 * standard-webhooks: a JSON event signed per the Standard Webhooks specification (headers
 * webhook-id, webhook-timestamp, webhook-signature "v1,<base64 HMAC-SHA256>").
 * caep: revocations only, as Security Event Tokens (RFC 8417) carrying the OpenID CAEP
 * `session-revoked` event, signed with the JWT signing key (same JWKS), pushed per RFC 8935.
 */
export const WEBHOOK_FORMATS: readonly WebhookFormat[] = ["standard-webhooks", "caep"];

export const MAX_WEBHOOKS_PER_TENANT = 10;
const MAX_URL_LENGTH = 2048;
const WEBHOOK_ID_PATTERN = /^wh_[A-Za-z0-9_-]{16}$/;

export function isWebhookId(value: unknown): value is string {
  return typeof value === "string" && WEBHOOK_ID_PATTERN.test(value);
}

export interface WebhookInput {
  url: string;
  format: WebhookFormat;
  events: WebhookEventType[];
}

const BAD_BODY = fail(
  "bad_request",
  'the body must be { "url": "https://...", "format": "standard-webhooks" | "caep", "events"?: [...] }',
);

/** The webhook a POST asks for, checked: the URL by the rules of `urlProblem`, the events known (revocations only for `caep`). */
export function parseWebhookInput(body: unknown, allowLoopback: boolean): Result<{ input: WebhookInput }> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) return BAD_BODY;
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).find((field) => !["url", "format", "events"].includes(field));
  if (unknown !== undefined)
    return fail("bad_request", `unknown field ${JSON.stringify(unknown.slice(0, 64))}`, unknown.slice(0, 64));
  const { url, format, events } = fields;
  if (typeof url !== "string") return fail("bad_request", "url must be a string", "url");
  const problem = urlProblem(url, allowLoopback);
  if (problem !== null) return fail("bad_request", problem, "url");
  const href = new URL(url).href; // the form urlProblem checked: stored and sent as is
  if (!WEBHOOK_FORMATS.includes(format as WebhookFormat))
    return fail("bad_request", 'format must be "standard-webhooks" or "caep"', "format");
  const allowed = format === "caep" ? REVOCATION_EVENT_TYPES : WEBHOOK_EVENT_TYPES;
  if (events === undefined) return ok({ input: { url: href, format: format as WebhookFormat, events: [...allowed] } });
  if (
    !Array.isArray(events) ||
    events.length === 0 ||
    new Set(events).size !== events.length ||
    !events.every((type) => allowed.includes(type as WebhookEventType))
  ) {
    return fail("bad_request", `events must be a non-empty list without repeats, of: ${allowed.join(", ")}`, "events");
  }
  return ok({ input: { url: href, format: format as WebhookFormat, events: events as WebhookEventType[] } });
}

/**
 * Why a receiver URL is refused, or null. Every rule, the length too, is checked on the parsed
 * URL, the form that is stored and sent (`href`: percent-encoded, IPv4 in dotted decimal
 * whatever its spelling). https only, no credentials or fragment, and never a loopback,
 * private, link-local or otherwise non-public address. With `allowLoopback` (local development
 * and tests only), http or https to exactly 127.0.0.1 or localhost is allowed too.
 *
 * A name is checked as written: a Worker has no DNS API, so a public name whose record points
 * at a private address cannot be refused here. fetch() leaves from Cloudflare's network, not
 * ours, and a Worker reaches a private network only through a Workers VPC binding (this one
 * has none); Cloudflare does not document refusing a name that resolves to a private address.
 */
export function urlProblem(raw: string, allowLoopback: boolean): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return "url must be an absolute URL";
  }
  if (url.href.length > MAX_URL_LENGTH) return `url must be at most ${MAX_URL_LENGTH} characters once percent-encoded`;
  if (url.username !== "" || url.password !== "") return "url must not carry credentials";
  if (url.hash !== "") return "url must not have a fragment";
  // The parser reads "127.0.0.1.." or "localhost.." as an ordinary name, which a resolver may
  // still take to the host without the dots; no receiver needs a trailing dot.
  if (url.hostname.endsWith(".")) return "url's host must not end with a dot";
  const host = url.hostname;
  const loopback = host === "127.0.0.1" || host === "localhost";
  if (loopback && allowLoopback && (url.protocol === "http:" || url.protocol === "https:")) return null;
  if (url.protocol !== "https:") return "url must be https";
  if (loopback || host.endsWith(".localhost") || !isPublicHost(host)) return "url must name a public host";
  return null;
}

function isPublicHost(hostname: string): boolean {
  if (hostname.startsWith("[")) {
    // An IPv6 literal: none is needed for a webhook, and many are not public (::1, fc00::/7,
    // fe80::/10, IPv4-mapped); refuse them all rather than classify.
    return false;
  }
  const octets = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(hostname)?.slice(1).map(Number);
  if (!octets) return hostname.includes("."); // a name: one label alone only resolves on a local network
  const [a, b, c] = octets as [number, number, number];
  return !(
    a === 0 || // this network
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // shared address space (CGNAT)
    (a === 169 && b === 254) || // link-local, cloud metadata
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 0 && (c === 0 || c === 2)) || // IETF protocol assignments, TEST-NET-1
    (a === 192 && b === 168) ||
    (a === 198 && (b === 18 || b === 19)) || // benchmarking
    (a === 198 && b === 51 && c === 100) || // TEST-NET-2
    (a === 203 && b === 0 && c === 113) || // TEST-NET-3
    a >= 224 // multicast, reserved, broadcast
  );
}

// Events

/** An event as every webhook receives it: `data` never holds a token. */
export interface WebhookEvent {
  type: WebhookEventType;
  data: {
    tenant: string;
    sessionId?: string;
    userId?: string;
    reason?: string;
    actor: string;
    killId?: string;
    /** Mass kills: how many sessions it ended. */
    revoked?: number;
    /** kill.undone: how many sessions came back. */
    restored?: number;
    /** session.elevated: the level reached. */
    acr?: string;
    /** Events about an impersonation: who acted as the user. */
    impersonator?: string;
  };
}

/** The event webhooks receive for an audit event, or null for audit events not pushed out. */
export function webhookEventOf(event: Omit<AuditEvent, "at">, tenant: string): WebhookEvent | null {
  const base = {
    tenant,
    actor: event.actor,
    ...(event.impersonator !== undefined && { impersonator: event.impersonator }),
  };
  const session = {
    ...(event.sessionId !== undefined && { sessionId: event.sessionId }),
    ...(event.userId !== undefined && { userId: event.userId }),
  };
  const kill = event.killId !== undefined ? { killId: event.killId } : {};
  switch (event.type) {
    case "created":
      return { type: "session.created", data: { ...base, ...session } };
    case "rotated":
      return { type: "session.rotated", data: { ...base, ...session } };
    case "elevated":
      return {
        type: "session.elevated",
        data: { ...base, ...session, ...(event.acr !== undefined && { acr: event.acr }) },
      };
    case "expired":
      return { type: "session.expired", data: { ...base, ...session } };
    case "bound":
      return { type: "session.bound", data: { ...base, ...session } };
    case "binding_violation":
      return { type: "session.binding_violation", data: { ...base, ...session } };
    case "reauth_required":
      return event.userId !== undefined
        ? { type: "user.reauth_required", data: { ...base, userId: event.userId, ...kill } }
        : { type: "tenant.reauth_required", data: { ...base, ...kill } };
    case "kill_undone":
      return { type: "kill.undone", data: { ...base, ...session, ...kill, restored: event.count ?? 0 } };
    case "revoked":
      if (event.reason === "user" || event.reason === "siblings") {
        // "My other devices" names the session that asked; the event is about the others.
        return {
          type: "user.sessions_revoked",
          data: { ...base, userId: event.userId!, reason: event.reason, ...kill, revoked: event.count ?? 0 },
        };
      }
      if (event.reason === "impersonations") {
        return {
          type: "tenant.impersonations_revoked",
          data: { ...base, reason: event.reason, ...kill, revoked: event.count ?? 0 },
        };
      }
      if (event.reason === "tenant" || event.reason === "platform") {
        return {
          type: "tenant.sessions_revoked",
          data: { ...base, reason: event.reason, ...kill, revoked: event.count ?? 0 },
        };
      }
      return { type: "session.revoked", data: { ...base, ...session, reason: event.reason ?? "one", ...kill } };
    default:
      return null;
  }
}

/** The JSON body a standard-webhooks receiver gets. */
export function eventBody(id: string, event: WebhookEvent, at: number): string {
  return JSON.stringify({ id, type: event.type, timestamp: new Date(at).toISOString(), data: event.data });
}

// Standard Webhooks

const SECRET_PREFIX = "whsec_";
const SECRET_BYTES = 32;

/** Standard (padded) base64, as Standard Webhooks writes secrets and signatures. */
function base64(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes));
}

/** A new signing secret: `whsec_` and the base64 of 32 random bytes (the key the HMAC uses). */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + base64(crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
}

/** The three Standard Webhooks headers for one attempt: `v1,` and the base64 HMAC-SHA256 of "<id>.<timestamp>.<body>". */
export async function standardWebhooksHeaders(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): Promise<Record<string, string>> {
  const keyBytes = Uint8Array.from(atob(secret.slice(SECRET_PREFIX.length)), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey("raw", keyBytes, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(`${id}.${timestampSeconds}.${body}`));
  return {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": `v1,${base64(new Uint8Array(mac))}`,
  };
}

/** Webhook secrets are sealed at rest under their own key, derived from KEY_ENCRYPTION_SECRET. */
export function webhookSealingKey(secret: string): Promise<CryptoKey> {
  return sealingKey(secret, "webhook signing secrets v1");
}

/** What a sealed secret is bound to: its tenant and webhook, so it cannot be moved to another. */
export function secretContext(tenant: string, webhookId: string): string {
  return `${tenant}/${webhookId}`;
}

// CAEP

export const SESSION_REVOKED_EVENT = "https://schemas.openid.net/secevent/caep/event-type/session-revoked";

/** Who caused a revocation, in CAEP's words. */
export function initiatingEntity(actor: string, reason: string | undefined): "admin" | "user" | "policy" | "system" {
  if (actor === "session") return "user";
  if (actor === "system") return reason === "evicted" ? "policy" : "system";
  // An identity provider's signal: the identity system, not an operator of this service.
  if (actor.startsWith("idp:")) return "system";
  return "admin";
}

/**
 * The claims of the Security Event Token for a revocation: `sub_id` a complex subject of
 * the session, user and tenant it names (each an opaque id), and one CAEP session-revoked
 * event. `aud` is the receiver's URL; `jti` the event id, the same on every retry.
 */
export function caepClaims(
  issuer: string,
  audience: string,
  id: string,
  event: WebhookEvent,
  at: number,
): Record<string, unknown> {
  const opaque = (value: string) => ({ format: "opaque", id: value });
  const { data } = event;
  const subject: Record<string, unknown> = { format: "complex", tenant: opaque(data.tenant) };
  if (data.userId !== undefined) subject.user = opaque(data.userId);
  if (data.sessionId !== undefined && event.type === "session.revoked") subject.session = opaque(data.sessionId);
  const eventTimestamp = Math.floor(at / 1000);
  return {
    iss: issuer,
    aud: audience,
    iat: Math.floor(Date.now() / 1000),
    jti: id,
    sub_id: subject,
    events: {
      [SESSION_REVOKED_EVENT]: {
        event_timestamp: eventTimestamp,
        initiating_entity: initiatingEntity(data.actor, data.reason),
        reason_admin: { en: `${event.type}${data.reason ? ` (${data.reason})` : ""}` },
      },
    },
  };
}

/** A new event id: the same for every webhook and every retry of that event. */
export function newEventId(): string {
  return `evt_${randomBase64url(16)}`;
}
