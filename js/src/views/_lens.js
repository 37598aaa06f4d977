// @ts-check
"use strict";
/**
 * Shared helpers of the logit-lens views (rankings, rankings_watch, layer_predictions).
 * Not a view itself: its name starts with "_", which no spec kind can.
 *
 * Pure functions (rank scale, compact numbers) come first; DOM helpers after.
 */

const { decode } = require("../decode.js");
const { ramp, css, VIRIDIS, probToUnit } = require("../color.js");
const { h, parseColor, luminance } = require("../dom.js");
const { visibleToken } = require("../format.js");

/** Ranks at or above this get the palest colour. */
const RANK_MAX = 10000;
/** Colour-blind-safe line colours (Okabe & Ito); the matplotlib figures use the same. */
const LINE_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];
// The SVG namespace is an identifier, never fetched; it is split so the inlined runtime holds
// no URL-looking text (Python refuses "http(s)://" in scripts).
const SVG_NS = ["http:", "", "www.w3.org", "2000", "svg"].join("/");

/**
 * Rank → position on a log scale: rank 1 → 1, `max` or worse → 0, 100 → 0.5 (max 10,000).
 * @param {number} rank
 * @param {number} [max]
 * @returns {number}
 */
function rankUnit(rank, max = RANK_MAX) {
  if (!(rank >= 1)) return 0;
  const t = 1 - Math.log10(rank) / Math.log10(max);
  return t < 0 ? 0 : t > 1 ? 1 : t;
}

/**
 * Compact rank for a grid cell: 7 → "7", 1234 → "1.2k", 45678 → "46k".
 * @param {number} rank
 * @returns {string}
 */
function rankText(rank) {
  if (rank < 1000) return String(rank);
  if (rank < 9950) return `${(rank / 1000).toFixed(1)}k`;
  return `${Math.round(rank / 1000)}k`;
}

/**
 * Compact probability for a grid cell: 0.873 → "87", 0.0345 → "3.5", 0.0004 → ".04", tiny → "0"
 * (percent, without the sign).
 * @param {number} p
 * @returns {string}
 */
function probText(p) {
  if (Number.isNaN(p)) return "–";
  const pct = p * 100;
  if (pct >= 99.5) return "100";
  if (pct >= 9.95) return String(Math.round(pct));
  if (pct >= 0.995) return pct.toFixed(1);
  if (pct >= 0.01) return pct.toFixed(2).replace(/^0/, "");
  return "0";
}

/**
 * A token as a chip shows it: `visibleToken`, a token of spaces only as "␣" marks (so a lone
 * space never looks like an empty box), other control characters escaped ("\\x15").
 * @param {string} s
 * @returns {string}
 */
