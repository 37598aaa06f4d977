// @ts-check
"use strict";
/**
 * Text formatting shared by every view. Pure functions (node-tested). The Python fallback
 * mirrors `formatProb` and `visibleToken` (lmlens/views/_format.py); keep them in step.
 */

/**
 * Probability → percent with 3 significant digits: 0.1234 → "12.3%", 0.000456 → "0.0456%",
 * below 0.01 % → "<0.01%", NaN → "–".
 * @param {number} p
 * @returns {string}
 */
function formatProb(p) {
  if (typeof p !== "number" || Number.isNaN(p)) return "–";
  const pct = p * 100;
  if (pct < 0.01) return "<0.01%";
  return `${Number(pct.toPrecision(3))}%`;
}

/**
 * A token as it should read inside a chip: newlines, tabs and carriage returns become
 * visible marks, the empty string becomes "∅"; spaces are kept (chips use white-space: pre).
 * @param {string} s
 * @returns {string}
 */
function visibleToken(s) {
  if (s === "") return "∅";
  return s.replace(/\r/g, "␍").replace(/\n/g, "↵").replace(/\t/g, "⇥");
}

/**
 * Integer with thousands separators: 12345 → "12,345".
 * @param {number} n
 * @returns {string}
 */
function formatInt(n) {
  return String(Math.round(n)).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

module.exports = { formatProb, visibleToken, formatInt };
