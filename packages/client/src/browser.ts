// The browser side of the live socket. Self-contained on purpose (no imports, nothing outside
// the function): `watchSessionScript` in watch-script.ts inlines its source into a page. Its
// helpers are methods of one object, never named inner functions: bundlers that keep function
// names (wrangler does) wrap those in a helper of their own, which the inlined copy would lack.

export interface WatchSessionOptions {
  /** Where the page's Worker serves the socket (see proxyLiveSocket): a path, or a ws(s)/http(s) URL; default `/live`. */
  url?: string;
  /** Called once, when the session has ended: killed, rotated away, logged out, expired, or already dead. */
  onRevoked: (reason: string) => void;
  /** Told of each connection change. `replaced`: a newer socket of the session took this one's place (too many open). */
  onStatus?: (status: "connected" | "reconnecting" | "ended" | "replaced") => void;
  /**
   * When the page is navigating away (a logout form was just submitted), the revocation may
   * arrive before the logout's own response, whose `Set-Cookie` clears the cookie. Acting on
   * it then (navigating) would cancel that response and leave the dead cookie behind, so the
   * callback waits this long for the page to go; default 3000 ms.
   */
  unloadGraceMs?: number;
}

export interface SessionWatch {
  /** Closes the socket for good; no callback follows, not even one already waiting. */
  stop(): void;
}

/**
 * Opens the live revocation socket and keeps it open: after a drop it reconnects in 0.5-1 s,
 * the wait doubling (with jitter) up to 30 s while attempts fail; calls `onRevoked` once when
 * the service says the session ended. Pings every 30 s so idle proxies keep the socket.
 */
export function watchSession(options: WatchSessionOptions): SessionWatch {
  const page = globalThis as unknown as {
    location: { protocol: string; host: string };
    addEventListener(type: string, listener: () => void): void;
    removeEventListener(type: string, listener: () => void): void;
  };
  const path = options.url ?? "/live";
  const secure = page.location.protocol === "https:";
  const url = /^(wss?|https?):/.test(path)
    ? path.replace(/^http/, "ws")
    : `${secure ? "wss:" : "ws:"}//${page.location.host}${path}`;
  const graceMs = options.unloadGraceMs ?? 3000;
  const state = {
    socket: null as WebSocket | null,
    done: false,
    delayMs: 1000,
    openedAt: 0,
    leavingAt: -Infinity,
    timers: new Set<ReturnType<typeof setTimeout>>(),
    ping: null as ReturnType<typeof setInterval> | null,
    onLeave() {
      state.leavingAt = Date.now();
    },
    onShow() {
      state.leavingAt = -Infinity;
    },
    later(ms: number, work: () => void) {
      const timer = setTimeout(() => {
        state.timers.delete(timer);
        work();
      }, ms);
      state.timers.add(timer);
    },
    connect() {
      const opened = new WebSocket(url);
      state.socket = opened;
      opened.addEventListener("open", () => {
        state.openedAt = Date.now();
        options.onStatus?.("connected");
      });
      opened.addEventListener("message", (event) => {
        let message: unknown = null;
        try {
          message = JSON.parse(String(event.data));
        } catch {
          return;
        }
        const { type, reason } = (message ?? {}) as { type?: unknown; reason?: unknown };
        if (type === "revoked") state.ended(typeof reason === "string" ? reason : "revoked");
      });
      opened.addEventListener("close", (event) => state.lost(opened, event.code, event.reason));
      // A refused upgrade fires "error"; browsers follow it with "close", some runtimes do not.
      opened.addEventListener("error", () => state.lost(opened, 1006, ""));
    },
    lost(which: WebSocket, code: number, reason: string) {
      if (state.done || state.socket !== which) return;
      state.socket = null;
      which.close();
      if (code === 4001) return state.ended(reason || "revoked");
      if (code === 1008) {
        state.shutDown();
        return options.onStatus?.("replaced");
      }
      // A socket that stayed up a while was a success: start the backoff over.
      if (state.openedAt > 0 && Date.now() - state.openedAt > 10_000) state.delayMs = 1000;
      state.openedAt = 0;
      options.onStatus?.("reconnecting");
      state.later(state.delayMs / 2 + Math.random() * (state.delayMs / 2), () => state.connect());
      state.delayMs = Math.min(state.delayMs * 2, 30_000);
    },
    ended(reason: string) {
      if (state.done) return;
      const leaving = Date.now() - state.leavingAt < graceMs;
      state.shutDown();
      options.onStatus?.("ended");
      // A navigation under way (often the logout that caused this) gets time to finish first.
      state.later(leaving ? graceMs : 0, () => options.onRevoked(reason));
    },
    shutDown() {
      state.done = true;
      if (state.ping !== null) clearInterval(state.ping);
      page.removeEventListener("beforeunload", state.onLeave);
      page.removeEventListener("pageshow", state.onShow);
      state.socket?.close(1000);
      state.socket = null;
    },
  };
  page.addEventListener("beforeunload", state.onLeave);
  page.addEventListener("pageshow", state.onShow);
  state.ping = setInterval(() => {
    if (state.socket?.readyState === 1) state.socket.send("ping");
  }, 30_000);
  state.connect();
  return {
    stop() {
      state.shutDown();
      for (const timer of state.timers) clearTimeout(timer);
      state.timers.clear();
    },
  };
}
