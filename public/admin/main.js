// @ts-check
// The admin console: a thin page over the HTTP API. The key lives in sessionStorage (this tab
// only; never a cookie, never localStorage) and goes out as a bearer header to this origin.
// Everything shown is set as text, never as HTML, so session data cannot inject markup.
// This entry fills the hooks of state.js, wires every view, and opens the tenant kept, if any.

import { wireActivity } from "./activity.js";
import { wireAuditLog } from "./audit-log.js";
import { wireKeys } from "./keys.js";
import { wireKills } from "./kills.js";
import { loadPlatform, wirePlatform } from "./platform.js";
import { refresh, wireRefresh } from "./refresh.js";
import { wireSessions } from "./sessions.js";
import { wireSettings } from "./settings.js";
import { credentials, isPlatformAdmin, keepTenant } from "./api.js";
import { loadTenantSwitcher, showSignedIn, signOut, switchTenant, wireSignIn } from "./sign-in.js";
import { hooks } from "./state.js";
import { busy } from "./status.js";
import { wireTenant } from "./tenant.js";
import { wireTokenKeys } from "./token-keys.js";
import { wireWebhooks } from "./webhooks.js";
import { wireIdentityProviders } from "./identity-providers.js";
import { route, wireViews } from "./views.js";

// The views reach these through the hooks: importing them would make a circle (see state.js).
hooks.refresh = refresh;
hooks.signOut = signOut;

wireSignIn();
wireRefresh();
wireSessions();
wireKills();
wireSettings();
wireKeys();
wireActivity();
wirePlatform();
wireWebhooks();
wireIdentityProviders();
wireAuditLog();
wireTenant();
wireTokenKeys();

wireViews(switchTenant);

// A tenant's address (a bookmark) opened by the platform admin opens that tenant.
const asked = route();
if (asked.view !== "platform" && asked.tenant && credentials().key && isPlatformAdmin()) keepTenant(asked.tenant);
if (showSignedIn())
  busy("Loading", async () => void (await Promise.all([refresh(), loadTenantSwitcher(), loadPlatform()])));
