// The Worker: HTTP through the router, RPC through SessionService, sessions in SessionStores,
// the tenants' registry in the TenantDirectory, JWT signing keys in the KeyRing.

import { handle } from "./router";

export { KeyRing } from "../../durable-objects/key-ring/key-ring";
export { SessionStore } from "../../durable-objects/session-store/session-store";
export { TenantDirectory } from "../../durable-objects/tenant-directory/tenant-directory";
export { SessionService } from "./rpc";

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    return handle(request, env);
  },
} satisfies ExportedHandler<Env>;
