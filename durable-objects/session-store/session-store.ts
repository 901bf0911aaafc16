// SessionStore: the Durable Object that holds a tenant's sessions, keys and audit log (or a
// shard of them) in SQLite. A thin dispatcher (api.ts documents each method by role): each hands
// off to one capability in a synchronous transaction, or to a driver that waits on other objects
// through the host this class gives it (host.ts); one scheduler keeps the alarm (upkeep.ts).

import { DurableObject } from "cloudflare:workers";
import type { ElevateRequest, ValidateOptions } from "../../src/core/assurance";
import type { StoreCaller } from "../../src/core/auth";
import { ok, type Result } from "../../src/core/errors";
import type { AuditEvent } from "../../src/core/events";
import type { Session } from "../../src/core/session";
import type { NewSessionInput } from "../../src/core/session-input";
import type { SettingsPatch, TenantKeyView, TenantView } from "../../src/core/settings";
import type { DeliveryAttempt, WebhookView } from "../../src/core/webhooks";
import { hasSchema } from "../migrations";
import type * as api from "./api";
import type { HomeApi, KillRequest, ListQuery, ReauthRequest } from "./api";
import { listEvents } from "./audit";
import { addEverywhere, copyOrRetry, putTenantAtHome, removeEverywhere, takeCopy } from "./copies";
import * as coordination from "./coordination";
import type * as coordinator from "./coordinator";
import * as erasure from "./erasure";
import * as idps from "./identity-providers";
import * as signals from "./signals";
import * as binding from "./binding";
import { afterProviderChange } from "./polling";
import { create } from "./creation";
import { elevateSession } from "./elevation";
import { createHost, type StoreHost } from "./host";
import * as kills from "./kills";
import { Scheduler } from "./scheduler";
import { armFromStorage, runAlarm } from "./upkeep";
import type { TenantCopy } from "./replication";
import { migrate } from "./schema";
import * as listings from "./listings";
import * as sessions from "./sessions";
import { answerClose, sessionTag } from "./sockets";
import { openLiveSocket, refusedToken } from "./token-calls";
import * as tenants from "./tenant";
import * as webhookOps from "./webhook-operations";
import type * as hooks from "./webhooks-sql";

export { LIVE_SOCKETS_PER_SESSION } from "./sockets";

