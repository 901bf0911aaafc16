// Device binding in the bench: a bound session's validation (the token and its bound cookie)
// beside an unbound one's, and a refresh with its proof beside a rotation. The browser is this
// process: one ES256 key made with jose, its registration and refresh proofs signed here.

import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { exportJWK, generateKeyPair, SignJWT } from "jose";

export const BINDING_NAMES = {
  validateUnbound: "validate (cookie), unbound",
  validateBound: "validate (cookie), bound: with its bound cookie",
  rotate: "rotate, unbound",
  refresh: "device binding refresh, with its proof",
};

const COOKIE = "__Host-session";
/** Sessions per tenant: validations pick among them at random. */
const SESSIONS = 2_000;
/** Refreshes (and rotations) per slice: each uses up a challenge (a token), never one used already. */
const PER_SLICE = 3_000;
/** The tenants' settings: a bound cookie lives the longest allowed, so none expires during the run. */
const SETTINGS = { idleTimeoutSeconds: 24 * 3600, touchIntervalSeconds: 3600 };

/** A browser's key: the registration proof carries it, a refresh proof is signed by it. */
async function browserKey() {
  const { publicKey, privateKey } = await generateKeyPair("ES256");
  const jwk = await exportJWK(publicKey);
  return (jti, withKey) =>
    new SignJWT({ jti })
      .setProtectedHeader({ alg: "ES256", typ: "dbsc+jwt", ...(withKey && { jwk }) })
      .sign(privateKey);
}

/** POSTs to one of binding's routes with a session token: the answer's status, bound cookie and challenge. */
async function bindingCall(base, path, token, headers) {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, ...headers },
  });
  await response.arrayBuffer();
  const cookie = /^[^=]+=([^;]+)/.exec(response.headers.get("Set-Cookie") ?? "")?.[1] ?? null;
  const challenge = /^"([^"]+)"/.exec(response.headers.get("Secure-Session-Challenge") ?? "")?.[1] ?? null;
  return { status: response.status, cookie, challenge };
}

/**
 * Seeds the tenants, then measures each pair round-robin. `tools` are run.mjs's: the API
 * client, the parallel runner and measureTogether; `runs` how many rounds (each gets its own slice).
 */
export async function bindingScenarios({ base, work, server, runs, api, inParallel, measureTogether, log }) {
  const sign = await browserKey();
  await api(base, "PUT", "/v1/tenants/bind", { ...SETTINGS, deviceBinding: "offer", boundCookieSeconds: 3600 });
  await api(base, "PUT", "/v1/tenants/unbound", SETTINGS);
  log(`seeding ${SESSIONS} bound and ${SESSIONS} unbound sessions`);
  const bound = await inParallel(SESSIONS, 32, async (i) => {
    const issued = await api(base, "POST", "/v1/tenants/bind/sessions", { userId: `user${i % 1000}` });
    const challenge = /challenge="([^"]+)"/.exec(issued.registration)[1];
    const registered = await bindingCall(base, "/v1/session/binding", issued.token, {
      "Secure-Session-Response": await sign(challenge, true),
    });
    if (registered.status !== 200) throw new Error(`registration: ${registered.status}`);
    return { token: issued.token, id: issued.session.id, cookie: registered.cookie };
  });
  const unbound = await inParallel(SESSIONS, 32, async (i) => {
    const issued = await api(base, "POST", "/v1/tenants/unbound/sessions", { userId: `user${i % 1000}` });
    return issued.token;
  });
  const boundJar = join(work, "bound-jar.txt");
  writeFileSync(boundJar, bound.map((s) => `${COOKIE}=${s.token}; ${COOKIE}-bound=${s.cookie}`).join("\n"));
  const unboundJar = join(work, "unbound-jar.txt");
  writeFileSync(unboundJar, unbound.map((token) => `${COOKIE}=${token}`).join("\n"));
  const results = measureTogether([
    {
      name: BINDING_NAMES.validateUnbound,
      server,
      base,
      path: "/v1/session",
      script: ["/v1/session", "GET", "jar", unboundJar, "-", "-"],
    },
    {
      name: BINDING_NAMES.validateBound,
      server,
      base,
      path: "/v1/session",
      script: ["/v1/session", "GET", "jar", boundJar, "-", "-"],
    },
  ]);

  // Each slice: fresh unbound tokens to rotate, and challenges the store issued (a refresh
  // without a proof each) with their proofs, signed now (a challenge lasts 5 minutes).
  const slices = runs + 1; // the warm-up's, then each run's
  log(`issuing ${PER_SLICE * slices} challenges and as many tokens to rotate`);
  const rotateFiles = [];
  const refreshFiles = [];
  for (let slice = 0; slice < slices; slice++) {
    const tokens = await inParallel(PER_SLICE, 32, async (i) => {
      const issued = await api(base, "POST", "/v1/tenants/unbound/sessions", { userId: `rotate${i % 1000}` });
      return issued.token;
    });
    const rotateFile = join(work, `rotate-unbound${slice}.txt`);
    writeFileSync(rotateFile, tokens.join("\n"));
    rotateFiles.push(rotateFile);
    const proofs = await inParallel(PER_SLICE, 32, async (i) => {
      const session = bound[i % bound.length];
      const asked = await bindingCall(base, "/v1/session/binding/refresh", session.token, {
        "Sec-Secure-Session-Id": session.id,
      });
      if (asked.status !== 403) throw new Error(`a challenge: ${asked.status}`);
      return `${session.token} ${session.id} ${await sign(asked.challenge, false)}`;
    });
    const refreshFile = join(work, `refresh${slice}.txt`);
    writeFileSync(refreshFile, proofs.join("\n"));
    refreshFiles.push(refreshFile);
  }
  // Short runs, as each request uses up its value: 1 s ends fewer than PER_SLICE of them.
  const short = { warmupS: 1, runS: 1 };
  results.push(
    ...measureTogether([
      {
        name: BINDING_NAMES.rotate,
        server,
        base,
        path: "/v1/session/rotate",
        script: (run) => ["/v1/session/rotate", "POST", "bearer-once", rotateFiles[run + 1], "-", "-"],
        ...short,
      },
      {
        name: BINDING_NAMES.refresh,
        server,
        base,
        path: "/v1/session/binding/refresh",
        script: (run) => ["/v1/session/binding/refresh", "POST", "binding-once", refreshFiles[run + 1], "-", "-"],
        ...short,
      },
    ]),
  );
  return results;
}
