import { index, type RouteConfig, route } from "@react-router/dev/routes";

export default [
  index("routes/home.tsx"),
  route("login", "routes/login.tsx"),
  route("logout", "routes/logout.tsx"),
  route("logout-others", "routes/logout-others.tsx"),
  route("live", "routes/live.ts"),
] satisfies RouteConfig;
