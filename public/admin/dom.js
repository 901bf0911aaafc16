// @ts-check
// Typed lookups of the page's elements by id. Every id looked up is in index.html; each helper
// says which kind of element it finds, so the type-check reads the page as the code uses it.

/** @param {string} id */
export const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @param {string} id */
export const $input = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));

/** @param {string} id */
export const $select = (id) => /** @type {HTMLSelectElement} */ (document.getElementById(id));

/** @param {string} id */
export const $button = (id) => /** @type {HTMLButtonElement} */ (document.getElementById(id));

/** @param {string} id */
export const $dialog = (id) => /** @type {HTMLDialogElement} */ (document.getElementById(id));

/** A form field of any kind: an input, a select or a text area. @param {string} id */
export const $field = (id) =>
  /** @type {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} */ (document.getElementById(id));

/** The body of a table: each table of the page has one. @param {string} id */
export const $tbody = (id) =>
  /** @type {HTMLTableSectionElement} */ (/** @type {HTMLTableElement} */ (document.getElementById(id)).tBodies[0]);
