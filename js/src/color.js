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
 * CSS `linear-gradient` for a legend of the probability scale (left = unlikely).
 * @param {number} [steps]
 * @returns {string}
 */
function probGradient(steps = 9) {
  const parts = [];
  for (let i = 0; i < steps; i++) {
    const t = i / (steps - 1);
    const p = PROB_FLOOR ** (1 - t); // inverse of probToUnit
    parts.push(`${probColor(p)} ${(t * 100).toFixed(1)}%`);
  }
  return `linear-gradient(to right, ${parts.join(", ")})`;
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
  probGradient,
  sequential,
  diverging,
};
