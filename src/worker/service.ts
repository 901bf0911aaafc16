// The operations both doors share: HTTP routes and the RPC entrypoint call these and
// nothing else. Here the configuration is checked, a caller is authorized for a tenant, a
// token is verified and pinned to the tenant its consumer expects (a forgery, or another
// tenant's token, never reaches a Durable Object), the tenant's stores are found (src/worker/locate.ts)
// and called, and tokens are signed. A token names its store; everything else goes to the
// shards the operation concerns, and a kill answers only once every one of them committed it.

import { actorOf, checkReach, isTenantKeyId, mintTenantKey, type Reach, type StoreCaller } from "../core/auth";
import type { Killed, SiblingSession } from "@session-service/client";
import { loadConfig, publicUrlOf, SEALING_NOT_CONFIGURED, type Config } from "../core/config";
import { mintJwt as signJwt } from "../../durable-objects/key-ring/jwt";
import { sessionCookie } from "@session-service/client";
import { fail, INVALID_TOKEN, KILL_NOT_FOUND, ok, SESSION_NOT_FOUND, type Result } from "../core/errors";
import { isKillId, isTenantName } from "../core/identifiers";
import { randomBase64url } from "../core/crypto";
import type { AuditEvent } from "../core/events";
import { liveRequest } from "../core/live";
import { logInfo } from "../core/log";
import { mergeNewestFirst, shareOf, type Before, type Row } from "../core/merge";
import { askHome, claim, forgetLocation, learn, locate, onShards, placementIsOld, targetOf, type Located, type ShardAnswer } from "./locate";
import { decodeCursor, decodeNameCursor, encodeCursor, encodeNameCursor, parseLimit, peekCursor, shardBefore } from "./pagination";
import { allShards, currentCount, shardOf, shardsOfUser, type ShardHistory, type StoreTarget } from "../core/placement";
import { MAX_SIBLINGS, type IssuedSession, type Session } from "../core/session";
import { isUserId, parseCreateSessionInput } from "../core/session-input";
import { isAudience, parseSettingsPatch, type TenantActivity, type TenantKeyView, type TenantView } from "../core/settings";
import type { ListQuery } from "../../durable-objects/session-store/api";
import type { PlatformKill } from "../../durable-objects/tenant-directory/api";
import type { DirectoryEntry } from "../../durable-objects/tenant-directory/tenant-directory-sql";
import { callDirectory, callHome, callStore, storeFor, type HomeStub, type StoreStub } from "../../durable-objects/stubs";
import { seal } from "../core/sealing";
import { isWebhookId, newWebhookSecret, parseWebhookInput, secretContext, webhookSealingKey, type DeliveryAttempt, type WebhookView } from "../core/webhooks";
import { hashSecret, isSessionId, newSecret, newSessionId, signToken, verifyToken, type ParsedToken } from "../core/token";

/** The attempts GET .../deliveries shows, newest first over every shard. */
const WEBHOOK_DELIVERIES_SHOWN = 100;

/** Reads (and validation, whose only write is an idempotent touch) may be retried. */
const READ = { idempotent: true };
/** A listing: a read whose answers say which shards exist (no call to the home for it). */
const LISTING = { idempotent: true, historyIn: (page: { history: ShardHistory }) => page.history };

/** The expected tenant of a token operation over HTTP without `Session-Tenant`: any tenant. */
export const ANY_TENANT: unique symbol = Symbol("any tenant");

const BAD_TENANT = fail("bad_request", "tenant must match ^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", "tenant");
const JURISDICTION_IMMUTABLE = fail("jurisdiction_immutable", "a tenant's jurisdiction is fixed when it is created", "jurisdiction");
const SHARD_UNAVAILABLE = fail("shard_unavailable", "one of the tenant's stores could not be reached; the change will be completed in the background, and repeating it is safe");

/**
 * Runs an operation on a tenant once the configuration is sound, the name well formed, the
 * caller allowed this reach and the tenant located. A tenant key's revocation is checked by
 * the store, in the operation.
 */
async function onTenant<T extends object>(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  reach: Reach,
  operation: (at: Located, config: Config) => Promise<Result<T>>,
): Promise<Result<T>> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  if (!isTenantName(tenant)) return BAD_TENANT;
  const allowed = checkReach(caller, tenant, reach);
  if (!allowed.ok) return allowed;
  const located = await locate(env, tenant);
  if (!located.ok) return located;
  const result = await operation(located.located, config.config);
  if (result.ok || result.error.code !== "tenant_not_found" || !located.known) return result;
  // Where this isolate (or the directory) thought it was, the tenant is not: deleted, and
  // perhaps made again elsewhere or with fewer shards. Asked again once, where the directory
  // says now: a fresh placement goes by the home first, which refuses again if it is still gone.
  forgetLocation(tenant);
  if (!located.remembered) return result;
  const again = await locate(env, tenant);
  return again.ok ? operation(again.located, config.config) : again;
}

interface VerifiedToken extends ParsedToken {
  secretHash: ArrayBuffer;
}

