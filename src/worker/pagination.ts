// Listing parameters and opaque cursors. A cursor carries the position to continue from (the
// last item's place in a newest-first listing merged over shards: time, shard and seq; or a
// tenant name for the tenant directory) and an HMAC over it and the listing it belongs to
// (kind, tenant, user filter), so a forged, mangled or foreign cursor is refused (400) instead
// of silently paging somewhere else.

import { hmacBase64url, tagsEqual, type HmacKey } from "../core/crypto";
import { fail, ok, type Result } from "../core/errors";
import { TENANT_PATTERN } from "../core/identifiers";
import type { SigningKeys } from "../core/token";

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const CURSOR_PATTERN = /^c1\.([a-z0-9-]{1,63})\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{43})$/;
/** `<time>-<shard>-<seq>`, each at most 15 digits, so always safe integers. */
const LISTING_POSITION = /^(0|[1-9][0-9]{0,14})-(0|[1-9][0-9]{0,2})-(0|[1-9][0-9]{0,14})$/;

/** Where a newest-first listing over shards goes on from: before this item. */
export interface ListingPosition {
  time: number;
  shard: number;
  seq: number;
}

/** `limit` as given (query text or RPC number), within 1..1000, default 100. */
export function parseLimit(value: unknown): Result<{ limit: number }> {
  if (value === undefined || value === null) return ok({ limit: DEFAULT_LIMIT });
  const limit = typeof value === "string" && /^[0-9]{1,7}$/.test(value) ? Number(value) : value;
  if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    return fail("bad_request", `limit must be an integer from 1 to ${MAX_LIMIT}`, "limit");
  }
  return ok({ limit });
}

function cursorMac(key: HmacKey, scope: string, position: string): string {
  return hmacBase64url(key, `cursor\n${scope}\n${position}`);
}

/** `c1.<position>.<kid>.<mac>`: the position signed for the listing named by `scope`. */
function signCursor(keys: SigningKeys, scope: string, position: string): string {
  return `c1.${position}.${keys.currentKid}.${cursorMac(keys.keys.get(keys.currentKid)!, scope, position)}`;
}

/** The position a cursor names, if it was made by us for this very listing; null for none given. */
function verifyCursor(
  keys: SigningKeys,
  scope: string,
  cursor: unknown,
  position: RegExp,
): Result<{ position: string | null }> {
  if (cursor === undefined || cursor === null) return ok({ position: null });
  const invalid = fail("bad_request", "cursor is not one this listing gave out", "cursor");
  const match = typeof cursor === "string" ? CURSOR_PATTERN.exec(cursor) : null;
  if (!match || !position.test(match[1]!)) return invalid;
  const [, text, kid, mac] = match as unknown as [string, string, string, string];
  const key = keys.keys.get(kid);
  return key && tagsEqual(cursorMac(key, scope, text), mac) ? ok({ position: text }) : invalid;
}

/** An opaque cursor for "continue after this item" in the listing named by `scope`. */
export function encodeCursor(keys: SigningKeys, scope: string, position: ListingPosition): string {
  return signCursor(keys, scope, `${position.time}-${position.shard}-${position.seq}`);
}

/**
 * The item a cursor says to continue after, read before its signature is checked: a listing
 * knows which tenant it is for (the one made when) only once a store has answered. Check it
 * then with decodeCursor; a malformed cursor is refused here.
 */
export function peekCursor(cursor: unknown): Result<{ after: ListingPosition | undefined }> {
  if (cursor === undefined || cursor === null) return ok({ after: undefined });
  const match = typeof cursor === "string" ? CURSOR_PATTERN.exec(cursor) : null;
  if (!match || !LISTING_POSITION.test(match[1]!))
    return fail("bad_request", "cursor is not one this listing gave out", "cursor");
  const [time, shard, seq] = match[1]!.split("-").map(Number) as [number, number, number];
  return ok({ after: { time, shard, seq } });
}

/** The item a cursor says to continue after. */
export function decodeCursor(
  keys: SigningKeys,
  scope: string,
  cursor: unknown,
): Result<{ after: ListingPosition | undefined }> {
  const verified = verifyCursor(keys, scope, cursor, LISTING_POSITION);
  if (!verified.ok) return verified;
  if (verified.position === null) return ok({ after: undefined });
  const [time, shard, seq] = verified.position.split("-").map(Number) as [number, number, number];
  return ok({ after: { time, shard, seq } });
}

/**
 * Where one shard's part of a listing goes on from, after `after`: items are ordered by
 * (time, shard, seq), so a shard below the cursor's shard still lists the cursor's instant,
 * the cursor's own shard lists it below the cursor's seq, and a shard above it does not.
 */
export function shardBefore(
  after: ListingPosition | undefined,
  shard: number,
): { time: number; seq: number } | undefined {
  if (after === undefined) return undefined;
  const seq = shard < after.shard ? Number.MAX_SAFE_INTEGER : shard === after.shard ? after.seq : 0;
  return { time: after.time, seq };
}

/** An opaque cursor for "continue after the name `name`" in the listing named by `scope`. */
export function encodeNameCursor(keys: SigningKeys, scope: string, name: string): string {
  return signCursor(keys, scope, name);
}

/** The name a cursor says to continue after. */
export function decodeNameCursor(
  keys: SigningKeys,
  scope: string,
  cursor: unknown,
): Result<{ after: string | undefined }> {
  const verified = verifyCursor(keys, scope, cursor, TENANT_PATTERN);
  return verified.ok ? ok({ after: verified.position ?? undefined }) : verified;
}
