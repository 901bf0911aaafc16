// Device Bound Session Credentials on the service's own API, for apps that route these paths of
// their site to the service: POST /v1/session/binding (registration) and
// POST /v1/session/binding/refresh. The answer is the client package's, as the middleware's is.

import { bindingHeaders, bindingResponse, sessionCredential } from "@session-service/client";
import { loadConfig } from "../../core/config";
import { errorResponse, type Handler } from "../../core/http";
import * as service from "../operations";
import { BINDING_PATH } from "../operations/doors";

const REFRESH_PATH = `${BINDING_PATH}/refresh`;

export const register: Handler = async (request, env) => {
  const config = loadConfig(env);
  if (!config.ok) return errorResponse(config.error);
  const { cookieName } = config.config;
  const { token } = sessionCredential(request, cookieName);
  const bound = await service.registerBinding(env, service.ANY_TENANT, token, bindingHeaders(request));
  return bindingResponse(request, bound, { cookieName, refreshPath: REFRESH_PATH });
};

export const refresh: Handler = async (request, env) => {
  const config = loadConfig(env);
  if (!config.ok) return errorResponse(config.error);
  const { cookieName } = config.config;
  const { token } = sessionCredential(request, cookieName);
  const refreshed = await service.refreshBinding(env, service.ANY_TENANT, token, bindingHeaders(request));
  return bindingResponse(request, refreshed, { cookieName, refreshPath: REFRESH_PATH });
};
