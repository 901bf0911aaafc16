// SessionStore: the Durable Object that holds one tenant's sessions, keys and audit log in
// SQLite. Thin on purpose: each RPC method reads the clock once and runs one operation of a
// capability (tenant.ts, sessions.ts, kills.ts, audit.ts, purge.ts, ...) inside a synchronous
// transaction (validation, whose one write needs none, aside). The only thing kept in memory is a parsed copy of the tenant row, so the hot
// path reads one row, not three; every change drops it (#change), so it is never stale. The
// purge alarm only deletes what is already refused, so no answer depends on it.
// Live sockets use the Hibernation API, tagged by session and by a digest of the user id (a
// tag is at most 256 characters; a user id may be longer), the session's secret digest
// attached: after a change that can end sessions, the sockets of that session or user (all,
// for a tenant kill) whose sessions no longer authenticate are told why and closed with 4001;
// the alarm does it at expiry. At most LIVE_SOCKETS_PER_SESSION sockets per session.
// Kills and their undo over several stores are coordinated by the tenant's home (the session's
// own store for "my other devices"): coordinator.ts records each before any store is asked,
// and the alarm asks the stores it missed again until every one has it.
// Every settings change is also told to the TenantDirectory (the platform's list of tenants),
// retried by the alarm until it is heard. A sharded tenant's home (shard 0) copies its settings,
// keys and webhooks to the other shards the same way (src/core/placement.ts). Every audit event a
// change records is queued for the tenant's webhooks in that change's transaction (the
// outbox); the alarm delivers the queue (#deliverDue, durable-objects/session-store/webhook-delivery.ts).
// A tenant is deleted by its home (eraseTenant): marked, then every other shard erased, then
// the directory told, then the home erased; the alarm finishes what a failure left.

import { DurableObject } from "cloudflare:workers";
import { hasSchema } from "../migrations";
import { base64url, sha256 } from "../../src/core/crypto";
import type { StoreCaller } from "../../src/core/auth";
import { fail, KILL_NOT_FOUND, ok, type ErrorCode, type Result } from "../../src/core/errors";
import { errorResponse } from "../../src/core/http";
import { LIVE_CLOSE_CODE, parseLiveRequest, revokedMessage, type RevokedReason } from "../../src/core/live";
import type { SiblingSession } from "@session-service/client";
import type { AuditEvent } from "../../src/core/events";
import type { NewSessionInput } from "../../src/core/session-input";
import type { Session } from "../../src/core/session";
import { resolveSettings, type SettingsPatch, type StoredSettings, type TenantKeyView, type TenantView } from "../../src/core/settings";
import { logError, logInfo } from "../../src/core/log";
import { allShards, currentCount, type ShardHistory } from "../../src/core/placement";
import { directoryFor, homeFor, storeFor, type StoreStub } from "../stubs";
import type { HomeApi, KillRequest, ListQuery } from "./api";
import * as coordinator from "./coordinator";
import * as kills from "./kills";
import * as webhookOps from "./webhook-operations";
import * as hooks from "./webhooks-sql";
import { attemptDelivery, type AttemptOutcome } from "./webhook-delivery";
import { secretContext, webhookSealingKey, type DeliveryAttempt, type WebhookEvent, type WebhookView } from "../../src/core/webhooks";
import { unseal } from "../../src/core/sealing";
import { listEvents, logEventName, toAuditEvent } from "./audit";
import { eventsAfter, lastEventSeq } from "./audit-sql";
import { Killed } from "./kills";
import { PURGE_COALESCE_MS, PURGE_ROWS_PER_RUN, UNDO_SETTLE_GRACE_MS, nextPurgeAt, purgeStep } from "./purge";
import { TenantCopy, applyCopy, markCopied, pendingCopyVersion, readCopy } from "./replication";
import { migrate } from "./schema";
import { Created, Issued, Listed, createSession, evictSessions, getSession, listSessions, listSiblings, liveUntil, logout, openLive, rotateSession, sessionForChange, sessionForJwt, supersededSecretUsed, supersededUseUnrecorded, validateSession } from "./sessions";
import { Placement, Store, Tenant, activity, addTenantKey, getTenant, listTenantKeys, markErasing, placement, putTenant, readTenantState, removeTenantKey } from "./tenant";
import { countErasureAttempt, heldTenant, insertErasure, markRegistered, pendingRegistration, readErasure } from "./tenant-sql";

/** An undo judged while a store could not be reached: nothing changed anywhere. */
const UNDO_UNREACHABLE = fail("shard_unavailable", "one of the tenant's stores could not be reached, so nothing was undone; repeat the undo");

/** How long the runtime keeps retrying a failed alarm run (2 s doubling, six times), with room to spare. */
const ALARM_RETRIES_MS = 5 * 60_000;

/** Live sockets one session may hold; opening one more closes the oldest (1008). */
export const LIVE_SOCKETS_PER_SESSION = 16;
/** Close code of a socket pushed out by a newer one of the same session: policy violation. */
const TOO_MANY_SOCKETS_CLOSE_CODE = 1008;

/** What a hibernatable live socket remembers: which session, which of its secrets, since when. */
interface LiveAttachment {
  sessionId: string;
  secretHash: ArrayBuffer;
  openedAt: number;
}

function sessionTag(sessionId: string): string {
  return `s:${sessionId}`;
}

/** Fixed length whatever the user id: 2 + 43 characters. */
function userTag(userId: string): string {
  return `u:${base64url(sha256(userId))}`;
}

