// Demo users and password checks: PBKDF2-SHA-256 through WebCrypto at 100,000 iterations (the
// most Workers allow), compared in constant time. An unknown user costs the same work as a
// wrong password, and both get the same answer, so neither timing nor wording tells them apart.

const ITERATIONS = 100_000;
const HASH_BITS = 256;

interface StoredPassword {
  salt: string;
  hash: string;
}

/** Demo only: alice / "correct horse battery staple", bob / "hunter2-but-longer". */
const USERS: Record<string, StoredPassword> = {
  alice: { salt: "WH0VLwSOa_kAJlN2dNIJaA", hash: "5nTCxqB5YZTsCKVY_at8t9LciylGaTUciA5HsyZ1PM8" },
  bob: { salt: "7sR7EKQ1e7FN-jqL-hKw3Q", hash: "6Av_MO91TlTCDJjFIfTRO5lR1cvHvv5RCeDWWOxlT8c" },
};

/** Checked against when the user is unknown, so that case does the same work. */
const DECOY: StoredPassword = { salt: "AAAAAAAAAAAAAAAAAAAAAA", hash: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };

function fromBase64url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replaceAll("-", "+").replaceAll("_", "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}

async function pbkdf2(password: string, salt: Uint8Array<ArrayBuffer>): Promise<ArrayBuffer> {
  const key = await crypto.subtle.importKey("raw", new TextEncoder().encode(password), "PBKDF2", false, ["deriveBits"]);
  return crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations: ITERATIONS }, key, HASH_BITS);
}

/** The user id when the password is right; null for a wrong password or an unknown user alike. */
export async function checkPassword(username: string, password: string): Promise<string | null> {
  const known = Object.hasOwn(USERS, username);
  const stored = known ? USERS[username]! : DECOY;
  const derived = await pbkdf2(password, fromBase64url(stored.salt));
  // workerd's constant-time comparison (typed here too for apps whose types are the browser's).
  const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual(a: ArrayBuffer, b: ArrayBuffer): boolean };
  const matches = subtle.timingSafeEqual(derived, fromBase64url(stored.hash).buffer);
  return known && matches ? username : null;
}
