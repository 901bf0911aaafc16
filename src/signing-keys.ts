// The JWT signing keys, as the front Worker reaches them in the KeyRing (one Durable Object,
// named "keys"): the JWKS for consumers, and rotation and listing for the platform admin.

import { checkReach, type StoreCaller } from "./auth";
import { loadConfig, SEALING_NOT_CONFIGURED } from "./config";
import type { Result } from "./errors";
import type { KeyRing, SigningKeyView } from "../durable-objects/key-ring";

const KEY_RING_NAME = "keys";

export function keyRing(env: Env): DurableObjectStub<KeyRing> {
  return env.KEY_RING.get(env.KEY_RING.idFromName(KEY_RING_NAME));
}

/** The public keys, for anyone (consumers of the JWTs). */
export async function jwks(env: Env): Promise<Result<{ keys: JsonWebKey[] }>> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  if (!config.config.sealing) return SEALING_NOT_CONFIGURED;
  return (await keyRing(env).jwks()) as Result<{ keys: JsonWebKey[] }>;
}

async function asAdmin<T extends object>(env: Env, caller: StoreCaller, operation: () => Promise<Result<T>>): Promise<Result<T>> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  const allowed = checkReach(caller, undefined, "admin");
  if (!allowed.ok) return allowed;
  return config.config.sealing ? operation() : SEALING_NOT_CONFIGURED;
}

export function rotateSigningKey(env: Env, caller: StoreCaller): Promise<Result<{ keys: SigningKeyView[] }>> {
  return asAdmin(env, caller, async () => (await keyRing(env).rotate()) as Result<{ keys: SigningKeyView[] }>);
}

export function listSigningKeys(env: Env, caller: StoreCaller): Promise<Result<{ keys: SigningKeyView[] }>> {
  return asAdmin(env, caller, async () => (await keyRing(env).list()) as Result<{ keys: SigningKeyView[] }>);
}
