// Shared test plumbing: requests through the real Worker entry, and fresh tenants so every
// test runs on storage no other test touches.

import { env, exports } from "cloudflare:workers";
import { abortAllDurableObjects, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { expect } from "vitest";
import worker from "../src/worker/index.ts";
import { hashSecret, newSecret, parseSigningKeys, signToken, type SigningKeys } from "../src/core/token";
import { DIRECTORY_SHARDS, directoryShardOf, objectName, shardOf } from "../src/core/placement";
import { directoryName } from "../durable-objects/stubs";
import type { TenantDirectory } from "../durable-objects/tenant-directory/tenant-directory";
import { randomBase64url } from "../src/core/crypto";
import type { SessionStore } from "../durable-objects/session-store/session-store";

export const ADMIN_KEY = env.ADMIN_API_KEY;
export const BASE = "https://sessions.example.com";
export const COOKIE_NAME = "__Host-session";

export interface CallOptions {
  key?: string | null;
  body?: unknown;
  /** A raw body, sent as is (bad-input tests). */
  rawBody?: BodyInit;
  headers?: Record<string, string>;
}

export function call(method: string, path: string, options: CallOptions = {}): Promise<Response> {
  const headers = new Headers(options.headers);
  const key = options.key === undefined ? ADMIN_KEY : options.key;
  if (key !== null && !headers.has("Authorization")) headers.set("Authorization", `Bearer ${key}`);
  let body: BodyInit | undefined = options.rawBody;
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
    if (!headers.has("Content-Type")) headers.set("Content-Type", "application/json");
  }
  return exports.default.fetch(new Request(`${BASE}${path}`, { method, headers, body }));
}

let counter = 0;
/** A tenant name no other test uses. */
export function freshTenantName(label = "t"): string {
  counter += 1;
  return `${label}-${counter}-${crypto.randomUUID().slice(0, 8)}`;
}

export async function createTenant(settings: Record<string, unknown> = {}, label?: string): Promise<string> {
  const tenant = freshTenantName(label);
  const response = await call("PUT", `/v1/tenants/${tenant}`, { body: settings });
  if (response.status !== 201) throw new Error(`PUT tenant failed: ${response.status} ${await response.text()}`);
  return tenant;
}

export interface IssuedBody {
  session: { id: string; userId: string; lastSeenAt: string; expiresAt: string; [key: string]: unknown };
  token: string;
  setCookie: string;
  /** For a tenant offering device binding: the registration header's value. */
  registration?: string | null;
}

export async function createSession(
  tenant: string,
  body: Record<string, unknown> = { userId: "u_42" },
  key?: string,
): Promise<IssuedBody> {
  const response = await call("POST", `/v1/tenants/${tenant}/sessions`, { body, key: key ?? ADMIN_KEY });
  if (response.status !== 201) throw new Error(`create session failed: ${response.status} ${await response.text()}`);
  return (await response.json()) as IssuedBody;
}

export function withToken(token: string, headers: Record<string, string> = {}): CallOptions {
  return { key: null, headers: { ...headers, Cookie: `${COOKIE_NAME}=${token}` } };
}

export function withBearer(token: string): CallOptions {
  return { key: null, headers: { Authorization: `Bearer ${token}` } };
}

export async function errorOf(response: Response): Promise<{ code: string; message: string; field?: string }> {
  const body = (await response.json()) as { error: { code: string; message: string; field?: string } };
  return body.error;
}

/** Signing keys from a `kid:secret,...` value that a test knows to be sound. */
export function keysOf(raw: string): SigningKeys {
  const parsed = parseSigningKeys(raw);
  if (!parsed.ok) throw new Error(parsed.problem);
  return parsed.keys;
}

/** Shard counts the revocation, listing, live-socket and undo suites run against. */
export const SHARD_COUNTS = [1, 16] as const;

/** The shard a session token names. */
export function shardOfToken(token: string): number {
  return Number(token.split(".")[2]!.split("-").at(-1));
}

