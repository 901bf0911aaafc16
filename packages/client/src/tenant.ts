// A tenant's shapes: its settings as stored and as callers see them (every value resolved),
// its keys, its activity, and how operators see it. Type-only, like types.ts.

/** A tenant's requirement for privileged use: what `privileged: true` asks. */
export interface PrivilegedRequirement {
  maxAuthAgeSeconds?: number;
  minAcr?: string;
  amr?: string[];
}

/** The session cookie's SameSite attribute, a tenant setting. */
export type SameSite = "Lax" | "Strict";

/** Where every Durable Object of a tenant lives (data residency); null: anywhere. */
export type Jurisdiction = "eu" | "fedramp";

/** What is stored. `touchIntervalSeconds: null` means "a tenth of the idle timeout", whatever it becomes. */
export interface StoredSettings {
  idleTimeoutSeconds: number;
  absoluteTimeoutSeconds: number;
  touchIntervalSeconds: number | null;
  maxSessionsPerUser: number | null;
  allowedOrigins: string[];
  sameSite: SameSite;
  /** Absent from settings stored before undo existed: read as the default. */
  undoWindowSeconds?: number;
  /** How many stores the tenant's sessions are spread over; only grows. Absent before sharding: 1. */
  shards?: number;
  /** Where every store of the tenant lives; fixed at creation. Absent before jurisdictions: null. */
  jurisdiction?: Jurisdiction | null;
  /** JWTs minted from this tenant's sessions for other services; null (or absent): none. */
  jwt?: JwtSettings | null;
  /** The tenant's assurance levels, lowest first. Absent: `["aal1", "aal2", "aal3"]`. */
  acrValues?: string[];
  /** The longest an impersonation lives, in seconds (60 to 28,800). Absent: 3,600. */
  impersonationMaxSeconds?: number;
  /** What a validation asking `privileged` requires; null (or absent): none set. */
  privilegedRequirement?: PrivilegedRequirement | null;
  /** Device Bound Session Credentials: `offer` asks browsers to bind new sessions to a key they keep. Absent: off. */
  deviceBinding?: "off" | "offer";
  /** How long a bound cookie lives before the browser proves possession again (60 to 3,600). Absent: 600. */
  boundCookieSeconds?: number;
  /** How long past its bound cookie's end a bound session's token may come without one before it is a violation (0 to 3,600). Absent: 60. */
  bindingGraceSeconds?: number;
  /** What a binding violation does: record it (and push it out), or also kill the session. Absent: record. */
  bindingViolation?: "record" | "kill";
}

export interface JwtSettings {
  /** The services a JWT may be minted for (its `aud`). */
  audiences: string[];
  ttlSeconds: number;
}

/** What callers see: every value resolved. */
export interface TenantSettings extends StoredSettings {
  touchIntervalSeconds: number;
  undoWindowSeconds: number;
  shards: number;
  jurisdiction: Jurisdiction | null;
  jwt: JwtSettings | null;
  acrValues: string[];
  impersonationMaxSeconds: number;
  privilegedRequirement: PrivilegedRequirement | null;
  deviceBinding: "off" | "offer";
  boundCookieSeconds: number;
  bindingGraceSeconds: number;
  bindingViolation: "record" | "kill";
}

export type SettingsPatch = Partial<StoredSettings>;

/** A tenant API key as listed: never the key itself, which is shown once, at minting. */
export interface TenantKeyView {
  id: string;
  createdAt: string;
  /** The latest use on any of the tenant's stores (recorded at most once a minute per store), or null if never used. */
  lastUsedAt: string | null;
}

/**
 * Sessions created and ended over a window (the last 24 hours, or 7 days), in buckets, from
 * the audit log; `live` at the end of each bucket is counted back from the live count now.
 */
export interface TenantActivity {
  window: "24h" | "7d";
  bucketSeconds: number;
  /** Live sessions now. */
  live: number;
  buckets: { start: string; created: number; ended: number; restored: number; live: number }[];
}

/** A tenant as operators see it: settings resolved, and live counts. */
export interface TenantView {
  tenant: string;
  settings: TenantSettings;
  createdAt: string;
  updatedAt: string;
  /** Live sessions over every shard; keys and webhooks (and of those, the ones a 410 disabled) as the home holds them. */
  counts: { sessions: number; keys: number; webhooks: number; disabledWebhooks: number };
}
