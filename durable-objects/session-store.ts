// SessionStore: the Durable Object that holds one tenant's sessions and keys in SQLite.
// Thin on purpose: each RPC method reads the clock once and runs one operation of
// store-operations.ts inside a synchronous transaction. Nothing authoritative lives in memory.

import { DurableObject } from "cloudflare:workers";
import type { StoreCaller } from "../src/auth";
import type { Result } from "../src/errors";
import type { NewSessionInput } from "../src/session-input";
import type { Session } from "../src/session";
import type { SettingsPatch, TenantView } from "../src/settings";
import { hasSchema, migrate } from "./session-store-sql";
import * as ops from "./store-operations";

export class SessionStore extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // Upgrade an existing schema before any request runs. A store that never held a tenant
    // stays empty: its schema is made by the first PUT of the tenant.
    if (hasSchema(ctx.storage.sql)) migrate(ctx.storage);
  }

  #transaction<T>(operation: (sql: SqlStorage, now: number) => T): T {
    const now = Date.now();
    return this.ctx.storage.transactionSync(() => operation(this.ctx.storage.sql, now));
  }

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

  createSession(caller: StoreCaller, id: string, secretHash: ArrayBuffer, input: NewSessionInput): ops.Issued {
    return this.#transaction((sql, now) => ops.createSession(sql, caller, id, secretHash, input, now));
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
}
