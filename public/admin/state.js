// @ts-check
// The console's mutable state, all of it in one place: what the views read and change from one
// event to the next. Also the hooks through which a view reaches what is owned above it.

/** @import { TenantActivity, TenantSettings, TenantView } from "@session-service/client" */

/** Rows asked for per page of sessions and of the audit log. */
export const PAGE_SIZE = 50;

export const state = {
  /** Where the next page of sessions starts; null when the last one is shown. @type {string | null} */
  sessionsCursor: null,
  /** Where the next page of the audit log starts; null when the last one is shown. @type {string | null} */
  eventsCursor: null,
  userFilter: "",
  sessionSearch: "",
  /** Whether the user filter is an exact id or a prefix of ids. @type {"is" | "prefix"} */
  userMatch: "is",
  /** Whether only impersonations are listed. */
  impersonatedOnly: false,
  /** The open tenant as last read (settings included), or null when it does not exist. @type {TenantView | null} */
  currentTenant: null,
  /** Bumped by every refresh: an answer to an earlier one (another tenant, perhaps) is dropped, never shown. */
  generation: 0,
  /** The latest action started: the status line says how it went, not an earlier one that ended later. */
  latestAction: 0,
  /** Actions under way (`busy`): the auto-refresh waits for none. */
  working: 0,
  /** Whether the settings form was edited since it was filled: a refresh leaves it alone. */
  settingsDirty: false,
  /**
   * The settings the form was filled from: a save sends what differs from these, not from a later refresh.
   * @type {TenantSettings | null}
   */
  settingsShownFrom: null,
  /** The activity chart's window. @type {TenantActivity["window"]} */
  activityWindow: "24h",
  /**
   * Kills the audit log says were undone: the log is newest first, so an undo is read before its kill.
   * @type {Set<string | undefined>}
   */
  undoneKills: new Set(),
  /** Hides the "Undo" bar once the undo window has passed. @type {ReturnType<typeof setTimeout> | undefined} */
  undoTimer: undefined,
};

/**
 * What a view calls that is owned above it; main.js fills these in before anything runs. The
 * owners import the views (the refresh reads every view; sign-out uses the error line that
 * every view uses), so a view importing them back would make a circle of imports.
 */
export const hooks = {
  /** Reads the open tenant again (refresh.js). @type {(options?: { chart?: boolean }) => Promise<void>} */
  refresh: () => notWired("refresh"),
  /** Forgets the key and shows the sign-in form (sign-in.js). @type {(message?: string) => void} */
  signOut: () => notWired("signOut"),
};

/** @param {string} name @returns {never} */
function notWired(name) {
  throw new Error(`hooks.${name} was called before main.js set it`);
}
