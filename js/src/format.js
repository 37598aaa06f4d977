// @ts-check
"use strict";
/**
 * Text of numbers shared by every view. Pure functions (node-tested). The Python fallback
 * mirrors `formatProb` and `visibleToken` (lmlens/views/_format.py), the figures `rankText`
 * (lmlens/views/logit_lens_figures.py); keep them in step. How tokens read: ui/token_text.js.
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

/**
 * Compact rank for a grid cell: 7 → "7", 1234 → "1.2k", 45678 → "46k" (Python: rank_text).
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
 * Signed number with 3 significant digits and a real minus sign: 0.01234 → "+0.0123", -2 → "−2".
 * @param {number} x
 * @returns {string}
 */
function formatSigned(x) {
  if (typeof x !== "number" || Number.isNaN(x)) return "–";
  const s = Math.abs(x) >= 1e-3 || x === 0 ? Number(x.toPrecision(3)).toString() : x.toExponential(1);
  return x > 0 ? `+${s}` : s.replace("-", "−");
}

module.exports = { formatProb, visibleToken, formatInt, rankText, probText, formatSigned };
