// The Worker: OpenNext's, but the live socket is answered here first (Next's route handlers
// cannot hand back a WebSocket).
import { proxyLiveSocket } from "@session-service/client";
// @ts-expect-error: made by `opennextjs-cloudflare build`, untyped JavaScript (or missing until then)
import nextWorker from "./.open-next/worker.js";

export default {
  fetch(request: Request, env: CloudflareEnv, ctx: unknown): Promise<Response> {
    if (new URL(request.url).pathname === "/live") return proxyLiveSocket(request, env.SESSIONS, env.TENANT);
    return nextWorker.fetch(request, env, ctx);
  },
};
