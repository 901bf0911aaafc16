// The identity providers' signals in the bench: a back-channel logout ending one session,
// side by side with a kill of one session by id (the target: at most 2x its cost), on one
// shard and on 16; and a create linked to a provider on 16 shards (its link is written at the
// home: one more call) beside a plain one. The provider is this process: an ES256 key made
// with jose, its key set served on loopback, a fresh logout token signed for each request.

import { createServer } from "node:http";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

export const SIGNAL_NAMES = {
  killOne: "kill one session by id",
  logout: "back-channel logout, one session",
  logout16: "back-channel logout, one session, 16 shards",
  createLinked16: "create, 16 shards, linked to a provider",
};

const BACKCHANNEL_LOGOUT = "http://schemas.openid.net/event/backchannel-logout";
/** Sessions (and tokens) per slice: each request ends a session of its own, never one ended already. */
const PER_SLICE = 4_000;

/** A provider of our own: its key set on a loopback port, and logout tokens signed with its key. */
async function startProvider() {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = { ...(await exportJWK(publicKey)), kid: "bench", alg: "ES256" };
  const server = createServer((_request, response) => {
    response.writeHead(200, { "Content-Type": "application/json", "Cache-Control": "max-age=3600" });
    response.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const issuer = "https://idp.bench.example";
  return {
    issuer,
    jwksUri: `http://127.0.0.1:${server.address().port}/jwks`,
    sign: (sid) =>
      new SignJWT({ sid, jti: crypto.randomUUID(), events: { [BACKCHANNEL_LOGOUT]: {} } })
        .setProtectedHeader({ alg: "ES256", kid: "bench", typ: "logout+jwt" })
        .setIssuer(issuer)
        .setAudience("bench-client")
        .setIssuedAt()
        .sign(privateKey),
    stop: () => new Promise((resolve) => server.close(resolve)),
  };
}

/**
 * Seeds the tenants, then measures the scenarios round-robin. `tools` are run.mjs's: the API
 * client, parallel runner and measureTogether; `runs` how many rounds (each gets its own slice).
 */
export async function signalScenarios({ base, work, server, runs, adminKey, api, inParallel, measureTogether, log }) {
  const provider = await startProvider();
  try {
    const slices = runs + 1; // the warm-up's, then each run's
    const seeded = {};
    for (const [tenant, shards] of [
      ["idp1", 1],
      ["idp16", 16],
    ]) {
      await api(base, "PUT", `/v1/tenants/${tenant}`, shards === 1 ? {} : { shards });
      await api(base, "PUT", `/v1/tenants/${tenant}/identity-providers/corp`, {
        issuer: provider.issuer,
        audience: "bench-client",
        jwksUri: provider.jwksUri,
        algorithms: ["ES256"],
      });
      const count = PER_SLICE * slices * (shards === 1 ? 2 : 1);
      log(`seeding ${count} sessions linked to a provider on ${tenant}`);
      seeded[tenant] = await inParallel(count, 32, async (i) => {
        const sid = `sid-${i}`;
        const body = await api(base, "POST", `/v1/tenants/${tenant}/sessions`, {
          userId: `user${i % 1000}`,
          idp: { provider: "corp", sub: `sub-${i % 1000}`, sid },
        });
        return { id: body.session.id, sid };
      });
    }
    // Each slice a file: the ids to kill one by one, and a logout token per session (signed now: they are fresh for 5 minutes).
    const files = async (name, sessions, value) => {
      const paths = [];
      for (let slice = 0; slice < slices; slice++) {
        const path = join(work, `${name}${slice}.txt`);
        const values = await Promise.all(sessions.slice(slice * PER_SLICE, (slice + 1) * PER_SLICE).map(value));
        writeFileSync(path, values.join("\n"));
        paths.push(path);
      }
      return (run) => paths[run + 1];
    };
    const half = PER_SLICE * slices;
    const killFiles = await files("kill-one", seeded.idp1.slice(0, half), (s) => s.id);
    const logoutFiles = await files("logout", seeded.idp1.slice(half), (s) => provider.sign(s.sid));
    const logout16Files = await files("logout16", seeded.idp16, (s) => provider.sign(s.sid));
    const logoutPath = (tenant) => `/v1/tenants/${tenant}/identity-providers/corp/backchannel-logout`;
    // Short runs, as each request uses up a session: 3 s ends at most PER_SLICE of them.
    const short = { warmupS: 1, runS: 3 };
    const ended = await measureTogether([
      {
        name: SIGNAL_NAMES.killOne,
        server,
        base,
        path: "/v1/tenants/idp1/sessions/{value}",
        script: (run) => ["/v1/tenants/idp1/sessions/{value}", "DELETE", "admin-once", killFiles(run), adminKey, "-"],
        ...short,
      },
      {
        name: SIGNAL_NAMES.logout,
        server,
        base,
        path: logoutPath("idp1"),
        script: (run) => [logoutPath("idp1"), "POST", "form-once", logoutFiles(run), "-", "-"],
        ...short,
      },
      {
        name: SIGNAL_NAMES.logout16,
        server,
        base,
        path: logoutPath("idp16"),
        script: (run) => [logoutPath("idp16"), "POST", "form-once", logout16Files(run), "-", "-"],
        ...short,
      },
    ]);
    return ended;
  } finally {
    await provider.stop();
  }
}

/** The create scenario linked to a provider, on the 16-shard tenant `tenant` (which has the provider "corp"). */
export function createLinkedScript(tenant, adminKey) {
  return [
    `/v1/tenants/${tenant}/sessions`,
    "POST",
    "admin",
    "-",
    adminKey,
    '{"userId":"{user}","idp":{"provider":"corp","sub":"{user}","sid":"sid-{user}"}}',
  ];
}
