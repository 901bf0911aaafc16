import { defineCloudflareConfig } from "@opennextjs/cloudflare";

// `next build` itself: the package's `build` script is this build, which would run itself.
export default { ...defineCloudflareConfig({}), buildCommand: "npx next build" };
