// React Router's own build, for workerd: the server bundle is imported by workers/app.ts, which
// wrangler serves and deploys. `cloudflare:*` modules are the runtime's.
import { reactRouter } from "@react-router/dev/vite";
import { defineConfig } from "vite";

export default defineConfig({
  plugins: [reactRouter()],
  ssr: {
    target: "webworker",
    noExternal: true,
    resolve: { conditions: ["workerd", "worker", "browser"], externalConditions: ["workerd", "worker"] },
  },
  build: { rollupOptions: { external: [/^cloudflare:/] } },
});
