// The JWT signing keys, as the front Worker reaches them in the KeyRing (one Durable Object,
// named "keys"): the JWKS for consumers (kept by each isolate a while, see PublishedKeys), and
// rotation and listing for the platform admin.

import { actorOf, checkReach, type StoreCaller } from "../core/auth";
import { loadConfig, SEALING_NOT_CONFIGURED } from "../core/config";
import { logInfo } from "../core/log";
import { ok, type Result } from "../core/errors";
import { JWKS_MAX_AGE_SECONDS, type SigningKeyView } from "../../durable-objects/key-ring/key-ring";
import { keyRing } from "../../durable-objects/stubs";

/**
 * This isolate's copy of one deployment's JWKS, so that anonymous requests do not all reach
 * the one KeyRing. A copy is kept JWKS_MAX_AGE_SECONDS from when it was asked for: a rotation's
 * key signs only that long after it is published, so a copy asked for before a rotation is gone
 * before the key it lacks signs anything. A rotation made through this isolate drops it at once.
 */
class PublishedKeys {
  #keys: JsonWebKey[] | null = null;
  #askedAt = 0;
  #rotations = 0;

  /** The keys, and how many seconds ago the ring gave them (the answer's `Age`). */
  async read(env: Env, now: number): Promise<Result<{ keys: JsonWebKey[]; ageSeconds: number }>> {
    if (this.#keys === null || now - this.#askedAt >= JWKS_MAX_AGE_SECONDS * 1000) {
      const rotations = this.#rotations;
      const answer = (await keyRing(env).jwks()) as Result<{ keys: JsonWebKey[] }>;
      if (!answer.ok) return answer;
      // Asked for while a rotation ran here, it may lack the new key: served once, not kept.
      if (rotations !== this.#rotations) return ok({ keys: answer.keys, ageSeconds: 0 });
      this.#keys = answer.keys;
      this.#askedAt = now;
    }
    return ok({ keys: this.#keys, ageSeconds: Math.max(0, Math.floor((now - this.#askedAt) / 1000)) });
  }

  rotated(): void {
    this.#keys = null;
    this.#rotations += 1;
  }
}

/** One copy per KeyRing binding (one per deployment), as durable-objects/key-ring/jwt.ts keeps the signing key. */
const published = new WeakMap<object, PublishedKeys>();

function publishedKeys(env: Env): PublishedKeys {
  let keys = published.get(env.KEY_RING);
  if (!keys) {
    keys = new PublishedKeys();
    published.set(env.KEY_RING, keys);
  }
  return keys;
}

/** The public keys, for anyone (consumers of the JWTs). */
export async function jwks(env: Env, now = Date.now()): Promise<Result<{ keys: JsonWebKey[]; ageSeconds: number }>> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  if (!config.config.sealing) return SEALING_NOT_CONFIGURED;
  return publishedKeys(env).read(env, now);
}

async function asAdmin<T extends object>(
  env: Env,
  caller: StoreCaller,
  operation: () => Promise<Result<T>>,
): Promise<Result<T>> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  const allowed = checkReach(caller, undefined, "admin");
  if (!allowed.ok) return allowed;
  return config.config.sealing ? operation() : SEALING_NOT_CONFIGURED;
}

export function rotateSigningKey(env: Env, caller: StoreCaller): Promise<Result<{ keys: SigningKeyView[] }>> {
  return asAdmin(env, caller, async () => {
    const rotated = (await keyRing(env).rotate()) as Result<{ keys: SigningKeyView[] }>;
    publishedKeys(env).rotated();
    if (rotated.ok) logInfo({ event: "operator.signing_key_rotated", actor: actorOf(caller) });
    return rotated;
  });
}

export function listSigningKeys(env: Env, caller: StoreCaller): Promise<Result<{ keys: SigningKeyView[] }>> {
  return asAdmin(env, caller, async () => (await keyRing(env).list()) as Result<{ keys: SigningKeyView[] }>);
}