/**
 * Runs an operation with a verified token of the expected tenant. A token that is not ours,
 * or is another tenant's, ends here as `invalid`: no Durable Object of either tenant is called.
 */
async function withToken<T extends object>(
  env: Env,
  expectedTenant: unknown,
  token: unknown,
  operation: (token: VerifiedToken, config: Config) => Promise<Result<T>>,
  invalid: Result<T> = INVALID_TOKEN,
): Promise<Result<T>> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  if (expectedTenant !== ANY_TENANT && !isTenantName(expectedTenant)) return BAD_TENANT;
  const parsed = typeof token === "string" ? verifyToken(config.config.signingKeys, token) : null;
  if (!parsed) return invalid;
  if (expectedTenant !== ANY_TENANT && parsed.tenant !== expectedTenant) return INVALID_TOKEN;
  return operation({ ...parsed, secretHash: hashSecret(parsed.secret) }, config.config);
}

/** A fresh secret and its signed token, made before any store write so signing cannot fail after one. */
function newCredential(config: Config, target: StoreTarget, sessionId: string) {
  const secret = newSecret();
  return { token: signToken(config.signingKeys, target, sessionId, secret), secretHash: hashSecret(secret) };
}

function issued(config: Config, token: string, result: Result<{ session: Session; sameSite: "Lax" | "Strict" }>): Result<IssuedSession> {
  if (!result.ok) return result;
  return ok({ session: result.session, token, setCookie: sessionCookie(config.cookieName, token, result.sameSite) });
}

/** Answers that say a store could not do the work now (it may later): as good as unreachable. */
const UNREACHABLE_CODES: ReadonlySet<string> = new Set(["overloaded", "shard_unavailable", "jurisdiction_unavailable"]);

function couldNotAnswer<T extends object>(answer: ShardAnswer<T>): boolean {
  return "unreachable" in answer || (!answer.result.ok && UNREACHABLE_CODES.has(answer.result.error.code));
}

/** The answers of every shard that answered, or the failure that decides the whole: the home's first, then any other but "no copy yet". */
function answered<T extends object>(answers: ShardAnswer<T>[]): Result<{ results: { shard: number; value: T }[]; unreachable: number[] }> {
  const results: { shard: number; value: T }[] = [];
  const unreachable: number[] = [];
  let failure: Result<T> | null = null;
  for (const answer of [...answers].sort((a, b) => a.shard - b.shard)) {
    if (couldNotAnswer(answer)) unreachable.push(answer.shard);
    else if ("unreachable" in answer) continue;
    else if (answer.result.ok) results.push({ shard: answer.shard, value: answer.result });
    // A shard other than the home without the tenant's copy yet holds none of its sessions.
    else if (answer.shard !== 0 && answer.result.error.code === "tenant_not_found") continue;
    else failure ??= answer.result;
  }
  return failure && !failure.ok ? failure : ok({ results, unreachable });
}

/**
 * A read every shard of the tenant must answer (503 otherwise, rather than an answer short of
 * some shard): the home's answer, and every shard's, the home's among them.
 */
async function readEveryShard<T extends object>(env: Env, at: Located, read: (store: StoreStub) => Promise<Result<T>>): Promise<Result<{ home: T; all: T[] }>> {
  const ran = await onShards(env, at, allShards, read, READ);
  if (!ran.ok) return ran;
  const answers = answered(ran.answers);
  if (!answers.ok) return answers;
  const home = answers.results.find((answer) => answer.shard === 0);
  if (!home || answers.unreachable.length > 0 || !ran.placed) return SHARD_UNAVAILABLE;
  return ok({ home: home.value, all: answers.results.map((answer) => answer.value) });
}

// Tenants and keys

const TENANTS_SCOPE = "tenants";

/** Every tenant of the platform, by name (platform admin only), from the tenant directory. */
export async function listTenants(env: Env, caller: StoreCaller, query: unknown): Promise<Result<{ tenants: DirectoryEntry[]; nextCursor: string | null }>> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  const allowed = checkReach(caller, undefined, "admin");
  if (!allowed.ok) return allowed;
  const checked = listOptions(query, ["limit", "cursor"]);
  if (!checked.ok) return checked;
  const keys = config.config.signingKeys;
  const cursor = decodeNameCursor(keys, TENANTS_SCOPE, checked.options.cursor);
  if (!cursor.ok) return cursor;
  const listed = await callDirectory(env, (directory) => directory.list(cursor.after, checked.limit), READ);
  if (!listed.ok) return listed;
  const last = listed.tenants[listed.tenants.length - 1];
  return ok({ tenants: listed.tenants, nextCursor: listed.more && last ? encodeNameCursor(keys, TENANTS_SCOPE, last.tenant) : null });
}

/**
 * Creates or updates a tenant at its home, which copies the settings to the other shards. A
 * new name is first claimed in its jurisdiction at the directory (a name lives in one
 * jurisdiction only). 503 when a shard could not be reached: the home keeps trying.
 */
