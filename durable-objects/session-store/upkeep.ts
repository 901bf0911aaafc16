// The alarm's work for a live tenant, and when it next needs to run: deliveries, the directory,
// copies to the other shards, kills and undos still reaching stores, the purge, and the
// expiry of live sockets. Each capability's next time is read from storage, so an object that
// restarts arms from what is due (armFromStorage).

import * as coordinator from "./coordinator";
import { register, copyToShards } from "./copies";
import { advanceChanges } from "./coordination";
import { deliverDue, tellHomeDisabled } from "./delivery";
import type { StoreHost } from "./host";
import { nextPurgeAt, PURGE_COALESCE_MS, PURGE_ROWS_PER_RUN, purgeStep } from "./purge";
import { pendingCopyVersion } from "./replication";
import { closeDeadSockets } from "./sockets";
import { pendingRegistration, readErasure } from "./tenant-sql";
import { trimOutbox } from "./webhook-operations";
import * as hooks from "./webhooks-sql";

/** At a start: the alarm armed for whatever storage says is due (alarms are not kept across a local restart). */
export async function armFromStorage(host: StoreHost): Promise<void> {
  const sql = host.ctx.storage.sql;
  await host.armBy(nextPurgeAt(host.store(), Date.now()));
  await host.armBy(coordinator.nextChangeAt(sql));
  await host.armBy(hooks.nextDeliveryAt(sql));
  // A tenant the directory has yet to hear of (one made before it existed, or a failed call).
  if (pendingRegistration(sql)) await host.armBy(Date.now());
  if (readErasure(sql)?.tenant.shard === 0) await host.armBy(Date.now());
}

/** One alarm run; `self` is this store as its coordinator reaches it. Then the next time. */
export async function upkeep(host: StoreHost, self: coordinator.CoordinatedStore): Promise<void> {
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
  host.releaseAlarm();
  const now = Date.now();
  const purgeAt = unfinished ? now : nextPurgeAt(host.store(), now);
  await host.armBy(purgeAt === null ? null : Math.max(purgeAt, unfinished ? now : now + PURGE_COALESCE_MS));
  // A live socket hears of its session's expiry the moment it happens, not at the next purge.
  await host.armBy(nextSocketExpiry);
  // Read again, not taken from the calls above: a change while this run waited (on the
  // directory, a shard or a receiver) may have left newer settings or a copy pending, and
  // its own re-arm was skipped while this run held the alarm.
  const sql = host.ctx.storage.sql;
  if (pendingRegistration(sql) || pendingCopyVersion(sql) !== null || hooks.untoldDisabled(sql).length > 0) await host.armBy(now + PURGE_COALESCE_MS);
  await host.armBy(coordinator.nextChangeAt(sql));
  await host.armBy(deliveredAll ? hooks.nextDeliveryAt(sql) : now);
}
