// What a capability's driver needs of the SessionStore it runs in: its storage, its tenant as
// read once per change, transactions, the alarm, and the state of the runs under way. The
// class is a thin dispatcher; the drivers (copies.ts, delivery.ts, erasure.ts, coordination.ts,
// sockets.ts) do the work that waits on other objects or on receivers.

import type { RevokedReason } from "../../src/core/live";
import type { Scheduler } from "./scheduler";
import type { Store } from "./tenant";

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