export async function putTenant(env: Env, caller: StoreCaller, tenant: unknown, body: unknown): Promise<Result<{ tenant: TenantView; created: boolean }>> {
  const config = loadConfig(env);
  if (!config.ok) return config;
  if (!isTenantName(tenant)) return BAD_TENANT;
  const allowed = checkReach(caller, tenant, "admin");
  if (!allowed.ok) return allowed;
  const parsed = parseSettingsPatch(body);
  if (!parsed.ok) return parsed;
  const wanted = parsed.patch.jurisdiction;
  // Asked of the directory, never remembered: a tenant deleted since (and its name claimed
  // again elsewhere) must be created where the directory says.
  const found = await locate(env, tenant, { fresh: true });
  if (!found.ok) return found;
  let at = found.located;
  if (!found.known) {
    // A jurisdiction this deployment cannot reach holds no tenant: refused before the name is
    // claimed, or the name would be taken for good by a tenant that can never be made.
    const reachable = wanted ? storeFor(env, { tenant, shard: 0, jurisdiction: wanted }) : null;
    if (reachable && !reachable.ok) return reachable;
    // A name the directory never heard of: claimed before anything is created. A tenant made
    // before the directory (in no jurisdiction) may not be recorded yet: its home says so.
    const older = wanted ? await askHome(env, at) : null;
    const claimed = await claim(env, tenant, older?.ok ? null : (wanted ?? null));
    if (!claimed.ok) return claimed;
    at = claimed.located;
  }
  if (wanted !== undefined && wanted !== at.jurisdiction) return JURISDICTION_IMMUTABLE;
  const located = at;
  const put = await callHome(env, located, (home) => home.putTenant(tenant, { ...parsed.patch, jurisdiction: located.jurisdiction }, actorOf(caller)));
  if (!put.ok) return put;
  if (!put.copied) return SHARD_UNAVAILABLE;
  learn(located, put.placement); // this isolate places new sessions by a grown count at once
  return ok({ tenant: put.tenant, created: put.created });
}

/** The tenant's settings and keys as its home has them, with the live sessions of every shard added up. */
export function getTenant(env: Env, caller: StoreCaller, tenant: unknown): Promise<Result<{ tenant: TenantView }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    const views = await readEveryShard(env, at, (store) => store.getTenant(caller));
    if (!views.ok) return views;
    const { tenant: home } = views.home;
    const sessions = views.all.reduce((sum, view) => sum + view.tenant.counts.sessions, 0);
    return ok({ tenant: { ...home, counts: { ...home.counts, sessions } } });
  });
}

/** The windows the activity picture covers, each in buckets of equal length. */
const ACTIVITY_WINDOWS: Record<TenantActivity["window"], { buckets: number; bucketMs: number }> = {
  "24h": { buckets: 24, bucketMs: 3600_000 },
  "7d": { buckets: 28, bucketMs: 6 * 3600_000 },
};

/**
 * Sessions created and ended over the last day or week, from the audit log of every shard,
 * and how many were live at the end of each bucket: counted back from the live count now
 * (each bucket's live is the next one's, less what that next bucket added).
 */
export function activity(env: Env, caller: StoreCaller, tenant: unknown, query: Record<string, string>): Promise<Result<{ activity: TenantActivity }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    const unknown = Object.keys(query).find((name) => name !== "window");
    if (unknown !== undefined) return fail("bad_request", `unknown query parameter ${JSON.stringify(unknown.slice(0, 64))}`, unknown.slice(0, 64));
    const name = query.window ?? "24h";
    if (!Object.hasOwn(ACTIVITY_WINDOWS, name)) return fail("bad_request", 'window must be "24h" or "7d"', "window");
    const window = name as TenantActivity["window"];
    const shape = ACTIVITY_WINDOWS[window];
    // The window ends at the next full hour: its last bucket holds the current hour (the last
    // hour of a 6-hour bucket, for 7 days), so far.
    const end = Math.ceil((Date.now() + 1) / 3600_000) * 3600_000;
    const since = end - shape.buckets * shape.bucketMs;
    const views = await readEveryShard(env, at, (store) => store.activity(caller, since, shape.bucketMs));
    if (!views.ok) return views;
    const buckets = Array.from({ length: shape.buckets }, (_, index) => ({
      start: new Date(since + index * shape.bucketMs).toISOString(),
      created: 0,
      ended: 0,
      restored: 0,
      live: 0,
    }));
    let live = 0;
    for (const value of views.all) {
      live += value.live;
      for (const { bucket, type, n } of value.counts) {
        const into = buckets[bucket];
        if (!into) continue;
        if (type === "created") into.created += n;
        else if (type === "kill_undone") into.restored += n;
        else into.ended += n;
      }
    }
    let after = live;
    for (let index = buckets.length - 1; index >= 0; index--) {
      const bucket = buckets[index]!;
      bucket.live = Math.max(0, after);
      after -= bucket.created + bucket.restored - bucket.ended;
    }
    return ok({ activity: { window, bucketSeconds: shape.bucketMs / 1000, live, buckets } });
  });
}

