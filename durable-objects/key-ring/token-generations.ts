// The per-tenant emergency lever, as the KeyRing keeps it: for each tenant whose session token
// keys were ever retired, the generation new tokens are minted with and the floor, the lowest
// generation still accepted. A retirement moves both one up, so every token minted before it is
// refused by the front Worker (src/worker/token-generations.ts) without a store call; a restore
// puts the floor back where that retirement found it. Every change is numbered one above the
// last, so an isolate asks only for the changes after the number it holds.

import { fail, ok, type Result } from "../../src/core/errors";
import { MAX_TOKEN_GENERATION } from "../../src/core/token";

/**
 * What the front Worker needs of a tenant: the generation to mint with, the lowest it accepts,
 * and the number of the change that set them (a copy never takes an older one over a newer).
 */
export interface TokenGeneration {
  tenant: string;
  generation: number;
  floor: number;
  changed: number;
}

/** A tenant's token keys as operators see them. */
export interface TokenKeysView extends Omit<TokenGeneration, "changed"> {
  retiredAt: string | null;
  retiredBy: string | null;
  /**
   * Whether the last retirement can still be restored: not restored yet, and within the
   * tenant's undo window (a retirement's own answer reads no window: its store is not asked).
   */
  restorable: boolean;
}

interface Row extends TokenGeneration {
  restore_floor: number | null;
  retired_at: number;
  retired_by: string;
  [column: string]: SqlStorageValue;
}

/** A change made, as the operator sees it and as the copy that made it keeps it. */
export interface TokenKeysChanged {
  keys: TokenKeysView;
  change: TokenGeneration;
}

const NOTHING_TO_RESTORE = fail("already_undone", "no retirement of the tenant's token keys is left to restore");
const WINDOW_PASSED = fail("undo_window_passed", "the retirement is older than the tenant's undo window");
const NO_GENERATION_LEFT = fail("bad_request", "the tenant's token keys were retired as many times as tokens can say");

function rowOf(sql: SqlStorage, tenant: string): Row | undefined {
  return sql.exec<Row>("SELECT * FROM token_generations WHERE tenant = ?", tenant).toArray()[0];
}

function lastChange(sql: SqlStorage): number {
  return sql.exec<{ changed: number }>("SELECT COALESCE(MAX(changed), 0) AS changed FROM token_generations").one()
    .changed;
}

function viewOf(tenant: string, row: Row | undefined, windowMs: number | null, now: number): TokenKeysView {
  if (!row) return { tenant, generation: 0, floor: 0, retiredAt: null, retiredBy: null, restorable: false };
  return {
    tenant,
    generation: row.generation,
    floor: row.floor,
    retiredAt: new Date(row.retired_at).toISOString(),
    retiredBy: row.retired_by,
    restorable: row.restore_floor !== null && (windowMs === null || now - row.retired_at <= windowMs),
  };
}

/**
 * What a copy needs to be current: the changes after `version`, or every tenant (`complete`)
 * when the copy is of another history (`epoch`) or ahead of this one (the ring went back).
 */
export function changesAfter(
  sql: SqlStorage,
  epoch: string | null,
  version: number,
): { epoch: string; version: number; complete: boolean; changes: TokenGeneration[] } {
  const current = sql.exec<{ epoch: string }>("SELECT epoch FROM token_generations_epoch").one().epoch;
  const latest = lastChange(sql);
  const complete = epoch !== current || version > latest;
  const rows = sql
    .exec<Row>(
      "SELECT tenant, generation, floor, changed FROM token_generations WHERE changed > ?",
      complete ? 0 : version,
    )
    .toArray();
  return {
    epoch: current,
    version: latest,
    complete,
    changes: rows.map(({ tenant, generation, floor, changed }) => ({ tenant, generation, floor, changed })),
  };
}

export function tokenKeys(sql: SqlStorage, tenant: string, windowMs: number, now: number): TokenKeysView {
  return viewOf(tenant, rowOf(sql, tenant), windowMs, now);
}

/** Retires every token of the tenant minted so far: new ones get the next generation. */
export function retire(sql: SqlStorage, tenant: string, actor: string, now: number): Result<TokenKeysChanged> {
  const row = rowOf(sql, tenant);
  const generation = (row?.generation ?? 0) + 1;
  if (generation > MAX_TOKEN_GENERATION) return NO_GENERATION_LEFT;
  sql.exec(
    `INSERT INTO token_generations (tenant, generation, floor, restore_floor, retired_at, retired_by, changed)
     VALUES (?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (tenant) DO UPDATE SET generation = excluded.generation, floor = excluded.floor,
       restore_floor = excluded.restore_floor, retired_at = excluded.retired_at,
       retired_by = excluded.retired_by, changed = excluded.changed`,
    tenant,
    generation,
    generation,
    row?.floor ?? 0,
    now,
    actor,
    lastChange(sql) + 1,
  );
  return ok(changedOf(tenant, rowOf(sql, tenant)!, null, now));
}

function changedOf(tenant: string, row: Row, windowMs: number | null, now: number): TokenKeysChanged {
  const { generation, floor, changed } = row;
  return { keys: viewOf(tenant, row, windowMs, now), change: { tenant, generation, floor, changed } };
}

/**
 * Accepts again the tokens the last retirement refused, if it is at most `windowMs` old. Tokens
 * minted since keep working: the generation stays where the retirement moved it.
 */
export function restore(sql: SqlStorage, tenant: string, windowMs: number, now: number): Result<TokenKeysChanged> {
  const row = rowOf(sql, tenant);
  if (!row || row.restore_floor === null) return NOTHING_TO_RESTORE;
  if (now - row.retired_at > windowMs) return WINDOW_PASSED;
  sql.exec(
    "UPDATE token_generations SET floor = ?, restore_floor = NULL, changed = ? WHERE tenant = ?",
    row.restore_floor,
    lastChange(sql) + 1,
    tenant,
  );
  return ok(changedOf(tenant, rowOf(sql, tenant)!, windowMs, now));
}
