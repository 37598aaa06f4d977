// @ts-check
"use strict";
/**
 * Colour scales. Every function is pure (no DOM), so node tests cover them.
 *
 * Token tints are translucent (rgba), so the same colour reads on a light or a dark
 * background and the text keeps the host's foreground colour.
 */

/** @typedef {[number, number, number]} RGB */
/** @typedef {[number, number, number, number]} RGBA */

/** Orange: the model found the token unlikely. */
const UNLIKELY = /** @type {RGB} */ ([226, 110, 30]);
/** Blue: the model expected the token. */
const LIKELY = /** @type {RGB} */ ([40, 122, 204]);
/** Lowest probability on the scale (1e-4 = 0.01 %); lower values clamp to it. */
const PROB_FLOOR = 1e-4;

/** Ranks at or above this get the darkest cell colour. */
const RANK_MAX = 10000;
/** Colour-blind-safe line colours (Okabe & Ito); the matplotlib figures use the same list. */
const LINE_COLORS = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"];

/**
 * Head colours: 12 hues at least 18 ΔE (CIE76) apart for normal vision and under simulated
 * protanopia, deuteranopia and tritanopia (Machado et al. 2009), lightness L* 42-72 so that thin
 * lines read on light and dark backgrounds; ordered so that the first heads differ most. They
 * repeat after 12 heads. The matplotlib figures use the same list (views/attention_figure.py).
 */
const HEAD_COLORS = ["#5599FF", "#FF6611", "#DD99AA", "#8811FF", "#AA3388", "#557744", "#99BB77", "#9944BB", "#BB99CC", "#CC0000", "#00CC44", "#7755EE"];

/**
 * "#rrggbb" → [r, g, b].
 * @param {string} hex
 * @returns {RGB}
 */
function hexRGB(hex) {
  const v = parseInt(hex.slice(1), 16);
  return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
}

/**
 * [r, g, b] of the colour of head slot `i` (the i-th shown head; repeats after 12).
 * @param {number} i
 * @returns {RGB}
 */
function headRGB(i) {
  return hexRGB(HEAD_COLORS[((i % HEAD_COLORS.length) + HEAD_COLORS.length) % HEAD_COLORS.length]);
}

/** viridis at 9 evenly spaced stops (perceptually uniform, colour-blind safe). */
const VIRIDIS = /** @type {RGB[]} */ ([
  [68, 1, 84], [71, 44, 122], [59, 81, 139], [44, 113, 142], [33, 144, 141],
  [39, 173, 129], [92, 200, 99], [170, 220, 50], [253, 231, 37],
]);

/**
 * @param {number} x
 * @returns {number}
 */
function clamp01(x) {
  return x < 0 ? 0 : x > 1 ? 1 : x;
}

/**
 * Probability → position on a log scale: 1 → 1, `floor` (default 1e-4) or less → 0,
 * 1e-2 → 0.5. NaN stays NaN (no prediction, e.g. the first token).
 * @param {number} p
 * @param {number} [floor]
 * @returns {number}
 */
function probToUnit(p, floor = PROB_FLOOR) {
  if (Number.isNaN(p)) return NaN;
  if (p <= floor) return 0;
  return clamp01(1 - Math.log10(p) / Math.log10(floor));
}

/**
 * Linear interpolation between two colours.
 * @param {number[]} a
 * @param {number[]} b
 * @param {number} t
 * @returns {number[]}
 */
function mix(a, b, t) {
  return a.map((v, i) => v + (b[i] - v) * t);
}

/**
 * Evenly spaced stops → colour at `t` in [0, 1].
 * @param {number[][]} stops
 * @param {number} t
 * @returns {number[]}
 */
function ramp(stops, t) {
  const x = clamp01(t) * (stops.length - 1);
  const i = Math.min(Math.floor(x), stops.length - 2);
  return mix(stops[i], stops[i + 1], x - i);
}

/**
 * @param {number[]} c  rgb or rgba, channels 0-255, alpha 0-1
 * @returns {string}
 */
function css(c) {
  const [r, g, b] = c.map((v) => Math.round(v));
  if (c.length > 3) return `rgba(${r}, ${g}, ${b}, ${+c[3].toFixed(3)})`;
  return `rgb(${r}, ${g}, ${b})`;
}

/** Strongest tint of an unlikely (orange) and of an expected (blue) token. */
const MAX_ALPHA_UNLIKELY = 0.55;
const MAX_ALPHA_LIKELY = 0.3;

/**
 * Tint for a token the model gave probability `p`: orange when unlikely, clear near 1 %,
 * blue when expected; stronger the further from 1 %. Surprises get the stronger colour, so
 * a well-predicted text stays calm. NaN → fully transparent.
 * @param {number} p
 * @returns {RGBA}
 */
