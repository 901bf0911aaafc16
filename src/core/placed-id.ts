// Ids that name the store they live on: a session's public id names its shard, and the id of a
// kill coordinated by a store other than the home names that store. A route given such an id
// asks that one store, where an id from before (22 random characters) needs every store of the
// tenant. The id carries a check over the tenant, so that an id made up, mistyped or of another
// tenant costs no store call; the check is not a secret (an id is a handle, not a credential):
// an id crafted to pass it reaches one store, as a real one does, never more.

import { MAX_SHARDS } from "./placement";
import { randomBase64url, sha256, base64url, tagsEqual } from "./crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
/** 120 random bits: ids never collide, and they are not credentials. */
const RANDOM_CHARS = 20;
const SHARD_CHARS = 2;
/** 36 bits of check: a made-up id passes once in 68 billion. */
const CHECK_CHARS = 6;
export const PLACED_ID_CHARS = RANDOM_CHARS + SHARD_CHARS + CHECK_CHARS;
/** Ids from before ids named their store: 128 random bits. */
const UNPLACED_ID_CHARS = 22;

export const ID_PATTERN = /^(?:[A-Za-z0-9_-]{22}|[A-Za-z0-9_-]{28})$/;

function checkOf(tenant: string, body: string): string {
  return base64url(sha256(`placed-id\n${tenant}\n${body}`)).slice(0, CHECK_CHARS);
}

function shardChars(shard: number): string {
  return ALPHABET[shard >> 6]! + ALPHABET[shard & 63]!;
}

/** A new id of `tenant`, naming its store `shard`. */
export function newPlacedId(tenant: string, shard: number): string {
  const body = randomBase64url(15) + shardChars(shard);
  return body + checkOf(tenant, body);
}

/**
 * The shard an id of `tenant` names; "any" for an id from before, which names none; null for an
 * id that fails its check (made up, mistyped, another tenant's) or is of neither shape.
 */
export function shardNamedBy(tenant: string, id: string): number | "any" | null {
  if (id.length === UNPLACED_ID_CHARS) return ID_PATTERN.test(id) ? "any" : null;
  if (id.length !== PLACED_ID_CHARS || !ID_PATTERN.test(id)) return null;
  const body = id.slice(0, RANDOM_CHARS + SHARD_CHARS);
  if (!tagsEqual(checkOf(tenant, body), id.slice(RANDOM_CHARS + SHARD_CHARS))) return null;
  const shard = ALPHABET.indexOf(id[RANDOM_CHARS]!) * 64 + ALPHABET.indexOf(id[RANDOM_CHARS + 1]!);
  return shard < MAX_SHARDS ? shard : null;
}
