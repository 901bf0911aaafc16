// The deployment's configuration, checked rather than trusted: each variable is parsed once
// per isolate (per value), and a broken one is reported by name, never by value. `GET /health`
// lists the problems; everything that needs a broken variable answers 503 `not_configured`
// before it reads a body or writes anything.

import { DEFAULT_COOKIE_NAME, isCookieName } from "@session-service/client";
import { fail, ok, type Failure, type Result } from "./errors";
import { parseSigningKeys, type SigningKeys } from "./token";

/** An admin key or sealing secret shorter than this is refused: each must carry about as much entropy as a token. */
const MIN_SECRET_CHARS = 32;

export interface Config {
  signingKeys: SigningKeys;
  cookieName: string;
  /** Null when ADMIN_API_KEY is missing or too short: then nobody is the platform admin. */
  adminKey: string | null;
  /** Whether KEY_ENCRYPTION_SECRET is sound: without it, nothing that needs the JWT signing keys or a webhook secret works. */
  sealing: boolean;
  /** WEBHOOKS_ALLOW_LOOPBACK=true (local development and tests only): webhooks may point at 127.0.0.1 or localhost. */
  webhooksAllowLoopback: boolean;
}

export interface ConfigReport {
  /** Null when tokens cannot be read or made (signing keys or cookie name broken). */
  config: Config | null;
  /** One line per broken variable, naming it and never its value. */
  problems: string[];
  /** PUBLIC_URL as an origin; null when it is unset or broken (see publicUrlOf). */
  publicUrl: string | null;
}

/** PUBLIC_URL as the origin it names, or null when it is not an https origin (http for loopback), or has a path (which would move the issuer away from its discovery document). */
function parsePublicUrl(raw: string): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return null;
  }
  const bare =
    url.pathname === "/" && url.search === "" && url.hash === "" && url.username === "" && url.password === "";
  // http only on this machine: elsewhere the discovery document's jwks_uri could be swapped in transit.
  const secure =
    url.protocol === "https:" ||
    (url.protocol === "http:" && (url.hostname === "127.0.0.1" || url.hostname === "localhost"));
  return bare && secure ? url.origin : null;
}

function checkConfig(env: Env): ConfigReport {
  const problems: string[] = [];
  const signing = parseSigningKeys(env.SESSION_SIGNING_KEYS);
  if (!signing.ok) problems.push(signing.problem);
  const cookieName = env.SESSION_COOKIE_NAME || DEFAULT_COOKIE_NAME;
  if (!isCookieName(cookieName)) problems.push("SESSION_COOKIE_NAME is not a valid cookie name");
  const sealing = env.KEY_ENCRYPTION_SECRET ?? "";
  if (sealing.length < MIN_SECRET_CHARS) {
    problems.push(
      sealing === ""
        ? "KEY_ENCRYPTION_SECRET is not set"
        : `KEY_ENCRYPTION_SECRET is shorter than ${MIN_SECRET_CHARS} characters`,
    );
  }
  if (env.LOCAL_JURISDICTIONS !== undefined && env.LOCAL_JURISDICTIONS !== "" && env.LOCAL_JURISDICTIONS !== "ignore") {
    problems.push("LOCAL_JURISDICTIONS must be ignore (local development and tests only) or unset");
  }
  const loopback = env.WEBHOOKS_ALLOW_LOOPBACK ?? "";
  if (!["", "true", "false"].includes(loopback))
    problems.push("WEBHOOKS_ALLOW_LOOPBACK must be true (local development and tests only), false or unset");
  const publicUrl = env.PUBLIC_URL ? parsePublicUrl(env.PUBLIC_URL) : null;
  if (env.PUBLIC_URL && publicUrl === null)
    problems.push(
      "PUBLIC_URL must be an https origin, such as https://sessions.example.com (no path; http only for 127.0.0.1 or localhost)",
    );
  const adminKey = env.ADMIN_API_KEY ?? "";
  if (adminKey.length < MIN_SECRET_CHARS) {
    problems.push(
      adminKey === "" ? "ADMIN_API_KEY is not set" : `ADMIN_API_KEY is shorter than ${MIN_SECRET_CHARS} characters`,
    );
  }
  const config =
    signing.ok && isCookieName(cookieName)
      ? {
          signingKeys: signing.keys,
          cookieName,
          adminKey: adminKey.length >= MIN_SECRET_CHARS ? adminKey : null,
          sealing: sealing.length >= MIN_SECRET_CHARS,
          webhooksAllowLoopback: loopback === "true",
        }
      : null;
  return { config, problems, publicUrl };
}

