// Who is calling: the platform admin (ADMIN_API_KEY), a tenant key, or nobody.
// Only `Authorization: Bearer <credential>` is accepted, spelled exactly so. Tenant keys are
// signed like session tokens, so a forged or mangled key is refused here, whatever tenant it
// names, without waking any Durable Object; a genuine key is then checked against its store's
// digest (it may have been revoked) inside the operation itself.

import type { Config } from "./config";
import { randomBase64url, secretsEqual, sha256 } from "./crypto";
import { fail, ok, type Result } from "./errors";
import { TENANT_PATTERN } from "./identifiers";
import { signPayload, verifySignedParts, type SigningKeys } from "./token";

/** Who an operation runs for, as the SessionStore sees it. */
export type StoreCaller =
  /** The platform admin key: any tenant, any operation. */
  | { kind: "admin" }
  /** A Worker over the service binding: trusted, as a binding is a capability. */
  | { kind: "service" }
  /** A tenant key whose signature checked out, to be matched by the tenant's store against its stored digest. */
  | { kind: "tenant_key"; tenant: string; keyId: string; secretHash: ArrayBuffer }
  /** The holder of a session token, authenticated on the store of its session, acting on its user's other shards. */
  | { kind: "session" }
  /** A kill finished in the background on a shard it missed, for the actor who asked for it. */
  | { kind: "replay"; actor: string };

/** Who did it, as the audit log says: never a credential, only a kind and a public id. */
export function actorOf(caller: StoreCaller): string {
  if (caller.kind === "tenant_key") return `tenant_key:${caller.keyId}`;
  return caller.kind === "replay" ? caller.actor : caller.kind;
}

const TENANT_KEY_VERSION = "tk2";
const KEY_ID_BYTES = 12;
const KEY_SECRET_BYTES = 32;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{16}$/;
const KEY_SECRET_PATTERN = /^[A-Za-z0-9_-]{43}$/;
export function isTenantKeyId(value: string): boolean {
  return KEY_ID_PATTERN.test(value);
}

export interface MintedTenantKey {
  id: string;
  key: string;
  secretHash: ArrayBuffer;
}

/** A tenant key, signed like a session token: `tk2.<tenant>.<keyId>.<secret>.<kid>.<tag>`. */
export function mintTenantKey(keys: SigningKeys, tenant: string): MintedTenantKey {
  const id = randomBase64url(KEY_ID_BYTES);
  const secret = randomBase64url(KEY_SECRET_BYTES);
  return { id, key: signPayload(keys, `${TENANT_KEY_VERSION}.${tenant}.${id}.${secret}`), secretHash: sha256(secret) };
}

/**
 * The caller a bearer credential proves to be, before any store has checked a tenant key for
 * revocation. "admin_unset" when it is not a tenant key and no admin key is configured (so it
 * cannot be told apart from an admin's); null when it is neither the admin key nor a tenant key.
 * The admin key is compared as a SHA-256 digest in constant time.
 */
export function identifyCaller(credential: string, config: Config): StoreCaller | "admin_unset" | null {
  if (credential.startsWith(`${TENANT_KEY_VERSION}.`)) {
    const parts = verifySignedParts(config.signingKeys, credential, 4);
    if (!parts) return null;
    const [, tenant, keyId, secret] = parts as [string, string, string, string];
    if (!TENANT_PATTERN.test(tenant) || !KEY_ID_PATTERN.test(keyId) || !KEY_SECRET_PATTERN.test(secret)) return null;
    return { kind: "tenant_key", tenant, keyId, secretHash: sha256(secret) };
  }
  if (config.adminKey === null) return "admin_unset";
  return secretsEqual(credential, config.adminKey) ? { kind: "admin" } : null;
}

/** What an operation needs of its caller: the platform admin, or anyone who may act on the tenant. */
export type Reach = "admin" | "tenant";

/**
 * Whether `caller` may run an operation of this reach on `tenant` (else the 403). Pure: a
 * tenant key here already has a valid signature, so pointing it at another tenant is refused
 * without asking any store; whether it was revoked is checked by its own store, in the operation.
 */
export function checkReach(caller: StoreCaller, tenant: unknown, reach: Reach): Result {
  if (caller.kind !== "tenant_key") return ok({});
  if (reach === "admin") return fail("forbidden", "this operation needs the platform admin key");
  return caller.tenant === tenant ? ok({}) : fail("forbidden", "this key belongs to another tenant");
}
