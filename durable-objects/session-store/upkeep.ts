// The alarm's work for a live tenant, and when it next needs to run: deliveries, the directory,
// copies to the other shards, kills and undos still reaching stores, the purge, and the
// expiry of live sockets. Each capability's next time is read from storage, so an object that
// restarts arms from what is due (armFromStorage).

import { register, copyToShards } from "./copies";
import { advanceChanges } from "./coordination";
import { deliverDue, tellHomeDisabled } from "./delivery";
import { eraseOrRetry } from "./erasure";
import { hasSchema } from "../migrations";
import type { StoreHost } from "./host";
import { nextPurgeAt, PURGE_COALESCE_MS, PURGE_ROWS_PER_RUN, purgeStep } from "./purge";
import type { Capability } from "./scheduler";
import * as coordinator from "./coordinator";
import { pendingCopyVersion } from "./replication";
import { pendingRegistration, readErasure } from "./tenant-sql";
import * as hooks from "./webhooks-sql";
import { closeDeadSockets } from "./sockets";
import { nextPollAt } from "./identity-providers-sql";
import { pollDue } from "./polling";
import { trimOutbox } from "./webhook-operations";

/** At a start: the alarm armed for whatever storage says is due (alarms are not kept across a local restart). */
export async function armFromStorage(host: StoreHost): Promise<void> {
  const now = Date.now();
  for (const [capability, at] of dueFromStorage(host, now, now)) await host.scheduler.wake(capability, at);
}

/**
 * The alarm. Until a run succeeds, the runtime's retry of it is the pending alarm: no request
 * may replace it with a later one, so the run holds the scheduler, and only a finished run lets
 * it set the next time. An erased store has nothing to do; a tenant being deleted only that.
 */
export async function runAlarm(host: StoreHost, self: coordinator.CoordinatedStore): Promise<void> {
  host.scheduler.hold();
  const sql = host.ctx.storage.sql;
  // A request under way as the store was erased may have set this alarm.
  if (!hasSchema(sql)) {
    host.scheduler.release();
    return;
  }
  const erasing = readErasure(sql);
  if (erasing) {
    // Its sessions, events and webhooks are going; its home erases the other shards.
    if (erasing.tenant.shard === 0) await eraseOrRetry(host);
    else host.scheduler.release();
    return;
  }
  const run = upkeep(host, self);
  host.state.upkeeping = run;
  try {
    await run;
  } finally {
    host.state.upkeeping = null;
  }
}

/** One alarm run for a live tenant; `self` is this store as its coordinator reaches it. Then the next time. */
async function upkeep(host: StoreHost, self: coordinator.CoordinatedStore): Promise<void> {
  // The outbox is kept within its cap on every run, not only when a purge is due: a receiver
  // that is down must not let a busy tenant's queue grow without bound.
  host.change((store, now) => trimOutbox(store, now));
  // Deliveries wait on receivers (up to DELIVERY_BUDGET_MS): the rest of the run goes on
  // meanwhile. The run ends only after them, even a failing one, so two never overlap.
  const delivering = deliverDue(host);
  let unfinished = false;
  let nextSocketExpiry: number | null;
  try {
    await register(host);
    await copyToShards(host);
    await advanceChanges(host, self);
    await pollDue(host, self);
    const tenant = host.store().tenant;
    if (tenant) await tellHomeDisabled(host, tenant);
    // Most runs are for deliveries: the purge runs only once due (each of its steps reads).
    const purgeDueAt = nextPurgeAt(host.store(), Date.now());
    let deleted = 0;
    for (let step = purgeDueAt !== null && purgeDueAt <= Date.now() ? -1 : 0; step !== 0; ) {
      step = host.change((store, now) => purgeStep(store, now));
      deleted += step;
      if (step > 0 && deleted >= PURGE_ROWS_PER_RUN) {
        unfinished = true;
        break;
      }
    }
    nextSocketExpiry = closeDeadSockets(host.ctx, () => host.store(), undefined, "expired");
  } finally {
    await delivering;
  }
  const deliveredAll = await delivering;
  // Every capability asked again, from storage: a change while this run waited (on the
  // directory, a shard or a receiver) may have left work whose own wake was held by this run.
  host.scheduler.release();
  const now = Date.now();
  for (const [capability, at] of dueFromStorage(host, now, now + PURGE_COALESCE_MS)) {
    // The purge's next run is at least a while away, so that sessions expiring close together go in one run.
    if (capability === "purge")
      await host.scheduler.wake("purge", unfinished ? now : at === null ? null : Math.max(at, now + PURGE_COALESCE_MS));
    else if (capability === "deliveries") await host.scheduler.wake("deliveries", deliveredAll ? at : now);
    else await host.scheduler.wake(capability, at);
  }
  // A live socket hears of its session's expiry the moment it happens, not at the next purge.
  await host.scheduler.wake("sockets", nextSocketExpiry);
}

/**
 * When each capability next has work, as storage says: what a start arms for (an alarm is not
 * kept across a local restart), and what a run arms for once it is done. A capability that
 * failed to reach another object is due `retryAt` (the run's choice of when to try again).
 */
export function dueFromStorage(host: StoreHost, now: number, retryAt: number): [Capability, number | null][] {
  const sql = host.ctx.storage.sql;
  const erasure = readErasure(sql);
  if (erasure) return [["erasure", erasure.tenant.shard === 0 ? now : null]];
  return [
    ["purge", nextPurgeAt(host.store(), now)],
    ["changes", coordinator.nextChangeAt(sql)],
    ["deliveries", hooks.nextDeliveryAt(sql)],
    ["polls", nextPollAt(sql)],
    // The directory, shards and the home told of what they have yet to hear (after a failure: at `retryAt`).
    ["directory", pendingRegistration(sql) ? retryAt : null],
    ["copies", pendingCopyVersion(sql) !== null || hooks.untoldDisabled(sql).length > 0 ? retryAt : null],
  ];
}
