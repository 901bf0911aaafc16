// KeyRing: the Ed25519 keys that sign the JWTs other services check alone (one Durable Object
// for the deployment, named "keys"), and each tenant's session token generation, the lever that
// retires one tenant's tokens (token-generations.ts). Keys are made with WebCrypto; a private key is kept only
// sealed under KEY_ENCRYPTION_SECRET (src/core/sealing.ts), and leaves this object only to sign,
// for the front Worker to keep in memory a short while. A key's state: see KeyState.
import { DurableObject } from "cloudflare:workers";
import { fail, ok, type Result } from "../../src/core/errors";
import { randomBase64url } from "../../src/core/crypto";
import { sealingKey, seal, unseal } from "../../src/core/sealing";
import { MAX_JWT_TTL_SECONDS } from "../../src/core/settings";
import { deleteKey, insertKey, keysInOrder, migrate, type KeyRow } from "./key-ring-sql";
import {
  changesAfter,
  restore,
  retire,
  tokenKeys,
  type TokenGeneration,
  type TokenKeysChanged,
  type TokenKeysView,
} from "./token-generations";

/** How long consumers may cache the JWKS (its Cache-Control max-age). */
export const JWKS_MAX_AGE_SECONDS = 300;

/** How long a front Worker may keep the current private key in memory before asking again. */
const SIGNING_KEY_CACHE_MS = 60_000;
const SEALING_PURPOSE = "jwt signing keys";

/**
 * A key's state follows from times alone:
 * - `next`: published in the JWKS, not signing yet. A rotation's key signs only once the JWKS
 *   that consumers may have cached (max-age JWKS_MAX_AGE_SECONDS) has had time to show it.
 * - `current`: the newest key whose time to sign has come.
 * - `retired`: an older one; still published until every JWT it signed has expired
 *   (MAX_JWT_TTL_SECONDS after the next key took over), then deleted.
 * The first key of an empty ring signs at once: no consumer can have cached a JWKS without it.
 */
export type KeyState = "next" | "current" | "retired";

/** A key as operators see it: never its private half. */
export interface SigningKeyView {
  kid: string;
  state: KeyState;
  createdAt: string;
  signsFrom: string;
  retiredAt: string | null;
  publishedUntil: string | null;
}

interface Placed {
  row: KeyRow;
  state: KeyState;
  retiredAt: number | null;
  publishedUntil: number | null;
}

/** Each key with its state at `now` (rows in signing order). */
export function placed(rows: KeyRow[], now: number): Placed[] {
  const started = rows.filter((row) => row.signs_from <= now);
  const current = started[started.length - 1];
  return rows.map((row, i) => {
    if (row.signs_from > now) return { row, state: "next", retiredAt: null, publishedUntil: null };
    if (row === current) return { row, state: "current", retiredAt: null, publishedUntil: null };
    const retiredAt = rows[i + 1]!.signs_from;
    return { row, state: "retired", retiredAt, publishedUntil: retiredAt + MAX_JWT_TTL_SECONDS * 1000 };
  });
}

function iso(at: number | null): string | null {
  return at === null ? null : new Date(at).toISOString();
}

const NOT_CONFIGURED = fail("not_configured", "the service is not configured: KEY_ENCRYPTION_SECRET (see GET /health)");