/** Keys are kept at the home, which copies them to the other shards before the answer (and keeps none it could not copy). */
export function createTenantKey(env: Env, caller: StoreCaller, tenant: unknown): Promise<Result<{ id: string; key: string }>> {
  return onTenant(env, caller, tenant, "admin", async (at, config) => {
    const minted = mintTenantKey(config.signingKeys, at.tenant);
    const added = await callHome(env, at, (home) => home.addTenantKey(minted.id, minted.secretHash, actorOf(caller)));
    if (!added.ok) return added;
    return added.copied ? ok({ id: minted.id, key: minted.key }) : fail("shard_unavailable", "one of the tenant's stores could not be reached, so no key was kept: mint again");
  });
}

/**
 * The tenant's keys as its home holds them, each with its latest use on any shard: 503 when a
 * shard cannot answer, rather than a "last used" that may be older than the truth (the answer
 * an operator goes by to decide that a key is unused).
 */
export function listTenantKeys(env: Env, caller: StoreCaller, tenant: unknown): Promise<Result<{ keys: TenantKeyView[] }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    const lists = await readEveryShard(env, at, (store) => store.listTenantKeys(caller));
    if (!lists.ok) return lists;
    const latest = (a: string | null, b: string | null) => (a === null || (b !== null && b > a) ? b : a);
    const keys = lists.home.keys.map((key) => ({
      ...key,
      lastUsedAt: lists.all.flatMap((list) => list.keys.filter((other) => other.id === key.id)).reduce<string | null>((last, other) => latest(last, other.lastUsedAt), null),
    }));
    return ok({ keys });
  });
}

export function revokeTenantKey(env: Env, caller: StoreCaller, tenant: unknown, keyId: unknown): Promise<Result<{ revoked: number }>> {
  return onTenant(env, caller, tenant, "admin", async (at) => {
    if (typeof keyId !== "string" || !isTenantKeyId(keyId)) return fail("key_not_found", "no such key");
    const removed = await callHome(env, at, (home) => home.removeTenantKey(keyId, actorOf(caller)));
    if (!removed.ok) return removed;
    return removed.copied ? ok({ revoked: 1 }) : SHARD_UNAVAILABLE;
  });
}

const DELETION_UNFINISHED = fail(
  "shard_unavailable",
  "the tenant is deleted in part: a store or the directory could not be reached; the deletion goes on in the background, and repeating the call is safe",
);

/**
 * Deletes a tenant: every session (each ended at once: the tokens, live sockets and tenant keys
 * stop working), the audit log, keys, webhooks and their queued events, on every shard, then
 * the directory's entry. The caller repeats the name in `?confirm=`. Done by the home
 * (SessionStore.eraseTenant); 503 when it fell short, and then finished in the background.
 */
export function deleteTenant(env: Env, caller: StoreCaller, tenant: unknown, query: Record<string, string>): Promise<Result<{ deleted: string }>> {
  return onTenant(env, caller, tenant, "admin", async (at) => {
    const unknown = Object.keys(query).find((name) => name !== "confirm");
    if (unknown !== undefined) return fail("bad_request", `unknown query parameter ${JSON.stringify(unknown.slice(0, 64))}`, unknown.slice(0, 64));
    if (query.confirm !== at.tenant) return fail("bad_request", "confirm must repeat the tenant's name (?confirm=<tenant>): a deletion cannot be undone", "confirm");
    const erased = await callHome(env, at, (home) => home.eraseTenant(actorOf(caller)));
    if (!erased.ok) return erased;
    forgetLocation(at.tenant);
    return erased.erased ? ok({ deleted: at.tenant }) : DELETION_UNFINISHED;
  });
}

// Webhooks: kept at the home, which copies them to the other shards before the answer; each
// shard delivers the events it records.

/** A new webhook; its signing secret (standard-webhooks) is in this answer only, and sealed at rest. */
export function createWebhook(env: Env, caller: StoreCaller, tenant: unknown, body: unknown): Promise<Result<{ webhook: WebhookView; secret: string | null }>> {
  return onTenant(env, caller, tenant, "tenant", async (at, config) => {
    if (!config.sealing) return SEALING_NOT_CONFIGURED;
    const parsed = parseWebhookInput(body, config.webhooksAllowLoopback);
    if (!parsed.ok) return parsed;
    const { input } = parsed;
    const id = `wh_${randomBase64url(12)}`;
    const secret = input.format === "standard-webhooks" ? newWebhookSecret() : null;
    const sealed = secret === null ? null : await seal(await webhookSealingKey(env.KEY_ENCRYPTION_SECRET!), new TextEncoder().encode(secret), secretContext(at.tenant, id));
    const row = { id, url: input.url, format: input.format, events: JSON.stringify(input.events), sealed_secret: sealed?.sealed ?? null, secret_iv: sealed?.iv ?? null, created_at: Date.now() };
    const added = await callHome(env, at, (home) => home.addWebhook(caller, row));
    if (!added.ok) return added;
    // Not on every shard: the home took it back rather than send events signed with a secret nobody was given.
    return added.copied ? ok({ webhook: added.webhook, secret }) : fail("shard_unavailable", "one of the tenant's stores could not be reached, so the webhook was not kept: add it again");
  });
}

