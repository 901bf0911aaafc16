// The Worker: React Router's server build behind its request handler. The built client assets
// are served by the platform (wrangler.jsonc `assets`) before this runs.
import { createRequestHandler } from "react-router";
// @ts-expect-error: made by `react-router build`, without types
import * as build from "../build/server/index.js";

const handleRequest = createRequestHandler(build, "production");

export default {
  fetch: (request) => handleRequest(request),
} satisfies ExportedHandler<Env>;
