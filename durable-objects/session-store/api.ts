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
import type { Bound, Refreshed } from "./binding";
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

  /** `count`: the shard count the front Worker placed the session by. */
  createSession(
    caller: StoreCaller,
    id: string,
    secretHash: ArrayBuffer,
    input: NewSessionInput,
    count: number,
  ): Promise<Created>;
  /** The hot path: at most one UPDATE, so the implicit per-event transaction is enough. */
  validateSession(
    id: string,
    secretHash: ArrayBuffer,
    requirement?: ValidateOptions | null,
    boundThumbprint?: string | null,
  ): Result<{ session: Session }>;
  /**
   * Binds the session to the key its browser proved it holds (device binding): the registration
   * proof carries the key and names a challenge the session was given. A refused proof is
   * audited (`binding_failed`).
   */
  registerBinding(id: string, secretHash: ArrayBuffer, proof: string): Promise<Bound>;
  /**
   * A bound session's refresh: without a proof, a fresh challenge; with one (signed by the bound
   * key, naming a challenge), the session slid and what its new bound cookie must say.
   */
  refreshBinding(id: string, secretHash: ArrayBuffer, proof: string | null): Promise<Refreshed>;
  /** A step-up (elevation.ts): like rotation, the old token stops working and its sockets close. */
  elevateSession(
    caller: StoreCaller,
    id: string,
    oldSecretHash: ArrayBuffer,
    newSecretHash: ArrayBuffer,
    request: ElevateRequest,
    boundThumbprint?: string | null,
  ): Issued;
  /** Validation for a JWT: see sessions.sessionForJwt. One UPDATE at most, like validation. */
  sessionForJwt(
    id: string,
    secretHash: ArrayBuffer,
    audience: string,
    origin: string | null,
    boundThumbprint?: string | null,
  ): Result<{ session: Session; ttlSeconds: number; assured: boolean }>;
  rotateSession(
    id: string,
    oldSecretHash: ArrayBuffer,
    newSecretHash: ArrayBuffer,
    origin: string | null,
    boundThumbprint?: string | null,
  ): Issued;
  logout(id: string, secretHash: ArrayBuffer, origin: string | null): Result;
  listSiblings(
    id: string,
    secretHash: ArrayBuffer,
    boundThumbprint?: string | null,
  ): Result<{ sessions: SiblingSession[]; userId: string; history: ShardHistory }>;
  /** "Log out my other devices": the session's own store coordinates it over the user's other stores. */
  revokeSiblings(
    id: string,
    secretHash: ArrayBuffer,
    origin: string | null,
    killId: string,
    boundThumbprint?: string | null,
  ): Promise<Killed>;

  listSessions(caller: StoreCaller, options: ListQuery): Result<Listed<Session>>;
  getSession(caller: StoreCaller, id: string): Result<{ session: Session }>;
  listEvents(caller: StoreCaller, options: Omit<ListQuery, "userId">): Result<Listed<AuditEvent>>;
  getTenant(caller: StoreCaller): Result<{ tenant: TenantView }>;
  activity(
    caller: StoreCaller,
    since: number,
    bucketMs: number,
  ): Result<{ counts: { bucket: number; type: string; n: number }[]; live: number }>;
  /** The keys this store holds, with their last use here (the home's are the authoritative list). */
  listTenantKeys(caller: StoreCaller): Result<{ keys: TenantKeyView[] }>;
  listWebhooks(caller: StoreCaller): Result<{ webhooks: (WebhookView & { lastDelivery: DeliveryAttempt | null })[] }>;
  webhookAttempts(caller: StoreCaller, id: string): Result<{ attempts: DeliveryAttempt[]; known: boolean }>;

  /**
   * At the store a session's id names (placed-id.ts): the kill of that one session, recorded and
   * applied here (no other store holds it). The kill's id names this store too, for its undo.
   */
  killSession(caller: StoreCaller, killId: string, sessionId: string): Promise<Killed>;
  /**
   * At the store that coordinated a kill (the home, or the store its id names): undoes it on
   * every store it reached, all or nothing (coordination.coordinateUndo).
   */
  undo(caller: StoreCaller, killId: string, platform: boolean): Promise<Result<{ restored: number; killId: string }>>;

  // What a coordinator orders
  /** On every store a kill concerns: applies its coordinator's order (see kills.applyKill). */
  applyKill(order: KillOrder): Promise<Applied>;
  /** On every store a kill reached: undoes it as its coordinator decided. */
  applyUndo(killId: string): Promise<Result<{ restored: number; users: string[] }>>;
  /** An undo's judgment by one store, changing nothing (see kills.checkUndo). */
  checkUndo(
    caller: StoreCaller,
    killId: string,
    platform: boolean,
    decidedAt: number,
  ): Result<{ kill: KillSeen | null }>;
  /** The per-user cap kept over several shards: these sessions go, and their sockets are told. */
  evictSessions(ids: string[]): Result<{ evicted: number }>;

  // What the home copies and erases
  /** On a shard other than the home: the home's copy of the tenant (settings, rules, shard history, keys, webhooks). */
  applyCopy(copy: TenantCopy, shard: number): Promise<Result>;
  markShardErasing(name: string, createdAt: number, actor: string): Result;
  eraseShard(name: string, createdAt: number): Promise<Result>;
}

/** The tenant's home: shard 0. */
export interface HomeApi extends ShardApi {
  /** At the tenant's home: settings, copied to every other shard before the answer (copies.putTenantAtHome). */
  putTenant(
    name: string,
    patch: SettingsPatch,
    actor: string,
  ): Promise<Result<{ tenant: TenantView; created: boolean; copied: boolean; placement: Placement }>>;
  /** At the home: how many shards new sessions use, and every count used so far. */
  placement(): Result<{ placement: Placement }>;
  /** At the home; `copied` false: a shard could not be told, and no key is kept (copies.addEverywhere). */
  addTenantKey(keyId: string, secretHash: ArrayBuffer, actor: string): Promise<Result<{ copied: boolean }>>;
  /** At the home; `copied`: the key no longer works on any shard (copies.removeEverywhere). */
  removeTenantKey(keyId: string, actor: string): Promise<Result<{ copied: boolean }>>;
  /** `copied` false: a shard could not be told, and the webhook is not kept (copies.addEverywhere). */
  addWebhook(caller: StoreCaller, row: NewWebhookRow): Promise<Result<{ webhook: WebhookView; copied: boolean }>>;
  /** `copied`: no shard sends it anything more (copies.removeEverywhere). */
  removeWebhook(caller: StoreCaller, id: string): Promise<Result<{ copied: boolean }>>;
  /** Another shard got a 410 for this webhook. */
  disableWebhook(id: string): Promise<Result>;
  eraseTenant(actor: string): Promise<Result<{ erased: boolean }>>;
  /**
   * At the tenant's home: a kill over every store it concerns, recorded and applied here first,
   * then on the others; answered once every one has it (or 503: the alarm finishes it).
   * `platformAt`: the moment of the platform's kill this is the tenant's part of.
   */
  kill(caller: StoreCaller, killId: string, request: KillRequest, platformAt?: number | null): Promise<Killed>;
  /** At the home: sessions of a user, or of the tenant, authenticated before now meet no requirement (undoable as a kill). */
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