/** The tenant's webhooks, each with its newest delivery attempt on any shard. */
export function listWebhooks(env: Env, caller: StoreCaller, tenant: unknown): Promise<Result<{ webhooks: (WebhookView & { lastDelivery: DeliveryAttempt | null })[] }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    const ran = await onShards(env, at, allShards, (store) => store.listWebhooks(caller), READ);
    if (!ran.ok) return ran;
    const lists = answered(ran.answers);
    if (!lists.ok) return lists;
    const home = lists.results.find((list) => list.shard === 0);
    if (!home) return SHARD_UNAVAILABLE;
    const newest = (a: DeliveryAttempt | null, b: DeliveryAttempt | null) => (a === null || (b !== null && b.at > a.at) ? b : a);
    const webhooks = home.value.webhooks.map((webhook) => {
      const elsewhere = lists.results.flatMap((list) => list.value.webhooks.filter((other) => other.id === webhook.id));
      return { ...webhook, lastDelivery: elsewhere.reduce<DeliveryAttempt | null>((last, other) => newest(last, other.lastDelivery), null) };
    });
    return ok({ webhooks });
  });
}

export function deleteWebhook(env: Env, caller: StoreCaller, tenant: unknown, id: unknown): Promise<Result<{ deleted: string }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    if (!isWebhookId(id)) return fail("webhook_not_found", "no such webhook");
    const removed = await callHome(env, at, (home) => home.removeWebhook(caller, id));
    if (!removed.ok) return removed;
    return removed.copied ? ok({ deleted: id }) : SHARD_UNAVAILABLE;
  });
}

/** A webhook's recent delivery attempts on every shard, newest first. */
export function webhookDeliveries(env: Env, caller: StoreCaller, tenant: unknown, id: unknown): Promise<Result<{ deliveries: DeliveryAttempt[] }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    if (!isWebhookId(id)) return fail("webhook_not_found", "no such webhook");
    const ran = await onShards(env, at, allShards, (store) => store.webhookAttempts(caller, id), READ);
    if (!ran.ok) return ran;
    const lists = answered(ran.answers);
    if (!lists.ok) return lists;
    const home = lists.results.find((list) => list.shard === 0);
    if (!home) return SHARD_UNAVAILABLE;
    if (!home.value.known) return fail("webhook_not_found", "no such webhook");
    const deliveries = lists.results.flatMap((list) => list.value.attempts).sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
    return ok({ deliveries: deliveries.slice(0, WEBHOOK_DELIVERIES_SHOWN) });
  });
}

// Sessions: created and used by their holder

/**
 * Creates a session on its user's shard under the shard count this isolate knows. The home
 * refuses a count it no longer uses (and another shard, one it never used): the placement is
 * then asked of the home, and the session placed again, once.
 */
export function createSession(env: Env, caller: StoreCaller, tenant: unknown, body: unknown): Promise<Result<IssuedSession>> {
  return onTenant(env, caller, tenant, "tenant", async (at, config) => {
    const parsed = parseCreateSessionInput(body);
    if (!parsed.ok) return parsed;
    const { input } = parsed;
    const id = newSessionId();
    let located = at;
    if (placementIsOld(located)) {
      const home = await askHome(env, located);
      if (!home.ok) return home;
      located = home.located;
    }
    for (let attempt = 1; ; attempt++) {
      const target = targetOf(located, shardOf(input.userId, located.count));
      const { token, secretHash } = newCredential(config, target, id);
      const created = await callStore(env, target, (store) => store.createSession(caller, id, secretHash, input, located.count));
      if (created.ok || created.error.code !== "placement_changed" || attempt === 2) return issued(config, token, created);
      const home = await askHome(env, located);
      if (!home.ok) return home;
      located = home.located;
    }
  });
}

export function validate(env: Env, expectedTenant: unknown, token: unknown): Promise<Result<{ session: Session }>> {
  return withToken(env, expectedTenant, token, (t) => callStore(env, t, (store) => store.validateSession(t.sessionId, t.secretHash), READ));
}

/**
 * `origin`: the browser origin this state change came from, when the front Worker found
 * one that the tenant must allow; null when no such check applies (bearer, RPC, same origin).
 */
export function rotate(env: Env, expectedTenant: unknown, token: unknown, origin: string | null): Promise<Result<IssuedSession>> {
  return withToken(env, expectedTenant, token, async (t, config) => {
    const next = newCredential(config, t, t.sessionId);
    const rotated = await callStore(env, t, (store) => store.rotateSession(t.sessionId, t.secretHash, next.secretHash, origin));
    return issued(config, next.token, rotated);
  });
}

/**
 * Logout. Idempotent: a token that no longer works (or never did) is already logged out; a
 * token that rotation superseded still ends the session it names (it can only reduce access).
 */
export function logout(env: Env, expectedTenant: unknown, token: unknown, origin: string | null): Promise<Result> {
  return withToken(env, expectedTenant, token, (t) => callStore(env, t, (store) => store.logout(t.sessionId, t.secretHash, origin)), ok({}));
}

/** The audience a JWT is asked for: read (over HTTP, from the body) only once the token is verified. */
export type AudienceReader = () => Promise<Result<{ audience: unknown }>>;

