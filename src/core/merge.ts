// One newest-first page out of the listings of several shards. Items are ordered by (time,
// shard, seq): time is a session's creation or an event's instant, seq its order in its own
// store. Each shard is asked for a share of the page, not the whole of it (a page of 100 over
// 16 shards reads about 12 rows from each, not 101); a shard whose share runs out while it
// may hold more is asked again, from where it stopped, before anything is taken past it.

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

interface Source<T> {
  shard: number;
  rows: Row<T>[];
  /** The shard answered as many rows as asked: it may hold more below the last one. */
  more: boolean;
  last: Before;
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
  const sources: Source<T>[] = first.map(({ shard, rows }) => ({
    shard,
    rows: [...rows],
    more: rows.length >= share,
    last: lastOf(rows),
  }));
  const out: Merged<T>[] = [];
  while (out.length < want) {
    const starved = sources.filter((source) => source.rows.length === 0 && source.more);
    if (starved.length > 0) {
      const refills = await Promise.all(starved.map((source) => more(source.shard, source.last)));
      for (const [i, refill] of refills.entries()) {
        if (!refill.ok) return refill;
        const source = starved[i]!;
        source.rows = [...refill.rows];
        source.more = refill.rows.length >= share;
        source.last = lastOf(refill.rows) ?? source.last;
      }
      continue;
    }
    let best: Source<T> | null = null;
    for (const source of sources) {
      if (source.rows.length === 0) continue;
      if (!best || newer({ ...source.rows[0]!, shard: source.shard }, { ...best.rows[0]!, shard: best.shard }))
        best = source;
    }
    if (!best) break;
    out.push({ ...best.rows.shift()!, shard: best.shard });
  }
  return ok({ rows: out });
}

function lastOf<T>(rows: Row<T>[]): Before {
  const last = rows[rows.length - 1];
  return last ? { time: last.time, seq: last.seq } : undefined;
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
  const sources = first.map((items, source) => ({
    source,
    items: [...items],
    more: items.length >= share,
    last: items.at(-1)?.tenant ?? "",
  }));
  const out: T[] = [];
  while (out.length < want) {
    const starved = sources.filter((s) => s.items.length === 0 && s.more);
    if (starved.length > 0) {
      const refills = await Promise.all(starved.map((s) => more(s.source, s.last)));
      for (const [i, refill] of refills.entries()) {
        if (!refill.ok) return refill;
        const s = starved[i]!;
        s.items = [...refill.items];
        s.more = refill.items.length >= share;
        s.last = refill.items.at(-1)?.tenant ?? s.last;
      }
      continue;
    }
    let best: (typeof sources)[number] | null = null;
    for (const s of sources) if (s.items.length > 0 && (!best || s.items[0]!.tenant < best.items[0]!.tenant)) best = s;
    if (!best) break;
    const next = best.items.shift()!;
    if (out.at(-1)?.tenant !== next.tenant) out.push(next);
  }
  return ok({ items: out });
}
