// @ts-check
// The activity chart: created and ended as bars per bucket, live as a line, on one axis. Inline
// SVG made with DOM calls (never markup from data); colors come from the stylesheet, so both
// color schemes read.

/** @import { TenantActivity } from "@session-service/client" */

import { api, tenantPath } from "./api.js";
import { $ } from "./dom.js";
import { state } from "./state.js";
import { busy } from "./status.js";

const SVG = "http://www.w3.org/2000/svg";

/**
 * @param {string} name
 * @param {Record<string, string | number>} attributes
 * @param {string} [text]
 */
function svg(name, attributes, text) {
  const element = document.createElementNS(SVG, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

export async function loadActivity() {
  const asked = state.generation;
  const shown = state.activityWindow;
  const { activity } = /** @type {{ activity: TenantActivity }} */ (
    await api("GET", tenantPath(`/activity?window=${shown}`))
  );
  if (asked !== state.generation || shown !== state.activityWindow) return;
  const buckets = activity.buckets;
  const created = buckets.reduce((sum, bucket) => sum + bucket.created, 0);
  const ended = buckets.reduce((sum, bucket) => sum + bucket.ended, 0);
  const span = shown === "24h" ? "24 hours" : "7 days";
  const summary = `In the last ${span}: ${created} created, ${ended} ended; ${activity.live} live now.`;
  $("activity-summary").textContent = summary;
  const [width, height, left, bottom, top] = [720, 180, 40, 22, 8];
  const max = Math.max(1, ...buckets.flatMap((bucket) => [bucket.created, bucket.ended, bucket.live]));
  const y = (/** @type {number} */ value) => top + (height - top - bottom) * (1 - value / max);
  const slot = (width - left) / buckets.length;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": summary });
  chart.append(
    svg("line", { class: "axis", x1: left, x2: width, y1: y(0), y2: y(0) }),
    svg("line", { class: "axis", x1: left, x2: width, y1: y(max), y2: y(max) }),
  );
  chart.append(
    svg("text", { x: left - 6, y: y(max) + 4, "text-anchor": "end" }, String(max)),
    svg("text", { x: left - 6, y: y(0) + 4, "text-anchor": "end" }, "0"),
  );
  /** @type {string[]} */
  const points = [];
  buckets.forEach((bucket, index) => {
    const x = left + index * slot;
    const bar = Math.max(1, slot / 2 - 2);
    for (const [kind, value, offset] of /** @type {[string, number, number][]} */ ([
      ["created", bucket.created, 1],
      ["ended", bucket.ended, 1 + bar],
    ])) {
      if (value === 0) continue;
      const rect = svg("rect", { class: kind, x: x + offset, y: y(value), width: bar, height: y(0) - y(value) });
      rect.append(svg("title", {}, `${new Date(bucket.start).toLocaleString()}: ${value} ${kind}`));
      chart.append(rect);
    }
    points.push(`${x + slot / 2},${y(bucket.live)}`);
    // An hour label every 6 hours (24 h), a day label every 4 buckets (7 d).
    if (index % (shown === "24h" ? 6 : 4) === 0) {
      const start = new Date(bucket.start);
      const label =
        shown === "24h"
          ? start.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })
          : start.toLocaleDateString([], { weekday: "short", day: "numeric" });
      chart.append(svg("text", { x, y: height - 6 }, label));
    }
  });
  chart.append(svg("polyline", { class: "live", points: points.join(" ") }));
  $("activity-chart").replaceChildren(chart);
}

/** @param {TenantActivity["window"]} name */
function showWindow(name) {
  state.activityWindow = name;
  $("window-24h").setAttribute("aria-pressed", String(name === "24h"));
  $("window-7d").setAttribute("aria-pressed", String(name === "7d"));
  return busy("Loading activity", async () => void (await loadActivity()));
}

export function wireActivity() {
  $("window-24h").addEventListener("click", () => showWindow("24h"));
  $("window-7d").addEventListener("click", () => showWindow("7d"));
}
