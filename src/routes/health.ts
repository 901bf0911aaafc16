// GET /health: liveness for load balancers and humans. Touches no Durable Object. A broken
// configuration makes it 503 with one line per broken variable (named, never its value).

import packageJson from "../../package.json";
import { configReport } from "../config";
import { jsonResponse, type Handler } from "../http";

export const health: Handler = async (_request, env) => {
  const { problems } = configReport(env);
  if (problems.length > 0) return jsonResponse(503, { ok: false, version: packageJson.version, problems });
  return jsonResponse(200, { ok: true, version: packageJson.version });
};