/**
 * A short-lived JWT for another service, minted only once the session's store has validated
 * (and slid) the session: an ended session mints nothing, at once. The token is verified and
 * the configuration checked before `readAudience` runs, so an anonymous or forged caller never
 * has its body read. `requestUrl`: the HTTP request's own URL (a loopback one stands in for an
 * unset PUBLIC_URL), null over RPC.
 */
export function mintJwt(
  env: Env,
  expectedTenant: unknown,
  token: unknown,
  readAudience: AudienceReader,
  origin: string | null,
  requestUrl: string | null,
): Promise<Result<{ jwt: string; expiresAt: string }>> {
  return withToken(env, expectedTenant, token, async (t, config) => {
    if (!config.sealing) return SEALING_NOT_CONFIGURED;
    const at = publicUrlOf(env, requestUrl);
    if (!at.ok) return at;
    const asked = await readAudience();
    if (!asked.ok) return asked;
    const { audience } = asked;
    if (!isAudience(audience)) return fail("bad_request", "audience must be 1 to 256 printable characters without spaces", "audience");
    const found = await callStore(env, t, (store) => store.sessionForJwt(t.sessionId, t.secretHash, audience, origin), READ);
    return found.ok ? signJwt(env, at.publicUrl, found.session, audience, found.ttlSeconds) : found;
  });
}

// Seeing and killing sessions (operators)

function checkUserId(userId: unknown): Result {
  return isUserId(userId) ? ok({}) : fail("bad_request", "userId must be 1 to 256 characters without control, bidirectional or invisible characters", "userId");
}

/** A prefix of user ids: what a user id may be, and not beside `userId`. */
function checkUserPrefix(prefix: unknown, userId: unknown): Result {
  if (userId !== undefined) return fail("bad_request", "give userId or userPrefix, not both", "userPrefix");
  return isUserId(prefix) ? ok({}) : fail("bad_request", "userPrefix must be 1 to 256 characters without control, bidirectional or invisible characters", "userPrefix");
}

/** A listing's options as an object of known fields only (HTTP query or RPC argument), with its limit checked. */
function listOptions(query: unknown, fields: readonly string[]): Result<{ options: Record<string, unknown>; limit: number }> {
  if (query === undefined) query = {};
  if (typeof query !== "object" || query === null || Array.isArray(query)) return fail("bad_request", "options must be an object");
  const options = query as Record<string, unknown>;
  const unknown = Object.keys(options).find((field) => !fields.includes(field));
  if (unknown !== undefined) return fail("bad_request", `unknown option ${JSON.stringify(unknown.slice(0, 64))}`, unknown.slice(0, 64));
  const limit = parseLimit(options.limit);
  return limit.ok ? ok({ options, limit: limit.limit }) : limit;
}

/**
 * One page of a listing merged over the shards that may hold its items, newest first by
 * (time, shard, seq) (src/core/merge.ts): one more than the page is merged, so the merge knows
 * whether more follow. The next cursor is signed for this very listing (tenant, user filter).
 */
function listPage<Item>(
  env: Env,
  caller: StoreCaller,
  tenant: unknown,
  query: unknown,
  listing: "sessions" | "events",
  read: (store: StoreStub, page: ListQuery) => Promise<Result<{ rows: Row<Item>[]; history: ShardHistory; tenantCreatedAt: number }>>,
): Promise<Result<{ items: Item[]; nextCursor: string | null }>> {
  return onTenant(env, caller, tenant, "tenant", async (at, config) => {
    const checked = listOptions(query, listing === "sessions" ? ["userId", "userPrefix", "limit", "cursor"] : ["limit", "cursor"]);
    if (!checked.ok) return checked;
    const { options, limit } = checked;
    const user = options.userId === undefined ? ok({}) : checkUserId(options.userId);
    if (!user.ok) return user;
    const prefix = options.userPrefix === undefined ? ok({}) : checkUserPrefix(options.userPrefix, options.userId);
    if (!prefix.ok) return prefix;
    const userId = options.userId as string | undefined;
    const userPrefix = options.userPrefix as string | undefined;
    const keys = config.signingKeys;
    const cursor = peekCursor(options.cursor);
    if (!cursor.ok) return cursor;
    const shardsOf = (history: ShardHistory) => (userId === undefined ? allShards(history) : shardsOfUser(history, userId));
    const share = shareOf(limit + 1, shardsOf(at.history).length);
    const ran = await onShards(env, at, shardsOf, (store, shard) => read(store, { userId, userPrefix, limit: share, before: shardBefore(cursor.after, shard) }), LISTING);
    if (!ran.ok) return ran;
    const pages = answered(ran.answers);
    if (!pages.ok) return pages;
    if (pages.unreachable.length > 0 || !ran.placed) return SHARD_UNAVAILABLE;
    // A cursor is signed for its listing: the tenant (as made when: a later one of its name is
    // another), user, prefix. Checked once a store said when the tenant was made.
    const made = pages.results[0]?.value.tenantCreatedAt ?? 0;
    const scope = `${listing}\n${at.tenant}\n${made}\n${userId ?? ""}${userPrefix === undefined ? "" : `\nprefix\n${userPrefix}`}`;
    const signed = decodeCursor(keys, scope, options.cursor);
    if (!signed.ok) return signed;
    const readMore = (shard: number, before: Before) =>
      callStore(env, targetOf(at, shard), (store) => read(store, { userId, userPrefix, limit: share, before }), READ).catch(() => SHARD_UNAVAILABLE);
    const merged = await mergeNewestFirst(pages.results.map(({ shard, value }) => ({ shard, rows: value.rows })), limit + 1, share, readMore);
    if (!merged.ok) return merged;
    const page = merged.rows.slice(0, limit);
    const last = page[page.length - 1];
    const nextCursor = merged.rows.length > limit && last ? encodeCursor(keys, scope, last) : null;
    return ok({ items: page.map((row) => row.item), nextCursor });
  });
}

