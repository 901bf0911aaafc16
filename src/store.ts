// The one way to reach a tenant's SessionStore, and how its infrastructure errors become
// outcomes: an "overloaded" Durable Object is a 503 for the caller to retry later, never
// retried here (that would only add load to the object that is already drowning).

import type { SessionStore } from "../durable-objects/session-store";
import { fail, type Failure } from "./errors";

/**
 * The store's RPC methods as the front Worker sees them. Every result is plain data (no
 * stubs to dispose), so each method is simply async here.
 */
export type StoreStub = {
  [Method in keyof Omit<SessionStore, keyof DurableObject>]: SessionStore[Method] extends (...args: infer Args) => infer Returned
    ? (...args: Args) => Promise<Awaited<Returned>>
    : never;
} & { fetch(request: Request): Promise<Response> };

export function storeFor(env: Env, tenant: string): StoreStub {
  const namespace = env.SESSION_STORE;
  return namespace.get(namespace.idFromName(tenant)) as unknown as StoreStub;
}

const OVERLOADED = fail("overloaded", "the tenant's store is overloaded; retry after a moment");

/** Runs one call on a tenant's store, turning an overload into a value. Other errors propagate. */
export async function callStore<T>(env: Env, tenant: string, call: (store: StoreStub) => Promise<T>): Promise<T | Failure> {
  try {
    return await call(storeFor(env, tenant));
  } catch (error) {
    if (error instanceof Error && (error as { overloaded?: boolean }).overloaded === true) return OVERLOADED;
    throw error;
  }
}
