// TenantDirectory: the platform's registry of tenants, one Durable Object for the whole
// deployment (named "directory"). Each SessionStore records its tenant here at creation and at
// every settings change, retrying from its alarm until the directory has it, so the directory
// lists every tenant; the stores stay the authority on their own tenants. One object holds
// names and settings only: a few hundred bytes per tenant, written once per settings change.

import { DurableObject } from "cloudflare:workers";
import { ok, type Result } from "../src/errors";
import type { TenantSettings } from "../src/settings";
import { listTenants, migrate, recordTenant, type DirectoryEntry } from "./tenant-directory-sql";

export class TenantDirectory extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => migrate(ctx.storage));
  }

  record(name: string, settings: TenantSettings, createdAt: number, updatedAt: number): Result {
    recordTenant(this.ctx.storage.sql, name, settings, createdAt, updatedAt);
    return ok({});
  }

  /** Up to `limit` tenants by name, after `after`; `limit + 1` are read to say whether more follow. */
  list(after: string | undefined, limit: number): Result<{ tenants: DirectoryEntry[]; more: boolean }> {
    const rows = listTenants(this.ctx.storage.sql, after, limit + 1);
    return ok({ tenants: rows.slice(0, limit), more: rows.length > limit });
  }
}
