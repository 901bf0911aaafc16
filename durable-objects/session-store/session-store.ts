// SessionStore: the Durable Object that holds one tenant's sessions, keys and audit log in
// SQLite (or a shard of them). A thin dispatcher: each RPC method reads the clock once and hands
// off to one capability (tenant.ts, sessions.ts, kills.ts and coordinator.ts, audit.ts, ...) in
// a synchronous transaction (validation, whose one write needs none, aside); the drivers of
// what waits on other objects or receivers (copies.ts, delivery.ts, erasure.ts,
// coordination.ts) run through the host this class gives them (host.ts). The only thing kept in
// memory is a parsed copy of the tenant row, dropped by every change (#change), never stale.
// The alarm does the background work: deliveries, the directory, copies, kills still reaching
// stores, the purge, socket expiry; it only deletes what is already refused.

import { DurableObject } from "cloudflare:workers";
import type { SiblingSession } from "@session-service/client";
import type { StoreCaller } from "../../src/core/auth";
import { ok, type Result } from "../../src/core/errors";
import type { AuditEvent } from "../../src/core/events";
import { errorResponse } from "../../src/core/http";
import { parseLiveRequest, type RevokedReason } from "../../src/core/live";
import type { ShardHistory } from "../../src/core/placement";
import type { Session } from "../../src/core/session";
import type { NewSessionInput } from "../../src/core/session-input";
import type { SettingsPatch, TenantKeyView, TenantView } from "../../src/core/settings";
import type { DeliveryAttempt, WebhookView } from "../../src/core/webhooks";
import { hasSchema } from "../migrations";
import type { HomeApi, KillRequest, ListQuery } from "./api";
import { listEvents, logRecorded } from "./audit";
import { lastEventSeq } from "./audit-sql";
import { addEverywhere, copyOrRetry, copyToShards, register, removeEverywhere } from "./copies";
import { capAcrossStores, decideSeenUndo, finish } from "./coordination";
import * as coordinator from "./coordinator";
import * as erasure from "./erasure";
import type { RunState, StoreHost } from "./host";
import * as kills from "./kills";
import { nextPurgeAt, PURGE_COALESCE_MS } from "./purge";
import { armFromStorage, upkeep } from "./upkeep";
import { applyCopy, type TenantCopy } from "./replication";
import { migrate } from "./schema";
import * as sessions from "./sessions";
import { acceptSocket, answerClose, closeDeadSockets, sessionTag, userTag } from "./sockets";
import * as tenants from "./tenant";
import { heldTenant, readErasure } from "./tenant-sql";
import * as webhookOps from "./webhook-operations";
import * as hooks from "./webhooks-sql";

export { LIVE_SOCKETS_PER_SESSION } from "./sockets";

/** How long the runtime keeps retrying a failed alarm run (2 s doubling, six times), with room to spare. */
const ALARM_RETRIES_MS = 5 * 60_000;

