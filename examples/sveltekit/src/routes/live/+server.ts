import { proxyLiveSocket } from "@session-service/client";
import type { RequestHandler } from "./$types";

// The live revocation socket, on this app's origin.
export const GET: RequestHandler = ({ request, platform }) => {
  return proxyLiveSocket(request, platform!.env.SESSIONS, platform!.env.TENANT);
};
