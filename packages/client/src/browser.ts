// The browser side of the live socket. Self-contained on purpose (no imports, nothing outside
// the function): `watchSessionScript` in index.ts inlines its source into a page.

export interface WatchSessionOptions {
  /** Where the page's Worker serves the socket (see proxyLiveSocket); default `/live`. */
  url?: string;
  /** Called once, when the session has ended: killed, rotated away, logged out, expired, or already dead. */
  onRevoked: (reason: string) => void;
  /** Told of each connection change, e.g. to show "connected". */
  onStatus?: (status: "connected" | "reconnecting" | "ended") => void;
  /**
   * When the page is already navigating away (a logout form was submitted), the revocation
   * may arrive before the logout's own response, whose `Set-Cookie` clears the cookie. Acting
   * on it then (navigating) would cancel that response and leave the dead cookie behind, so
   * the callback waits this long for the page to go; default 3000 ms.
   */
  unloadGraceMs?: number;
}

export interface SessionWatch {
  /** Closes the socket for good; no callback follows. */
  stop(): void;
}

/**
 * Opens the live revocation socket and keeps it open: reconnects after a drop, backing off
 * from 1 s up to 30 s with jitter; calls `onRevoked` once when the service says the session ended.
 */
export function watchSession(options: WatchSessionOptions): SessionWatch {
  // After these, reconnecting is pointless: the session ended, or this socket was replaced by a newer one (1008: too many for the session).
  const finalCodes = [4001, 1008];
  const page = globalThis as unknown as {
    location: { protocol: string; host: string };
    addEventListener(type: string, listener: () => void): void;
  };
  const path = options.url ?? "/live";
  const url = /^wss?:/.test(path) ? path : `${page.location.protocol === "https:" ? "wss:" : "ws:"}//${page.location.host}${path}`;
  let socket: WebSocket | null = null;
  let stopped = false;
  let revoked = false;
  let leavingSince: number | null = null;
  let delayMs = 1000;
  let retry: ReturnType<typeof setTimeout> | null = null;

  page.addEventListener("beforeunload", () => (leavingSince = Date.now()));
  page.addEventListener("pageshow", () => (leavingSince = null));

  function ended(reason: string): void {
    if (revoked || stopped) return;
    revoked = true;
    stop();
    options.onStatus?.("ended");
    // A navigation under way (often the logout that caused this) gets time to finish first.
    const wait = leavingSince === null ? 0 : (options.unloadGraceMs ?? 3000);
    setTimeout(() => options.onRevoked(reason), wait);
  }

  function connect(): void {
    const opened = new WebSocket(url);
    socket = opened;
    opened.addEventListener("open", () => {
      delayMs = 1000;
      options.onStatus?.("connected");
    });
    opened.addEventListener("message", (event) => {
      let message: { type?: unknown; reason?: unknown } = {};
      try {
        message = JSON.parse(String(event.data));
      } catch {
        return;
      }
      if (message.type === "revoked") ended(typeof message.reason === "string" ? message.reason : "revoked");
    });
    opened.addEventListener("close", (event) => lost(opened, event.code, event.reason));
    // A refused upgrade fires "error"; browsers follow it with "close", some runtimes do not.
    opened.addEventListener("error", () => lost(opened, 1006, ""));
  }

  function lost(which: WebSocket, code: number, reason: string): void {
    if (stopped || socket !== which) return;
    socket = null;
    if (code === 4001) return ended(reason || "revoked");
    if (finalCodes.includes(code)) return stop();
    options.onStatus?.("reconnecting");
    retry = setTimeout(connect, delayMs / 2 + Math.random() * (delayMs / 2));
    delayMs = Math.min(delayMs * 2, 30_000);
  }

  function stop(): void {
    stopped = true;
    if (retry !== null) clearTimeout(retry);
    socket?.close(1000);
    socket = null;
  }

  connect();
  return {
    stop() {
      stop();
    },
  };
}
