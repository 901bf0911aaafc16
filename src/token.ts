// Session tokens: mint, sign, parse and verify. Pure: knows nothing of HTTP or storage.
// Format (version 1), every part cookie-safe:  v1.<tenant>.<sessionId>.<secret>.<kid>.<mac>
// The tenant routes the token to its Durable Object without any lookup, the session id is
// the public handle, the 256-bit secret is the credential (stored only as its SHA-256),
// and the HMAC-SHA-256 tag under key `kid` lets the front Worker refuse forgeries without
// waking a Durable Object. A later version can add a shard part: the version comes first.

import { hmacBase64url, hmacKey, randomBase64url, sha256, tagsEqual, type HmacKey } from "./crypto";
import { TENANT_PATTERN } from "./identifiers";

const TOKEN_VERSION = "v1";
/** 128 bits: enough that public ids never collide, and they are not credentials. */
const SESSION_ID_BYTES = 16;
/** 256 bits of secret, as SPEC and OWASP ask. */
const SECRET_BYTES = 32;
/** Signing secrets shorter than this are refused: an HMAC key should carry >= 256 bits. */
const MIN_SIGNING_SECRET_CHARS = 32;

const SESSION_ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;
const SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
const KID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;
const MAC_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** Longest possible v1 token; anything longer is refused before any parsing work. */
export const MAX_TOKEN_CHARS = 2 + 1 + 63 + 1 + 22 + 1 + 43 + 1 + 32 + 1 + 43;

export interface ParsedToken {
  tenant: string;
  sessionId: string;
  secret: string;
  kid: string;
}

export interface SigningKeys {
  /** The key id new tokens are signed with (the first configured). */
  currentKid: string;
  keys: ReadonlyMap<string, HmacKey>;
}

export class SigningKeyConfigError extends Error {}

export function isSessionId(value: string): boolean {
  return SESSION_ID_PATTERN.test(value);
}

export function newSessionId(): string {
  return randomBase64url(SESSION_ID_BYTES);
}

export function newSecret(): string {
  return randomBase64url(SECRET_BYTES);
}

/** The only form of a secret that is ever stored. */
export function hashSecret(secret: string): ArrayBuffer {
  return sha256(secret);
}

// Parsing and keying the signing secrets is done once per isolate per config value.
// This caches configuration, never request state.
const parsedKeys = new Map<string, SigningKeys>();

/** Parses `kid:secret,kid:secret` (first one signs, all verify) into HMAC keys. */
export function signingKeys(config: string | undefined): SigningKeys {
  const raw = config ?? "";
  let keys = parsedKeys.get(raw);
  if (!keys) {
    keys = parseSigningKeys(raw);
    parsedKeys.set(raw, keys);
  }
  return keys;
}

function parseSigningKeys(raw: string): SigningKeys {
  const entries = raw.split(",").map((pair) => pair.trim()).filter((pair) => pair !== "");
  if (entries.length === 0) throw new SigningKeyConfigError("SESSION_SIGNING_KEYS is not set");
  const keys = new Map<string, HmacKey>();
  for (const entry of entries) {
    const colon = entry.indexOf(":");
    const kid = entry.slice(0, colon);
    const secret = entry.slice(colon + 1);
    if (colon < 1 || !KID_PATTERN.test(kid)) {
      throw new SigningKeyConfigError("SESSION_SIGNING_KEYS: each entry must be kid:secret, kid in [A-Za-z0-9_-]{1,32}");
    }
    if (secret.length < MIN_SIGNING_SECRET_CHARS) {
      throw new SigningKeyConfigError(`SESSION_SIGNING_KEYS: the secret of key ${kid} is shorter than ${MIN_SIGNING_SECRET_CHARS} characters`);
    }
    if (keys.has(kid)) throw new SigningKeyConfigError(`SESSION_SIGNING_KEYS: key id ${kid} appears twice`);
    keys.set(kid, hmacKey(secret));
  }
  return { currentKid: entries[0]!.slice(0, entries[0]!.indexOf(":")), keys };
}

/** Signs a token for the given session under the current key. */
export function signToken(keys: SigningKeys, tenant: string, sessionId: string, secret: string): string {
  const payload = `${TOKEN_VERSION}.${tenant}.${sessionId}.${secret}.${keys.currentKid}`;
  return `${payload}.${hmacBase64url(keys.keys.get(keys.currentKid)!, payload)}`;
}

/**
 * Parses and verifies a token. Returns null for anything not minted by us under a key we
 * still hold: wrong shape, unknown version or key id, or a bad tag. Never throws.
 * The tag is compared as text in constant time, so no two spellings of one tag both pass.
 */
export function verifyToken(keys: SigningKeys, token: string): ParsedToken | null {
  if (token.length > MAX_TOKEN_CHARS) return null;
  const parts = token.split(".");
  if (parts.length !== 6) return null;
  const [version, tenant, sessionId, secret, kid, tag] = parts as [string, string, string, string, string, string];
  if (
    version !== TOKEN_VERSION ||
    !TENANT_PATTERN.test(tenant) ||
    !SESSION_ID_PATTERN.test(sessionId) ||
    !SECRET_PATTERN.test(secret) ||
    !KID_PATTERN.test(kid) ||
    !MAC_PATTERN.test(tag)
  ) {
    return null;
  }
  const key = keys.keys.get(kid);
  if (!key) return null;
  const expected = hmacBase64url(key, token.slice(0, token.length - tag.length - 1));
  if (!tagsEqual(expected, tag)) return null;
  return { tenant, sessionId, secret, kid };
}
