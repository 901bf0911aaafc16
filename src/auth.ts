// Who is calling: the platform admin (ADMIN_API_KEY), a tenant key, or nobody.
// Only `Authorization: Bearer <credential>` is accepted, spelled exactly so. Keys are
// compared as SHA-256 digests in constant time; tenant keys name their tenant and key id
// so the right store can check them, and are stored only as digests.

import { randomBase64url, secretsEqual, sha256 } from "./crypto";
import { TENANT_PATTERN } from "./identifiers";

/** Who an operation runs for, as the SessionStore sees it. */
export type StoreCaller =
  /** The platform admin key: any tenant, any operation. */
  | { kind: "admin" }
  /** A Worker over the service binding: trusted, as a binding is a capability. */
  | { kind: "service" }
  /** A tenant key, to be checked by the tenant's store against its stored digest. */
  | { kind: "tenant_key"; tenant: string; keyId: string; secretHash: ArrayBuffer };

const TENANT_KEY_VERSION = "tk1";
const KEY_ID_BYTES = 12;
const KEY_SECRET_BYTES = 32;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{16}$/;
const KEY_SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
/** The longest credential worth hashing; anything longer is simply wrong. */
const MAX_CREDENTIAL_CHARS = 1024;

export function isTenantKeyId(value: string): boolean {
  return KEY_ID_PATTERN.test(value);
}

/** The credential of `Authorization: Bearer <credential>`, or null for any other spelling. */
export function bearerCredential(request: Request): string | null {
  const header = request.headers.get("Authorization");
  if (header === null || !header.startsWith("Bearer ")) return null;
  const credential = header.slice("Bearer ".length);
  return /^[\x21-\x7e]+$/.test(credential) && credential.length <= MAX_CREDENTIAL_CHARS ? credential : null;
}

export interface MintedTenantKey {
  id: string;
  key: string;
  secretHash: ArrayBuffer;
}

export function mintTenantKey(tenant: string): MintedTenantKey {
  const id = randomBase64url(KEY_ID_BYTES);
  const secret = randomBase64url(KEY_SECRET_BYTES);
  return { id, key: `${TENANT_KEY_VERSION}.${tenant}.${id}.${secret}`, secretHash: sha256(secret) };
}

/**
 * The caller a bearer credential claims to be, before any store has checked a tenant key.
 * Null when the credential is neither the admin key nor shaped like a tenant key.
 */
export function identifyCaller(credential: string, adminKey: string | undefined): StoreCaller | null {
  if (adminKey && secretsEqual(credential, adminKey)) return { kind: "admin" };
  const parts = credential.split(".");
  if (parts.length !== 4) return null;
  const [version, tenant, keyId, secret] = parts as [string, string, string, string];
  if (version !== TENANT_KEY_VERSION || !TENANT_PATTERN.test(tenant) || !KEY_ID_PATTERN.test(keyId) || !KEY_SECRET_PATTERN.test(secret)) {
    return null;
  }
  return { kind: "tenant_key", tenant, keyId, secretHash: sha256(secret) };
}