export async function listSessions(env: Env, caller: StoreCaller, tenant: unknown, query: unknown): Promise<Result<{ sessions: Session[]; nextCursor: string | null }>> {
  const page = await listPage(env, caller, tenant, query, "sessions", (store, q) => store.listSessions(caller, q));
  return page.ok ? ok({ sessions: page.items, nextCursor: page.nextCursor }) : page;
}

export async function listEvents(env: Env, caller: StoreCaller, tenant: unknown, query: unknown): Promise<Result<{ events: AuditEvent[]; nextCursor: string | null }>> {
  const page = await listPage(env, caller, tenant, query, "events", (store, q) => store.listEvents(caller, q));
  return page.ok ? ok({ events: page.items, nextCursor: page.nextCursor }) : page;
}

/** A session by its public id, which does not say its shard: every shard is asked. */
export function getSession(env: Env, caller: StoreCaller, tenant: unknown, id: unknown): Promise<Result<{ session: Session }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    if (typeof id !== "string" || !isSessionId(id)) return SESSION_NOT_FOUND;
    const ran = await onShards(env, at, allShards, (store) => store.getSession(caller, id), READ);
    if (!ran.ok) return ran;
    return oneOf(ran.answers, ran.placed);
  });
}

/** The one shard's answer that found the session, or not found (when every shard answered, the home included). */
function oneOf<T extends object>(answers: ShardAnswer<T>[], placed: boolean): Result<T> {
  let unreachable = !placed;
  for (const answer of answers) {
    if (couldNotAnswer(answer)) unreachable = true;
    else if ("unreachable" in answer) continue;
    else if (answer.result.ok || answer.result.error.code !== "session_not_found") {
      if (answer.result.ok || answer.shard === 0 || answer.result.error.code !== "tenant_not_found") return answer.result;
    }
  }
  return unreachable ? SHARD_UNAVAILABLE : SESSION_NOT_FOUND;
}

/** A kill's id: made here, so that every store a kill reaches records it under the same one. */
function newKillId(): string {
  return randomBase64url(16);
}

/**
 * Runs a kill or an undo at the tenant's home, which coordinates it over the tenant's stores
 * (durable-objects/session-store/coordinator.ts): it records the change before any store changes anything,
 * so its 503 is true (the change is finished in the background). A home that cannot be reached
 * cannot say whether it recorded the change: the caller is told to repeat it.
 */
async function atHome<T extends object>(env: Env, at: Located, call: (home: HomeStub) => Promise<Result<T>>): Promise<Result<T>> {
  try {
    return await callHome(env, at, call);
  } catch {
    return HOME_UNREACHABLE;
  }
}

const HOME_UNREACHABLE = fail("shard_unavailable", "the tenant's home store could not be reached, so the change may not have been made; repeat it (repeating is safe)");

/** One session by its public id, which does not name its store: the home finds it. */
export function revokeSession(env: Env, caller: StoreCaller, tenant: unknown, id: unknown): Promise<Result<Killed>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    if (typeof id !== "string" || !isSessionId(id)) return SESSION_NOT_FOUND;
    return atHome(env, at, (home) => home.kill(caller, newKillId(), { kind: "one", sessionId: id }));
  });
}

export function revokeUser(env: Env, caller: StoreCaller, tenant: unknown, userId: unknown): Promise<Result<Killed>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    const user = checkUserId(userId);
    if (!user.ok) return user;
    return atHome(env, at, (home) => home.kill(caller, newKillId(), { kind: "user", userId: userId as string }));
  });
}

export function revokeTenant(env: Env, caller: StoreCaller, tenant: unknown): Promise<Result<Killed>> {
  return onTenant(env, caller, tenant, "tenant", (at) => atHome(env, at, (home) => home.kill(caller, newKillId(), { kind: "tenant" })));
}

/**
 * Undoes a kill of this tenant, all or nothing (a platform kill is undone by the platform's own
 * route): what every store restored, added up. Unknown to every store: 404.
 */
export function undoKill(env: Env, caller: StoreCaller, tenant: unknown, killId: unknown): Promise<Result<{ restored: number; killId: string }>> {
  return onTenant(env, caller, tenant, "tenant", async (at) => {
    if (!isKillId(killId)) return KILL_NOT_FOUND;
    return atHome(env, at, (home) => home.undo(caller, killId, false));
  });
}

