// @ts-check
// The settings editor. A refresh never overwrites a form being edited; saving sends only the
// fields that changed, and the service's refusal is shown next to the field it names.

/** @import { TenantSettings } from "@session-service/client" */

import { api, failure, tenantPath } from "./api.js";
import { $, $field } from "./dom.js";
import { hooks, state } from "./state.js";
import { busy, setStatus } from "./status.js";

/** @typedef {typeof SETTING_FIELDS[number]} SettingField */
/** @typedef {TenantSettings[SettingField]} SettingValue A setting as the service holds it. */

export const SETTING_FIELDS = /** @type {const} */ ([
  "idleTimeoutSeconds",
  "absoluteTimeoutSeconds",
  "touchIntervalSeconds",
  "maxSessionsPerUser",
  "undoWindowSeconds",
  "shards",
  "sameSite",
  "allowedOrigins",
  "deviceBinding",
  "boundCookieSeconds",
  "bindingGraceSeconds",
  "bindingViolation",
  "jwt",
]);

/** Settings chosen from a list: sent as the text chosen. */
const CHOICES = new Set(["sameSite", "deviceBinding", "bindingViolation"]);

/** @param {string | undefined} name @returns {name is SettingField} */
function isSettingField(name) {
  return SETTING_FIELDS.some((field) => field === name);
}

/**
 * A setting as the form shows it; also how two values are compared.
 * @param {SettingField} field
 * @param {SettingValue | string} value
 */
function settingShown(field, value) {
  // allowedOrigins is a list, whether the service's or the form's (settingValue).
  if (field === "allowedOrigins") return /** @type {string[]} */ (value).join("\n");
  // jwt is shown (and compared) as its audiences, one per line.
  if (field === "jwt") return value === null ? "" : /** @type {{ audiences: string[] }} */ (value).audiences.join("\n");
  return value === null ? "" : String(value);
}

/** @param {TenantSettings} settings */
export function fillSettings(settings) {
  if (state.settingsDirty) return;
  state.settingsShownFrom = settings;
  for (const field of SETTING_FIELDS) $field(`set-${field}`).value = settingShown(field, settings[field]);
  clearFieldErrors();
}

function clearFieldErrors() {
  for (const field of SETTING_FIELDS) {
    $(`err-${field}`).textContent = "";
    $field(`set-${field}`).removeAttribute("aria-invalid");
  }
}

/**
 * What the form says of one field, as the API takes it: a number when it reads as one, else the
 * text (the service says what is wrong).
 * @param {SettingField} field
 * @returns {SettingValue | string}
 */
function settingValue(field) {
  const text = $field(`set-${field}`).value.trim();
  if (field === "allowedOrigins") return text === "" ? [] : text.split(/\s+/);
  // JWT audiences: none is no JWTs; a JWT's lifetime stays as it is (or the service's default, 300 s).
  if (field === "jwt") {
    if (text === "") return null;
    return { audiences: text.split(/\s+/), ttlSeconds: state.settingsShownFrom?.jwt?.ttlSeconds ?? 300 };
  }
  if (CHOICES.has(field)) return text;
  if (field === "maxSessionsPerUser" && text === "") return null;
  return text !== "" && Number.isFinite(Number(text)) ? Number(text) : text;
}

/** Forgets the form: the next refresh fills it again (sign-out, another tenant). */
export function resetSettingsForm() {
  state.settingsDirty = false;
  state.settingsShownFrom = null;
}

function saveSettings() {
  const settings = state.settingsShownFrom;
  if (!settings) return;
  // A number field holding what is no number reads as empty: say so rather than send "no value".
  const unreadable = SETTING_FIELDS.find((field) => $field(`set-${field}`).validity?.badInput);
  if (unreadable) {
    clearFieldErrors();
    $(`err-${unreadable}`).textContent = "This is not a number.";
    $field(`set-${unreadable}`).setAttribute("aria-invalid", "true");
    $field(`set-${unreadable}`).focus();
    return setStatus("Not saved: see the field marked.");
  }
  /** @type {Record<string, SettingValue | string>} */
  const patch = {};
  for (const field of SETTING_FIELDS) {
    if (settingShown(field, settingValue(field) ?? null) !== settingShown(field, settings[field]))
      patch[field] = settingValue(field);
  }
  if (Object.keys(patch).length === 0) return setStatus("No setting changed.");
  clearFieldErrors();
  return busy("Saving settings", async () => {
    try {
      await api("PUT", tenantPath(), patch);
    } catch (caught) {
      const error = failure(caught);
      // A field within a setting (`jwt.audiences`) is shown at its setting.
      const field = error.field?.split(".")[0];
      if (error.status !== 400 || !isSettingField(field)) throw error;
      $(`err-${field}`).textContent = error.message;
      $field(`set-${field}`).setAttribute("aria-invalid", "true");
      $field(`set-${field}`).focus();
      return "Not saved: see the field marked.";
    }
    resetSettingsForm();
    await hooks.refresh();
    return `Saved ${Object.keys(patch).join(", ")}.`;
  });
}

export function wireSettings() {
  $("settings-form").addEventListener("input", () => (state.settingsDirty = true));
  $("settings-form").addEventListener("submit", (event) => {
    event.preventDefault();
    saveSettings();
  });
}
