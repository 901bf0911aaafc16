// The React Router example (examples/react-router) in Chromium: see frameworks.mjs.
import { frameworkSuite } from "./frameworks.mjs";

frameworkSuite("react-router", "examples/react-router/wrangler.jsonc");
