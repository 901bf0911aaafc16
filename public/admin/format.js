// @ts-check
// Words for what the API answers: times (exact, or relative to now), durations, and the
// browser, system and device a User-Agent string names.

/** @param {string} iso */
export function when(iso) {
  return new Date(iso).toLocaleString();
}

const RELATIVE = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
/** @type {[Intl.RelativeTimeFormatUnit, number][]} */
const UNITS = [
  ["year", 31_536_000],
  ["month", 2_592_000],
  ["week", 604_800],
  ["day", 86_400],
  ["hour", 3600],
  ["minute", 60],
  ["second", 1],
];

/** "3 minutes ago", "in 25 minutes": the largest unit that fits. @param {string} iso */
export function relative(iso) {
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  const [unit, size] = UNITS.find(([, size]) => Math.abs(seconds) >= size) ?? ["second", 1];
  return RELATIVE.format(Math.round(seconds / size), unit);
}

/** @typedef {[RegExp, string][]} Patterns Names, each with the pattern that tells it, first match wins. */

/**
 * A browser, its system and the kind of device, from a User-Agent string; "unknown" parts when it does not say.
 * @param {string} ua
 */
export function parseUserAgent(ua) {
  const browser =
    /** @type {Patterns} */ ([
      [/Edg(?:e|A|iOS)?\//, "Edge"],
      [/OPR\/|Opera/, "Opera"],
      [/Firefox\/|FxiOS\//, "Firefox"],
      [/Chrome\/|CriOS\//, "Chrome"],
      [/Safari\//, "Safari"],
      [/^curl\//, "curl"],
    ]).find(([pattern]) => pattern.test(ua))?.[1] ?? "unknown browser";
  const os =
    /** @type {Patterns} */ ([
      [/Windows/, "Windows"],
      [/iPhone|iPad|iPod/, "iOS"],
      [/Android/, "Android"],
      [/CrOS/, "ChromeOS"],
      [/Mac OS X|Macintosh/, "macOS"],
      [/Linux/, "Linux"],
    ]).find(([pattern]) => pattern.test(ua))?.[1] ?? "unknown system";
  const device = /bot|crawler|spider/i.test(ua)
    ? "bot"
    : /iPad|Tablet/.test(ua) || (/Android/.test(ua) && !/Mobile/.test(ua))
      ? "tablet"
      : /Mobi|iPhone/.test(ua)
        ? "phone"
        : "desktop";
  return { browser, os, device };
}

/** A number of seconds in the largest unit that divides it: "30 min", "7 d". @param {number} seconds */
export function duration(seconds) {
  if (seconds % 86400 === 0) return `${seconds / 86400} d`;
  if (seconds % 3600 === 0) return `${seconds / 3600} h`;
  if (seconds % 60 === 0) return `${seconds / 60} min`;
  return `${seconds} s`;
}
