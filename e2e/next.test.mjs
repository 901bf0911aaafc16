// The Next.js example (examples/next, built by OpenNext) in Chromium: see frameworks.mjs.
import { frameworkSuite } from "./frameworks.mjs";

frameworkSuite("next", "examples/next/wrangler.jsonc");
