// Session tokens: mint, sign, parse and verify; and the signing every credential shares
// (`signPayload`, `verifySignedParts`: tenant keys use them too). Pure: knows nothing of HTTP
// or storage. The token format and what each part is for: `signToken`; version 1: `verifyToken`.

import { hmacBase64url, hmacKey, randomBase64url, sha256, tagsEqual, type HmacKey } from "./crypto";
import { TENANT_PATTERN } from "./identifiers";
import { ID_PATTERN, PLACED_ID_CHARS } from "./placed-id";
import { MAX_SHARDS, type Jurisdiction, type StoreTarget } from "./placement";

const TOKEN_VERSION = "v2";
/** A token of a tenant whose token keys were retired at least once: it names its generation. */
const GENERATION_TOKEN_VERSION = "v3";
const FIRST_TOKEN_VERSION = "v1";
/** 256 bits of secret from the CSPRNG: far beyond guessing, whatever the rate of attempts. */
const SECRET_BYTES = 32;
/** Signing secrets shorter than this are refused: an HMAC key should carry >= 256 bits. */
const MIN_SIGNING_SECRET_CHARS = 32;

const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const KID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const MAC_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** `<shard>` or `<jurisdiction>-<shard>`, the shard without leading zeros. */
const PLACEMENT_PATTERN = /^(?:(eu|fedramp)-)?(0|[1-9][0-9]{0,2})$/;
/** A tenant's token key generation past the first (0 is implied by a v2 token). */
const GENERATION_PATTERN = /^[1-9][0-9]{0,8}$/;
/** The highest generation a token can name: a tenant's keys can be retired this many times. */
export const MAX_TOKEN_GENERATION = 999_999_999;
/** Longest possible token; anything longer is refused before any parsing work. */
export const MAX_TOKEN_CHARS =
  2 + 1 + 63 + 1 + "fedramp-255".length + 1 + 9 + 1 + PLACED_ID_CHARS + 1 + 43 + 1 + 32 + 1 + 43;

export interface ParsedToken extends StoreTarget {
  sessionId: string;
  secret: string;
  /** The tenant's token key generation it was minted under (token-generations: the per-tenant lever). */
  generation: number;
}

export interface SigningKeys {
  /** The key id new tokens are signed with (the first configured). */
  currentKid: string;
  keys: ReadonlyMap<string, HmacKey>;
}

/** A session's public id: one that names its shard (placed-id.ts), or one from before, which names none. */
export function isSessionId(value: string): boolean {
  return ID_PATTERN.test(value);
}

export function newSecret(): string {
  return randomBase64url(SECRET_BYTES);
}

/** The only form of a secret that is ever stored. */
export function hashSecret(secret: string): ArrayBuffer {
  return sha256(secret);
}

/** Parses `kid:secret,kid:secret` (first one signs, all verify), or says what is wrong (never a secret). */
export function parseSigningKeys(
  raw: string | undefined,
): { ok: true; keys: SigningKeys } | { ok: false; problem: string } {
  const entries = (raw ?? "")
    .split(",")
    .map((pair) => pair.trim())
    .filter((pair) => pair !== "");
  if (entries.length === 0) return { ok: false, problem: "SESSION_SIGNING_KEYS is not set" };
  const keys = new Map<string, HmacKey>();
  for (const entry of entries) {
    const colon = entry.indexOf(":");
    const kid = entry.slice(0, colon);
    const secret = entry.slice(colon + 1);
    if (colon < 1 || !KID_PATTERN.test(kid)) {
      return { ok: false, problem: "SESSION_SIGNING_KEYS: each entry must be kid:secret, kid in [A-Za-z0-9_-]{1,32}" };
    }
    if (secret.length < MIN_SIGNING_SECRET_CHARS) {
      return {
        ok: false,
        problem: `SESSION_SIGNING_KEYS: the secret of key ${kid} is shorter than ${MIN_SIGNING_SECRET_CHARS} characters`,
      };
    }
    if (keys.has(kid)) return { ok: false, problem: `SESSION_SIGNING_KEYS: key id ${kid} appears twice` };
    keys.set(kid, hmacKey(secret));
  }
  return { ok: true, keys: { currentKid: entries[0]!.slice(0, entries[0]!.indexOf(":")), keys } };
}

/**
 * `<payload>.<kid>.<tag>`: the payload signed under the current key. Session tokens and tenant
 * keys are both made so; their payloads start with different versions ("v1", "tk2"), so one
 * can never be read as the other.
 */
