import { proxyLiveSocket } from "@session-service/client";
import { env } from "cloudflare:workers";
import type { Route } from "./+types/live";

// The live revocation socket, on this app's origin.
export function loader({ request }: Route.LoaderArgs) {
  return proxyLiveSocket(request, env.SESSIONS, env.TENANT);
}