export class KeyRing extends DurableObject<Env> {
  /** The sealing key, derived once per object (the secret does not change under a running object). */
  #sealing: Promise<CryptoKey> | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => migrate(ctx.storage));
  }

  #sealingKey(): Promise<CryptoKey> | null {
    const secret = this.env.KEY_ENCRYPTION_SECRET;
    if (!secret) return null;
    this.#sealing ??= sealingKey(secret, SEALING_PURPOSE);
    return this.#sealing;
  }

  /** Makes a key that signs from `signsFrom`, its private half sealed before it is stored. */
  async #makeKey(kek: CryptoKey, signsFrom: number): Promise<void> {
    const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const kid = randomBase64url(12);
    const publicJwk = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
    const pkcs8 = (await crypto.subtle.exportKey("pkcs8", pair.privateKey)) as ArrayBuffer;
    const sealed = await seal(kek, pkcs8, kid);
    const jwk = { kty: publicJwk.kty, crv: publicJwk.crv, x: publicJwk.x, kid, use: "sig", alg: "EdDSA" };
    insertKey(this.ctx.storage.sql, {
      kid,
      created_at: Date.now(),
      signs_from: signsFrom,
      public_jwk: JSON.stringify(jwk),
      sealed_private: sealed.sealed,
      iv: sealed.iv,
    });
  }

  /**
   * The keys at `now`, an empty ring given its first key, and keys no longer published deleted.
   * One change at a time: two requests never both make a first key.
   */
  async #keys(kek: CryptoKey): Promise<Placed[]> {
    return this.ctx.blockConcurrencyWhile(async () => {
      const sql = this.ctx.storage.sql;
      const now = Date.now();
      if (keysInOrder(sql).length === 0) await this.#makeKey(kek, now);
      const keys = placed(keysInOrder(sql), now);
      for (const key of keys) if (key.publishedUntil !== null && key.publishedUntil <= now) deleteKey(sql, key.row.kid);
      return keys.filter((key) => key.publishedUntil === null || key.publishedUntil > now);
    });
  }

  /** The public keys consumers check JWTs with: every key that signs, will sign, or signed a JWT not yet expired. */
  async jwks(): Promise<Result<{ keys: JsonWebKey[] }>> {
    const kek = this.#sealingKey();
    if (!kek) return NOT_CONFIGURED;
    const keys = await this.#keys(await kek);
    return ok({ keys: keys.map((key) => JSON.parse(key.row.public_jwk) as JsonWebKey) });
  }

  /**
   * The current key, private half included, for the front Worker to sign with: `until` says
   * how long it may keep it (a minute, or less when the next key takes over sooner).
   */
  async signingKey(): Promise<Result<{ kid: string; pkcs8: ArrayBuffer; until: number }>> {
    const kek = this.#sealingKey();
    if (!kek) return NOT_CONFIGURED;
    const key = await kek;
    const keys = await this.#keys(key);
    const current = keys.find((k) => k.state === "current")!;
    const next = keys.find((k) => k.state === "next");
    const pkcs8 = await unseal(key, { iv: current.row.iv, sealed: current.row.sealed_private }, current.row.kid);
    const until = Math.min(Date.now() + SIGNING_KEY_CACHE_MS, next?.row.signs_from ?? Number.MAX_SAFE_INTEGER);
    return ok({ kid: current.row.kid, pkcs8, until });
  }

  /** A new key, published at once, signing once the JWKS consumers cached has expired. */
  async rotate(): Promise<Result<{ keys: SigningKeyView[] }>> {
    const kek = this.#sealingKey();
    if (!kek) return NOT_CONFIGURED;
    const key = await kek;
    await this.#keys(key); // an empty ring gets its first key before the rotation's
    await this.ctx.blockConcurrencyWhile(() => this.#makeKey(key, Date.now() + JWKS_MAX_AGE_SECONDS * 1000));
    return this.list();
  }

  /** What the front Worker's copy of the tenants' token generations lacks (changesAfter). */
  tokenGenerations(
    epoch: string | null,
    version: number,
  ): Result<{ epoch: string; version: number; complete: boolean; changes: TokenGeneration[] }> {
    return ok(changesAfter(this.ctx.storage.sql, epoch, version));
  }

  tokenKeys(tenant: string, windowMs: number): Result<{ keys: TokenKeysView }> {
    return ok({ keys: tokenKeys(this.ctx.storage.sql, tenant, windowMs, Date.now()) });
  }

  retireTokenKeys(tenant: string, actor: string): Result<TokenKeysChanged> {
    return retire(this.ctx.storage.sql, tenant, actor, Date.now());
  }

  restoreTokenKeys(tenant: string, windowMs: number): Result<TokenKeysChanged> {
    return restore(this.ctx.storage.sql, tenant, windowMs, Date.now());
  }

  async list(): Promise<Result<{ keys: SigningKeyView[] }>> {
    const kek = this.#sealingKey();
    if (!kek) return NOT_CONFIGURED;
    const keys = await this.#keys(await kek);
    return ok({
      keys: keys.map((key) => ({
        kid: key.row.kid,
        state: key.state,
        createdAt: iso(key.row.created_at)!,
        signsFrom: iso(key.row.signs_from)!,
        retiredAt: iso(key.retiredAt),
        publishedUntil: iso(key.publishedUntil),
      })),
    });
  }
}