// The platform (admin only)

function onPlatform<T extends object>(env: Env, caller: StoreCaller, operation: () => Promise<Result<T>>): Promise<Result<T>> {
  const config = loadConfig(env);
  if (!config.ok) return Promise.resolve(config);
  const allowed = checkReach(caller, undefined, "admin");
  return allowed.ok ? operation() : Promise.resolve(allowed);
}

/**
 * Kills every session of every tenant known now (sessions created after are spared). The
 * directory works through the tenants for a few seconds: `kill.done` says whether it reached
 * them all; if not, it goes on in the background (GET /v1/kills/:killId).
 */
export function killPlatform(env: Env, caller: StoreCaller): Promise<Result<{ kill: PlatformKill }>> {
  return onPlatform(env, caller, async () => {
    const killId = newKillId();
    // Logged before it starts: a kill under way is an operator's action whatever its answer.
    logInfo({ event: "operator.platform_kill", actor: actorOf(caller), killId });
    return callDirectory(env, (directory) => directory.startPlatformKill(killId, actorOf(caller)));
  });
}

export function platformKill(env: Env, caller: StoreCaller, killId: unknown): Promise<Result<{ kill: PlatformKill }>> {
  return onPlatform(env, caller, async () => (isKillId(killId) ? callDirectory(env, (directory) => directory.platformKill(killId), READ) : KILL_NOT_FOUND));
}

export function undoPlatformKill(env: Env, caller: StoreCaller, killId: unknown): Promise<Result<{ restored: number; skipped: number; killId: string }>> {
  return onPlatform(env, caller, async () => {
    if (!isKillId(killId)) return KILL_NOT_FOUND;
    const undone = await callDirectory(env, (directory) => directory.undoPlatformKill(killId));
    if (undone.ok) logInfo({ event: "operator.platform_kill_undone", actor: actorOf(caller), killId, count: undone.restored });
    return undone;
  });
}

// The same user's other sessions (self-service)

/**
 * The tenant as a token and its store know it: every shard count that holds sessions is in
 * every shard's history (a count is used only once every shard has it).
 */
function fromToken(t: StoreTarget, history: ShardHistory): Located {
  return { tenant: t.tenant, jurisdiction: t.jurisdiction, count: currentCount(history), history, learnedAt: Date.now() };
}


/**
 * The token's user's live sessions on every shard that may hold them: the token's own store
 * authenticates and slides it (and says who the user is), then the user's other shards are
 * asked, as the holder of that session.
 */
export function listSiblings(env: Env, expectedTenant: unknown, token: unknown): Promise<Result<{ sessions: SiblingSession[] }>> {
  return withToken(env, expectedTenant, token, async (t) => {
    const own = await callStore(env, t, (store) => store.listSiblings(t.sessionId, t.secretHash), READ);
    if (!own.ok) return own;
    if (currentCount(own.history) === 1) return ok({ sessions: own.sessions });
    const others = (history: ShardHistory) => shardsOfUser(history, own.userId).filter((shard) => shard !== t.shard);
    const ran = await onShards(env, fromToken(t, own.history), others, (store) => store.listSessions({ kind: "session" }, { userId: own.userId, limit: MAX_SIBLINGS }), LISTING);
    if (!ran.ok) return ran;
    const pages = answered(ran.answers);
    if (!pages.ok) return pages;
    if (pages.unreachable.length > 0) return SHARD_UNAVAILABLE;
    const current = own.sessions.find((session) => session.current)!;
    const elsewhere = pages.results.flatMap(({ value }) => value.rows.map((row) => ({ ...row.item, current: false })));
    const newestFirst = [...own.sessions, ...elsewhere].sort((a, b) => (a.createdAt < b.createdAt ? 1 : a.createdAt > b.createdAt ? -1 : 0)).slice(0, MAX_SIBLINGS);
    if (!newestFirst.includes(current)) newestFirst.splice(MAX_SIBLINGS - 1, 1, current);
    return ok({ sessions: newestFirst });
  });
}

/**
 * "Log out my other devices" on every store of the user: the token's own store authenticates
 * it and coordinates the kill over the user's other stores, as the home does an operator's.
 */
export function revokeSiblings(env: Env, expectedTenant: unknown, token: unknown, origin: string | null): Promise<Result<Killed>> {
  return withToken(env, expectedTenant, token, (t) => callStore(env, t, (store) => store.revokeSiblings(t.sessionId, t.secretHash, origin, newKillId())));
}

/**
 * Opens the live revocation socket: the token is verified here, then the upgrade is handed to
 * the session's store, which checks the session and origin and keeps the socket.
 */
export function openLive(env: Env, expectedTenant: unknown, token: unknown, origin: string | null): Promise<Result<{ response: Response }>> {
  return withToken(env, expectedTenant, token, (t) =>
    callStore(env, t, async (store) => ok({ response: await store.fetch(liveRequest(t.sessionId, t.secretHash, origin)) })),
  );
}
