// Listing parameters and opaque cursors. A cursor carries the position to continue below
// and an HMAC over it and the listing it belongs to (kind, tenant, user filter), so a forged,
// mangled or foreign cursor is refused (400) instead of silently paging somewhere else.

import { hmacBase64url, tagsEqual, type HmacKey } from "./crypto";
import { fail, ok, type Result } from "./errors";
import type { SigningKeys } from "./token";

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const CURSOR_PATTERN = /^c1\.([1-9][0-9]{0,15})\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{43})$/;

/** `limit` as given (query text or RPC number), within 1..1000, default 100. */
export function parseLimit(value: unknown): Result<{ limit: number }> {
  if (value === undefined || value === null) return ok({ limit: DEFAULT_LIMIT });
  const limit = typeof value === "string" && /^[0-9]{1,7}$/.test(value) ? Number(value) : value;
  if (typeof limit !== "number" || !Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
    return fail("bad_request", `limit must be an integer from 1 to ${MAX_LIMIT}`, "limit");
  }
  return ok({ limit });
}

function cursorMac(key: HmacKey, scope: string, seq: number): string {
  return hmacBase64url(key, `cursor\n${scope}\n${seq}`);
}

/** An opaque cursor for "continue below `seq`" in the listing named by `scope`. */
export function encodeCursor(keys: SigningKeys, scope: string, seq: number): string {
  return `c1.${seq}.${keys.currentKid}.${cursorMac(keys.keys.get(keys.currentKid)!, scope, seq)}`;
}

/** The position a cursor names, if it was made by us for this very listing. */
export function decodeCursor(keys: SigningKeys, scope: string, cursor: unknown): Result<{ beforeSeq: number | undefined }> {
  if (cursor === undefined || cursor === null) return ok({ beforeSeq: undefined });
  const invalid = fail("bad_request", "cursor is not one this listing gave out", "cursor");
  const match = typeof cursor === "string" ? CURSOR_PATTERN.exec(cursor) : null;
  if (!match) return invalid;
  const [, seqText, kid, mac] = match as unknown as [string, string, string, string];
  const key = keys.keys.get(kid);
  const seq = Number(seqText);
  if (!key || !Number.isSafeInteger(seq)) return invalid;
  const expected = cursorMac(key, scope, seq);
  return tagsEqual(expected, mac) ? ok({ beforeSeq: seq }) : invalid;
}
