// GET /health: liveness for load balancers and humans. Touches no Durable Object. A broken
// configuration makes it 503 with one line per broken variable (named, never its value),
// PUBLIC_URL among them when it is unset and the request did not come to a loopback address.

import packageJson from "../../../package.json";
import { problemsAt } from "../../core/config";
import { jsonResponse, type Handler } from "../../core/http";

export const health: Handler = async (request, env) => {
  const problems = problemsAt(env, request.url);
  if (problems.length > 0) return jsonResponse(503, { ok: false, version: packageJson.version, problems });
  return jsonResponse(200, { ok: true, version: packageJson.version });
};