export class SessionStore extends DurableObject<Env> implements HomeApi {
  readonly #scheduler: Scheduler;
  readonly #host: StoreHost;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#scheduler = new Scheduler(ctx.storage);
    this.#host = createHost(ctx, () => this.env, this.#scheduler);
    // A store that never held a tenant stays empty: its schema is made by the first PUT.
    if (!hasSchema(ctx.storage.sql)) return;
    void ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage);
      await this.#scheduler.load();
      await armFromStorage(this.#host);
    });
  }

  /** This store, called as its coordinator calls the others. */
  #asShard(): coordinator.CoordinatedStore {
    return {
      applyKill: (order) => this.applyKill(order),
      applyUndo: (killId) => this.applyUndo(killId),
      checkUndo: async (caller, killId, platform, decidedAt) => this.checkUndo(caller, killId, platform, decidedAt),
      listSessions: async (caller, options) => this.listSessions(caller, options),
      evictSessions: async (ids) => this.evictSessions(ids),
    };
  }

  // The alarm

  override alarm(): Promise<void> {
    return runAlarm(this.#host, this.#asShard());
  }

  // Live sockets (sockets.ts)

  override fetch(request: Request): Promise<Response> {
    return openLiveSocket(this.#host, request);
  }

  override webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): void {
    // Clients may ping to keep intermediaries from timing the socket out; nothing else is expected.
    if (message === "ping") socket.send("pong");
  }

  override webSocketClose(socket: WebSocket, code: number, reason: string): void {
    answerClose(socket, code, reason);
  }

  // Tenant and keys (tenant.ts; copies.ts tells the other shards and the directory)

  putTenant(
    name: string,
    patch: SettingsPatch,
    actor: string,
  ): Promise<Result<{ tenant: TenantView; created: boolean; copied: boolean; placement: tenants.Placement }>> {
    return putTenantAtHome(this.#host, name, patch, actor);
  }

  async applyCopy(copy: TenantCopy, shard: number): Promise<Result> {
    await takeCopy(this.#host, copy, shard);
    return ok({});
  }

  placement(): Result<{ placement: tenants.Placement }> {
    return this.#host.transaction((store) => tenants.placement(store));
  }

  getTenant(caller: StoreCaller): Result<{ tenant: TenantView }> {
    return this.#host.transaction((store, now) => tenants.getTenant(store, caller, now));
  }

  activity(caller: StoreCaller, since: number, bucketMs: number) {
    return this.#host.transaction((store, now) => tenants.activity(store, caller, since, bucketMs, now));
  }

  listTenantKeys(caller: StoreCaller): Result<{ keys: TenantKeyView[] }> {
    return this.#host.transaction((store, now) => tenants.listTenantKeys(store, caller, now));
  }

  addTenantKey(keyId: string, secretHash: ArrayBuffer, actor: string): Promise<Result<{ copied: boolean }>> {
    const added = this.#host.change((store, now) => tenants.addTenantKey(store, keyId, secretHash, actor, now));
    return addEverywhere(this.#host, added, (store, now) => tenants.removeTenantKey(store, keyId, "system", now, true));
  }

  removeTenantKey(keyId: string, actor: string): Promise<Result<{ copied: boolean }>> {
    return removeEverywhere(
      this.#host,
      this.#host.change((store, now) => tenants.removeTenantKey(store, keyId, actor, now)),
      "key_not_found",
    );
  }

  // Deleting the tenant (erasure.ts)

  eraseTenant(actor: string): Promise<Result<{ erased: boolean }>> {
    return erasure.eraseTenant(this.#host, actor);
  }

  markShardErasing(name: string, createdAt: number, actor: string): Result {
    return erasure.markShardErasing(this.#host, name, createdAt, actor);
  }

  eraseShard(name: string, createdAt: number): Promise<Result> {
    return erasure.eraseShard(this.#host, name, createdAt);
  }

  // Sessions (sessions.ts)

  createSession(caller: StoreCaller, id: string, secretHash: ArrayBuffer, input: NewSessionInput, count: number) {
    return create(this.#host, this.#asShard(), caller, { id, secretHash, input, count });
  }

  #refusedToken<T extends object>(result: Result<T>, id: string, secretHash: ArrayBuffer): Result<T> {
    return refusedToken(this.#host, result, id, secretHash);
  }

  validateSession(
    id: string,
    secretHash: ArrayBuffer,
    requirement: ValidateOptions | null = null,
    boundThumbprint: string | null = null,
  ) {
    const store = this.#host.store();
    const validated = sessions.validateSession(store, id, secretHash, requirement, Date.now(), boundThumbprint);
    return this.#refusedToken(validated, id, secretHash);
  }

  async registerBinding(id: string, secretHash: ArrayBuffer, proof: string) {
    return this.#refusedToken(await binding.registerBinding(this.#host, id, secretHash, proof), id, secretHash);
  }

  refreshBinding(id: string, secretHash: ArrayBuffer, proof: string | null) {
    return binding.refreshBinding(this.#host, id, secretHash, proof);
  }

  sessionForJwt(
    id: string,
    secretHash: ArrayBuffer,
    audience: string,
    origin: string | null,
    boundThumbprint: string | null = null,
  ) {
    return this.#refusedToken(
      sessions.sessionForJwt(this.#host.store(), id, secretHash, audience, origin, Date.now(), boundThumbprint),
      id,
      secretHash,
    );
  }

  elevateSession(
    caller: StoreCaller,
    id: string,
    oldSecretHash: ArrayBuffer,
    newSecretHash: ArrayBuffer,
    request: ElevateRequest,
    boundThumbprint: string | null = null,
  ) {
    const raised = this.#host.change((store, now) =>
      elevateSession(store, caller, id, oldSecretHash, newSecretHash, request, now, boundThumbprint),
    );
    if (raised.ok) this.#host.closeDeadSockets(sessionTag(id), "rotated");
    return this.#refusedToken(raised, id, oldSecretHash);
  }

  rotateSession(
    id: string,
    oldSecretHash: ArrayBuffer,
    newSecretHash: ArrayBuffer,
    origin: string | null,
    boundThumbprint: string | null = null,
  ) {
    const rotated = this.#host.change((store, now) =>
      sessions.rotateSession(store, id, oldSecretHash, newSecretHash, origin, now, boundThumbprint),
    );
    if (rotated.ok) this.#host.closeDeadSockets(sessionTag(id), "rotated");
    return this.#refusedToken(rotated, id, oldSecretHash);
  }

  logout(id: string, secretHash: ArrayBuffer, origin: string | null): Result {
    const loggedOut = this.#host.change((store, now) => sessions.logout(store, id, secretHash, origin, now));
    if (loggedOut.ok) this.#host.closeDeadSockets(sessionTag(id), "logout");
    return loggedOut;
  }

  listSessions(caller: StoreCaller, options: ListQuery): Result<listings.Listed<Session>> {
    return this.#host.transaction((store, now) => listings.listSessions(store, caller, options, now));
  }

  getSession(caller: StoreCaller, id: string): Result<{ session: Session }> {
    return this.#host.transaction((store, now) => listings.getSession(store, caller, id, now));
  }

  listSiblings(id: string, secretHash: ArrayBuffer, boundThumbprint: string | null = null) {
    return this.#refusedToken(
      this.#host.transaction((store, now) => listings.listSiblings(store, id, secretHash, now, boundThumbprint)),
      id,
      secretHash,
    );
  }

  evictSessions(ids: string[]): Result<{ evicted: number }> {
    const result = this.#host.change((store, now) => sessions.evictSessions(store, ids, now));
    for (const id of ids) this.#host.closeDeadSockets(sessionTag(id), "revoked");
    return result;
  }

  listEvents(caller: StoreCaller, options: Omit<ListQuery, "userId">): Result<listings.Listed<AuditEvent>> {
    return this.#host.transaction((store, now) => listEvents(store, caller, options, now));
  }

  // Kills and their undo (coordinator.ts decides and records; coordination.ts tells the others)

  kill(
    caller: StoreCaller,
    killId: string,
    request: KillRequest,
    platformAt: number | null = null,
  ): Promise<kills.Killed> {
    return coordination.coordinateKill(this.#host, this.#asShard(), caller, killId, request, platformAt);
  }

  killSession(caller: StoreCaller, killId: string, sessionId: string): Promise<kills.Killed> {
    return this.kill(caller, killId, { kind: "one", sessionId });
  }

  reauthenticate(
    caller: StoreCaller,
    reauthId: string,
    request: ReauthRequest,
  ): Promise<Result<{ floor: number; reauthId: string }>> {
    return coordination.coordinateReauth(this.#host, this.#asShard(), caller, reauthId, request);
  }

  async revokeSiblings(
    id: string,
    secretHash: ArrayBuffer,
    origin: string | null,
    killId: string,
    boundThumbprint: string | null = null,
  ): Promise<kills.Killed> {
    const killed = await coordination.coordinateSiblingsKill(
      this.#host,
      this.#asShard(),
      id,
      secretHash,
      origin,
      killId,
      boundThumbprint,
    );
    return this.#refusedToken(killed, id, secretHash);
  }

  undo(caller: StoreCaller, killId: string, platform: boolean): Promise<Result<{ restored: number; killId: string }>> {
    return coordination.coordinateUndo(this.#host, this.#asShard(), caller, killId, platform);
  }

  applyKill(order: kills.KillOrder): Promise<kills.Applied> {
    return coordination.applyKillHere(this.#host, order);
  }

  applyUndo(killId: string): Promise<Result<{ restored: number; users: string[] }>> {
    return coordination.applyUndoHere(this.#host, killId);
  }

  checkUndo(
    caller: StoreCaller,
    killId: string,
    platform: boolean,
    decidedAt: number,
  ): Result<{ kill: kills.KillSeen | null }> {
    return this.#host.change((store, now) => kills.checkUndo(store, caller, killId, platform, decidedAt, now));
  }

  // Webhooks (webhook-operations.ts): kept at the home, which copies them to the other shards before the answer.

  addWebhook(
    caller: StoreCaller,
    row: hooks.NewWebhookRow,
  ): Promise<Result<{ webhook: WebhookView; copied: boolean }>> {
    const added = this.#host.change((store, now) => webhookOps.addWebhook(store, caller, row, now));
    // Taken back as the platform admin: the caller's key may have been revoked meanwhile.
    return addEverywhere(this.#host, added, (store, now) =>
      webhookOps.removeWebhook(store, { kind: "admin" }, row.id, now, true),
    );
  }

  removeWebhook(caller: StoreCaller, id: string): Promise<Result<{ copied: boolean }>> {
    return removeEverywhere(
      this.#host,
      this.#host.change((store, now) => webhookOps.removeWebhook(store, caller, id, now)),
      "webhook_not_found",
    );
  }

  listWebhooks(caller: StoreCaller): Result<{ webhooks: (WebhookView & { lastDelivery: DeliveryAttempt | null })[] }> {
    return this.#host.transaction((store, now) => webhookOps.listWebhooks(store, caller, now));
  }

  webhookAttempts(caller: StoreCaller, id: string): Result<{ attempts: DeliveryAttempt[]; known: boolean }> {
    return this.#host.transaction((store, now) => webhookOps.webhookAttempts(store, caller, id, now));
  }

  async disableWebhook(id: string): Promise<Result> {
    const disabled = this.#host.change((store, now) => webhookOps.disableWebhook(store, id, now));
    if (disabled) await copyOrRetry(this.#host);
    return ok({});
  }

  // Identity providers (identity-providers.ts) and their signals (signals.ts): at the home only.

  putIdentityProvider(caller: StoreCaller, row: api.NewProvider) {
    return afterProviderChange(
      this.#host,
      this.#host.change((store, now) => idps.putProvider(store, caller, row, now)),
    );
  }

  setIdentityStream(caller: StoreCaller, id: string, stream: api.StreamSettings) {
    return afterProviderChange(
      this.#host,
      this.#host.change((store, now) => idps.setStream(store, caller, id, stream, now)),
    );
  }

  listIdentityProviders(caller: StoreCaller): Result<{ identityProviders: api.StoredProvider[] }> {
    return this.#host.transaction((store, now) => idps.listProviders(store, caller, now));
  }

  deleteIdentityProvider(caller: StoreCaller, id: string): Result {
    return this.#host.change((store, now) => idps.deleteProvider(store, caller, id, now));
  }

  linkIdpSession(link: api.IdpLink, userId: string, expiresAt: number): Result {
    return this.#host.change((store) => idps.linkSession(store, link, userId, expiresAt));
  }

  receiveSignal(providerId: string, signal: api.Signal): Promise<api.SignalOutcome> {
    return signals.receive(this.#host, this.#asShard(), providerId, signal);
  }
}
