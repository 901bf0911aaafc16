// @ts-check
// Cells of the console's tables. Everything shown is set as text, never as HTML, so session
// data cannot inject markup.

/** @import { Session } from "@session-service/client" */

import { parseUserAgent, relative, when } from "./format.js";

/**
 * @param {HTMLTableRowElement} row
 * @param {string | null | undefined} text shown as "—" when there is none
 * @param {string} [className]
 */
export function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text ?? "—";
  if (className) td.className = className;
  // The column's name, shown beside the value where a narrow screen stacks the cells.
  td.dataset.label = row.closest("table")?.tHead?.rows[0]?.cells[td.cellIndex]?.textContent ?? "";
  return td;
}

/**
 * A time cell: relative, the exact time on hover and to assistive technology.
 * @param {HTMLTableRowElement} row
 * @param {string} iso
 */
export function timeCell(row, iso) {
  const td = cell(row, "");
  const time = document.createElement("time");
  time.dateTime = iso;
  time.textContent = relative(iso);
  time.title = when(iso);
  td.append(time);
  return td;
}

/**
 * The user, and for an impersonation a badge naming who acts (the reason on hover).
 * @param {HTMLTableRowElement} row
 * @param {Session} session
 */
export function userCell(row, session) {
  const td = cell(row, session.userId);
  if (session.actor) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = `impersonated by ${session.actor.id}`;
    badge.title = session.actor.reason;
    td.append(badge);
  }
  return td;
}

/**
 * When and how the user last proved who they are: "5 minutes ago · aal2 · pwd, otp".
 * @param {HTMLTableRowElement} row
 * @param {Session} session
 */
export function signInCell(row, session) {
  const td = timeCell(row, session.authTime);
  td.append(` · ${session.acr}`, session.amr.length > 0 ? ` · ${session.amr.join(", ")}` : "");
  return td;
}

/**
 * Device binding: "bound · proved 2 minutes ago" (the exact times on hover), or "—".
 * @param {HTMLTableRowElement} row
 * @param {Session} session
 */
export function bindingCell(row, session) {
  if (!session.bound || !session.lastProofAt) return cell(row, null);
  const td = cell(row, "bound · proved ");
  const time = document.createElement("time");
  time.dateTime = session.lastProofAt;
  time.textContent = relative(session.lastProofAt);
  time.title = `${when(session.lastProofAt)} (bound ${session.boundAt ? when(session.boundAt) : "—"})`;
  td.append(time);
  return td;
}

/** @param {HTMLTableRowElement} row @param {string | null} ua */
export function userAgentCell(row, ua) {
  if (!ua) return cell(row, null, "ua");
  const { browser, os, device } = parseUserAgent(ua);
  const td = cell(row, "", "ua");
  const name = document.createElement("span");
  name.className = "ua-name";
  name.textContent = `${browser} on ${os} (${device})`;
  name.title = ua;
  td.append(name);
  return td;
}

/** @param {HTMLTableRowElement} row @param {HTMLButtonElement[]} buttons */
export function actionsCell(row, ...buttons) {
  const td = row.insertCell();
  td.className = "actions";
  td.append(...buttons);
  return td;
}

/**
 * @param {string} text
 * @param {string} label what the button does, for assistive technology
 * @param {() => unknown} onClick
 */
export function linkButton(text, label, onClick, neutral = false) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = neutral ? "link neutral" : "link";
  button.textContent = text;
  button.setAttribute("aria-label", label);
  button.addEventListener("click", onClick);
  return button;
}
