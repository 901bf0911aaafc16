// The Worker: HTTP through the router, RPC through SessionService, state in SessionStore.

import { handle } from "./router";

export { SessionStore } from "../durable-objects/session-store";
export { TenantDirectory } from "../durable-objects/tenant-directory";
export { SessionService } from "./rpc";

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    return handle(request, env);
  },
} satisfies ExportedHandler<Env>;
