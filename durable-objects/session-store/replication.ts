// What a tenant's home copies to its other shards (settings, expiry rules, shard history, keys,
// webhooks), versioned; and a shard taking the home's copy.

import { resolveSettings, type StoredSettings } from "../../src/core/settings";
import { raiseReauthFloor, reauthInForce } from "./reauth-sql";
import { capImpersonations } from "./sessions-sql";
import { readWebhooks, type WebhookRow, writeCopiedWebhooks } from "./webhooks-sql";
import { ok, type Result } from "../../src/core/errors";
import { migrate } from "./schema";
import { readTenantState, reevaluateSome } from "./tenant";

/** What the home copies to every other shard: all a shard needs to serve the tenant's sessions. */
export interface TenantCopy {
  name: string;
  settings: string;
  createdAt: number;
  updatedAt: number;
  idleLine: number;
  absoluteHistory: string;
  shardHistory: string;
  version: number;
  keys: { id: string; secretHash: ArrayBuffer; createdAt: number }[];
  webhooks: WebhookRow[];
  /**
   * The re-authentication floors in force (the home's coordinated changes not undone, and its
   * own tenant floor): a shard the tenant grew to applies them too, for sessions placed there.
   */
  reauth: { userId: string | null; at: number }[];
}

export function readCopy(sql: SqlStorage): TenantCopy {
  const row = sql
    .exec<{
      name: string;
      settings: string;
      created_at: number;
      updated_at: number;
      idle_line: number;
      absolute_history: string;
      shard_history: string;
      copy_version: number;
    }>(
      "SELECT name, settings, created_at, updated_at, idle_line, absolute_history, shard_history, copy_version FROM tenant WHERE id = 1",
    )
    .one();
  const keys = sql
    .exec<{ id: string; secret_hash: ArrayBuffer; created_at: number }>(
      "SELECT id, secret_hash, created_at FROM tenant_keys",
    )
    .toArray()
    .map((key) => ({ id: key.id, secretHash: key.secret_hash, createdAt: key.created_at }));
  return {
    name: row.name,
    settings: row.settings,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    idleLine: row.idle_line,
    absoluteHistory: row.absolute_history,
    shardHistory: row.shard_history,
    version: row.copy_version,
    keys,
    webhooks: readWebhooks(sql),
    reauth: reauthInForce(sql),
  };
}

/**
 * Takes a copy from the home, unless a newer one is already here. Returns whether it was
 * taken, whether the timeouts changed (stored expiries are then re-evaluated) and the
 * undelivered events dropped with the webhooks the copy disabled.
 */
export function writeCopy(
  sql: SqlStorage,
  copy: TenantCopy,
  shard: number,
): { taken: boolean; timeoutsChanged: boolean; dropped: { webhookId: string; dropped: number }[] } {
  const held = sql
    .exec<{ version: number; settings: string; idle_line: number; absolute_history: string }>(
      "SELECT copy_version AS version, settings, idle_line, absolute_history FROM tenant WHERE id = 1",
    )
    .toArray()[0];
  if (held && held.version >= copy.version) return { taken: false, timeoutsChanged: false, dropped: [] };
  const timeouts = (settings: string) => {
    const parsed = JSON.parse(settings) as { idleTimeoutSeconds: number; absoluteTimeoutSeconds: number };
    return `${parsed.idleTimeoutSeconds}/${parsed.absoluteTimeoutSeconds}`;
  };
  // What earlier timeouts left behind counts too: a copy that missed a change and its reversal
  // (idle 3600, then 1, then 3600) brings the same timeouts and a higher idle line.
  const timeoutsChanged =
    held !== undefined &&
    (timeouts(held.settings) !== timeouts(copy.settings) ||
      held.idle_line < copy.idleLine ||
      held.absolute_history !== copy.absoluteHistory);
  sql.exec(
    `INSERT INTO tenant (id, name, settings, created_at, updated_at, idle_line, absolute_history, shard_history, copy_version, shard, registry_pending)
     VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)
     ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at,
       idle_line = max(tenant.idle_line, excluded.idle_line), absolute_history = excluded.absolute_history,
       shard_history = excluded.shard_history, copy_version = excluded.copy_version`,
    copy.name,
    copy.settings,
    copy.createdAt,
    copy.updatedAt,
    copy.idleLine,
    copy.absoluteHistory,
    copy.shardHistory,
    copy.version,
    shard,
  );
  if (timeoutsChanged)
    sql.exec(
      "UPDATE tenant SET reevaluate_next_seq = 0, reevaluate_end_seq = (SELECT coalesce(max(seq), 0) FROM sessions) WHERE id = 1",
    );
  // Keys the home no longer holds go; the others keep when they were last used here.
  sql.exec(
    "DELETE FROM tenant_keys WHERE id NOT IN (SELECT value FROM json_each(?))",
    JSON.stringify(copy.keys.map((key) => key.id)),
  );
  for (const key of copy.keys) {
    sql.exec(
      `INSERT INTO tenant_keys (id, secret_hash, created_at) VALUES (?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET secret_hash = excluded.secret_hash, created_at = excluded.created_at,
         last_used_at = CASE WHEN tenant_keys.secret_hash = excluded.secret_hash THEN tenant_keys.last_used_at END`,
      key.id,
      key.secretHash,
      key.createdAt,
    );
  }
  const dropped = writeCopiedWebhooks(sql, copy.webhooks);
  // Floors only rise here: one undone since stays on a shard that got it by a copy (stricter, never looser).
  for (const floor of copy.reauth ?? []) raiseReauthFloor(sql, floor.userId, floor.at);
  // A changed limit binds the impersonations already here (as a PUT does at the home).
  const limit = (settings: string) => resolveSettings(JSON.parse(settings) as StoredSettings).impersonationMaxSeconds;
  if (held && limit(held.settings) !== limit(copy.settings)) capImpersonations(sql, limit(copy.settings));
  return { taken: true, timeoutsChanged, dropped };
}

/** At the home: the copy version not every shard has yet, or null. */
export function pendingCopyVersion(sql: SqlStorage): number | null {
  const row = sql
    .exec<{ version: number; copied: number }>(
      "SELECT copy_version AS version, copied_version AS copied FROM tenant WHERE id = 1",
    )
    .toArray()[0];
  return row && row.version > row.copied ? row.version : null;
}

/** At the home: every shard has `version`, and so knows of `count` shards; new sessions may use it. */
export function markCopied(sql: SqlStorage, version: number, count: number): void {
  sql.exec(
    "UPDATE tenant SET copied_version = max(copied_version, ?), active_shards = max(active_shards, ?) WHERE id = 1",
    version,
    count,
  );
}

/**
 * Takes the home's copy of the tenant on another shard, and brings the stored expiries of a
 * small shard up to date at once (a large one's, by the alarm), as a PUT does at the home.
 */
export function applyCopy(
  storage: DurableObjectStorage,
  copy: TenantCopy,
  shard: number,
): Result<{ taken: boolean; dropped: { webhookId: string; dropped: number }[] }> {
  migrate(storage);
  const { taken, timeoutsChanged, dropped } = writeCopy(storage.sql, copy, shard);
  if (timeoutsChanged) reevaluateSome(storage.sql, readTenantState(storage.sql)!);
  return ok({ taken, dropped });
}