function tokenText(s) {
  if (s !== "" && /^ +$/.test(s)) return "␣".repeat(s.length);
  // eslint-disable-next-line no-control-regex
  return visibleToken(s).replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/**
 * Cell colours for `t` in [0, 1] on viridis (1 = brightest): background and a readable text colour.
 * @param {number} t
 * @returns {{bg: string, fg: string}}
 */
function cellColors(t) {
  const c = ramp(VIRIDIS, t);
  return { bg: css(c), fg: luminance(c) > 0.3 ? "#111111" : "#ffffff" };
}

/**
 * Colours of a rank cell.
 * @param {number} rank
 * @returns {{bg: string, fg: string}}
 */
function rankColors(rank) {
  return cellColors(rankUnit(rank));
}

/**
 * Colours of a probability cell (log scale, 0.01 % … 100 %).
 * @param {number} p
 * @returns {{bg: string, fg: string}}
 */
function probColors(p) {
  const t = probToUnit(p);
  return cellColors(Number.isNaN(t) ? 0 : t);
}

/**
 * CSS gradient of the viridis scale (left = worst).
 * @returns {string}
 */
function viridisGradient() {
  const stops = VIRIDIS.map((c, i) => `${css(c)} ${((i / (VIRIDIS.length - 1)) * 100).toFixed(1)}%`);
  return `linear-gradient(to right, ${stops.join(", ")})`;
}

// ---- spec access ------------------------------------------------------------------------

/**
 * Decode a required array record of the spec.
 * @param {import("../model.js").Model} model
 * @param {string} key
 * @returns {import("../decode.js").Decoded}
 */
function arr(model, key) {
  const rec = model.get(key);
  if (!rec) throw new Error(`${model.get("kind")} spec: missing "${key}"`);
  return decode(rec);
}

/**
 * The layer axis of a spec: its row labels, the layers' names and how many there are.
 * @param {import("../model.js").Model} model
 * @returns {{layerLabels: string[], layerNames: string[], nL: number}}
 */
function layerAxis(model) {
  /** @type {string[]} */
  const layerLabels = model.get("layer_labels");
  /** @type {string[]} */
  const layerNames = model.get("layer_names");
  return { layerLabels, layerNames, nL: layerLabels.length };
}

/**
 * id → display string, from the spec's vocab_ids / vocab_strings.
 * @param {import("../model.js").Model} model
 * @returns {(id: number) => string}
 */
function vocabLookup(model) {
  const ids = arr(model, "vocab_ids").data;
  /** @type {string[]} */
  const strings = model.get("vocab_strings") || [];
  if (strings.length !== ids.length) throw new Error("spec: vocab_ids and vocab_strings differ in length");
  /** @type {Map<number, string>} */
  const m = new Map();
  ids.forEach((id, j) => m.set(id, strings[j]));
  return (id) => m.get(id) ?? `#${id}`;
}

// ---- DOM --------------------------------------------------------------------------------

let scopeCounter = 0;

/**
 * Add `cssText` (rules written with `&` for the view's own element) in a <style> inside `view`,
 * scoped by a unique attribute so two views on a page never share rules.
 * @param {HTMLElement} view
 * @param {string} cssText
 * @returns {HTMLStyleElement}
 */
function scopedStyle(view, cssText) {
  scopeCounter += 1;
  const scope = `lmv${Date.now().toString(36)}${scopeCounter}`;
  view.setAttribute("data-lm-scope", scope);
  const style = /** @type {HTMLStyleElement} */ (h("style"));
  style.textContent = cssText.replace(/&/g, `[data-lm-scope="${scope}"]`);
  view.insertBefore(style, view.firstChild);
  return style;
}

/**
 * The host's background colour behind `el` (for sticky cells), or a theme default.
 * @param {Element} el
 * @param {string} theme
 * @returns {string}
 */
function hostBackground(el, theme) {
  for (let n = /** @type {Element|null} */ (el); n; n = n.parentElement) {
    const c = parseColor(getComputedStyle(n).backgroundColor);
    if (c && c[3] > 0.5) return css(c.slice(0, 3));
  }
  return theme === "dark" ? "#0d1117" : "#ffffff";
}

/**
 * A two-way (or more) segmented toggle: buttons with aria-pressed.
 * @param {string} label  accessible name of the group
 * @param {[string, string][]} options  [value, text]
 * @param {string} value
 * @param {(v: string) => void} onChange
 * @returns {{el: HTMLElement, set: (v: string) => void}}
 */
function segmented(label, options, value, onChange) {
  const el = h("span", { className: "lm-seg", attrs: { role: "group", "aria-label": label } });
  /** @type {HTMLElement[]} */
  const buttons = options.map(([v, text]) =>
    h("button", { text, attrs: { type: "button", "data-v": v, "aria-pressed": String(v === value) } })
  );
  for (const b of buttons) el.appendChild(b);
  /** @param {string} v */
  function set(v) {
    for (const b of buttons) b.setAttribute("aria-pressed", String(b.getAttribute("data-v") === v));
  }
  el.addEventListener("click", (e) => {
    const b = e.target instanceof Element ? e.target.closest("button") : null;
    if (!b || !el.contains(b)) return;
    const v = b.getAttribute("data-v") || "";
    set(v);
    onChange(v);
  });
  return { el, set };
}

/**
 * An SVG element with attributes.
 * @param {string} tag
 * @param {Record<string, string|number>} [attrs]
 * @param {string} [text]
 * @returns {SVGElement}
 */
function svg(tag, attrs = {}, text) {
  const el = /** @type {SVGElement} */ (document.createElementNS(SVG_NS, tag));
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** CSS shared by the three views (the segmented toggle, chips in detail rows, the legend). */
const COMMON_CSS = `
& .lm-seg { display: inline-flex; border: 1px solid var(--lm-border); border-radius: 999px; overflow: hidden; }
& .lm-seg button { font: inherit; font-size: 11px; line-height: 18px; padding: 0 10px; border: 0; cursor: pointer;
  background: transparent; color: var(--lm-muted); }
& .lm-seg button[aria-pressed="true"] { background: var(--lm-chip); color: var(--lm-fg); font-weight: 600; }
& .lm-seg button:focus-visible { outline: 2px solid var(--lm-accent); outline-offset: -2px; }
& .lm-lens-legend { display: inline-flex; align-items: center; gap: 6px; color: var(--lm-muted); font-size: 11px; }
& .lm-lens-legend .lm-legend-bar { display: inline-block; width: 96px; height: 8px; border-radius: 4px; }
& .lm-controls { display: flex; flex-wrap: wrap; align-items: center; gap: 6px 14px; margin: 0 0 8px; }
& .lm-summary { margin: 0 0 8px; color: var(--lm-muted); font-size: 12px; max-width: 60em; }
& .lm-gen-key { color: var(--lm-muted); font-size: 11px; }
& .lm-gen-key::before { content: ""; display: inline-block; width: 14px; height: 0; margin-right: 4px; vertical-align: middle;
  border-top: 2px dashed #d1495b; }
`;

module.exports = {
  RANK_MAX,
  LINE_COLORS,
  COMMON_CSS,
  rankUnit,
  rankText,
  probText,
  tokenText,
  cellColors,
  rankColors,
  probColors,
  viridisGradient,
  arr,
  layerAxis,
  vocabLookup,
  scopedStyle,
  hostBackground,
  segmented,
  svg,
};