export function signPayload(keys: SigningKeys, payload: string): string {
  const signed = `${payload}.${keys.currentKid}`;
  return `${signed}.${hmacBase64url(keys.keys.get(keys.currentKid)!, signed)}`;
}

/**
 * The dot-separated parts of a payload signed by `signPayload` under a key we still hold, or
 * null: wrong number of parts, unknown key id or a bad tag. The tag is compared as text in
 * constant time, so no two spellings of one tag both pass.
 */
export function verifySignedParts(keys: SigningKeys, text: string, payloadParts: number): string[] | null {
  const parts = text.split(".");
  if (parts.length !== payloadParts + 2) return null;
  const tag = parts.pop()!;
  const kid = parts[parts.length - 1]!;
  if (!KID_PATTERN.test(kid) || !MAC_PATTERN.test(tag)) return null;
  const key = keys.keys.get(kid);
  if (!key) return null;
  const expected = hmacBase64url(key, text.slice(0, text.length - tag.length - 1));
  return tagsEqual(expected, tag) ? parts.slice(0, payloadParts) : null;
}

function placementPart(target: StoreTarget): string {
  return target.jurisdiction === null ? String(target.shard) : `${target.jurisdiction}-${target.shard}`;
}

/**
 * Signs a token for the given session, on the store it lives in, under the current key.
 * Format (version 2), every part cookie-safe: `v2.<tenant>.<placement>.<sessionId>.<secret>.<kid>.<mac>`.
 * The tenant and placement (the shard, and the jurisdiction if any: `3`, `eu-3`) route the
 * token to its Durable Object without any lookup, the session id is the public handle, the
 * 256-bit secret is the credential (stored only as its SHA-256), and the HMAC-SHA-256 tag
 * under key `kid` lets the front Worker refuse forgeries without waking a Durable Object.
 * A tenant whose token keys were retired mints version 3, which signs its key generation too:
 * `v3.<tenant>.<placement>.<generation>.<sessionId>.<secret>.<kid>.<mac>`. The front Worker
 * refuses a generation below the tenant's floor (src/worker/token-generations.ts).
 */
export function signToken(
  keys: SigningKeys,
  target: StoreTarget,
  sessionId: string,
  secret: string,
  generation: number,
): string {
  const where = `${target.tenant}.${placementPart(target)}`;
  return signPayload(
    keys,
    generation === 0
      ? `${TOKEN_VERSION}.${where}.${sessionId}.${secret}`
      : `${GENERATION_TOKEN_VERSION}.${where}.${generation}.${sessionId}.${secret}`,
  );
}

/**
 * Parses and verifies a token. Returns null for anything not minted by us under a key we
 * still hold: wrong shape, unknown version or key id, or a bad tag. Never throws.
 * Version 1 (`v1.<tenant>.<sessionId>.<secret>.<kid>.<mac>`, from before sharding) is still
 * read: its session is on shard 0, in no jurisdiction. Versions 1 and 2 are generation 0.
 */
export function verifyToken(keys: SigningKeys, token: string): ParsedToken | null {
  if (token.length > MAX_TOKEN_CHARS) return null;
  const version = token.slice(0, token.indexOf("."));
  const payloadParts =
    version === TOKEN_VERSION ? 5 : version === GENERATION_TOKEN_VERSION ? 6 : version === FIRST_TOKEN_VERSION ? 4 : 0;
  if (payloadParts === 0) return null;
  const parts = verifySignedParts(keys, token, payloadParts);
  if (!parts) return null;
  const [, tenant, placement, generation, sessionId, secret] = (
    version === FIRST_TOKEN_VERSION
      ? [version, parts[1], "0", "0", ...parts.slice(2)]
      : version === TOKEN_VERSION
        ? [version, parts[1], parts[2], "0", ...parts.slice(3)]
        : parts
  ) as [string, string, string, string, string, string];
  const where = PLACEMENT_PATTERN.exec(placement);
  if (
    !where ||
    (version === GENERATION_TOKEN_VERSION && !GENERATION_PATTERN.test(generation)) ||
    !TENANT_PATTERN.test(tenant) ||
    !ID_PATTERN.test(sessionId) ||
    !SECRET_PATTERN.test(secret)
  ) {
    return null;
  }
  const shard = Number(where[2]);
  if (shard >= MAX_SHARDS) return null;
  return {
    tenant,
    shard,
    jurisdiction: (where[1] as Jurisdiction | undefined) ?? null,
    sessionId,
    secret,
    generation: Number(generation),
  };
}
