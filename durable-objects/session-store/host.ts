// What a capability's driver needs of the SessionStore it runs in: its storage, its tenant as
// read once per change, transactions, the alarm, and the state of the runs under way. The
// class is a thin dispatcher; the drivers (copies.ts, delivery.ts, erasure.ts, coordination.ts,
// sockets.ts) do the work that waits on other objects or on receivers.

import type { RevokedReason } from "../../src/core/live";
import type { Scheduler } from "./scheduler";
import { hasSchema } from "../migrations";
import type { createLocalJWKSet } from "jose";
import { logRecorded } from "./audit";
import { lastEventSeq } from "./audit-sql";
import { closeDeadSockets } from "./sockets";
import { readTenantState, type Store, type Tenant } from "./tenant";
import { nextDeliveryAt } from "./webhooks-sql";

/** What is under way in this object, shared by the drivers that must wait for one another. */
export interface RunState {
  /** The key that unseals webhook secrets, derived once per object. */
  webhookKey: CryptoKey | undefined;
  /** Copies to the other shards under way: a deletion waits for them, or one could re-create a shard just erased. */
  copies: Set<Promise<boolean>>;
  /** The deletion under way at this home, if any: a repeated request or the alarm joins it. */
  erasing: Promise<boolean> | null;
  /** The alarm run under way (its upkeep), if any: this store's erasure waits for it. */
  upkeeping: Promise<void> | null;
  /** This store is being erased: deliveries stop. */
  wiping: boolean;
  /**
   * Each identity provider's key set as jose reads it, for the key set last fetched (by its
   * time): jose keeps the keys it imported in it, so a signal does not import them again.
   */
  keySets: Map<string, { fetchedAt: number | null; keys: ReturnType<typeof createLocalJWKSet> }>;
  /** Signals refused, by provider and reason: when last audited, and how many since (signals.ts). */
  refusals: Map<string, { auditedAt: number; since: number }>;
  /** When a bound session's violation or failed proof was last audited, by kind and session (binding.ts). */
  bindingAudited: Map<string, number>;
}

export interface StoreHost {
  readonly ctx: DurableObjectState;
  /** Read at each use: a test may hand the object another binding. */
  readonly env: Env;
  readonly state: RunState;
  /** The store as operations see it, with the tenant row read once and kept until the next change. */
  store(): Store;
  /** A transaction that reads (validation's touch aside, which never writes the tenant row). */
  transaction<T>(operation: (store: Store, now: number) => T): T;
  /** A transaction that may change anything; its audit events are also logged. */
  change<T>(operation: (store: Store, now: number) => T): T;
  /** The one alarm: each capability asks it to wake by a time. */
  readonly scheduler: Scheduler;
  /** Forgets the parsed tenant row (storage was erased). */
  forgetTenant(): void;
  /** Tells and closes the live sockets (of `tag`, or all) whose sessions ended; when the first left ends. */
  closeDeadSockets(tag: string | undefined, reason: RevokedReason): number | null;
}

/**
 * The host of one SessionStore. The tenant row is read once and kept until the next change;
 * a change drops it, committed or not (the one place it is ever dropped), and once it commits,
 * each audit event it recorded is also written as a log line, so logs and the audit log tell
 * the same story; events queued for webhooks wake their delivery.
 */
export function createHost(ctx: DurableObjectState, env: () => Env, scheduler: Scheduler): StoreHost {
  const sql = ctx.storage.sql;
  let tenant: Tenant | null | undefined;
  const store = (): Store => {
    if (tenant === undefined) tenant = readTenantState(sql);
    return { sql, tenant };
  };
  const transaction = <T>(operation: (store: Store, now: number) => T): T => {
    const now = Date.now();
    return ctx.storage.transactionSync(() => operation(store(), now));
  };
  return {
    ctx,
    get env() {
      return env();
    },
    state: {
      webhookKey: undefined,
      copies: new Set(),
      erasing: null,
      upkeeping: null,
      wiping: false,
      keySets: new Map(),
      refusals: new Map(),
      bindingAudited: new Map(),
    },
    scheduler,
    store,
    transaction,
    change<T>(operation: (store: Store, now: number) => T): T {
      // No schema yet: only putTenant can succeed, and it makes the schema.
      const before = hasSchema(sql) ? lastEventSeq(sql) : 0;
      let result: T;
      try {
        result = transaction(operation);
      } finally {
        tenant = undefined;
      }
      if (!hasSchema(sql)) return result;
      // The output gate holds the answer until the alarm is set.
      if (logRecorded(sql, before, store().tenant?.name) > 0) void scheduler.wake("deliveries", nextDeliveryAt(sql));
      return result;
    },
    forgetTenant() {
      tenant = undefined;
    },
    closeDeadSockets: (tag, reason) => closeDeadSockets(ctx, store, tag, reason),
  };
}