// Configuration only, never request state: one report per environment object (the runtime
// hands every request of an isolate the same one; its values never change under it).
const reports = new WeakMap<Env, ConfigReport>();

export function configReport(env: Env): ConfigReport {
  let report = reports.get(env);
  if (!report) {
    report = checkConfig(env);
    reports.set(env, report);
  }
  return report;
}

function notConfigured(problems: string[]): Failure {
  const names = [...new Set(problems.map((problem) => problem.split(/[ :]/, 1)[0]))];
  return fail("not_configured", `the service is not configured: ${names.join(", ")} (see GET /health)`);
}

/** The configuration tokens need, or the 503 that says which variables are broken. */
export function loadConfig(env: Env): Result<{ config: Config }> {
  const report = configReport(env);
  return report.config ? ok({ config: report.config }) : notConfigured(report.problems);
}

/** The origin of a request to 127.0.0.1 or localhost (local development), else null. */
function loopbackOrigin(requestUrl: string | null): string | null {
  if (requestUrl === null) return null;
  const url = new URL(requestUrl);
  return url.hostname === "127.0.0.1" || url.hostname === "localhost" ? url.origin : null;
}

const PUBLIC_URL_UNSET = "PUBLIC_URL is not set (needed unless the service is reached at 127.0.0.1 or localhost)";
const PUBLIC_URL_NOT_CONFIGURED = fail("not_configured", "the service is not configured: PUBLIC_URL (see GET /health)");

/**
 * The configuration's problems as a request to `requestUrl` meets them: configReport's, and
 * PUBLIC_URL unset where no loopback origin can stand in for it.
 */
export function problemsAt(env: Env, requestUrl: string): string[] {
  const { problems } = configReport(env);
  return !env.PUBLIC_URL && loopbackOrigin(requestUrl) === null ? [...problems, PUBLIC_URL_UNSET] : problems;
}

/**
 * The deployment's public URL, which each tenant's issuer is made from: PUBLIC_URL; or, while
 * it is unset, the origin of a request made to 127.0.0.1 or localhost, so that in local
 * development the issuer follows the port the service listens on. Anything else (PUBLIC_URL
 * broken, a request to another host, no request at all: an alarm, RPC) is 503 not_configured:
 * beyond loopback, the Host is the caller's to choose, and the issuer would be too.
 */
export function publicUrlOf(env: Env, requestUrl: string | null): Result<{ publicUrl: string }> {
  const { publicUrl } = configReport(env);
  if (publicUrl !== null) return ok({ publicUrl });
  const local = env.PUBLIC_URL ? null : loopbackOrigin(requestUrl);
  return local !== null ? ok({ publicUrl: local }) : PUBLIC_URL_NOT_CONFIGURED;
}

/** The failure of a call that needs the JWT signing keys or a webhook secret while KEY_ENCRYPTION_SECRET is not configured. */
export const SEALING_NOT_CONFIGURED = fail(
  "not_configured",
  "the service is not configured: KEY_ENCRYPTION_SECRET (see GET /health)",
);

/** The failure of a call that needs the admin key while it is not configured. */
export const ADMIN_KEY_NOT_CONFIGURED = fail(
  "not_configured",
  "the service is not configured: ADMIN_API_KEY (see GET /health)",
);