function probRGBA(p) {
  const t = probToUnit(p);
  if (Number.isNaN(t)) return [0, 0, 0, 0];
  const d = 2 * t - 1; // -1 unlikely … 0 neutral … +1 likely
  const base = d < 0 ? UNLIKELY : LIKELY;
  const max = d < 0 ? MAX_ALPHA_UNLIKELY : MAX_ALPHA_LIKELY;
  const alpha = 0.04 + (max - 0.04) * Math.abs(d) ** 0.8;
  return [base[0], base[1], base[2], alpha];
}

/**
 * CSS colour for `probRGBA(p)`.
 * @param {number} p
 * @returns {string}
 */
function probColor(p) {
  return css(probRGBA(p));
}

/**
 * CSS `linear-gradient` (left to right) sampling `colorAt(t)` at `steps` evenly spaced t in [0, 1]:
 * the colour bar of a legend.
 * @param {(t: number) => string} colorAt
 * @param {number} [steps]
 * @returns {string}
 */
function gradient(colorAt, steps = 9) {
  const parts = [];
  for (let i = 0; i < steps; i++) {
    const t = i / (steps - 1);
    parts.push(`${colorAt(t)} ${(t * 100).toFixed(1)}%`);
  }
  return `linear-gradient(to right, ${parts.join(", ")})`;
}

/**
 * Legend gradient of the token tint `probColor` (left = unlikely, 0.01 %; right = 100 %).
 * @param {number} [steps]
 * @returns {string}
 */
function probGradient(steps = 9) {
  return gradient((t) => probColor(PROB_FLOOR ** (1 - t)), steps); // inverse of probToUnit
}

/**
 * viridis colour for `t` in [0, 1] (heatmaps of unsigned values).
 * @param {number} t
 * @returns {string}
 */
function sequential(t) {
  return css(ramp(VIRIDIS, t));
}

/**
 * viridis gradient, left (worst) to right (best), through every stop.
 * @returns {string}
 */
function viridisGradient() {
  return gradient(sequential, VIRIDIS.length);
}

/**
 * Rank → position on a log scale: rank 1 → 1, `max` or worse → 0, 100 → 0.5 (max 10,000).
 * @param {number} rank
 * @param {number} [max]
 * @returns {number}
 */
function rankUnit(rank, max = RANK_MAX) {
  if (!(rank >= 1)) return 0;
  return clamp01(1 - Math.log10(rank) / Math.log10(max));
}

/**
 * "rgb(r, g, b)" / "rgba(r, g, b, a)" → [r, g, b, a] or null.
 * @param {string} s
 * @returns {number[]|null}
 */
function parseColor(s) {
  const m = /rgba?\(([^)]+)\)/.exec(s || "");
  if (!m) return null;
  const parts = m[1].split(/[\s,/]+/).filter(Boolean).map(Number);
  if (parts.length < 3 || parts.some(Number.isNaN)) return null;
  return [parts[0], parts[1], parts[2], parts.length > 3 ? parts[3] : 1];
}

/**
 * sRGB channels → relative luminance (0 black … 1 white).
 * @param {number[]} rgb
 * @returns {number}
 */
function luminance(rgb) {
  const lin = rgb.slice(0, 3).map((v) => {
    const c = v / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  return 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
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
 * Colours of a probability cell (log scale, 0.01 % … 100 %); NaN is the darkest.
 * @param {number} p
 * @returns {{bg: string, fg: string}}
 */
function probColors(p) {
  const t = probToUnit(p);
  return cellColors(Number.isNaN(t) ? 0 : t);
}

/**
 * Tint of an unsigned share `t` in [0, 1] (attribution): clear at 0, strongest blue at 1.
 * @param {number} t
 * @returns {string}
 */
function shareColor(t) {
  if (!(t > 0)) return "transparent";
  return css([LIKELY[0], LIKELY[1], LIKELY[2], 0.05 + 0.6 * Math.min(1, t) ** 0.85]);
}

/**
 * Signed value `x` in [-1, 1] → translucent orange (negative) / blue (positive) tint,
 * clear at 0 (signed attributions).
 * @param {number} x
 * @returns {string}
 */
function diverging(x) {
  if (Number.isNaN(x)) return css([0, 0, 0, 0]);
  const m = clamp01(Math.abs(x));
  const base = x < 0 ? UNLIKELY : LIKELY;
  return css([base[0], base[1], base[2], 0.6 * m]);
}

module.exports = {
  PROB_FLOOR,
  RANK_MAX,
  LINE_COLORS,
  HEAD_COLORS,
  hexRGB,
  headRGB,
  MAX_ALPHA_UNLIKELY,
  MAX_ALPHA_LIKELY,
  UNLIKELY,
  LIKELY,
  VIRIDIS,
  clamp01,
  probToUnit,
  mix,
  ramp,
  css,
  probRGBA,
  probColor,
  gradient,
  probGradient,
  sequential,
  viridisGradient,
  rankUnit,
  parseColor,
  luminance,
  cellColors,
  rankColors,
  probColors,
  shareColor,
  diverging,
};
