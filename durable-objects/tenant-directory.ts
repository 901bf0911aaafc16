// TenantDirectory: the platform's registry of tenants, one Durable Object for the whole
// deployment (named "directory"). A tenant's name is claimed here, with its jurisdiction,
// before its first store is created: the directory is the authority on where a tenant lives.
// Each home store records its tenant's settings here at creation and at every change, retrying
// from its alarm until the directory has them, so the directory lists every tenant; the stores
// stay the authority on their settings and sessions. One object holds
// names and settings only: a few hundred bytes per tenant, written once per settings change.

import { DurableObject } from "cloudflare:workers";
import { ok, type Result } from "../src/errors";
import type { TenantSettings } from "../src/settings";
import type { Jurisdiction } from "../src/placement";
import { claimName, jurisdictionOf, listTenants, migrate, recordTenant, type DirectoryEntry } from "./tenant-directory-sql";

export class TenantDirectory extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => migrate(ctx.storage));
  }

  record(name: string, settings: TenantSettings, createdAt: number, updatedAt: number): Result {
    recordTenant(this.ctx.storage.sql, name, settings, createdAt, updatedAt);
    return ok({});
  }

  /** Claims a name before its tenant is created: see claimName. */
  claim(name: string, jurisdiction: Jurisdiction | null): Result<{ jurisdiction: Jurisdiction | null }> {
    return ok({ jurisdiction: claimName(this.ctx.storage.sql, name, jurisdiction, Date.now()) });
  }

  /** Where a tenant lives: `known` is false for a name never claimed nor recorded. */
  locate(name: string): Result<{ known: boolean; jurisdiction: Jurisdiction | null }> {
    const jurisdiction = jurisdictionOf(this.ctx.storage.sql, name);
    return ok({ known: jurisdiction !== undefined, jurisdiction: jurisdiction ?? null });
  }

  /** Up to `limit` tenants by name, after `after`; `limit + 1` are read to say whether more follow. */
  list(after: string | undefined, limit: number): Result<{ tenants: DirectoryEntry[]; more: boolean }> {
    const rows = listTenants(this.ctx.storage.sql, after, limit + 1);
    return ok({ tenants: rows.slice(0, limit), more: rows.length > limit });
  }
}
