// The panel's two pages. The dashboard holds a hidden login form too: when the live socket
// says the session ended, the page swaps to it in place, without a reload.

import { watchSessionScript } from "@session-service/client";

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1d2433; }
  main { max-width: 36rem; margin: 4rem auto; background: #fff; padding: 2rem; border-radius: 8px; box-shadow: 0 1px 4px #0002; }
  h1 { margin-top: 0; font-size: 1.5rem; }
  label { display: block; margin: 1rem 0 .25rem; font-weight: 600; }
  input { width: 100%; box-sizing: border-box; padding: .5rem; font: inherit; border: 1px solid #aab; border-radius: 4px; }
  button { margin-top: 1rem; padding: .5rem 1rem; font: inherit; border: 0; border-radius: 4px; background: #2457d6; color: #fff; cursor: pointer; }
  button.secondary { background: #e3e7ef; color: #1d2433; }
  .error { color: #a51c1c; }
  .notice { background: #fff4d6; padding: .5rem .75rem; border-radius: 4px; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
  dt { font-weight: 600; }
  [hidden] { display: none !important; }
`;

function loginForm(message: string | null, withProvider = false): string {
  return `
  <section id="login" aria-labelledby="login-title">
    <h1 id="login-title">Sign in</h1>
    <p id="login-message" class="${message ? "notice" : ""}" role="status">${message ? escapeHtml(message) : ""}</p>
    <form method="post" action="/login">
      <label for="username">Username</label>
      <input id="username" name="username" autocomplete="username" required>
      <label for="password">Password</label>
      <input id="password" name="password" type="password" autocomplete="current-password" required>
      <button type="submit">Sign in</button>
    </form>
    ${withProvider ? '<p><a id="login-oidc" href="/login/oidc">Sign in with your identity provider</a></p>' : ""}
  </section>`;
}

function page(title: string, body: string, script = ""): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head>
<body><main>${body}</main>${script}</body></html>`;
}

export function loginPage(message: string | null, withProvider = false): string {
  return page("Sign in — Admin panel", loginForm(message, withProvider));
}

export interface DashboardSession {
  userId: string;
  id: string;
  createdAt: string;
  expiresAt: string;
}

export function dashboardPage(session: DashboardSession, withProvider = false): string {
  const body = `
  <section id="dashboard" aria-labelledby="dashboard-title">
    <h1 id="dashboard-title">Dashboard</h1>
    <p>Signed in as <strong id="user">${escapeHtml(session.userId)}</strong>.</p>
    <dl>
      <dt>Session</dt><dd><code>${escapeHtml(session.id)}</code></dd>
      <dt>Signed in at</dt><dd>${escapeHtml(session.createdAt)}</dd>
      <dt>Expires at</dt><dd>${escapeHtml(session.expiresAt)}</dd>
      <dt>Live revocation</dt><dd id="live-status">connecting…</dd>
    </dl>
    <p><a href="/account/password">Change password</a></p>
    <form method="post" action="/logout"><button type="submit" class="secondary">Log out</button></form>
    <form method="post" action="/logout-everywhere"><button type="submit">Log out everywhere</button></form>
  </section>
  <div hidden id="login-wrapper">${loginForm("Your session has ended. Please sign in again.", withProvider)}</div>`;
  // The socket is the whole point: the session service tells us the moment this session ends.
  const script = `<script type="module">
    ${watchSessionScript()}
    const status = document.getElementById("live-status");
    addEventListener("session-status", (event) => { status.textContent = event.detail.status; });
    addEventListener("session-revoked", (event) => {
      document.getElementById("dashboard").hidden = true;
      document.getElementById("login-wrapper").hidden = false;
      document.title = "Sign in — Admin panel";
      document.getElementById("login-message").textContent = "Your session has ended (" + event.detail.reason + "). Please sign in again.";
      document.getElementById("username").focus();
    });
  </script>`;
  return page("Dashboard — Admin panel", body, script);
}

/** Reached only with a recent sign-in (see PASSWORD_CHANGE_MAX_AUTH_AGE_SECONDS). A demo: nothing is changed. */
export function passwordPage(userId: string): string {
  return page(
    "Change password — Admin panel",
    `
  <section id="password" aria-labelledby="password-title">
    <h1 id="password-title">Change password</h1>
    <p>Signed in recently as <strong>${escapeHtml(userId)}</strong>: you may change your password here.</p>
    <p><a href="/">Back to the dashboard</a></p>
  </section>`,
  );
}

/** "Confirm it is you": the password again, then back to `returnTo` (a path of this app). */
export function stepUpPage(userId: string, returnTo: string, message: string | null): string {
  return page(
    "Confirm it is you — Admin panel",
    `
  <section id="step-up" aria-labelledby="step-up-title">
    <h1 id="step-up-title">Confirm it is you</h1>
    <p id="step-up-message" class="${message ? "error" : ""}" role="status">${
      message ? escapeHtml(message) : `This needs a recent sign-in. Enter the password of ${escapeHtml(userId)} again.`
    }</p>
    <form method="post" action="/step-up">
      <input type="hidden" name="return_to" value="${escapeHtml(returnTo)}">
      <label for="step-up-password">Password</label>
      <input id="step-up-password" name="password" type="password" autocomplete="current-password" required>
      <button type="submit">Confirm</button>
    </form>
  </section>`,
  );
}
