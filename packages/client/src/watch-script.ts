// The page's side of the live socket as a script a Worker can put in its HTML (or serve), for
// pages built without a bundler. A bundled page imports `@session-service/client/browser`.

import { watchSession } from "./browser.js";

export interface WatchSessionScriptOptions {
  /** Where the page's Worker serves the socket (see proxyLiveSocket); default `/live`. */
  url?: string;
  /** Where to send the browser once its session has ended; without it the page handles the event alone. */
  redirectTo?: string;
}

/**
 * JavaScript that watches the page's session: when it ends, it dispatches `session-revoked`
 * on `window` (`event.detail.reason` says why), then goes to `redirectTo` if given. Each
 * change of the connection dispatches `session-status` (`event.detail.status`). Safe to
 * inline: the options are JSON with `<` escaped.
 */
export function watchSessionScript(options: WatchSessionScriptOptions = {}): string {
  const settings = JSON.stringify({ url: options.url ?? "/live", redirectTo: options.redirectTo ?? null }).replaceAll("<", "\\u003c");
  // `__name`: bundlers that keep function names (wrangler does) wrap inner functions in it.
  return `(() => { const __name = (f) => f; const settings = ${settings};
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
