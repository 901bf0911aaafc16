// The one check of every place this package sends a browser: a path of the page's own site.
// Browsers drop tabs and newlines from a URL before reading it, so "/\t/evil.example" is
// "//evil.example", another host: control characters are refused outright, not cleaned.

/** Any origin serves: a path of the site resolves against it and keeps it. */
const SOME_ORIGIN = "https://example.invalid";

/**
 * Whether `value` is a path of this site: a single "/" first (not "//" nor "/\"), no ASCII
 * control character anywhere (tab, LF, CR, the other C0 controls, DEL), and resolving to no
 * other origin.
 */
export function isSitePath(value: string): boolean {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (!/^\/(?![/\\])/.test(value) || /[\u0000-\u001f\u007f]/.test(value)) return false;
  try {
    return new URL(value, SOME_ORIGIN).origin === SOME_ORIGIN;
  } catch {
    return false;
  }
}
