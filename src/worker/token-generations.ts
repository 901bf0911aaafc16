// The per-tenant emergency lever, at the front Worker: each tenant's session token generation
// as this isolate knows it. A token minted under a generation below its tenant's floor is
// refused here, before any store is called; new tokens are minted under the tenant's current
// generation. The KeyRing keeps the generations (durable-objects/key-ring/token-generations.ts);
// an isolate asks it for the changes since the version it holds, at most every REFRESH_MS, so
// a retirement reaches every isolate within that long (and this isolate at once).

import { fail, ok, type Result } from "../core/errors";
import { logError } from "../core/log";
import type { TokenGeneration } from "../../durable-objects/key-ring/token-generations";
import { keyRing } from "../../durable-objects/stubs";

/** How long an isolate goes on a copy before asking the KeyRing for changes: how long a retirement takes to reach it. */
export const REFRESH_MS = 5_000;
/** After a failed ask, how long the copy serves before the next try. */
const RETRY_MS = 1_000;

const UNKNOWN = fail("overloaded", "the tenants' token generations cannot be read now; retry after a moment");

export type Generations = ReadonlyMap<string, Omit<TokenGeneration, "tenant">>;

/**
 * One isolate's copy. While one request asks for the changes, the others go on with the copy
 * (at most REFRESH_MS and one call old). An isolate that has no copy yet asks on each request
 * until it has one, and refuses when it cannot ask: it cannot know which tenants' tokens are
 * retired, and does not guess.
 */
class KnownGenerations {
  #epoch: string | null = null;
  #version = 0;
  #byTenant: Map<string, Omit<TokenGeneration, "tenant">> | null = null;
  #askedAt = Number.NEGATIVE_INFINITY;

  async read(env: Env, now: number): Promise<Result<{ generations: Generations }>> {
    if (now - this.#askedAt < REFRESH_MS && this.#byTenant) return ok({ generations: this.#byTenant });
    this.#askedAt = now;
    try {
      const answer = (await keyRing(env).tokenGenerations(this.#epoch, this.#version)) as Result<{
        epoch: string;
        version: number;
        complete: boolean;
        changes: TokenGeneration[];
      }>;
      if (!answer.ok) throw new Error(answer.error.message);
      // An answer overtaken by a later one (a slow ask) would take the copy back: dropped.
      if (answer.epoch === this.#epoch && answer.version < this.#version && this.#byTenant)
        return ok({ generations: this.#byTenant });
      if (answer.complete || !this.#byTenant) this.#byTenant = new Map();
      for (const change of answer.changes) this.learn(change);
      [this.#epoch, this.#version] = [answer.epoch, answer.version];
    } catch (error) {
      this.#askedAt = now - REFRESH_MS + RETRY_MS;
      logError({ event: "token_generations.unreadable", message: String(error) });
    }
    return this.#byTenant ? ok({ generations: this.#byTenant }) : UNKNOWN;
  }

  /**
   * A change this isolate made or heard of: kept at once, without waiting for the next ask,
   * unless a later change of the tenant is already kept (an answer that was on its way).
   */
  learn({ tenant, generation, floor, changed }: TokenGeneration): void {
    if ((this.#byTenant?.get(tenant)?.changed ?? 0) > changed) return;
    this.#byTenant?.set(tenant, { generation, floor, changed });
  }
}

/** One copy per KeyRing binding (one per deployment), as signing-keys.ts keeps the JWKS. */
const known = new WeakMap<object, KnownGenerations>();

export function knownGenerations(env: Env): KnownGenerations {
  let generations = known.get(env.KEY_RING);
  if (!generations) {
    generations = new KnownGenerations();
    known.set(env.KEY_RING, generations);
  }
  return generations;
}

export function tokenGenerations(env: Env, now = Date.now()): Promise<Result<{ generations: Generations }>> {
  return knownGenerations(env).read(env, now);
}

/** The generation a new token of the tenant is minted under. */
export function mintingGeneration(generations: Generations, tenant: string): number {
  return generations.get(tenant)?.generation ?? 0;
}

/** Whether a token of the tenant minted under `generation` is retired. */
export function isRetired(generations: Generations, tenant: string, generation: number): boolean {
  return generation < (generations.get(tenant)?.floor ?? 0);
}
