// Server-rendered on Cloudflare Workers with Astro's own adapter.
import cloudflare from "@astrojs/cloudflare";
import { defineConfig } from "astro/config";

export default defineConfig({
  output: "server",
  adapter: cloudflare(),
  server: { host: "127.0.0.1" },
});
