// Listing parameters and opaque cursors. A cursor carries the position to continue from (a seq,
// or a tenant name for the tenant directory) and an HMAC over it and the listing it belongs to
// (kind, tenant, user filter), so a forged, mangled or foreign cursor is refused (400) instead
// of silently paging somewhere else.

import { hmacBase64url, tagsEqual, type HmacKey } from "./crypto";
import { fail, ok, type Result } from "./errors";
import { TENANT_PATTERN } from "./identifiers";
import type { SigningKeys } from "./token";

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;
const CURSOR_PATTERN = /^c1\.([a-z0-9-]{1,63})\.([A-Za-z0-9_-]{1,32})\.([A-Za-z0-9_-]{43})$/;
/** A seq to continue below: at most 16 digits, so always a safe integer. */
const SEQ_POSITION = /^[1-9][0-9]{0,15}$/;

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
function verifyCursor(keys: SigningKeys, scope: string, cursor: unknown, position: RegExp): Result<{ position: string | null }> {
  if (cursor === undefined || cursor === null) return ok({ position: null });
  const invalid = fail("bad_request", "cursor is not one this listing gave out", "cursor");
  const match = typeof cursor === "string" ? CURSOR_PATTERN.exec(cursor) : null;
  if (!match || !position.test(match[1]!)) return invalid;
  const [, text, kid, mac] = match as unknown as [string, string, string, string];
  const key = keys.keys.get(kid);
  return key && tagsEqual(cursorMac(key, scope, text), mac) ? ok({ position: text }) : invalid;
}

/** An opaque cursor for "continue below `seq`" in the listing named by `scope`. */
export function encodeCursor(keys: SigningKeys, scope: string, seq: number): string {
  return signCursor(keys, scope, String(seq));
}

/** The seq a cursor says to continue below. */
export function decodeCursor(keys: SigningKeys, scope: string, cursor: unknown): Result<{ beforeSeq: number | undefined }> {
  const verified = verifyCursor(keys, scope, cursor, SEQ_POSITION);
  if (!verified.ok) return verified;
  return ok({ beforeSeq: verified.position === null ? undefined : Number(verified.position) });
}

/** An opaque cursor for "continue after the name `name`" in the listing named by `scope`. */
export function encodeNameCursor(keys: SigningKeys, scope: string, name: string): string {
  return signCursor(keys, scope, name);
}

/** The name a cursor says to continue after. */
export function decodeNameCursor(keys: SigningKeys, scope: string, cursor: unknown): Result<{ after: string | undefined }> {
  const verified = verifyCursor(keys, scope, cursor, TENANT_PATTERN);
  return verified.ok ? ok({ after: verified.position ?? undefined }) : verified;
}
