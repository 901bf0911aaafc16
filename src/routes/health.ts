// GET /health: liveness for load balancers and humans. Touches no Durable Object.

import packageJson from "../../package.json";
import { jsonResponse } from "../errors";
import type { Handler } from "../http";

export const health: Handler = async () => jsonResponse(200, { ok: true, version: packageJson.version });
