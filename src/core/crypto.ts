// Small crypto helpers shared by tokens, cursors and API keys. Hashing is synchronous, by an
// audited library (sha256.ts says why); randomness comes from the platform's CSPRNG. Everything secret is
// compared in constant time, and through digests where lengths may differ.

import { hmacDigest, sha256Digest, utf8, type HmacKey } from "./sha256";

export { hmacKey, type HmacKey } from "./sha256";

const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/** `byteLength` random bytes from the CSPRNG, as unpadded base64url (cookie-safe). */
export function randomBase64url(byteLength: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(byteLength)));
}

/** Unpadded base64url, three bytes to four characters at a time. */
export function base64url(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let text = "";
  let i = 0;
  for (; i + 2 < view.length; i += 3) {
    const triple = (view[i]! << 16) | (view[i + 1]! << 8) | view[i + 2]!;
    text +=
      BASE64URL_ALPHABET[triple >> 18]! +
      BASE64URL_ALPHABET[(triple >> 12) & 63]! +
      BASE64URL_ALPHABET[(triple >> 6) & 63]! +
      BASE64URL_ALPHABET[triple & 63]!;
  }
  const rest = view.length - i;
  if (rest === 1) {
    const byte = view[i]!;
    text += BASE64URL_ALPHABET[byte >> 2]! + BASE64URL_ALPHABET[(byte & 3) << 4]!;
  } else if (rest === 2) {
    const pair = (view[i]! << 8) | view[i + 1]!;
    text +=
      BASE64URL_ALPHABET[pair >> 10]! + BASE64URL_ALPHABET[(pair >> 4) & 63]! + BASE64URL_ALPHABET[(pair & 15) << 2]!;
  }
  return text;
}

/** SHA-256 of the UTF-8 of `text`, as the 32-byte buffer the store keeps. */
export function sha256(text: string): ArrayBuffer {
  return sha256Digest(utf8(text)).buffer as ArrayBuffer;
}

/**
 * Constant-time equality of two digests of equal length (every byte is looked at, whatever the
 * others hold); unequal lengths are simply unequal. A loop here, not WebCrypto's
 * timingSafeEqual, which costs a call into the runtime on every validation.
 */
export function digestsEqual(a: ArrayBuffer, b: ArrayBuffer): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  let difference = 0;
  for (let i = 0; i < x.length; i++) difference |= x[i]! ^ y[i]!;
  return difference === 0;
}

/** HMAC-SHA-256 of `text`, as unpadded base64url: the tags of tokens and cursors. */
export function hmacBase64url(key: HmacKey, text: string): string {
  return base64url(hmacDigest(key, utf8(text)));
}

/**
 * Constant-time equality of two tags as text: every character is looked at whatever the
 * others hold. Compared as text, not decoded: base64url has spare bits in its last
 * character, so two spellings could decode to one tag.
 */
export function tagsEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let difference = 0;
  for (let i = 0; i < a.length; i++) difference |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return difference === 0;
}

/** Constant-time equality of two strings of any length, by comparing their digests. */
export function secretsEqual(a: string, b: string): boolean {
  return digestsEqual(sha256(a), sha256(b));
}