export class SessionStore extends DurableObject<Env> implements HomeApi {
  /** When our alarm is set for, cached so a write does not read it back every time. */
  #alarmAt: number | null = null;
  /** The tenant row, parsed; undefined until read again after a change. */
  #tenant: tenants.Tenant | null | undefined = undefined;
  readonly #state: RunState = { webhookKey: undefined, copies: new Set(), erasing: null, upkeeping: null, wiping: false };
  readonly #host: StoreHost;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    const self = this;
    this.#host = {
      ctx,
      get env() {
        return self.env;
      },
      state: this.#state,
      store: () => this.#store(),
      transaction: (operation) => this.#transaction(operation),
      change: (operation) => this.#change(operation),
      armBy: (at) => this.#armBy(at),
      releaseAlarm: () => {
        this.#alarmAt = null;
      },
      forgetTenant: () => {
        this.#tenant = undefined;
      },
    };
    // A store that never held a tenant stays empty: its schema is made by the first PUT.
    if (!hasSchema(ctx.storage.sql)) return;
    void ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage);
      this.#alarmAt = await ctx.storage.getAlarm();
      await armFromStorage(this.#host);
    });
  }

  #store(): tenants.Store {
    const sql = this.ctx.storage.sql;
    if (this.#tenant === undefined) this.#tenant = tenants.readTenantState(sql);
    return { sql, tenant: this.#tenant };
  }

  #transaction<T>(operation: (store: tenants.Store, now: number) => T): T {
    const now = Date.now();
    return this.ctx.storage.transactionSync(() => operation(this.#store(), now));
  }

  /**
   * A transaction that may change anything: the tenant row, floors, sessions. The kept tenant
   * row is dropped after it, committed or not; that is the one place it is ever dropped. Once
   * it commits, each audit event it recorded is also written as a log line, so logs and the
   * audit log tell the same story.
   */
  #change<T>(operation: (store: tenants.Store, now: number) => T): T {
    const sql = this.ctx.storage.sql;
    // No schema yet: only putTenant can succeed, and it makes the schema.
    const before = hasSchema(sql) ? lastEventSeq(sql) : 0;
    let result: T;
    try {
      result = this.#transaction(operation);
    } finally {
      this.#tenant = undefined;
    }
    if (!hasSchema(sql)) return result;
    // Events queued for webhooks go out from the alarm; the output gate holds the answer until it is set.
    if (logRecorded(sql, before, this.#store().tenant?.name) > 0) void this.#armBy(hooks.nextDeliveryAt(sql));
    return result;
  }

  /** Makes sure the alarm fires no later than `at`. */
  #armBy(at: number | null): Promise<void> {
    // A time this far past is no pending alarm, not even a failed run's retry: the runtime gives up within minutes.
    const pending = this.#alarmAt !== null && this.#alarmAt > Date.now() - ALARM_RETRIES_MS;
    if (at === null || (pending && this.#alarmAt! <= at)) return Promise.resolve();
    this.#alarmAt = at; // at once, so that a call made before this one settles sees it
    return this.ctx.storage.setAlarm(at);
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

  #closeDeadSockets(tag: string | undefined, reason: RevokedReason): number | null {
    return closeDeadSockets(this.ctx, () => this.#store(), tag, reason);
  }

  /** After a kill, an undo or new settings: the purge is due sooner, perhaps. */
  async #afterKill(): Promise<void> {
    await this.#armBy(nextPurgeAt(this.#store(), Date.now()));
  }

  // The alarm

  override async alarm(): Promise<void> {
    // Until this run succeeds, the runtime's retry of it is the pending alarm: no request may
    // replace it with a later one. Only a finished run lets #armBy set the next time.
    this.#alarmAt = Date.now();
    const sql = this.ctx.storage.sql;
    // An erased store has nothing to do (a request under way as it was erased may have set this alarm).
    if (!hasSchema(sql)) {
      this.#alarmAt = null;
      return;
    }
    // A tenant being deleted needs nothing else: its sessions, events and webhooks are going
    // (its home erases the other shards).
    const erasing = readErasure(sql);
    if (erasing) {
      if (erasing.tenant.shard === 0) await erasure.eraseOrRetry(this.#host);
      else this.#alarmAt = null;
      return;
    }
    const run = upkeep(this.#host, this.#asShard());
    this.#state.upkeeping = run;
    try {
      await run;
    } finally {
      this.#state.upkeeping = null;
    }
  }

  // Live sockets (sockets.ts)

  override async fetch(request: Request): Promise<Response> {
    const live = parseLiveRequest(request);
    if (!live.ok) return errorResponse(live.error);
    const { sessionId, secretHash, origin } = live;
    const opened = this.#refusedToken(
      this.#transaction((store, now) => sessions.openLive(store, sessionId, secretHash, origin, now)),
      sessionId,
      secretHash,
    );
    if (!opened.ok) return errorResponse(opened.error);
    const response = acceptSocket(this.ctx, sessionId, secretHash, opened.session.userId);
    await this.#armBy(Date.parse(opened.session.expiresAt));
    return response;
  }

  override webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): void {
    // Clients may ping to keep intermediaries from timing the socket out; nothing else is expected.
    if (message === "ping") socket.send("pong");
  }

  override webSocketClose(socket: WebSocket, code: number, reason: string): void {
    answerClose(socket, code, reason);
  }

  // Tenant and keys (tenant.ts; copies.ts tells the other shards and the directory)

  /**
   * At the tenant's home. A change of timeouts can end sessions at once: their sockets are told
   * now, and the alarm is re-armed for the new earliest expiry (and for right away while stored
   * expiries are re-evaluated). `copied`: every other shard has the new settings; when one could
   * not be reached, the alarm keeps trying and the caller is told to retry.
   */
  async putTenant(name: string, patch: SettingsPatch, actor: string): Promise<Result<{ tenant: TenantView; created: boolean; copied: boolean; placement: tenants.Placement }>> {
    const result = this.#change((_store, now) => tenants.putTenant(this.ctx.storage, name, patch, actor, now));
    if (!result.ok) return result;
    if (!result.created) await this.#afterSettings();
    // Last, as they wait on other objects: the sockets and the purge must not wait with them.
    const [registered, copied] = await Promise.all([register(this.#host), copyToShards(this.#host)]);
    if (!registered || !copied) await this.#armBy(Date.now() + PURGE_COALESCE_MS);
    const placed = tenants.placement(this.#store());
    return placed.ok ? ok({ tenant: result.tenant, created: result.created, copied, placement: placed.placement }) : placed;
  }

  /** After settings changed: sockets of sessions the new timeouts ended are told, and the purge re-armed. */
  async #afterSettings(): Promise<void> {
    await this.#afterKill();
    await this.#armBy(this.#closeDeadSockets(undefined, "expired"));
  }

  /** On a shard other than the home: the home's copy of the tenant (settings, rules, shard history, keys). */
  async applyCopy(copy: TenantCopy, shard: number): Promise<Result> {
    // A store holds one tenant: of two of the same name, the later one. What a deleted one left
    // here (a copy that landed after this shard was erased) is erased before a later one's copy
    // is taken, and a late copy of a deleted one is ignored.
    const held = heldTenant(this.ctx.storage.sql);
    if (held && held.createdAt > copy.createdAt) return ok({});
    if (held && held.createdAt < copy.createdAt) await erasure.eraseHere(this.#host);
    const result = this.#change((_store, now) => {
      const applied = applyCopy(this.ctx.storage, copy, shard);
      // Webhooks the copy disabled drop what they had yet to receive, with an audit event each.
      if (applied.ok) webhookOps.recordCopiedDrops(this.ctx.storage.sql, applied.dropped, now);
      return applied;
    });
    if (result.ok && result.taken) await this.#afterSettings();
    return ok({});
  }

  /** At the home: how many shards new sessions use, and every count used so far. */
  placement(): Result<{ placement: tenants.Placement }> {
    return this.#transaction((store) => tenants.placement(store));
  }

  getTenant(caller: StoreCaller): Result<{ tenant: TenantView }> {
    return this.#transaction((store, now) => tenants.getTenant(store, caller, now));
  }

  activity(caller: StoreCaller, since: number, bucketMs: number): Result<{ counts: { bucket: number; type: string; n: number }[]; live: number }> {
    return this.#transaction((store, now) => tenants.activity(store, caller, since, bucketMs, now));
  }

  /** The keys this store holds, with their last use here (the home's are the authoritative list). */
  listTenantKeys(caller: StoreCaller): Result<{ keys: TenantKeyView[] }> {
    return this.#transaction((store, now) => tenants.listTenantKeys(store, caller, now));
  }

  /** At the home; `copied` false: a shard could not be told, and no key is kept (copies.addEverywhere). */
  addTenantKey(keyId: string, secretHash: ArrayBuffer, actor: string): Promise<Result<{ copied: boolean }>> {
    const added = this.#change((store, now) => tenants.addTenantKey(store, keyId, secretHash, actor, now));
    return addEverywhere(this.#host, added, (store, now) => tenants.removeTenantKey(store, keyId, "system", now, true));
  }

  /** At the home; `copied`: the key no longer works on any shard (copies.removeEverywhere). */
  removeTenantKey(keyId: string, actor: string): Promise<Result<{ copied: boolean }>> {
    return removeEverywhere(this.#host, this.#change((store, now) => tenants.removeTenantKey(store, keyId, actor, now)), "key_not_found");
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

  /** `count`: the shard count the front Worker placed the session by. */
  async createSession(caller: StoreCaller, id: string, secretHash: ArrayBuffer, input: NewSessionInput, count: number): Promise<sessions.Created> {
    const issued = this.#change((store, now) => sessions.createSession(store, caller, id, secretHash, input, count, now));
    if (!issued.ok) return issued;
    this.#closeDeadSockets(userTag(input.userId), "revoked"); // evicted by the per-user cap
    await this.#armBy(Date.parse(issued.session.expiresAt));
    // The user's sessions may be on other stores too (the tenant grew since some were made):
    // the cap is kept over all of them once this one is made, never evicting it.
    if (issued.capElsewhere !== null) await capAcrossStores(this.#host, this.#asShard(), [input.userId], id);
    return issued;
  }

  /**
   * The answer of a call made with a session token. A refused token may be one that rotation
   * superseded: its use is then recorded, in a transaction of its own (the refusal stands).
   */
  #refusedToken<T extends object>(result: Result<T>, id: string, secretHash: ArrayBuffer): Result<T> {
    if (result.ok || result.error.code !== "invalid_token") return result;
    // A read first: refused tokens are common (expired, killed), recorded uses are once per secret.
    if (sessions.supersededUseUnrecorded(this.#store(), id, secretHash)) this.#change((store, now) => sessions.supersededSecretUsed(store, id, secretHash, now));
    return result;
  }

  /** The hot path: at most one UPDATE, so the implicit per-event transaction is enough. */
  validateSession(id: string, secretHash: ArrayBuffer): Result<{ session: Session }> {
    return this.#refusedToken(sessions.validateSession(this.#store(), id, secretHash, Date.now()), id, secretHash);
  }

  /** Validation for a JWT: see sessions.sessionForJwt. One UPDATE at most, like validation. */
  sessionForJwt(id: string, secretHash: ArrayBuffer, audience: string, origin: string | null): Result<{ session: Session; ttlSeconds: number }> {
    return this.#refusedToken(sessions.sessionForJwt(this.#store(), id, secretHash, audience, origin, Date.now()), id, secretHash);
  }

  rotateSession(id: string, oldSecretHash: ArrayBuffer, newSecretHash: ArrayBuffer, origin: string | null): sessions.Issued {
    const rotated = this.#change((store, now) => sessions.rotateSession(store, id, oldSecretHash, newSecretHash, origin, now));
    if (rotated.ok) this.#closeDeadSockets(sessionTag(id), "rotated");
    return this.#refusedToken(rotated, id, oldSecretHash);
  }

  logout(id: string, secretHash: ArrayBuffer, origin: string | null): Result {
    const loggedOut = this.#change((store, now) => sessions.logout(store, id, secretHash, origin, now));
    if (loggedOut.ok) this.#closeDeadSockets(sessionTag(id), "logout");
    return loggedOut;
  }

  listSessions(caller: StoreCaller, options: ListQuery): Result<sessions.Listed<Session>> {
    return this.#transaction((store, now) => sessions.listSessions(store, caller, options, now));
  }

  getSession(caller: StoreCaller, id: string): Result<{ session: Session }> {
    return this.#transaction((store, now) => sessions.getSession(store, caller, id, now));
  }

  listSiblings(id: string, secretHash: ArrayBuffer): Result<{ sessions: SiblingSession[]; userId: string; history: ShardHistory }> {
    return this.#refusedToken(this.#transaction((store, now) => sessions.listSiblings(store, id, secretHash, now)), id, secretHash);
  }

  /** The per-user cap kept over several shards: these sessions go, and their sockets are told. */
  evictSessions(ids: string[]): Result<{ evicted: number }> {
    const result = this.#change((store, now) => sessions.evictSessions(store, ids, now));
    for (const id of ids) this.#closeDeadSockets(sessionTag(id), "revoked");
    return result;
  }

  listEvents(caller: StoreCaller, options: Omit<ListQuery, "userId">): Result<sessions.Listed<AuditEvent>> {
    return this.#transaction((store, now) => listEvents(store, caller, options, now));
  }

  // Kills and their undo (coordinator.ts decides and records; coordination.ts tells the others)

  /**
   * At the tenant's home: a kill over every store it concerns, recorded and applied here first,
   * then on the others; answered once every one has it (or 503: the alarm finishes it).
   * `platformAt`: the moment of the platform's kill this is the tenant's part of.
   */
  async kill(caller: StoreCaller, killId: string, request: KillRequest, platformAt: number | null = null): Promise<kills.Killed> {
    const started = this.#change((store, now) => coordinator.startKill(store, caller, killId, request, platformAt, now));
    if (!started.ok) return started;
    const { sockets } = started;
    this.#closeDeadSockets(sockets === "all" ? undefined : "userId" in sockets ? userTag(sockets.userId) : sessionTag(sockets.sessionId), "revoked");
    return finish(this.#host, this.#asShard(), killId, (store) => coordinator.killAnswer(store, killId));
  }

  /** "Log out my other devices", at the session's own store, which coordinates it over the user's other stores. */
  async revokeSiblings(id: string, secretHash: ArrayBuffer, origin: string | null, killId: string): Promise<kills.Killed> {
    const found = this.#change((store, now) => {
      const asking = sessions.sessionForChange(store, id, secretHash, origin, now);
      if (asking.ok) coordinator.startSiblingsKill(store, asking.tenant, asking.record.userId, id, killId, now);
      return asking;
    });
    if (!found.ok) return this.#refusedToken(found, id, secretHash);
    this.#closeDeadSockets(userTag(found.record.userId), "revoked"); // that user's sockets only
    return finish(this.#host, this.#asShard(), killId, (store) => coordinator.killAnswer(store, killId));
  }

  /**
   * At the tenant's home: undoes a kill on every store it reached, all or nothing: decided here
   * first (see coordinator.decideUndo), then done everywhere. A kill this home did not
   * coordinate is first judged by every store at one moment, changing nothing.
   */
  async undo(caller: StoreCaller, killId: string, platform: boolean): Promise<Result<{ restored: number; killId: string }>> {
    const decided = this.#change((store, now) => coordinator.decideUndo(store, caller, killId, platform, now));
    if (!decided.ok) return decided;
    const users = decided.known ? decided.users : await decideSeenUndo(this.#host, this.#asShard(), caller, killId, platform);
    if (!Array.isArray(users)) return users;
    if (this.#store().tenant?.settings.maxSessionsPerUser !== null) this.#closeDeadSockets(undefined, "revoked"); // evicted by the cap
    return finish(this.#host, this.#asShard(), killId, (store) => coordinator.undoAnswer(store, killId), users);
  }

  /** On every store a kill concerns: applies its coordinator's order (see kills.applyKill). */
  async applyKill(order: kills.KillOrder): Promise<kills.Applied> {
    const applied = this.#change((store, now) => kills.applyKill(store, order, now));
    if (!applied.ok || applied.revoked === 0) return applied;
    const tag = order.kind === "tenant" ? undefined : order.kind === "one" ? sessionTag(order.sessionId!) : userTag(order.userId!);
    this.#closeDeadSockets(tag, "revoked");
    await this.#afterKill();
    return applied;
  }

  /** On every store a kill reached: undoes it as its coordinator decided. Sessions the cap evicted have their sockets told. */
  async applyUndo(killId: string): Promise<Result<{ restored: number; users: string[] }>> {
    const undone = this.#change((store, now) => kills.applyUndo(store, killId, now));
    if (undone.ok && undone.restored > 0 && this.#store().tenant?.settings.maxSessionsPerUser !== null) this.#closeDeadSockets(undefined, "revoked");
    await this.#afterKill();
    return undone;
  }

  /** An undo's judgment by one store, changing nothing (see kills.checkUndo). */
  checkUndo(caller: StoreCaller, killId: string, platform: boolean, decidedAt: number): Result<{ kill: kills.KillSeen | null }> {
    return this.#change((store, now) => kills.checkUndo(store, caller, killId, platform, decidedAt, now));
  }

  // Webhooks (webhook-operations.ts): kept at the home, which copies them to the other shards before the answer.

  /** `copied` false: a shard could not be told, and the webhook is not kept (copies.addEverywhere). */
  addWebhook(caller: StoreCaller, row: hooks.NewWebhookRow): Promise<Result<{ webhook: WebhookView; copied: boolean }>> {
    const added = this.#change((store, now) => webhookOps.addWebhook(store, caller, row, now));
    // Taken back as the platform admin: the caller's key may have been revoked meanwhile.
    return addEverywhere(this.#host, added, (store, now) => webhookOps.removeWebhook(store, { kind: "admin" }, row.id, now, true));
  }

  /** `copied`: no shard sends it anything more (copies.removeEverywhere). */
  removeWebhook(caller: StoreCaller, id: string): Promise<Result<{ copied: boolean }>> {
    return removeEverywhere(this.#host, this.#change((store, now) => webhookOps.removeWebhook(store, caller, id, now)), "webhook_not_found");
  }

  listWebhooks(caller: StoreCaller): Result<{ webhooks: (WebhookView & { lastDelivery: DeliveryAttempt | null })[] }> {
    return this.#transaction((store, now) => webhookOps.listWebhooks(store, caller, now));
  }

  webhookAttempts(caller: StoreCaller, id: string): Result<{ attempts: DeliveryAttempt[]; known: boolean }> {
    return this.#transaction((store, now) => webhookOps.webhookAttempts(store, caller, id, now));
  }

  /** At the home: another shard got a 410 for this webhook. */
  async disableWebhook(id: string): Promise<Result> {
    const disabled = this.#change((store, now) => webhookOps.disableWebhook(store, id, now));
    if (disabled) await copyOrRetry(this.#host);
    return ok({});
  }
}
