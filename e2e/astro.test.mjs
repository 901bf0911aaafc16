// The Astro example (examples/astro) in Chromium: see frameworks.mjs. Astro's adapter writes
// the Worker's wrangler config beside its build.
import { frameworkSuite } from "./frameworks.mjs";

frameworkSuite("astro", "examples/astro/dist/server/wrangler.json");
