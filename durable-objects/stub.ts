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
 * Asks each shard side by side. A call that throws (the store could not be reached, or not even
 * named) is an `unreachable` answer, never a rejection: every caller decides from the answers.
 */
export function askEach<T extends object>(
  shards: readonly number[],
  call: (shard: number) => Promise<Result<T>>,
): Promise<ShardAnswer<T>[]> {
  return Promise.all(
    shards.map(async (shard): Promise<ShardAnswer<T>> => {
      try {
        return { shard, result: await call(shard) };
      } catch (error) {
        return { shard, unreachable: error };
      }
    }),
  );
}