/** The store a session token names (its tenant, shard and jurisdiction, as the front Worker reads them). */
export function storeOfToken(token: string): DurableObjectStub {
  const [, tenant, placement] = token.split(".");
  const shard = Number(placement!.split("-").at(-1));
  const name = shard === 0 ? tenant! : `${tenant}/${shard}`;
  return env.SESSION_STORE.get(env.SESSION_STORE.idFromName(name));
}

/** The secret part of a session token or tenant key (third from the end, before key id and tag). */
export function secretOf(credential: string): string {
  return credential.split(".").at(-3)!;
}

/** The tenant a token names (its second part), for RPC calls that pin it. */
export function tenantOf(token: string): string {
  return token.split(".")[1]!;
}

/**
 * The real Worker with a SESSION_STORE binding that counts every use, to prove that a request
 * reached no Durable Object. `overrides` replace variables of the environment (configuration tests).
 */
export function countingWorker(overrides: Partial<Env> = {}) {
  let uses = 0;
  let stubs = 0;
  const namespace = {
    idFromName: (name: string) => {
      uses += 1;
      return env.SESSION_STORE.idFromName(name);
    },
    get: (id: DurableObjectId) => {
      uses += 1;
      stubs += 1;
      return env.SESSION_STORE.get(id);
    },
  } as unknown as Env["SESSION_STORE"];
  const countedEnv: Env = { ...env, ...overrides, SESSION_STORE: namespace };
  return {
    env: countedEnv,
    fetch: (path: string, init: RequestInit = {}) => worker.fetch(new Request(`${BASE}${path}`, init), countedEnv),
    uses: () => uses,
    /** Stubs made: one per store called (a request makes a fresh stub for each call). */
    stubs: () => stubs,
  };
}

export interface Listed {
  sessions: { id: string; userId: string; current?: boolean }[];
  nextCursor: string | null;
}

/** One page of a tenant's session listing, raw. */
export async function list(tenant: string, query = "", key?: string): Promise<Response> {
  return call("GET", `/v1/tenants/${tenant}/sessions${query}`, key === undefined ? {} : { key });
}

/** Every session id of a listing, page by page; `between` runs between pages. */
export async function listAll(tenant: string, query: string, between?: () => Promise<void>): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const separator = query === "" ? "?" : "&";
    const response = await list(
      tenant,
      `${query}${cursor === null ? "" : `${query === "" ? "?" : separator}cursor=${encodeURIComponent(cursor)}`}`,
    );
    expect(response.status).toBe(200);
    const page = (await response.json()) as Listed;
    ids.push(...page.sessions.map((s) => s.id));
    cursor = page.nextCursor;
    if (between) await between();
  } while (cursor !== null);
  return ids;
}

/** The status GET /v1/session answers for a token. */
export async function status(token: string): Promise<number> {
  return (await call("GET", "/v1/session", withToken(token))).status;
}

/** One session for each user id, in order. */
export async function seed(tenant: string, users: string[]): Promise<IssuedBody[]> {
  const issued: IssuedBody[] = [];
  for (const userId of users) issued.push(await createSession(tenant, { userId }));
  return issued;
}

/**
 * Runs an object's alarm until `done` holds. An alarm due now may also fire by itself: then
 * runDurableObjectAlarm finds none and returns while that run is still going, so this waits
 * and looks again. Bounded: fails after 5 seconds.
 */
