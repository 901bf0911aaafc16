// What a consumer installs: `npm pack` of @session-service/client holds the built modules and
// their types, the package's README and LICENSE, and nothing of the service.

import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { test } from "node:test";

const MODULES = [
  "astro",
  "binding",
  "browser",
  "cookie",
  "credential",
  "cross-origin",
  "errors",
  "events",
  "hono",
  "identity",
  "index",
  "live",
  "middleware",
  "next",
  "react-router",
  "session",
  "site-path",
  "step-up",
  "sveltekit",
  "tenant",
  "types",
  "watch-script",
];

test("npm pack of the client package contains exactly what a consumer needs", () => {
  const output = execFileSync("npm", ["pack", "--dry-run", "--json", "--workspace=@session-service/client"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "ignore"],
  });
  const [packed] = JSON.parse(output);
  const files = packed.files.map((file) => file.path).sort();
  const expected = [
    "LICENSE",
    "README.md",
    "package.json",
    ...MODULES.flatMap((name) => [`dist/${name}.d.ts`, `dist/${name}.js`]),
  ].sort();
  assert.deepEqual(files, expected);
});
