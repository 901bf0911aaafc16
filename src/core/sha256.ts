// SHA-256 and HMAC-SHA-256, synchronous, from @noble/hashes (audited, no dependencies): the
// service's one source of both. Why not WebCrypto: on workerd each call costs a promise, a key
// object and fresh ArrayBuffers, and every runtime-backed object survives young-generation GC,
// which makes the collector's pauses grow with traffic; every forged token costs one HMAC and
// every validation one HMAC and one hash, so they must cost microseconds. Why not node:crypto
// (synchronous, native): measured side by side on 2026-11-30 (bench/runs/2026-11-30-node-crypto.md),
// a call into the runtime and a Buffer per digest cost validation 11% more CPU than JavaScript on
// 60-byte inputs. test/crypto.test.ts checks both against FIPS 180-4, every RFC 4231 case, and
// WebCrypto on thousands of generated inputs.

import { type _HMAC, hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";

/**
 * An HMAC-SHA-256 key: its inner and outer states, computed once, and a scratch state each
 * digest is copied into and run in (`_cloneInto`), so that a digest allocates nothing but its
 * answer. A digest runs start to end synchronously, so no two ever share the scratch.
 */
export interface HmacKey {
  readonly keyed: Keyed;
  readonly scratch: Keyed;
}

type Keyed = _HMAC<ReturnType<typeof sha256.create>>;

const encoder = new TextEncoder();
/** The state before any input, copied into `hashing` for each digest. */
const fresh = sha256.create();
const hashing = sha256.create();

/** UTF-8 of `text`: ASCII (as tokens and keys are) copied byte for byte, anything else encoded. */
export function utf8(text: string): Uint8Array {
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return encoder.encode(text);
    bytes[i] = code;
  }
  return bytes;
}

export function sha256Digest(message: Uint8Array): Uint8Array {
  const digest = new Uint8Array(32);
  fresh._cloneInto(hashing).update(message).digestInto(digest);
  return digest;
}

export function hmacKey(secret: string): HmacKey {
  return hmacKeyOfBytes(utf8(secret));
}

/** The key of any bytes, as RFC 4231's test cases use. */
export function hmacKeyOfBytes(bytes: Uint8Array): HmacKey {
  const keyed: Keyed = hmac.create(sha256, bytes);
  return { keyed, scratch: keyed.clone() };
}

export function hmacDigest(key: HmacKey, message: Uint8Array): Uint8Array {
  const digest = new Uint8Array(32);
  key.keyed._cloneInto(key.scratch).update(message).digestInto(digest);
  return digest;
}
