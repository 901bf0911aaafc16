// `npm run kill-race -- [--url http://127.0.0.1:8787] [--key <admin key>]`: runs the revocation
// race (test/support/kill-race.ts) against a running service, such as `npm start`, and
// prints its report. Exits non-zero if any validate sent after the kill's answer succeeded.

import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { killRace } from "../test/support/kill-race.ts";

const { values } = parseArgs({
  options: { url: { type: "string", default: "http://127.0.0.1:8787" }, key: { type: "string" } },
});
const adminKey =
  values.key ?? /^ADMIN_API_KEY=(.*)$/m.exec(readFileSync(new URL("../.dev.vars", import.meta.url), "utf8"))?.[1];
if (!adminKey) throw new Error("no admin key: pass --key or run `npm start` once to make .dev.vars");

const tenant = `race-${Date.now().toString(36)}`;
const report = await killRace((path, init) => fetch(`${values.url}${path}`, init), {
  tenant,
  adminKey,
  validates: 600,
  afterKill: 200,
});
console.log(JSON.stringify({ url: values.url, tenant, ...report }, null, 2));
if (report.sentAfterKillAnswered.ok > 0 || report.revoked !== report.sessions) process.exitCode = 1;
