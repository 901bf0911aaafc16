// The TenantDirectory's RPC methods: the platform's registry of tenants (where each lives, its
// settings as its home last told them) and the platform-wide kill.

import type { Result } from "../../src/core/errors";
import type { Jurisdiction } from "../../src/core/placement";
import type { TenantSettings } from "../../src/core/settings";
import type { DirectoryEntry } from "./tenant-directory-sql";

/** A platform kill as the API shows it. */
export interface PlatformKill {
  id: string;
  requestedAt: string;
  /** Tenants known when it was requested: all of them are reached. */
  tenants: number;
  applied: number;
  revoked: number;
  done: boolean;
  undone: boolean;
}

export interface DirectoryApi {
  record(name: string, settings: TenantSettings, createdAt: number, updatedAt: number): Result;
  forget(name: string, createdAt: number, actor: string): Result;
  claim(name: string, jurisdiction: Jurisdiction | null): Result<{ jurisdiction: Jurisdiction | null }>;
  locate(name: string): Result<{ known: boolean; jurisdiction: Jurisdiction | null }>;
  list(after: string | undefined, limit: number): Result<{ tenants: DirectoryEntry[]; more: boolean }>;
  startPlatformKill(killId: string, actor: string, budgetMs?: number): Promise<Result<{ kill: PlatformKill }>>;
  platformKill(killId: string): Result<{ kill: PlatformKill }>;
  undoPlatformKill(killId: string): Promise<Result<{ restored: number; skipped: number; killId: string }>>;
}
