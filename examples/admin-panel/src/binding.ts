// Device binding on the panel: where it answers registration and refresh (answerBinding), what
// a bound session does not cover, and the headers of a sign-in (the session cookie, and the
// registration header when the tenant offers binding).

import type { DeviceBindingOptions, IssuedSession } from "@session-service/client";

export const BINDING: DeviceBindingOptions = { path: "/session-binding", exclude: ["/login", "/favicon.ico"] };

export function signedIn(created: IssuedSession): Record<string, string> {
  return {
    "Set-Cookie": created.setCookie,
    ...(created.registration && { "Secure-Session-Registration": created.registration }),
  };
}