export async function alarmUntil(stub: DurableObjectStub, done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error("the alarm's work did not finish within 5 s");
    if (!(await runDurableObjectAlarm(stub))) await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * `count` creates sent at once, every Durable Object aborted while they run (a hard crash).
 * Returns how many were answered 201: each of those must have committed.
 */
export async function createsCutByAbort(tenant: string, count: number): Promise<number> {
  const attempts = Array.from({ length: count }, (_, i) =>
    call("POST", `/v1/tenants/${tenant}/sessions`, { body: { userId: `u${i % 7}` } }).then(
      (response) => response.status,
      () => "aborted",
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  await abortAllDurableObjects();
  return (await Promise.all(attempts)).filter((status) => status === 201).length;
}

/** The store of one shard of a tenant (in no jurisdiction), named as the service names it. */
export function storeStub(tenant: string, shard = 0): DurableObjectStub<SessionStore> {
  return env.SESSION_STORE.get(env.SESSION_STORE.idFromName(objectName({ tenant, shard, jurisdiction: null })));
}

/** The binding, with every call of `method` (or any of several) on the named object(s) failing as an unreachable object would. */
export function failingObject(objectName: string | string[], method: string | string[]): Env {
  return failingObjects([[objectName, method]]);
}

/** The binding, with the calls each rule names failing: `[objects, methods]`. */
export function failingObjects(rules: [string | string[], string | string[]][]): Env {
  const fails = (object: string | undefined, method: string) =>
    rules.some(([objects, methods]) => [objects].flat().includes(object!) && [methods].flat().includes(method));
  const base = env.SESSION_STORE;
  const names = new Map<string, string>();
  const namespace = {
    jurisdiction: () => namespace,
    idFromName(name: string) {
      const id = base.idFromName(name);
      names.set(id.toString(), name);
      return id;
    },
    get(id: DurableObjectId) {
      const real = base.get(id);
      const object = names.get(id.toString());
      return new Proxy(real, {
        get: (target, property) =>
          fails(object, property as string)
            ? () => Promise.reject(new Error("injected: shard unreachable"))
            : Reflect.get(target, property),
      });
    },
  };
  return { ...env, SESSION_STORE: namespace as unknown as Env["SESSION_STORE"] };
}

/**
 * Has a Durable Object reach other objects through `binding` from now on (until it restarts):
 * failures the object meets in its own calls (a home copying to its shards, the directory
 * killing every tenant) are injected there.
 */
export async function reachThrough(stub: DurableObjectStub, binding: Env): Promise<void> {
  await runInDurableObject(stub, (instance) => {
    (instance as unknown as { env: Env }).env = binding;
  });
}

/** A session id as made before ids named their store: it names none, and still works. */
export function unplacedId(): string {
  return randomBase64url(16);
}

/**
 * A session as made before ids named their store (its id names none), on its user's shard under
 * `count`, and its token: what every route must still serve.
 */
export async function unplacedSession(
  tenant: string,
  userId: string,
  count = 1,
): Promise<{ id: string; token: string; shard: number }> {
  const id = unplacedId();
  const secret = newSecret();
  const shard = shardOf(userId, count);
  const created = await storeStub(tenant, shard).createSession(
    { kind: "admin" },
    id,
    hashSecret(secret),
    { userId, data: "{}", ip: null, userAgent: null, assurance: {} },
    count,
  );
  expect(created.ok).toBe(true);
  const token = signToken(keysOf(env.SESSION_SIGNING_KEYS), { tenant, shard, jurisdiction: null }, id, secret, 0);
  return { id, token, shard };
}

/** The directory object of `shard` (0 coordinates platform kills). */
export function directoryAt(shard: number): DurableObjectStub<TenantDirectory> {
  return env.TENANT_DIRECTORY.get(env.TENANT_DIRECTORY.idFromName(directoryName(shard)));
}

/** The directory object that keeps `tenant`'s name (and works its part of a platform kill). */
export function directoryOf(tenant: string): DurableObjectStub<TenantDirectory> {
  return directoryAt(directoryShardOf(tenant));
}

/** Runs every directory object's alarm until `done` holds (a platform kill's parts, and its coordinator). Bounded: 10 s. */
export async function directoryAlarmsUntil(done: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error("the directory's alarms did not finish within 10 s");
    let ran = false;
    for (let shard = 0; shard < DIRECTORY_SHARDS; shard++)
      ran = (await runDurableObjectAlarm(directoryAt(shard))) || ran;
    if (!ran) await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
