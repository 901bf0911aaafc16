// The page's side of the live socket as a script a Worker can put in its HTML (or serve), for
// pages built without a bundler. A bundled page imports `@session-service/client/browser`.

import { watchSession } from "./browser.js";
import { isSitePath } from "./site-path.js";

export interface WatchSessionScriptOptions {
  /** Where the page's Worker serves the socket (see proxyLiveSocket); default `/live`. */
  url?: string;
  /**
   * Where to send the browser once its session has ended: a path of this site (`/login`).
   * Without it the page handles the event alone. Never put this script on the page it
   * redirects to: a page with no session hears "ended" at once.
   */
  redirectTo?: string;
}

/**
 * JavaScript that watches the page's session: when it ends, it dispatches `session-revoked`
 * on `window` (`event.detail.reason` says why), then goes to `redirectTo` if given. Each
 * change of the connection dispatches `session-status` (`event.detail.status`). Safe to
 * inline: the options are JSON with `<` escaped. It must reach the page as it is: in a
 * template that escapes what it is given, use its raw form (Hono: the `watchSessionScript` of
 * `@session-service/client/hono`; React: `dangerouslySetInnerHTML`; Astro: `set:html`;
 * Svelte: `{@html}`). Escaped, the script breaks, and live revocation with it.
 */
export function watchSessionScript(options: WatchSessionScriptOptions = {}): string {
  if (options.redirectTo !== undefined && !isSitePath(options.redirectTo)) {
    throw new TypeError("watchSessionScript: redirectTo must be a path of this site, like /login");
  }
  const settings = JSON.stringify({ url: options.url ?? "/live", redirectTo: options.redirectTo ?? null }).replaceAll(
    "<",
    "\\u003c",
  );
  return `(() => { const settings = ${settings};
  (${watchSession.toString()})({
    url: settings.url,
    onStatus(status) {
      window.dispatchEvent(new CustomEvent("session-status", { detail: { status } }));
    },
    onRevoked(reason) {
      window.dispatchEvent(new CustomEvent("session-revoked", { detail: { reason } }));
      if (settings.redirectTo !== null) location.assign(settings.redirectTo);
    },
  });
})();`;
}
