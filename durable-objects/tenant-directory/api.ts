// The TenantDirectory's RPC methods: the platform's registry of tenants (where each lives, its
// settings as its home last told them), spread over DIRECTORY_SHARDS objects by name, and the
// platform-wide kill, coordinated by shard 0 and worked by every object over its own tenants.

import type { Result } from "../../src/core/errors";
import type { Jurisdiction } from "../../src/core/placement";
import type { TenantSettings } from "../../src/core/settings";
import type { PartFigures } from "./platform-kill-sql";
import type { DirectoryEntry, HeldName } from "./tenant-directory-sql";

export type { PartFigures } from "./platform-kill-sql";

/** A platform kill as the API shows it. */
export interface PlatformKill {
  id: string;
  requestedAt: string;
  /** Tenants known when it was requested: all of them are reached. */
  tenants: number;
  applied: number;
  /** The stores of those tenants (by each one's last recorded shard count), and of those applied. */
  shards: number;
  shardsApplied: number;
  revoked: number;
  done: boolean;
  undone: boolean;
}

export interface DirectoryApi {
  record(name: string, settings: TenantSettings, createdAt: number, updatedAt: number): Result;
  forget(name: string, createdAt: number, actor: string): Promise<Result>;
  claim(name: string, jurisdiction: Jurisdiction | null): Promise<Result<{ jurisdiction: Jurisdiction | null }>>;
  locate(name: string): Promise<Result<{ known: boolean; jurisdiction: Jurisdiction | null }>>;
  list(after: string | undefined, limit: number): Result<{ tenants: DirectoryEntry[]; more: boolean }>;

  /** At shard 0, while it keeps names from before the directory was spread: what it has of one (legacy-move.ts). */
  held(name: string): Result<{ held: HeldName | null; moved: boolean }>;
  /** Names shard 0 moves here: kept unless this object has newer (legacy-move.ts). */
  adopt(names: HeldName[]): Result;

  // The platform kill, at its coordinator (shard 0)
  startPlatformKill(killId: string, actor: string, budgetMs?: number): Promise<Result<{ kill: PlatformKill }>>;
  platformKill(killId: string): Result<{ kill: PlatformKill }>;
  undoPlatformKill(killId: string): Promise<Result<{ restored: number; skipped: number; killId: string }>>;
  /** A part says how far it is (done: its figures are final). */
  partReport(killId: string, shard: number, figures: PartFigures): Result;

  // Its part, at every directory object
  startKillPart(killId: string, at: number): Promise<Result<{ part: PartFigures }>>;
  killPart(killId: string): Result<{ part: PartFigures | null }>;
  undoKillPart(
    killId: string,
    at: number,
  ): Promise<Result<{ restored: number; skipped: number; unreachable: boolean }>>;
}
