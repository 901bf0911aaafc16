// The import rules of the tiers (docs/ARCHITECTURE.md): src/core is what both sides run and
// imports neither the Worker nor the objects; the objects never import the Worker; the console
// (public/admin, static modules) imports nothing of the service; no circles, type-only imports
// included (JSDoc ones too). `npm run check` runs it, and so does CI.
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: "no-circular",
      severity: "error",
      comment: "A circle of imports, type-only ones included: one of its modules belongs elsewhere.",
      from: { path: "^(src|durable-objects|packages/client/src|public/admin)/" },
      to: { circular: true },
    },
    {
      name: "core-stands-alone",
      severity: "error",
      comment: "src/core holds what both the Worker and the objects run: it imports neither.",
      from: { path: "^src/core/" },
      to: { path: "^(src/worker|durable-objects)/" },
    },
    {
      name: "objects-never-import-the-worker",
      severity: "error",
      comment: "A Durable Object is reached by the Worker, never the other way round.",
      from: { path: "^durable-objects/" },
      to: { path: "^src/worker/" },
    },
    {
      name: "client-package-stands-alone",
      severity: "error",
      comment: "The client package is published on its own: it imports nothing of the service.",
      from: { path: "^packages/client/src/" },
      to: { path: "^(src|durable-objects)/" },
    },
    {
      name: "console-stands-alone",
      severity: "error",
      comment:
        "The console is static files the browser loads as they are: it imports nothing of the service " +
        "(types from the client package are fine).",
      from: { path: "^public/admin/" },
      to: { path: "^(src|durable-objects)/" },
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    // The console's types are JSDoc imports (`@import`, `import("…")`): the rules see them too.
    detectJSDocImports: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^(test|e2e|bench|examples)/" },
  },
};
