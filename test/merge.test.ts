// The merge of several shards' newest-first listings (src/core/merge.ts): whatever the spread of
// items over shards and however small each shard's share, the page is exactly the newest
// items of them all, in order, and every shard is read only as far as the page needs.

import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ok } from "../src/core/errors";
import { mergeNewestFirst, shareOf, type Before, type Row } from "../src/core/merge";

type Item = { shard: number; time: number; seq: number };

/** A shard's listing newest first, below `before`, `limit` of it. */
function readShard(rows: Row<Item>[], before: Before, limit: number): Row<Item>[] {
  const below =
    before === undefined
      ? rows
      : rows.filter((r) => r.time < before.time || (r.time === before.time && r.seq < before.seq));
  return below.slice(0, limit);
}

describe("mergeNewestFirst", () => {
  it("gives exactly the newest items of every shard, in (time, shard, seq) order", async () => {
    const shardRows = fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 60 });
    await fc.assert(
      fc.asyncProperty(
        fc.array(shardRows, { minLength: 1, maxLength: 16 }),
        fc.integer({ min: 1, max: 40 }),
        async (times, want) => {
          const shards = times.map((list, shard) =>
            list
              .map((time, i) => ({ time, seq: i + 1, item: { shard, time, seq: i + 1 } }))
              .sort((a, b) => b.time - a.time || b.seq - a.seq),
          );
          const share = shareOf(want, shards.length);
          let reads = 0;
          const first = shards.map((rows, shard) => ({ shard, rows: readShard(rows, undefined, share) }));
          const merged = await mergeNewestFirst(first, want, share, async (shard, before) => {
            reads += 1;
            return ok({ rows: readShard(shards[shard]!, before, share) });
          });
          if (!merged.ok) throw new Error("merge failed");
          const expected = shards
            .flatMap((rows) => rows.map((r) => r.item))
            .sort((a, b) => b.time - a.time || b.shard - a.shard || b.seq - a.seq)
            .slice(0, want);
          expect(merged.rows.map((r) => r.item)).toEqual(expected);
          // A shard is read again only when the page reached the end of what it gave.
          expect(reads).toBeLessThanOrEqual(Math.ceil(want / share) * shards.length);
        },
      ),
      { numRuns: 300 },
    );
  });

  it("reads about a share of the page from each shard when items are spread evenly", async () => {
    const shards = Array.from({ length: 16 }, (_, shard) =>
      Array.from({ length: 200 }, (_, i) => ({
        time: 1000 - i * 16 - shard,
        seq: 200 - i,
        item: { shard, time: 1000 - i * 16 - shard, seq: 200 - i },
      })),
    );
    const share = shareOf(101, 16);
    expect(share).toBe(12);
    let reads = 0;
    const merged = await mergeNewestFirst(
      shards.map((rows, shard) => ({ shard, rows: readShard(rows, undefined, share) })),
      101,
      share,
      async (shard, before) => {
        reads += 1;
        return ok({ rows: readShard(shards[shard]!, before, share) });
      },
    );
    expect(merged.ok && merged.rows).toHaveLength(101);
    expect(reads).toBe(0);
  });
});
