// Before the directory was spread over DIRECTORY_SHARDS objects, one object ("directory", now
// shard 0) kept every name. Shard 0 moves each name it keeps that hashes elsewhere to its own
// object, a batch at a time from its alarm (never while a platform kill's part is under way
// there: its part covers the names it still keeps). Until it says every name is moved, an
// object that has no record of a name asks shard 0, and keeps what it answers; a deletion is
// told to shard 0 too, so that no move brings the name back.

import { directoryShardOf } from "../../src/core/placement";
import { eachAtOnce } from "../stub";
import { callDirectory } from "../stubs";
import type { DirectoryHost } from "./platform-kill";
import { unfinishedKillParts } from "./platform-kill-sql";
import { adoptName, dropName, heldName, namesAfter, readState, writeState } from "./tenant-directory-sql";

const MOVED = "legacy_moved";
const MOVED_AFTER = "legacy_after";
const MOVE_PAGE = 200;
const READ = { idempotent: true };

/** Whether every name is known to be where its hash says (at shard 0: moved; elsewhere: shard 0 said so). */
export function legacyMoved(sql: SqlStorage): boolean {
  return readState(sql, MOVED) === "1";
}

/**
 * At shard 0, from its alarm: moves names out until every one is where its hash says, `deadline`,
 * or an object could not be reached. Returns whether the move is finished.
 */
export async function moveLegacyNames(host: DirectoryHost, deadline: number): Promise<boolean> {
  const { sql } = host;
  if (legacyMoved(sql)) return true;
  if (unfinishedKillParts(sql).length > 0) return false;
  while (Date.now() < deadline) {
    const names = namesAfter(sql, readState(sql, MOVED_AFTER) ?? "", MOVE_PAGE);
    if (names.length === 0) {
      writeState(sql, MOVED, "1");
      return true;
    }
    const byShard = Map.groupBy(
      names.filter((name) => directoryShardOf(name) !== 0),
      (name) => directoryShardOf(name),
    );
    const groups = [...byShard].map(([shard, moving]) => ({ shard, moving }));
    const answers = await eachAtOnce(groups, ({ shard, moving }) =>
      callDirectory(host.env, shard, (directory) =>
        directory.adopt(moving.flatMap((name) => heldName(sql, name) ?? [])),
      ),
    );
    let all = true;
    answers.forEach((answer, i) => {
      if ("value" in answer && answer.value.ok) for (const name of groups[i]!.moving) dropName(sql, name);
      else all = false;
    });
    if (!all) return false; // the next alarm moves the rest of this page again
    writeState(sql, MOVED_AFTER, names.at(-1)!);
  }
  return false;
}

/**
 * At an object other than shard 0, for a name it has no record of, until shard 0 said every
 * name is moved: keeps what shard 0 still has of it. Throws when shard 0 cannot be asked (a
 * miss would be a wrong answer).
 */
export async function pullLegacyName(host: DirectoryHost, name: string): Promise<void> {
  if (host.shard === 0 || legacyMoved(host.sql)) return;
  const asked = await callDirectory(host.env, 0, (directory) => directory.held(name), READ);
  if (!asked.ok) throw new Error(asked.error.message);
  if (asked.held) adoptName(host.sql, asked.held);
  if (asked.moved) writeState(host.sql, MOVED, "1");
}

/** A deletion at another object, told to shard 0 while it may still keep the name. */
export async function forgetLegacyName(host: DirectoryHost, name: string, createdAt: number, actor: string) {
  if (host.shard === 0 || legacyMoved(host.sql)) return;
  const told = await callDirectory(host.env, 0, (directory) => directory.forget(name, createdAt, actor));
  if (!told.ok) throw new Error(told.error.message);
}
