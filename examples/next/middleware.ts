import { originMiddleware } from "@session-service/client/next";

export const middleware = originMiddleware();
