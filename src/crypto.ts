// Small WebCrypto helpers shared by tokens and API keys.
// Everything secret is compared through SHA-256 digests with timingSafeEqual,
// so neither content nor length leaks through timing.

const encoder = new TextEncoder();

/** `byteLength` random bytes from the CSPRNG, as unpadded base64url (cookie-safe). */
export function randomBase64url(byteLength: number): string {
  return base64url(crypto.getRandomValues(new Uint8Array(byteLength)));
}

export function base64url(bytes: ArrayBuffer | Uint8Array): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let binary = "";
  for (const byte of view) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

export function sha256(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", encoder.encode(text));
}

/** Constant-time equality of two digests of equal length; unequal lengths are simply unequal. */
export function digestsEqual(a: ArrayBuffer, b: ArrayBuffer): boolean {
  return a.byteLength === b.byteLength && crypto.subtle.timingSafeEqual(a, b);
}

/** HMAC-SHA-256 of `text`, as unpadded base64url: the tags of tokens and cursors. */
export async function hmacBase64url(key: CryptoKey, text: string): Promise<string> {
  return base64url(await crypto.subtle.sign("HMAC", key, encoder.encode(text)));
}

/**
 * Constant-time equality of two tags as text. Compared as text, not decoded: base64url has
 * spare bits in its last character, so two spellings could decode to one tag.
 */
export function tagsEqual(a: string, b: string): boolean {
  return a.length === b.length && crypto.subtle.timingSafeEqual(encoder.encode(a), encoder.encode(b));
}

/** Constant-time equality of two strings of any length, by comparing their digests. */
export async function secretsEqual(a: string, b: string): Promise<boolean> {
  const [da, db] = await Promise.all([sha256(a), sha256(b)]);
  return digestsEqual(da, db);
}

export function utf8(text: string): Uint8Array {
  return encoder.encode(text);
}
