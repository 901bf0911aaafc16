// One page out of the listings of several sources, by one merge (mergeInOrder): newest first
// over a tenant's shards, where items are ordered by (time, shard, seq) (time is a session's
// creation or an event's instant, seq its order in its own store); by name over the tenant
// directory's objects. Each source is asked for a share of the page, not the whole of it (a
// page of 100 over 16 shards reads about 12 rows from each, not 101); a source whose share runs
// out while it may hold more is asked again, from where it stopped, before anything is taken
// past it.

import { ok, type Result } from "./errors";

export interface Row<T> {
  time: number;
  seq: number;
  item: T;
}

export type Merged<T> = Row<T> & { shard: number };

/** Where a shard's listing goes on from: before (time, seq) in its own order. */
export type Before = { time: number; seq: number } | undefined;

/** Rows a shard is asked for: its even part of the page, with room for an uneven spread. */
export function shareOf(want: number, shards: number): number {
  return Math.min(want, Math.ceil((want / shards) * 1.5) + 2);
}

function newer<T>(a: Merged<T>, b: Merged<T>): boolean {
  return a.time !== b.time ? a.time > b.time : a.shard !== b.shard ? a.shard > b.shard : a.seq > b.seq;
}

/**
 * The first `want` rows, newest first, of the shards' listings. `first` holds each shard's
 * answer to a request for `share` rows; `more(shard, before)` reads the next `share` of one.
 */
export async function mergeNewestFirst<T>(
  first: { shard: number; rows: Row<T>[] }[],
  want: number,
  share: number,
  more: (shard: number, before: Before) => Promise<Result<{ rows: Row<T>[] }>>,
): Promise<Result<{ rows: Merged<T>[] }>> {
  const merged = await mergeInOrder(
    first.map(({ shard, rows }) => ({ source: shard, items: rows })),
    want,
    share,
    {
      positionOf: (row) => ({ time: row.time, seq: row.seq }),
      precedes: (a, b) => newer({ ...a.item, shard: a.source }, { ...b.item, shard: b.source }),
      more: async (shard, before) => {
        const read = await more(shard, before);
        return read.ok ? ok({ items: read.rows }) : read;
      },
    },
  );
  return merged.ok ? ok({ rows: merged.taken.map(({ source, item }) => ({ ...item, shard: source })) }) : merged;
}

/**
 * The first `want` items, by name, of several sources' listings by name (the tenant
 * directory's objects): each first answered `share` items after the cursor; `more(source,
 * after)` reads a source's next `share`. A name found twice (moved between objects while
 * listed) is given once.
 */
export async function mergeByName<T extends { tenant: string }>(
  first: T[][],
  want: number,
  share: number,
  more: (source: number, after: string) => Promise<Result<{ items: T[] }>>,
): Promise<Result<{ items: T[] }>> {
  const merged = await mergeInOrder(
    first.map((items, source) => ({ source, items })),
    want,
    share,
    {
      positionOf: (item) => item.tenant,
      precedes: (a, b) => a.item.tenant < b.item.tenant,
      same: (a, b) => a.tenant === b.tenant,
      more,
    },
  );
  return merged.ok ? ok({ items: merged.taken.map(({ item }) => item) }) : merged;
}

/** How one listing is ordered and read on. */
interface Order<T, P> {
  /** Where a source's listing goes on from after this item. */
  positionOf(item: T): P;
  /** Whether `a` comes before `b` in the merged listing. */
  precedes(a: Taken<T>, b: Taken<T>): boolean;
  /** Two items that are one (taken once). */
  same?(a: T, b: T): boolean;
  /** A source's next `share` items after `after`. */
  more(source: number, after: P): Promise<Result<{ items: T[] }>>;
}

interface Taken<T> {
  source: number;
  item: T;
}

/**
 * The first `want` items of several sources' listings, each already in the order `precedes`
 * says: the first of all the sources' next items is taken each time. A source whose share runs
 * out while it may hold more (it answered all `share` asked) is read again, from where it
 * stopped, before anything is taken past it.
 */
async function mergeInOrder<T, P>(
  first: { source: number; items: T[] }[],
  want: number,
  share: number,
  order: Order<T, P>,
): Promise<Result<{ taken: Taken<T>[] }>> {
  const sources = first.map(({ source, items }) => ({
    source,
    items: [...items],
    more: items.length >= share,
    last: items.at(-1),
  }));
  const head = (s: (typeof sources)[number]): Taken<T> => ({ source: s.source, item: s.items[0]! });
  const taken: Taken<T>[] = [];
  while (taken.length < want) {
    const starved = sources.filter((s) => s.items.length === 0 && s.more);
    if (starved.length > 0) {
      // A source that may hold more answered `share` (at least one) items: it has a last one.
      const refills = await Promise.all(starved.map((s) => order.more(s.source, order.positionOf(s.last!))));
      for (const [i, refill] of refills.entries()) {
        if (!refill.ok) return refill;
        const s = starved[i]!;
        s.items = [...refill.items];
        s.more = refill.items.length >= share;
        s.last = refill.items.at(-1) ?? s.last;
      }
      continue;
    }
    let from: (typeof sources)[number] | null = null;
    for (const s of sources) if (s.items.length > 0 && (!from || order.precedes(head(s), head(from)))) from = s;
    if (!from) break;
    const best = { source: from.source, item: from.items.shift()! };
    const previous = taken.at(-1);
    if (!(previous && order.same?.(previous.item, best.item))) taken.push(best);
  }
  return ok({ taken });
}
