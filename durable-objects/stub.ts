// How one object calls others: a Durable Object's RPC methods as a caller sees them (every
// result is plain data, so each method is simply async), typed from the object's API by role
// (its api.ts), never from the class; and the one outcome of asking several stores at once.

import type { Result } from "../src/core/errors";

export type Stub<Api> = {
  [Method in keyof Api]: Api[Method] extends (...args: infer Args) => infer Returned
    ? (...args: Args) => Promise<Awaited<Returned>>
    : never;
};

/** One store's answer to a call made of several: its result, or the error that kept it from answering. */
export type ShardAnswer<T extends object> =
  | { shard: number; result: Result<T> }
  | { shard: number; unreachable: unknown };

/**
 * Stores asked at once by one call made of several: a Worker's invocation keeps at most 6
 * outgoing connections open (Cloudflare's published limit, queueing the rest), so more in
 * flight would only wait, holding memory and time against the invocation's limits.
 */
export const ASKED_AT_ONCE = 6;

/**
 * Runs `call` on each item, `atOnce` at a time, and answers in the order given: for a call that
 * throws (the object could not be reached, or not even named), the error.
 */
export async function eachAtOnce<I, T>(
  items: readonly I[],
  call: (item: I) => Promise<T>,
  atOnce = ASKED_AT_ONCE,
): Promise<({ value: T } | { error: unknown })[]> {
  const answers: ({ value: T } | { error: unknown })[] = new Array(items.length);
  let next = 0;
  const asker = async () => {
    while (next < items.length) {
      const i = next++;
      try {
        answers[i] = { value: await call(items[i]!) };
      } catch (error) {
        answers[i] = { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(atOnce, items.length) }, asker));
  return answers;
}

/**
 * Asks each shard, ASKED_AT_ONCE at a time. A call that throws is an `unreachable` answer,
 * never a rejection: every caller decides from the answers.
 */
export async function askEach<T extends object>(
  shards: readonly number[],
  call: (shard: number) => Promise<Result<T>>,
): Promise<ShardAnswer<T>[]> {
  const answers = await eachAtOnce(shards, call);
  return answers.map((answer, i) =>
    "value" in answer ? { shard: shards[i]!, result: answer.value } : { shard: shards[i]!, unreachable: answer.error },
  );
}