/** Tells a live socket why its session ended, and closes it with 4001. */
function tellEnded(socket: WebSocket, reason: RevokedReason): void {
  try {
    socket.send(revokedMessage(reason));
    socket.close(LIVE_CLOSE_CODE, reason);
  } catch {
    // Already closing: the client is gone, which is what we wanted.
  }
}

/** Outbox rows of one webhook one alarm run attempts; more due make the next run follow at once. */
const DELIVERIES_PER_WEBHOOK = 100;
/** No new delivery attempt starts after this much of a run (one under way may take ATTEMPT_TIMEOUT_MS more). */
const DELIVERY_BUDGET_MS = 30_000;
/** Failed answers in a row that end a webhook's turn in a run (a failure without answer ends it at once). */
const FAILURES_ENDING_TURN = 3;

/** Backoff of a deletion that keeps missing a shard or the directory: as a kill's. */
const ERASE_FIRST_DELAY_MS = 5_000;
const ERASE_MAX_DELAY_MS = 10 * 60_000;

export class SessionStore extends DurableObject<Env> implements HomeApi {
  /** The key that unseals webhook secrets, derived once per object. */
  #webhookKey: CryptoKey | undefined;
  /** When our alarm is set for, cached so a write does not read it back every time. */
  #alarmAt: number | null = null;
  /** The tenant row, parsed; undefined until read again after a change. */
  #tenant: Tenant | null | undefined = undefined;
  /** Copies to the other shards under way: a deletion waits for them, or one could re-create a shard just erased. */
  #copies = new Set<Promise<boolean>>();
  /** The deletion under way at this home, if any: a repeated request or the alarm joins it. */
  #erasing: Promise<boolean> | null = null;
  /** The alarm run under way (its upkeep), if any: this store's erasure waits for it. */
  #upkeeping: Promise<void> | null = null;
  /** This store is being erased: deliveries stop. */
  #wiping = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // A store that never held a tenant stays empty: its schema is made by the first PUT.
    if (!hasSchema(ctx.storage.sql)) return;
    void ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage);
      // Alarms are not kept across a local restart: re-arm from what storage says is due.
      this.#alarmAt = await ctx.storage.getAlarm();
      await this.#armBy(nextPurgeAt(this.#store(), Date.now()));
      await this.#armBy(coordinator.nextChangeAt(ctx.storage.sql));
      await this.#armBy(hooks.nextDeliveryAt(ctx.storage.sql));
      // A tenant the directory has yet to hear of (one made before it existed, or a failed call).
      if (pendingRegistration(ctx.storage.sql)) await this.#armBy(Date.now());
      if (readErasure(ctx.storage.sql)?.tenant.shard === 0) await this.#armBy(Date.now());
    });
  }

  /** The store as operations see it, with the tenant row read once and kept until the next change. */
  #store(): Store {
    const sql = this.ctx.storage.sql;
    if (this.#tenant === undefined) this.#tenant = readTenantState(sql);
    return { sql, tenant: this.#tenant };
  }

  /** A transaction that reads (validation's touch aside, which never writes the tenant row). */
  #transaction<T>(operation: (store: Store, now: number) => T): T {
    const now = Date.now();
    return this.ctx.storage.transactionSync(() => operation(this.#store(), now));
  }

  /**
   * A transaction that may change anything: the tenant row, floors, sessions. The kept tenant
   * row is dropped after it, committed or not; that is the one place it is ever dropped. Once
   * it commits, each audit event it recorded is also written as a log line, so logs and the
   * audit log tell the same story.
   */
  #change<T>(operation: (store: Store, now: number) => T): T {
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
    const tenant = this.#store().tenant?.name;
    const recorded = eventsAfter(sql, before);
    for (const row of recorded) {
      const { type, at: _at, ...fields } = toAuditEvent(row);
      logInfo({ event: logEventName(type), tenant, ...fields });
    }
    // Events queued for webhooks go out from the alarm; the output gate holds the answer until it is set.
    if (recorded.length > 0) void this.#armBy(hooks.nextDeliveryAt(sql));
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

  /**
   * Tells the TenantDirectory of the tenant's latest settings if it has not heard of them yet.
   * False when it could not be reached: the caller arms the alarm to ask again.
   */
  async #register(): Promise<boolean> {
    const sql = this.ctx.storage.sql;
    const pending = pendingRegistration(sql);
    if (!pending) return true;
    try {
      await directoryFor(this.env).record(pending.name, resolveSettings(JSON.parse(pending.settings) as StoredSettings), pending.createdAt, pending.updatedAt);
      this.#change(() => markRegistered(sql, pending.updatedAt));
      return true;
    } catch (error) {
      logError({ event: "directory_unreachable", tenant: pending.name, message: String(error) });
      return false;
    }
  }

  /**
   * At a tenant's home: copies the tenant to every other shard that lacks its latest version.
   * False when a shard could not be reached: the caller arms the alarm to try again.
   */
  #copyToShards(): Promise<boolean> {
    const run = this.#copyOnce();
    this.#copies.add(run);
    const done = () => this.#copies.delete(run);
    run.then(done, done);
    return run;
  }

  async #copyOnce(): Promise<boolean> {
    const sql = this.ctx.storage.sql;
    const tenant = this.#store().tenant;
    if (!tenant || tenant.shard !== 0 || pendingCopyVersion(sql) === null) return true;
    const copy = readCopy(sql);
    const shards = allShards(tenant.shardHistory).slice(1);
    const jurisdiction = tenant.settings.jurisdiction;
    const copied = await Promise.allSettled(
      shards.map(async (shard) => {
        const store = storeFor(this.env, { tenant: tenant.name, shard, jurisdiction });
        if (!store.ok) throw new Error(store.error.message);
        await store.stub.applyCopy(copy, shard);
      }),
    );
    const failed = copied.filter((outcome) => outcome.status === "rejected");
    if (failed.length > 0) {
      logError({ event: "shard_copy_failed", tenant: tenant.name, count: failed.length, message: String((failed[0] as PromiseRejectedResult).reason) });
      return false;
    }
    this.#change(() => markCopied(sql, copy.version, currentCount(tenant.shardHistory)));
    return true;
  }

  /** Asks again the stores each due change (a kill, an undo) is waiting on; one missing a store too long is given up, loudly. */
  async #advanceChanges(): Promise<void> {
    const sql = this.ctx.storage.sql;
    const tenant = this.#store().tenant;
    if (!tenant) return;
    for (const id of coordinator.dueChanges(sql, Date.now())) {
      const pending = this.#transaction((store) => coordinator.pendingOf(store, id));
      if (pending && Date.now() - pending.at > coordinator.GIVE_UP_MS) {
        logError({ event: "change_abandoned", tenant: tenant.name, message: id });
        this.#change(() => coordinator.giveUp(sql, id));
        continue;
      }
      const { users, missed } = await coordinator.fanOut(this.#host(), id);
      if (missed.length > 0) logError({ event: "change_unfinished", tenant: tenant.name, count: missed.length, message: `${id}: ${String(missed[0])}` });
      await this.#capAcrossStores(users);
    }
  }

  /** This store as a coordinator sees it: its transactions, and the other stores of its tenant. */
  #host(): coordinator.Host {
    return {
      change: (operation) => this.#change(operation),
      reach: (shard) => {
        const tenant = this.#store().tenant;
        if (!tenant) throw new Error("the tenant is gone");
        if (shard === tenant.shard) return this.#asShard();
        const store = storeFor(this.env, { tenant: tenant.name, shard, jurisdiction: tenant.settings.jurisdiction });
        if (!store.ok) throw new Error(store.error.message);
        return store.stub;
      },
    };
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

  async #capAcrossStores(users: string[], keepId: string | null = null): Promise<void> {
    const tenant = this.#store().tenant;
    if (!tenant || users.length === 0) return;
    await coordinator.capAcrossStores(this.#host(), tenant, users, keepId).catch((error: unknown) => logError({ event: "cap_unfinished", tenant: tenant.name, message: String(error) }));
  }

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
    const erasure = readErasure(sql);
    if (erasure) {
      if (erasure.tenant.shard === 0) await this.#eraseOrRetry();
      else this.#alarmAt = null;
      return;
    }
    const run = this.#upkeep();
    this.#upkeeping = run;
    try {
      await run;
    } finally {
      this.#upkeeping = null;
    }
  }

  /** An alarm run's work: deliveries, the directory, copies, kills, the purge and sockets; then the next time. */
  async #upkeep(): Promise<void> {
    // Deliveries wait on receivers (up to DELIVERY_BUDGET_MS): the rest of the run goes on
    // meanwhile. The run ends only after them, even a failing one, so two never overlap.
    // The outbox is kept within its cap on every run, not only when a purge is due: a receiver
    // that is down must not let a busy tenant's queue grow without bound.
    this.#change((store, now) => webhookOps.trimOutbox(store, now));
    const delivering = this.#deliverDue();
    let unfinished = false;
    let nextSocketExpiry: number | null;
    try {
      await this.#register();
      await this.#copyToShards();
      await this.#advanceChanges();
      const tenant = this.#store().tenant;
      if (tenant) await this.#tellHomeDisabled(tenant);
      // Most runs are for deliveries: the purge runs only once due (each of its steps reads).
      const purgeDueAt = nextPurgeAt(this.#store(), Date.now());
      let deleted = 0;
      for (let step = purgeDueAt !== null && purgeDueAt <= Date.now() ? -1 : 0; step !== 0; ) {
        step = this.#change((store, now) => purgeStep(store, now));
        deleted += step;
        if (step > 0 && deleted >= PURGE_ROWS_PER_RUN) {
          unfinished = true;
          break;
        }
      }
      nextSocketExpiry = this.#closeDeadSockets(undefined, "expired");
    } finally {
      await delivering;
    }
    const deliveredAll = await delivering;
    this.#alarmAt = null;
    const now = Date.now();
    const purgeAt = unfinished ? now : nextPurgeAt(this.#store(), now);
    await this.#armBy(purgeAt === null ? null : Math.max(purgeAt, unfinished ? now : now + PURGE_COALESCE_MS));
    // A live socket hears of its session's expiry the moment it happens, not at the next purge.
    await this.#armBy(nextSocketExpiry);
    // Read again, not taken from the calls above: a change while this run waited (on the
    // directory, a shard or a receiver) may have left newer settings or a copy pending, and
    // its own re-arm was skipped while this run held #alarmAt.
    const sql = this.ctx.storage.sql;
    if (pendingRegistration(sql) || pendingCopyVersion(sql) !== null || hooks.untoldDisabled(sql).length > 0) await this.#armBy(now + PURGE_COALESCE_MS);
    await this.#armBy(coordinator.nextChangeAt(this.ctx.storage.sql));
    await this.#armBy(deliveredAll ? hooks.nextDeliveryAt(this.ctx.storage.sql) : now);
  }

  /**
   * Delivers the outbox rows that are due, up to DELIVERIES_PER_WEBHOOK of each webhook: one
   * attempt at a time per webhook, oldest first, the webhooks side by side (a receiver that
   * hangs holds up only its own), and no new attempt after DELIVERY_BUDGET_MS. A webhook's
   * turn ends at an attempt that got no answer (each costs up to ATTEMPT_TIMEOUT_MS) or at
   * FAILURES_ENDING_TURN failures in a row: its other due events then wait as long as the
   * failed one. A receiver that fails now and then only delays the events it failed. Each
   * row is read again before its attempt: a webhook deleted or disabled meanwhile gets
   * nothing more. Never throws. False when more were due than this run took.
   */
  async #deliverDue(): Promise<boolean> {
    const sql = this.ctx.storage.sql;
    const tenant = this.#store().tenant;
    if (!tenant) return true;
    const started = Date.now();
    const due = hooks.dueOutbox(sql, started, DELIVERIES_PER_WEBHOOK);
    if (due.length === 0) return true;
    let finished = true;
    const disabled: string[] = [];
    await Promise.all(
      [...Map.groupBy(due, (row) => row.webhook_id)].map(async ([webhookId, rows]) => {
        let failuresInRow = 0;
        for (const { seq } of rows) {
          if (this.#wiping || readErasure(sql)) return; // the tenant is going: nothing more goes out
          if (Date.now() - started > DELIVERY_BUDGET_MS) {
            finished = false;
            return;
          }
          const row = hooks.readOutboxRow(sql, seq);
          const webhook = hooks.readWebhook(sql, webhookId);
          if (!webhook || webhook.disabled_at !== null) return;
          if (!row) continue;
          const outcome = await this.#attempt(tenant.name, webhook, row);
          failuresInRow = outcome.delivered ? 0 : failuresInRow + 1;
          const endTurn = !outcome.delivered && (outcome.status === null || failuresInRow >= FAILURES_ENDING_TURN);
          const recorded = this.#change((store, now) => webhookOps.recordAttempt(store, row, outcome, endTurn, now));
          if (recorded.disabled) disabled.push(webhookId);
          if (recorded.disabled || endTurn) return;
        }
      }),
    );
    // The home copies a disabled webhook to the other shards; another shard tells the home.
    if (disabled.length > 0) {
      if (tenant.shard === 0) await this.#copyOrRetry();
      else await this.#tellHomeDisabled(tenant); // retried by the alarm until heard
    }
    const next = hooks.nextDeliveryAt(sql);
    return finished && (next === null || next > started);
  }

  /** One attempt; a secret that cannot be unsealed (KEY_ENCRYPTION_SECRET changed) is a failed attempt, never a thrown run. */
  async #attempt(tenant: string, webhook: hooks.WebhookRow, row: hooks.OutboxRow): Promise<AttemptOutcome> {
    let secret: string | null = null;
    try {
      if (webhook.sealed_secret !== null && webhook.secret_iv !== null) {
        this.#webhookKey ??= await webhookSealingKey(this.env.KEY_ENCRYPTION_SECRET ?? "");
        const plain = await unseal(this.#webhookKey, { iv: webhook.secret_iv, sealed: webhook.sealed_secret }, secretContext(tenant, webhook.id));
        secret = new TextDecoder().decode(plain);
      }
    } catch {
      logError({ event: "webhook_secret_unreadable", tenant, message: webhook.id });
      return { status: null, error: "the signing secret cannot be unsealed (was KEY_ENCRYPTION_SECRET changed?)", delivered: false, gone: false, retryAfterMs: null };
    }
    const event: WebhookEvent = { type: row.type, data: JSON.parse(row.data) as WebhookEvent["data"] };
    return attemptDelivery(this.env, { url: webhook.url, format: webhook.format, secret }, row.event_id, event, row.at);
  }

  /** On a shard other than the home: tells the home of the webhooks this shard disabled (the alarm asks again until it hears). */
  async #tellHomeDisabled(tenant: Tenant): Promise<void> {
    const sql = this.ctx.storage.sql;
    const untold = hooks.untoldDisabled(sql);
    if (untold.length === 0) return;
    const home = homeFor(this.env, { tenant: tenant.name, jurisdiction: tenant.settings.jurisdiction });
    try {
      if (!home.ok) throw new Error(home.error.message);
      for (const id of untold) {
        await home.stub.disableWebhook(id);
        this.#change(() => hooks.markHomeTold(sql, id));
      }
    } catch (error) {
      logError({ event: "webhook_disable_unheard", tenant: tenant.name, message: String(error) });
    }
  }

  // Live sockets

  override async fetch(request: Request): Promise<Response> {
    const live = parseLiveRequest(request);
    if (!live.ok) return errorResponse(live.error);
    const { sessionId, secretHash, origin } = live;
    const opened = this.#refusedToken(
      this.#transaction((store, now) => openLive(store, sessionId, secretHash, origin, now)),
      sessionId,
      secretHash,
    );
    if (!opened.ok) return errorResponse(opened.error);
    this.#makeRoomForSocket(sessionId);
    const [client, server] = Object.values(new WebSocketPair()) as [WebSocket, WebSocket];
    this.ctx.acceptWebSocket(server, [sessionTag(sessionId), userTag(opened.session.userId)]);
    server.serializeAttachment({ sessionId, secretHash, openedAt: Date.now() } satisfies LiveAttachment);
    await this.#armBy(Date.parse(opened.session.expiresAt));
    return new Response(null, { status: 101, webSocket: client });
  }

  /** Closes the oldest open sockets of a session so that one more stays within the cap. */
  #makeRoomForSocket(sessionId: string): void {
    const open = this.ctx
      .getWebSockets(sessionTag(sessionId))
      .filter((socket) => socket.readyState === WebSocket.OPEN)
      .map((socket) => ({ socket, openedAt: (socket.deserializeAttachment() as LiveAttachment | null)?.openedAt ?? 0 }))
      .sort((a, b) => a.openedAt - b.openedAt);
    for (const { socket } of open.slice(0, Math.max(0, open.length - LIVE_SOCKETS_PER_SESSION + 1))) {
      socket.close(TOO_MANY_SOCKETS_CLOSE_CODE, "too many live sockets for this session");
    }
  }

  override webSocketMessage(socket: WebSocket, message: string | ArrayBuffer): void {
    // Clients may ping to keep intermediaries from timing the socket out; nothing else is expected.
    if (message === "ping") socket.send("pong");
  }

  /**
   * Completes the closing handshake with the client's code. Reserved codes are never sent
   * (1004; 1005 no code; 1006 dropped without a close frame; 1015 TLS failure): they are
   * answered with 1000.
   */
  override webSocketClose(socket: WebSocket, code: number, reason: string): void {
    const sendable = (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
    try {
      socket.close(sendable ? code : 1000, sendable ? reason : "");
    } catch {
      // Already closed on our side (a drop): nothing is left to answer.
    }
  }

  /**
   * Tells and closes every socket (of `tag`, or all) whose session no longer authenticates.
   * Returns when the first of the remaining sockets' sessions will end, or null if none is left.
   */
  #closeDeadSockets(tag: string | undefined, reason: RevokedReason): number | null {
    const now = Date.now();
    let earliest: number | null = null;
    for (const socket of this.ctx.getWebSockets(tag)) {
      const attachment = socket.deserializeAttachment() as LiveAttachment | null;
      const until = attachment ? liveUntil(this.#store(), attachment.sessionId, attachment.secretHash, now) : null;
      if (until !== null) {
        if (earliest === null || until < earliest) earliest = until;
        continue;
      }
      tellEnded(socket, reason);
    }
    return earliest;
  }

  // Tenant and keys

  /**
   * At the tenant's home. A change of timeouts can end sessions at once: their sockets are told
   * now, and the alarm is re-armed for the new earliest expiry (and for right away while stored
   * expiries are re-evaluated). `copied`: every other shard has the new settings; when one could
   * not be reached, the alarm keeps trying and the caller is told to retry.
   */
  async putTenant(name: string, patch: SettingsPatch, actor: string): Promise<Result<{ tenant: TenantView; created: boolean; copied: boolean; placement: Placement }>> {
    const result = this.#change((_store, now) => putTenant(this.ctx.storage, name, patch, actor, now));
    if (!result.ok) return result;
    if (!result.created) await this.#afterSettings();
    // Last, as they wait on other objects: the sockets and the purge must not wait with them.
    const [registered, copied] = await Promise.all([this.#register(), this.#copyToShards()]);
    if (!registered || !copied) await this.#armBy(Date.now() + PURGE_COALESCE_MS);
    const placed = placement(this.#store());
    return placed.ok ? ok({ tenant: result.tenant, created: result.created, copied, placement: placed.placement }) : placed;
  }

  /** After settings changed: sockets of sessions the new timeouts ended are told, and the purge re-armed. */
  async #afterSettings(): Promise<void> {
    await this.#armBy(nextPurgeAt(this.#store(), Date.now()));
    await this.#armBy(this.#closeDeadSockets(undefined, "expired"));
  }

  /** On a shard other than the home: the home's copy of the tenant (settings, rules, shard history, keys). */
  async applyCopy(copy: TenantCopy, shard: number): Promise<Result> {
    // A store holds one tenant: of two of the same name, the later one. What a deleted one left
    // here (a copy that landed after this shard was erased) is erased before a later one's copy
    // is taken, and a late copy of a deleted one is ignored.
    const held = heldTenant(this.ctx.storage.sql);
    if (held && held.createdAt > copy.createdAt) return ok({});
    if (held && held.createdAt < copy.createdAt) await this.#eraseHere();
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
  placement(): Result<{ placement: Placement }> {
    return this.#transaction((store) => placement(store));
  }

  getTenant(caller: StoreCaller): Result<{ tenant: TenantView }> {
    return this.#transaction((store, now) => getTenant(store, caller, now));
  }

  activity(caller: StoreCaller, since: number, bucketMs: number): Result<{ counts: { bucket: number; type: string; n: number }[]; live: number }> {
    return this.#transaction((store, now) => activity(store, caller, since, bucketMs, now));
  }

  /** The keys this store holds, with their last use here (the home's are the authoritative list). */
  listTenantKeys(caller: StoreCaller): Result<{ keys: TenantKeyView[] }> {
    return this.#transaction((store, now) => listTenantKeys(store, caller, now));
  }

  /** At the home; `copied` false: a shard could not be told, and no key is kept (see #addEverywhere). */
  addTenantKey(keyId: string, secretHash: ArrayBuffer, actor: string): Promise<Result<{ copied: boolean }>> {
    const added = this.#change((store, now) => addTenantKey(store, keyId, secretHash, actor, now));
    return this.#addEverywhere(added, (store, now) => removeTenantKey(store, keyId, "system", now, true));
  }

  /** At the home; `copied`: the key no longer works on any shard (see #removeEverywhere). */
  removeTenantKey(keyId: string, actor: string): Promise<Result<{ copied: boolean }>> {
    return this.#removeEverywhere(this.#change((store, now) => removeTenantKey(store, keyId, actor, now)), "key_not_found");
  }

  /**
   * After an addition at the home (a tenant key, a webhook), copies it to every other shard
   * before the answer. When one could not be told (`copied` false), the addition is taken back:
   * the caller is answered 503 and never sees its secret, so nothing may act on it. The shards
   * that got it are told at once, without holding the answer (and again by the alarm).
   */
  async #addEverywhere<T extends object>(added: Result<T>, takeBack: (store: Store, now: number) => unknown): Promise<Result<T & { copied: boolean }>> {
    if (!added.ok) return added;
    const copied = await this.#copyOrRetry();
    if (!copied) {
      this.#change(takeBack);
      void this.#copyToShards();
    }
    return { ...added, copied };
  }

  /**
   * After a removal at the home, copies it to every other shard before the answer (`copied`
   * false: the alarm keeps trying). What this home no longer holds may still be on a shard that
   * an earlier removal, answered 503, has not reached: `notFound` is answered only once every
   * shard has the home's copy, else the same 503 again.
   */
  async #removeEverywhere(removed: Result, notFound: ErrorCode): Promise<Result<{ copied: boolean }>> {
    if (!removed.ok && removed.error.code !== notFound) return removed;
    const copied = await this.#copyOrRetry();
    return removed.ok || !copied ? ok({ copied }) : removed;
  }

  async #copyOrRetry(): Promise<boolean> {
    const copied = await this.#copyToShards();
    if (!copied) await this.#armBy(Date.now() + PURGE_COALESCE_MS);
    return copied;
  }

  // Deleting the tenant

  /**
   * At the home: deletes the tenant. It is marked first: from then on this store answers as if
   * the tenant did not exist, copies nothing more, and its sockets are told. Then every other
   * shard is erased, then the directory forgets the name, then this store is erased (in that
   * order, so that what is left of a deletion is always reachable from the home). `erased`
   * false: a shard or the directory could not be reached; the alarm keeps trying, and repeating
   * the call is safe.
   */
  async eraseTenant(actor: string): Promise<Result<{ erased: boolean }>> {
    const marked = this.#change((_store, now) => markErasing(this.ctx.storage.sql, actor, now));
    if (!marked.ok) return marked;
    this.#closeAllSockets();
    // Armed before anything is asked of another object: if this object restarts mid-way, the
    // alarm finishes the deletion (the purge's alarm is no use now; this replaces it).
    this.#alarmAt = null;
    await this.#armBy(Date.now() + ERASE_FIRST_DELAY_MS);
    return ok({ erased: await this.#eraseOrRetry() });
  }

  /** Runs the deletion (or joins the run under way); when it falls short, arms the next try. */
  async #eraseOrRetry(): Promise<boolean> {
    this.#erasing ??= this.#erase().finally(() => {
      this.#erasing = null;
    });
    const erased = await this.#erasing;
    const erasure = readErasure(this.ctx.storage.sql);
    if (!erased && erasure) {
      this.#alarmAt = null;
      await this.#armBy(Date.now() + Math.min(ERASE_MAX_DELAY_MS, ERASE_FIRST_DELAY_MS * 2 ** (erasure.attempts - 1)));
    }
    return erased;
  }

  async #erase(): Promise<boolean> {
    const sql = this.ctx.storage.sql;
    const erasure = readErasure(sql);
    if (!erasure) return true; // a run that ended meanwhile erased it
    const { tenant, actor } = erasure;
    const fellShort = (event: string, count: number, message: string) => {
      logError({ event, tenant: tenant.name, count, message });
      this.#change(() => countErasureAttempt(sql));
      return false;
    };
    await Promise.allSettled([...this.#copies]);
    const jurisdiction = resolveSettings(JSON.parse(tenant.settings) as StoredSettings).jurisdiction;
    const shards = allShards(tenant.shardHistory).slice(1);
    const onEveryShard = async (step: (store: StoreStub) => Promise<Result>) => {
      const outcomes = await Promise.allSettled(
        shards.map(async (shard) => {
          const store = storeFor(this.env, { tenant: tenant.name, shard, jurisdiction });
          if (!store.ok) throw new Error(store.error.message);
          const done = await step(store.stub);
          if (!done.ok) throw new Error(done.error.message);
        }),
      );
      return outcomes.filter((outcome) => outcome.status === "rejected") as PromiseRejectedResult[];
    };
    // First every shard refuses the tenant (a small write: its sessions end, creates are
    // refused), then each is erased (which may take long): a shard whose erasure falls short
    // serves nothing meanwhile.
    const unmarked = await onEveryShard((store) => store.markShardErasing(tenant.name, tenant.createdAt, actor));
    if (unmarked.length > 0) return fellShort("tenant_erase_incomplete", unmarked.length, String(unmarked[0]!.reason));
    const failed = await onEveryShard((store) => store.eraseShard(tenant.name, tenant.createdAt));
    if (failed.length > 0) return fellShort("tenant_erase_incomplete", failed.length, String(failed[0]!.reason));
    try {
      await directoryFor(this.env).forget(tenant.name, tenant.createdAt, actor);
    } catch (error) {
      return fellShort("directory_unreachable", 1, String(error));
    }
    await this.#eraseHere();
    logInfo({ event: "tenant.deleted", tenant: tenant.name, actor, count: shards.length + 1 });
    return true;
  }

  /**
   * On a shard other than the home, as the deletion of the tenant made at `createdAt` starts:
   * from now on this store answers as if the tenant did not exist (its home erases it next).
   */
  markShardErasing(name: string, createdAt: number, actor: string): Result {
    const held = heldTenant(this.ctx.storage.sql);
    if (held && (held.name !== name || held.shard === 0)) throw new Error("a shard is marked by its own tenant's home");
    if (!held || held.createdAt !== createdAt) return ok({}); // erased already, or a later tenant of the same name
    this.#change((_store, now) => insertErasure(this.ctx.storage.sql, actor, now));
    this.#closeAllSockets();
    return ok({});
  }

  /**
   * On a shard other than the home, during the deletion of the tenant made at `createdAt`:
   * erases this store (already erased is fine; a later tenant of the same name is left alone).
   */
  async eraseShard(name: string, createdAt: number): Promise<Result> {
    const held = heldTenant(this.ctx.storage.sql);
    if (held && (held.name !== name || held.shard === 0)) throw new Error("a shard is erased by its own tenant's home");
    if (held && held.createdAt > createdAt) return ok({});
    await this.#eraseHere();
    return ok({});
  }

  /**
   * Erases this store: its sockets are told, an alarm run under way ends first (its deliveries
   * stop), then storage and alarm go; it is then as a store never used.
   */
  async #eraseHere(): Promise<void> {
    this.#wiping = true;
    try {
      this.#closeAllSockets();
      await this.#upkeeping?.catch(() => undefined);
      // deleteAll() takes the alarm with it (compatibility date 2026-02-24 and later).
      await this.ctx.storage.deleteAll();
    } finally {
      this.#wiping = false;
      this.#tenant = undefined;
      this.#alarmAt = null;
    }
  }

  /** Every open socket is told its session was revoked, and closed. */
  #closeAllSockets(): void {
    for (const socket of this.ctx.getWebSockets()) tellEnded(socket, "revoked");
  }

  // Sessions

  /** `count`: the shard count the front Worker placed the session by. */
  async createSession(caller: StoreCaller, id: string, secretHash: ArrayBuffer, input: NewSessionInput, count: number): Promise<Created> {
    const issued = this.#change((store, now) => createSession(store, caller, id, secretHash, input, count, now));
    if (!issued.ok) return issued;
    this.#closeDeadSockets(userTag(input.userId), "revoked"); // evicted by the per-user cap
    await this.#armBy(Date.parse(issued.session.expiresAt));
    // The user's sessions may be on other stores too (the tenant grew since some were made):
    // the cap is kept over all of them once this one is made, never evicting it.
    if (issued.capElsewhere !== null) await this.#capAcrossStores([input.userId], id);
    return issued;
  }

  /**
   * The answer of a call made with a session token. A refused token may be one that rotation
   * superseded: its use is then recorded, in a transaction of its own (the refusal stands).
   */
  #refusedToken<T extends object>(result: Result<T>, id: string, secretHash: ArrayBuffer): Result<T> {
    if (result.ok || result.error.code !== "invalid_token") return result;
    // A read first: refused tokens are common (expired, killed), recorded uses are once per secret.
    if (supersededUseUnrecorded(this.#store(), id, secretHash)) this.#change((store, now) => supersededSecretUsed(store, id, secretHash, now));
    return result;
  }

  /** The hot path: at most one UPDATE, so the implicit per-event transaction is enough. */
  validateSession(id: string, secretHash: ArrayBuffer): Result<{ session: Session }> {
    return this.#refusedToken(validateSession(this.#store(), id, secretHash, Date.now()), id, secretHash);
  }

  /** Validation for a JWT: see sessionForJwt. One UPDATE at most, like validation. */
  sessionForJwt(id: string, secretHash: ArrayBuffer, audience: string, origin: string | null): Result<{ session: Session; ttlSeconds: number }> {
    return this.#refusedToken(sessionForJwt(this.#store(), id, secretHash, audience, origin, Date.now()), id, secretHash);
  }

  rotateSession(id: string, oldSecretHash: ArrayBuffer, newSecretHash: ArrayBuffer, origin: string | null): Issued {
    const rotated = this.#change((store, now) => rotateSession(store, id, oldSecretHash, newSecretHash, origin, now));
    if (rotated.ok) this.#closeDeadSockets(sessionTag(id), "rotated");
    return this.#refusedToken(rotated, id, oldSecretHash);
  }

  logout(id: string, secretHash: ArrayBuffer, origin: string | null): Result {
    const loggedOut = this.#change((store, now) => logout(store, id, secretHash, origin, now));
    if (loggedOut.ok) this.#closeDeadSockets(sessionTag(id), "logout");
    return loggedOut;
  }

  listSessions(caller: StoreCaller, options: ListQuery): Result<Listed<Session>> {
    return this.#transaction((store, now) => listSessions(store, caller, options, now));
  }

  getSession(caller: StoreCaller, id: string): Result<{ session: Session }> {
    return this.#transaction((store, now) => getSession(store, caller, id, now));
  }

  /** After a kill: the purge settles it once its undo window passes (or at once, without one). */
  async #afterKill(): Promise<void> {
    await this.#armBy(nextPurgeAt(this.#store(), Date.now()));
  }

  // Kills and their undo (coordinator.ts: the home coordinates them over the tenant's stores)

  /**
   * At the tenant's home: a kill over every store it concerns, recorded and applied here first,
   * then on the others; answered once every one has it (or 503: the alarm finishes it).
   * `platformAt`: the moment of the platform's kill this is the tenant's part of.
   */
  async kill(caller: StoreCaller, killId: string, request: KillRequest, platformAt: number | null = null): Promise<Killed> {
    const started = this.#change((store, now) => coordinator.startKill(store, caller, killId, request, platformAt, now));
    if (!started.ok) return started;
    const { sockets } = started;
    this.#closeDeadSockets(sockets === "all" ? undefined : "userId" in sockets ? userTag(sockets.userId) : sessionTag(sockets.sessionId), "revoked");
    return this.#finish(killId, (store) => coordinator.killAnswer(store, killId));
  }

  /** "Log out my other devices", at the session's own store, which coordinates it over the user's other stores. */
  async revokeSiblings(id: string, secretHash: ArrayBuffer, origin: string | null, killId: string): Promise<Killed> {
    const found = this.#change((store, now) => {
      const asking = sessionForChange(store, id, secretHash, origin, now);
      if (asking.ok) coordinator.startSiblingsKill(store, asking.tenant, asking.record.userId, id, killId, now);
      return asking;
    });
    if (!found.ok) return this.#refusedToken(found, id, secretHash);
    this.#closeDeadSockets(userTag(found.record.userId), "revoked"); // that user's sockets only
    return this.#finish(killId, (store) => coordinator.killAnswer(store, killId));
  }

  /**
   * At the tenant's home: undoes a kill on every store it reached, all or nothing: decided here
   * first (see coordinator.decideUndo), then done everywhere. A kill this home did not
   * coordinate is first judged by every store at one moment, changing nothing.
   */
  async undo(caller: StoreCaller, killId: string, platform: boolean): Promise<Result<{ restored: number; killId: string }>> {
    const decided = this.#change((store, now) => coordinator.decideUndo(store, caller, killId, platform, now));
    if (!decided.ok) return decided;
    const users = decided.known ? decided.users : await this.#decideSeenUndo(caller, killId, platform);
    if (!Array.isArray(users)) return users;
    if (this.#store().tenant?.settings.maxSessionsPerUser !== null) this.#closeDeadSockets(undefined, "revoked"); // evicted by the cap
    return this.#finish(killId, (store) => coordinator.undoAnswer(store, killId), users);
  }

  /** The undo of a kill this home did not coordinate: every store judges it at one moment first, and nothing changes unless all allow it. */
  async #decideSeenUndo(caller: StoreCaller, killId: string, platform: boolean): Promise<string[] | Result<{ restored: number; killId: string }>> {
    const tenant = this.#store().tenant!;
    const decidedAt = Date.now();
    const host = this.#host();
    const judged = await Promise.allSettled(allShards(tenant.shardHistory).map(async (shard) => host.reach(shard).checkUndo(caller, killId, platform, decidedAt)));
    let seen: kills.KillSeen | null = null;
    for (const [shard, outcome] of judged.entries()) {
      if (outcome.status === "rejected") return UNDO_UNREACHABLE;
      const answer = outcome.value;
      if (answer.ok) seen ??= answer.kill;
      // A shard without the tenant's copy yet holds none of its kills.
      else if (shard === 0 || answer.error.code !== "tenant_not_found") return answer;
    }
    if (seen === null) return KILL_NOT_FOUND;
    // Late enough that a store might settle the kill before its undo reaches it: nothing was done.
    if (Date.now() - decidedAt > UNDO_SETTLE_GRACE_MS / 2) return UNDO_UNREACHABLE;
    const decided = this.#change((store, now) => coordinator.decideSeenUndo(store, caller, killId, { ...seen, platform }, decidedAt, now));
    return decided.ok ? decided.users : decided;
  }

  /** Tells the other stores of a change recorded here, then answers as the record says; the purge and the alarm are armed for what is left. */
  async #finish<T extends object>(killId: string, answer: (store: Store) => Result<T>, users: string[] = []): Promise<Result<T>> {
    await this.#armBy(coordinator.nextChangeAt(this.ctx.storage.sql)); // before any store is asked: a restart mid-way finishes it
    const fanned = await coordinator.fanOut(this.#host(), killId);
    await this.#capAcrossStores([...users, ...fanned.users]);
    await this.#armBy(coordinator.nextChangeAt(this.ctx.storage.sql));
    await this.#afterKill();
    return this.#transaction((store) => answer(store));
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

  /** The per-user cap kept over several shards: these sessions go, and their sockets are told. */
  evictSessions(ids: string[]): Result<{ evicted: number }> {
    const result = this.#change((store, now) => evictSessions(store, ids, now));
    for (const id of ids) this.#closeDeadSockets(sessionTag(id), "revoked");
    return result;
  }

  // Webhooks: kept at the home, which copies them to the other shards before the answer.

  /** `copied` false: a shard could not be told, and the webhook is not kept (see #addEverywhere). */
  addWebhook(caller: StoreCaller, row: hooks.NewWebhookRow): Promise<Result<{ webhook: WebhookView; copied: boolean }>> {
    const added = this.#change((store, now) => webhookOps.addWebhook(store, caller, row, now));
    // Taken back as the platform admin: the caller's key may have been revoked meanwhile.
    return this.#addEverywhere(added, (store, now) => webhookOps.removeWebhook(store, { kind: "admin" }, row.id, now, true));
  }

  /** `copied`: no shard sends it anything more (see #removeEverywhere). */
  removeWebhook(caller: StoreCaller, id: string): Promise<Result<{ copied: boolean }>> {
    return this.#removeEverywhere(this.#change((store, now) => webhookOps.removeWebhook(store, caller, id, now)), "webhook_not_found");
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
    if (disabled) await this.#copyOrRetry();
    return ok({});
  }

  listSiblings(id: string, secretHash: ArrayBuffer): Result<{ sessions: SiblingSession[]; userId: string; history: ShardHistory }> {
    return this.#refusedToken(this.#transaction((store, now) => listSiblings(store, id, secretHash, now)), id, secretHash);
  }

  listEvents(caller: StoreCaller, options: Omit<ListQuery, "userId">): Result<Listed<AuditEvent>> {
    return this.#transaction((store, now) => listEvents(store, caller, options, now));
  }
}
