// Making a session, with what waits on other objects: a session linked to an identity provider
// is linked at the home first (when made on another shard), and its user is kept within the cap
// over their other stores once it is made.

import type { StoreCaller } from "../../src/core/auth";
import type { NewSessionInput } from "../../src/core/session-input";
import { capAcrossStores } from "./coordination";
import type { CoordinatedStore } from "./coordinator";
import type { StoreHost } from "./host";
import type { IdpLink } from "../../src/core/identity-providers";
import { callHome } from "../stubs";
import type { Tenant } from "./tenant";
import type { Result } from "../../src/core/errors";
import { type Created, createSession } from "./sessions";
import { userTag } from "./sockets";

/** `count`: the shard count the front Worker placed the session by. */
export async function create(
  host: StoreHost,
  self: CoordinatedStore,
  caller: StoreCaller,
  session: { id: string; secretHash: ArrayBuffer; input: NewSessionInput; count: number },
): Promise<Created> {
  const { id, secretHash, input, count } = session;
  const tenant = host.store().tenant;
  if (input.idp && tenant && tenant.shard !== 0) {
    const linked = await linkAtHome(host.env, tenant, input.idp, input.userId, input.ttlSeconds);
    if (!linked.ok) return linked;
  }
  const issued = host.change((store, now) => createSession(store, caller, id, secretHash, input, count, now));
  if (!issued.ok) return issued;
  host.closeDeadSockets(userTag(input.userId), "revoked"); // evicted by the per-user cap
  await host.scheduler.wake("expiry", Date.parse(issued.session.expiresAt));
  // The user's sessions may be on other stores too (the tenant grew since some were made):
  // the cap is kept over all of them once this one is made, never evicting it.
  if (issued.capElsewhere !== null) await capAcrossStores(host, self, [input.userId], id);
  return issued;
}

/**
 * On a shard other than the home, before a linked session is made here: the home checks the
 * provider and keeps the link, until the latest this session could live. A failure is the
 * answer: a session its provider could not end is not made.
 */
async function linkAtHome(
  env: Env,
  tenant: Tenant,
  link: IdpLink,
  userId: string,
  ttlSeconds: number | undefined,
): Promise<Result> {
  const lifetime = Math.min(ttlSeconds ?? Number.POSITIVE_INFINITY, tenant.settings.absoluteTimeoutSeconds);
  return callHome(env, { tenant: tenant.name, jurisdiction: tenant.settings.jurisdiction }, (home) =>
    home.linkIdpSession(link, userId, Date.now() + lifetime * 1000),
  );
}
