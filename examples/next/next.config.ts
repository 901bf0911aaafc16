import { initOpenNextCloudflareForDev } from "@opennextjs/cloudflare";
import type { NextConfig } from "next";

const config: NextConfig = {};
export default config;

// `next dev` with the Worker's bindings (the service binding among them).
initOpenNextCloudflareForDev();
