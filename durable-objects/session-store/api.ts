// The SessionStore's RPC methods by role. Every store of a tenant is a shard: it serves the
// sessions placed on it, its part of listings and counts, and what a coordinator orders of it.
// Shard 0 is also the home: settings, keys and webhooks (copied to the others), deletion, and
// the coordination of every kill and undo. A stub typed by role (durable-objects/stubs.ts)
// makes a home-only call on a shard a compile error.

import type { ElevateRequest, ValidateOptions } from "../../src/core/assurance";
import type { StoreCaller } from "../../src/core/auth";
import type { Result } from "../../src/core/errors";
import type { AuditEvent } from "../../src/core/events";
import type { ShardHistory } from "../../src/core/placement";
import type { Session } from "../../src/core/session";
import type { NewSessionInput } from "../../src/core/session-input";
import type { SettingsPatch, TenantKeyView, TenantView } from "../../src/core/settings";
import type { DeliveryAttempt, WebhookView } from "../../src/core/webhooks";
import type { SiblingSession } from "@session-service/client";
import type { Applied, KillOrder, KillSeen } from "./kills";
import type { NewWebhookRow } from "./webhooks-sql";
import type { Killed } from "./kills";
import type { TenantCopy } from "./replication";
import type { Created, Issued } from "./sessions";
import type { Listed } from "./listings";
import type { ListQuery } from "./listings-sql";
import type { Placement } from "./tenant";
import type { IdpLink } from "../../src/core/identity-providers";
import type { StoredProvider, StreamSettings } from "./identity-providers";
import type { NewProvider } from "./identity-providers-sql";
import type { Signal, SignalOutcome } from "../../src/core/signals";

export type { ListQuery } from "./listings-sql";
export type { IdpLink, NewProvider, Signal, SignalOutcome, StoredProvider, StreamSettings };

/** A kill an operator asks of a tenant's home. */
export type KillRequest =
  | { kind: "one"; sessionId: string }
  | { kind: "user"; userId: string }
  | { kind: "tenant" }
  | { kind: "impersonations" }
  | ReauthRequest;

/** "Prove it again": a user's sessions, or the tenant's. */
export type ReauthRequest = { kind: "reauth-user"; userId: string } | { kind: "reauth-tenant" };

/** Any store of a tenant. */
export interface ShardApi {
  /** The live socket's upgrade. */
  fetch(request: Request): Promise<Response>;

  createSession(
    caller: StoreCaller,
    id: string,
    secretHash: ArrayBuffer,
    input: NewSessionInput,
    count: number,
  ): Promise<Created>;
  validateSession(
    id: string,
    secretHash: ArrayBuffer,
    requirement?: ValidateOptions | null,
  ): Result<{ session: Session }>;
  elevateSession(
    caller: StoreCaller,
    id: string,
    oldSecretHash: ArrayBuffer,
    newSecretHash: ArrayBuffer,
    request: ElevateRequest,
  ): Issued;
  sessionForJwt(
    id: string,
    secretHash: ArrayBuffer,
    audience: string,
    origin: string | null,
  ): Result<{ session: Session; ttlSeconds: number; assured: boolean }>;
  rotateSession(id: string, oldSecretHash: ArrayBuffer, newSecretHash: ArrayBuffer, origin: string | null): Issued;
  logout(id: string, secretHash: ArrayBuffer, origin: string | null): Result;
  listSiblings(
    id: string,
    secretHash: ArrayBuffer,
  ): Result<{ sessions: SiblingSession[]; userId: string; history: ShardHistory }>;
  /** "Log out my other devices": the session's own store coordinates it over the user's other stores. */
  revokeSiblings(id: string, secretHash: ArrayBuffer, origin: string | null, killId: string): Promise<Killed>;

  listSessions(caller: StoreCaller, options: ListQuery): Result<Listed<Session>>;
  getSession(caller: StoreCaller, id: string): Result<{ session: Session }>;
  listEvents(caller: StoreCaller, options: Omit<ListQuery, "userId">): Result<Listed<AuditEvent>>;
  getTenant(caller: StoreCaller): Result<{ tenant: TenantView }>;
  activity(
    caller: StoreCaller,
    since: number,
    bucketMs: number,
  ): Result<{ counts: { bucket: number; type: string; n: number }[]; live: number }>;
  listTenantKeys(caller: StoreCaller): Result<{ keys: TenantKeyView[] }>;
  listWebhooks(caller: StoreCaller): Result<{ webhooks: (WebhookView & { lastDelivery: DeliveryAttempt | null })[] }>;
  webhookAttempts(caller: StoreCaller, id: string): Result<{ attempts: DeliveryAttempt[]; known: boolean }>;

  // What a coordinator orders
  applyKill(order: KillOrder): Promise<Applied>;
  applyUndo(killId: string): Promise<Result<{ restored: number; users: string[] }>>;
  checkUndo(
    caller: StoreCaller,
    killId: string,
    platform: boolean,
    decidedAt: number,
  ): Result<{ kill: KillSeen | null }>;
  evictSessions(ids: string[]): Result<{ evicted: number }>;

  // What the home copies and erases
  applyCopy(copy: TenantCopy, shard: number): Promise<Result>;
  markShardErasing(name: string, createdAt: number, actor: string): Result;
  eraseShard(name: string, createdAt: number): Promise<Result>;
}

/** The tenant's home: shard 0. */
export interface HomeApi extends ShardApi {
  putTenant(
    name: string,
    patch: SettingsPatch,
    actor: string,
  ): Promise<Result<{ tenant: TenantView; created: boolean; copied: boolean; placement: Placement }>>;
  placement(): Result<{ placement: Placement }>;
  addTenantKey(keyId: string, secretHash: ArrayBuffer, actor: string): Promise<Result<{ copied: boolean }>>;
  removeTenantKey(keyId: string, actor: string): Promise<Result<{ copied: boolean }>>;
  addWebhook(caller: StoreCaller, row: NewWebhookRow): Promise<Result<{ webhook: WebhookView; copied: boolean }>>;
  removeWebhook(caller: StoreCaller, id: string): Promise<Result<{ copied: boolean }>>;
  /** Another shard got a 410 for this webhook. */
  disableWebhook(id: string): Promise<Result>;
  eraseTenant(actor: string): Promise<Result<{ erased: boolean }>>;
  kill(caller: StoreCaller, killId: string, request: KillRequest, platformAt?: number | null): Promise<Killed>;
  undo(caller: StoreCaller, killId: string, platform: boolean): Promise<Result<{ restored: number; killId: string }>>;
  reauthenticate(
    caller: StoreCaller,
    reauthId: string,
    request: ReauthRequest,
  ): Promise<Result<{ floor: number; reauthId: string }>>;

  // Identity providers and their signals: kept and received at the home only.
  putIdentityProvider(
    caller: StoreCaller,
    row: NewProvider,
  ): Promise<Result<{ identityProvider: StoredProvider; created: boolean }>>;
  setIdentityStream(
    caller: StoreCaller,
    id: string,
    stream: StreamSettings,
  ): Promise<Result<{ identityProvider: StoredProvider }>>;
  listIdentityProviders(caller: StoreCaller): Result<{ identityProviders: StoredProvider[] }>;
  deleteIdentityProvider(caller: StoreCaller, id: string): Result;
  /** Before a session linked to a provider is made on another shard: see identity-providers.linkAtHome. */
  linkIdpSession(link: IdpLink, userId: string, expiresAt: number): Result;
  receiveSignal(providerId: string, signal: Signal): Promise<SignalOutcome>;
}
