// The session plumbing of this app: where the binding is, and the tenant.
import { getCloudflareContext } from "@opennextjs/cloudflare";

export const sessionOptions = {
  sessions: () => getCloudflareContext().env.SESSIONS,
  tenant: "demo",
};
