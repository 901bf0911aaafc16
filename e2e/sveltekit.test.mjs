// The SvelteKit example (examples/sveltekit) in Chromium: see frameworks.mjs.
import { frameworkSuite } from "./frameworks.mjs";

frameworkSuite("sveltekit", "examples/sveltekit/wrangler.jsonc");
