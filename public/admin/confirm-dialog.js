// @ts-check
// The dialog for what cannot be taken back lightly: its confirm button works only once a
// phrase (the tenant's name, say) is typed exactly.

import { $, $button, $dialog, $input } from "./dom.js";

/**
 * A dialog for what cannot be taken back lightly: `opener` opens it (after `prepare`), its
 * confirm button works only once `phrase()` is typed exactly, and then runs `act`. Its parts
 * are the elements `${prefix}input`, `${prefix}ok`, `${prefix}cancel` and `${prefix}form`.
 * @param {string} opener
 * @param {string} dialogId
 * @param {string} prefix
 * @param {() => string | null} phrase
 * @param {() => unknown} act
 * @param {() => void} [prepare]
 */
export function wireTypedConfirmation(opener, dialogId, prefix, phrase, act, prepare = () => {}) {
  const dialog = $dialog(dialogId);
  const input = $input(`${prefix}input`);
  const ok = $button(`${prefix}ok`);
  $(opener).addEventListener("click", () => {
    prepare();
    input.value = "";
    ok.disabled = true;
    dialog.showModal();
  });
  input.addEventListener("input", () => {
    ok.disabled = input.value !== phrase();
  });
  $(`${prefix}cancel`).addEventListener("click", () => dialog.close("cancel"));
  $(`${prefix}form`).addEventListener("submit", () => {
    if (input.value === phrase()) act();
  });
}
