// Secrets kept at rest (the key ring's private keys): sealed with AES-256-GCM under a key
// derived by HKDF-SHA-256 from the Worker secret KEY_ENCRYPTION_SECRET. WebCrypto does all of
// it; nothing here is hand-written cryptography. Each sealed value is bound to what it is (the
// `context`, e.g. a key id, as GCM's additional data), so one cannot be swapped for another.

const HKDF_SALT = new TextEncoder().encode("session-service sealing v1");
const IV_BYTES = 12;

export interface Sealed {
  iv: ArrayBuffer;
  sealed: ArrayBuffer;
}

/** The AES-GCM key derived from the secret, for one purpose (`info`): the same secret and purpose give the same key. */
export async function sealingKey(secret: string, info: string): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey("raw", new TextEncoder().encode(secret), "HKDF", false, ["deriveKey"]);
  return crypto.subtle.deriveKey(
    { name: "HKDF", hash: "SHA-256", salt: HKDF_SALT, info: new TextEncoder().encode(info) },
    material,
    { name: "AES-GCM", length: 256 },
    false,
    ["encrypt", "decrypt"],
  );
}

export async function seal(key: CryptoKey, plaintext: BufferSource, context: string): Promise<Sealed> {
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: new TextEncoder().encode(context) },
    key,
    plaintext,
  );
  return { iv: iv.buffer, sealed };
}

/** The plaintext, or a thrown error when the value was altered, sealed for another context or under another secret. */
export function unseal(key: CryptoKey, value: Sealed, context: string): Promise<ArrayBuffer> {
  return crypto.subtle.decrypt(
    { name: "AES-GCM", iv: value.iv, additionalData: new TextEncoder().encode(context) },
    key,
    value.sealed,
  );
}
