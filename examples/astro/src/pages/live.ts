import { proxyLiveSocket } from "@session-service/client";
import type { APIRoute } from "astro";
import { env } from "cloudflare:workers";

// The live revocation socket, on this app's origin.
export const GET: APIRoute = ({ request }) => proxyLiveSocket(request, env.SESSIONS, env.TENANT);
