// SessionStore: the Durable Object that holds one tenant's sessions, keys and audit log in
// SQLite. Thin on purpose: each RPC method reads the clock once and runs one operation of
// store-operations.ts inside a synchronous transaction. Nothing authoritative lives in
// memory; the purge alarm only deletes what is already refused, so no answer depends on it.

import { DurableObject } from "cloudflare:workers";
import type { StoreCaller } from "../src/auth";
import type { Result } from "../src/errors";
import type { AuditEvent } from "../src/events";
import type { NewSessionInput } from "../src/session-input";
import type { Session } from "../src/session";
import type { SettingsPatch, TenantView } from "../src/settings";
import { hasSchema, migrate } from "./session-store-sql";
import * as ops from "./store-operations";

/** Longest one alarm run keeps deleting before it yields and re-arms for right away. */
const PURGE_BUDGET_MS = 200;
/** Sessions expiring close together are purged in one run: never arm sooner than this after a run. */
const PURGE_COALESCE_MS = 60_000;

export interface ListOptions {
  userId?: string | undefined;
  beforeSeq?: number | undefined;
  limit: number;
}

export class SessionStore extends DurableObject<Env> {
  /** When our alarm is set for, cached so a write does not read it back every time. */
  #alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // A store that never held a tenant stays empty: its schema is made by the first PUT.
    if (!hasSchema(ctx.storage.sql)) return;
    void ctx.blockConcurrencyWhile(async () => {
      migrate(ctx.storage);
      // Alarms are not kept across a local restart: re-arm from what storage says is due.
      this.#alarmAt = await ctx.storage.getAlarm();
      await this.#armBy(ops.nextPurgeAt(ctx.storage.sql, Date.now()));
    });
  }

  #transaction<T>(operation: (sql: SqlStorage, now: number) => T): T {
    const now = Date.now();
    return this.ctx.storage.transactionSync(() => operation(this.ctx.storage.sql, now));
  }

  /** Makes sure the alarm fires no later than `at`. */
  async #armBy(at: number | null): Promise<void> {
    if (at === null || (this.#alarmAt !== null && this.#alarmAt <= at)) return;
    await this.ctx.storage.setAlarm(at);
    this.#alarmAt = at;
  }

  override async alarm(): Promise<void> {
    this.#alarmAt = null;
    const deadline = Date.now() + PURGE_BUDGET_MS;
    let unfinished = false;
    while (this.#transaction((sql, now) => ops.purgeStep(sql, now)) > 0) {
      if (Date.now() > deadline) {
        unfinished = true;
        break;
      }
    }
    const now = Date.now();
    const next = unfinished ? now : this.#transaction((sql) => ops.nextPurgeAt(sql, now));
    await this.#armBy(next === null ? null : Math.max(next, unfinished ? now : now + PURGE_COALESCE_MS));
  }

  // Tenant and keys

  putTenant(name: string, patch: SettingsPatch): Result<{ tenant: TenantView; created: boolean }> {
    return this.#transaction((_sql, now) => ops.putTenant(this.ctx.storage, name, patch, now));
  }

  getTenant(caller: StoreCaller): Result<{ tenant: TenantView }> {
    return this.#transaction((sql, now) => ops.getTenant(sql, caller, now));
  }

  checkTenantKey(keyId: string, secretHash: ArrayBuffer): boolean {
    return ops.tenantKeyMatches(this.ctx.storage.sql, keyId, secretHash);
  }

  addTenantKey(keyId: string, secretHash: ArrayBuffer): Result {
    return this.#transaction((sql, now) => ops.addTenantKey(sql, keyId, secretHash, now));
  }

  removeTenantKey(keyId: string): Result<{ revoked: number }> {
    return this.#transaction((sql) => ops.removeTenantKey(sql, keyId));
  }

  // Sessions

  async createSession(caller: StoreCaller, id: string, secretHash: ArrayBuffer, input: NewSessionInput): Promise<ops.Issued> {
    const issued = this.#transaction((sql, now) => ops.createSession(sql, caller, id, secretHash, input, now));
    if (issued.ok) await this.#armBy(Date.parse(issued.session.expiresAt));
    return issued;
  }

  validateSession(id: string, secretHash: ArrayBuffer): Result<{ session: Session }> {
    return this.#transaction((sql, now) => ops.validateSession(sql, id, secretHash, now));
  }

  rotateSession(id: string, oldSecretHash: ArrayBuffer, newSecretHash: ArrayBuffer, origin: string | null): ops.Issued {
    return this.#transaction((sql, now) => ops.rotateSession(sql, id, oldSecretHash, newSecretHash, origin, now));
  }

  destroySession(id: string, secretHash: ArrayBuffer, origin: string | null): Result {
    return this.#transaction((sql, now) => ops.destroySession(sql, id, secretHash, origin, now));
  }

  listSessions(caller: StoreCaller, options: ListOptions): Result<{ page: ops.Page<Session> }> {
    return this.#transaction((sql, now) => ops.listSessions(sql, caller, options, now));
  }

  getSession(caller: StoreCaller, id: string): Result<{ session: Session }> {
    return this.#transaction((sql, now) => ops.getSession(sql, caller, id, now));
  }

  revokeSession(caller: StoreCaller, id: string): Result<{ revoked: number }> {
    return this.#transaction((sql, now) => ops.revokeSession(sql, caller, id, now));
  }

  async revokeUser(caller: StoreCaller, userId: string): Promise<Result<{ revoked: number }>> {
    const result = this.#transaction((sql, now) => ops.revokeUser(sql, caller, userId, now));
    if (result.ok) await this.#armBy(Date.now());
    return result;
  }

  async revokeTenant(caller: StoreCaller): Promise<Result<{ revoked: number }>> {
    const result = this.#transaction((sql, now) => ops.revokeTenant(sql, caller, now));
    if (result.ok) await this.#armBy(Date.now());
    return result;
  }

  listSiblings(id: string, secretHash: ArrayBuffer): Result<{ sessions: (Session & { current: boolean })[] }> {
    return this.#transaction((sql, now) => ops.listSiblings(sql, id, secretHash, now));
  }

  revokeSiblings(id: string, secretHash: ArrayBuffer, origin: string | null): Result<{ revoked: number }> {
    return this.#transaction((sql, now) => ops.revokeSiblings(sql, id, secretHash, origin, now));
  }

  listEvents(caller: StoreCaller, options: Omit<ListOptions, "userId">): Result<{ page: ops.Page<AuditEvent> }> {
    return this.#transaction((sql) => ops.listEvents(sql, caller, options));
  }
}
