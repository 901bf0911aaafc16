// @ts-check
// Identity providers: listed with their keys, stream and receivers' URLs; registered or
// replaced (by discovery, or a key set URL) and removed. Their signals end sessions at once.

/** @import { IdentityProvider } from "@session-service/client" */

import { api, tenantPath } from "./api.js";
import { $, $input, $tbody } from "./dom.js";
import { when } from "./format.js";
import { state } from "./state.js";
import { busy, setStatus } from "./status.js";
import { actionsCell, cell, linkButton } from "./table.js";

/** @param {IdentityProvider} provider */
function deliveryOf(provider) {
  if (provider.poll)
    return provider.poll.failure
      ? `poll every ${provider.poll.intervalSeconds} s: ${provider.poll.failure}`
      : `poll every ${provider.poll.intervalSeconds} s`;
  return provider.streamId ? `push (stream ${provider.streamId})` : "push";
}

export async function loadIdentityProviders() {
  const asked = state.generation;
  const { identityProviders } = /** @type {{ identityProviders: IdentityProvider[] }} */ (
    await api("GET", tenantPath("/identity-providers"))
  );
  if (asked !== state.generation) return;
  const body = $tbody("identity-providers");
  body.replaceChildren();
  for (const provider of identityProviders) {
    const row = body.insertRow();
    row.dataset.providerId = provider.id;
    cell(row, provider.id);
    cell(row, provider.issuer, "mono");
    cell(row, provider.audience, "mono");
    cell(
      row,
      provider.keys.fetchedAt ? `${provider.keys.count}, fetched ${when(provider.keys.fetchedAt)}` : "not fetched yet",
    );
    cell(row, deliveryOf(provider), provider.poll?.failure ? "error" : "");
    cell(row, provider.endpoints.backchannelLogout, "mono");
    actionsCell(
      row,
      linkButton("Edit", `Edit identity provider ${provider.id}`, () => edit(provider), true),
      linkButton("Remove", `Remove identity provider ${provider.id}`, () => removeProvider(provider)),
    );
  }
  $("identity-providers-empty").hidden = identityProviders.length > 0;
  $("identity-providers").hidden = identityProviders.length === 0;
}

/** @param {IdentityProvider} provider */
function edit(provider) {
  $input("idp-id").value = provider.id;
  $input("idp-issuer").value = provider.issuer;
  $input("idp-audience").value = provider.audience;
  $input("idp-jwks").value = provider.jwksUri;
  $input("idp-issuer").focus();
  setStatus(`Editing ${provider.id}: save to replace it.`);
}

function saveProvider() {
  const id = $input("idp-id").value.trim();
  return busy("Saving the identity provider", async () => {
    const jwksUri = $input("idp-jwks").value.trim();
    const { identityProvider, created } = /** @type {{ identityProvider: IdentityProvider, created: boolean }} */ (
      await api("PUT", tenantPath(`/identity-providers/${encodeURIComponent(id)}`), {
        issuer: $input("idp-issuer").value.trim(),
        audience: $input("idp-audience").value.trim(),
        ...(jwksUri !== "" && { jwksUri }),
      })
    );
    for (const field of ["idp-id", "idp-issuer", "idp-audience", "idp-jwks"]) $input(field).value = "";
    await loadIdentityProviders();
    return `${created ? "Registered" : "Replaced"} ${identityProvider.id}: give it ${identityProvider.endpoints.backchannelLogout}`;
  });
}

/** @param {IdentityProvider} provider */
function removeProvider(provider) {
  if (!confirm(`Remove the identity provider ${provider.id}? Its signals are refused from now on.`)) return;
  return busy("Removing the identity provider", async () => {
    await api("DELETE", tenantPath(`/identity-providers/${encodeURIComponent(provider.id)}`));
    await loadIdentityProviders();
    return `Removed ${provider.id}.`;
  });
}

export function wireIdentityProviders() {
  $("idp-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveProvider();
  });
}
