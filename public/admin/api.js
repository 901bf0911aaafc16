// @ts-check
// The service's HTTP API as the console calls it. The key lives in sessionStorage (this tab
// only; never a cookie, never localStorage) and goes out as a bearer header to this origin.
// A refusal is thrown as an Error that carries the HTTP status and the field the service names.

/**
 * @import { ApiError, TenantSettings } from "@session-service/client"
 * @typedef {Error & { status?: number, field?: string }} Failure What `api` throws.
 */

// Answers of the platform admin's routes, which the client package (made for consumer Workers)
// does not describe.
/**
 * @typedef {{ tenant: string, settings: TenantSettings, createdAt: string, updatedAt: string }} DirectoryEntry
 *   A tenant as GET /v1/tenants lists it.
 * @typedef {{ kid: string, state: "next" | "current" | "retired", createdAt: string, signsFrom: string,
 *   retiredAt: string | null, publishedUntil: string | null }} SigningKeyView A JWT signing key.
 * @typedef {{ id: string, requestedAt: string, tenants: number, applied: number, shards: number,
 *   shardsApplied: number, revoked: number, done: boolean, undone: boolean }} PlatformKill
 *   A platform-wide kill and its progress (`shards`: the stores of its tenants).
 */

/** What a call made after sign-out throws (an action was still under way): there is nothing to show. */
export class SignedOut extends Error {}

const KEY = "session-console.key";
const TENANT = "session-console.tenant";

export function credentials() {
  return { key: sessionStorage.getItem(KEY), tenant: sessionStorage.getItem(TENANT) };
}

/** @param {string} key @param {string} tenant */
export function keepCredentials(key, tenant) {
  sessionStorage.setItem(KEY, key);
  sessionStorage.setItem(TENANT, tenant);
}

/** @param {string} tenant */
export function keepTenant(tenant) {
  sessionStorage.setItem(TENANT, tenant);
}

export function forgetCredentials() {
  sessionStorage.removeItem(KEY);
  sessionStorage.removeItem(TENANT);
}

/**
 * @param {string} method
 * @param {string} path
 * @param {unknown} [body]
 * @returns {Promise<unknown>} the answer's JSON (null for a 204), which the caller reads as the route's type
 */
export async function api(method, path, body) {
  const { key } = credentials();
  if (key === null) throw new SignedOut("signed out");
  /** @type {Record<string, string>} */
  const headers = { Authorization: `Bearer ${key}` };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  /** @type {unknown} */
  const answer = response.status === 204 ? null : await response.json().catch(() => null);
  if (!response.ok) {
    const refusal = /** @type {{ error?: Partial<ApiError> } | null} */ (answer);
    throw Object.assign(new Error(refusal?.error?.message ?? `HTTP ${response.status}`), {
      status: response.status,
      field: refusal?.error?.field,
    });
  }
  return answer;
}

/** A caught value as what `api` throws: every failure here is an Error, a refusal's with its status. */
export const failure = (/** @type {unknown} */ error) => /** @type {Failure} */ (error);

/** The open tenant's path, with `suffix`; "null" for a tenant once signed out (an action still under way). */
export function tenantPath(suffix = "") {
  return `/v1/tenants/${encodeURIComponent(String(credentials().tenant))}${suffix}`;
}

/**
 * The tenant a tenant key names (`tk2.<tenant>.<id>.<secret>.<kid>.<tag>`), or null for any other key.
 * @param {string | null} key
 */
export function tenantOfKey(key) {
  const parts = (key ?? "").split(".");
  return parts[0] === "tk2" && parts[1] ? parts[1] : null;
}

export function isPlatformAdmin() {
  return tenantOfKey(credentials().key) === null;
}
