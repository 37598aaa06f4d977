"use strict";
// Tests of js/src/color.js: colour scales, the rank scale, cell colours (pure functions, no DOM).
const test = require("node:test");
const assert = require("node:assert/strict");
const color = require("../src/color.js");
const fs = require("node:fs");
const path = require("node:path");

test("probToUnit is a log scale from 1e-4 to 1", () => {
  assert.equal(color.probToUnit(1), 1);
  assert.equal(color.probToUnit(1e-4), 0);
  assert.equal(color.probToUnit(1e-9), 0);
  assert.equal(color.probToUnit(0), 0);
  assert.ok(Math.abs(color.probToUnit(1e-2) - 0.5) < 1e-12);
  assert.ok(Number.isNaN(color.probToUnit(NaN)));
  let prev = -1;
  for (let e = -6; e <= 0; e += 0.25) {
    const t = color.probToUnit(10 ** e);
    assert.ok(t >= prev, `not monotonic at 1e${e}`);
    prev = t;
  }
});

test("probRGBA: orange when unlikely, blue when likely, faint near 1%, clear for NaN", () => {
  const lo = color.probRGBA(1e-6);
  const hi = color.probRGBA(0.99);
  const mid = color.probRGBA(0.01);
  assert.deepEqual(lo.slice(0, 3), color.UNLIKELY);
  assert.deepEqual(hi.slice(0, 3), color.LIKELY);
  assert.ok(Math.abs(lo[3] - color.MAX_ALPHA_UNLIKELY) < 1e-9);
  assert.ok(hi[3] > 0.25 && hi[3] <= color.MAX_ALPHA_LIKELY);
  assert.ok(lo[3] > hi[3], "surprises are tinted more strongly than expected tokens");
  assert.ok(mid[3] < 0.1);
  assert.equal(color.probRGBA(NaN)[3], 0);
  // alpha grows with distance from 1 % on either side
  assert.ok(color.probRGBA(0.5)[3] > color.probRGBA(0.05)[3]);
  assert.ok(color.probRGBA(1e-3)[3] < color.probRGBA(1e-4)[3]);
});

test("css strings", () => {
  assert.equal(color.css([1.4, 2.6, 255]), "rgb(1, 3, 255)");
  assert.equal(color.css([10, 20, 30, 0.12345]), "rgba(10, 20, 30, 0.123)");
  assert.match(color.probColor(0.9), /^rgba\(40, 122, 204, 0\.\d+\)$/);
  assert.equal(color.probColor(NaN), "rgba(0, 0, 0, 0)");
  const g = color.probGradient(5);
  assert.match(g, /^linear-gradient\(to right, rgba/);
  assert.equal(g.split("rgba").length - 1, 5);
});

test("ramp and sequential hit their stops", () => {
  assert.deepEqual(color.ramp([[0, 0, 0], [10, 20, 30]], 0.5), [5, 10, 15]);
  assert.deepEqual(color.ramp([[0, 0, 0], [10, 20, 30]], 2), [10, 20, 30]);
  assert.equal(color.sequential(0), "rgb(68, 1, 84)");
  assert.equal(color.sequential(1), "rgb(253, 231, 37)");
  assert.equal(color.sequential(0.5), "rgb(33, 144, 141)");
});

test("diverging: signed tints, clear at zero", () => {
  assert.equal(color.diverging(0), "rgba(40, 122, 204, 0)");
  assert.match(color.diverging(-1), /^rgba\(226, 110, 30, 0\.6\)$/);
  assert.match(color.diverging(2), /^rgba\(40, 122, 204, 0\.6\)$/);
});

/** WCAG contrast ratio of two "rgb(...)" / "#rrggbb" colours. */
function contrast(a, b) {
  const rgb = (s) => color.parseColor(s) || [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16));
  const [hi, lo] = [color.luminance(rgb(a)), color.luminance(rgb(b))].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

test("parseColor reads rgb()/rgba() and refuses the rest; luminance spans 0..1", () => {
  assert.deepEqual(color.parseColor("rgb(1, 2, 3)"), [1, 2, 3, 1]);
  assert.deepEqual(color.parseColor("rgba(1, 2, 3, 0.5)"), [1, 2, 3, 0.5]);
  assert.deepEqual(color.parseColor("rgb(1 2 3 / 0.25)"), [1, 2, 3, 0.25]);
  assert.equal(color.parseColor("transparent"), null);
  assert.equal(color.parseColor("rgb(a, b, c)"), null);
  assert.equal(color.luminance([0, 0, 0]), 0);
  assert.ok(Math.abs(color.luminance([255, 255, 255]) - 1) < 1e-12);
});

test("rankUnit: log scale, rank 1 → 1, 100 → 0.5, RANK_MAX or worse → 0", () => {
  assert.equal(color.RANK_MAX, 10000);
  assert.equal(color.rankUnit(1), 1);
  assert.ok(Math.abs(color.rankUnit(100) - 0.5) < 1e-12);
  assert.equal(color.rankUnit(10000), 0);
  assert.equal(color.rankUnit(49152), 0);
  assert.ok(Math.abs(color.rankUnit(10, 100) - 0.5) < 1e-12, "custom max");
  for (const bad of [0, -3, 0.5, NaN, undefined]) assert.equal(color.rankUnit(/** @type {any} */ (bad)), 0, String(bad));
  let prev = 2;
  for (let r = 1; r <= 20000; r = Math.ceil(r * 1.7)) {
    const t = color.rankUnit(r);
    assert.ok(t >= 0 && t <= 1 && t <= prev, `rank ${r}`);
    prev = t;
  }
});

test("cellColors: viridis ends, clamped, and a readable text colour on every shade", () => {
  const { VIRIDIS, css } = color;
  assert.deepEqual(color.cellColors(1), { bg: css(VIRIDIS[VIRIDIS.length - 1]), fg: "#111111" });
  assert.deepEqual(color.cellColors(0), { bg: css(VIRIDIS[0]), fg: "#ffffff" });
  assert.deepEqual(color.cellColors(7), color.cellColors(1));
  assert.deepEqual(color.cellColors(-1), color.cellColors(0));
  for (let t = 0; t <= 1.0001; t += 0.02) {
    const { bg, fg } = color.cellColors(t);
    assert.ok(contrast(bg, fg) >= 3, `t=${t.toFixed(2)}: ${fg} on ${bg}`);
  }
});

test("rankColors and probColors map through rankUnit / probToUnit; NaN is the darkest", () => {
  assert.deepEqual(color.rankColors(1), color.cellColors(1));
  assert.deepEqual(color.rankColors(100), color.cellColors(0.5));
  assert.deepEqual(color.rankColors(1e6), color.cellColors(0));
  assert.deepEqual(color.probColors(1), color.cellColors(1));
  assert.deepEqual(color.probColors(0.01), color.cellColors(color.probToUnit(0.01)));
  assert.deepEqual(color.probColors(1e-9), color.cellColors(0));
  assert.deepEqual(color.probColors(NaN), color.cellColors(0));
});

test("gradient samples its colour function at evenly spaced stops, left to right", () => {
  assert.equal(color.gradient((t) => `c${t}`, 3), "linear-gradient(to right, c0 0.0%, c0.5 50.0%, c1 100.0%)");
  const g = color.viridisGradient();
  const stops = g.slice("linear-gradient(to right, ".length, -1).split(/,\s(?=rgb)/);
  assert.equal(stops.length, color.VIRIDIS.length);
  color.VIRIDIS.forEach((c, i) => {
    assert.equal(stops[i], `${color.css(c)} ${((i / (color.VIRIDIS.length - 1)) * 100).toFixed(1)}%`);
  });
  // the probability legend runs from the tint of 0.01 % to the tint of 100 %
  const p = color.probGradient(3);
  assert.ok(p.includes(`${color.probColor(color.PROB_FLOOR)} 0.0%`) && p.includes(`${color.probColor(1)} 100.0%`));
});

test("shareColor: clear at 0 and below, blue growing with the share, capped at 1", () => {
  assert.equal(color.shareColor(0), "transparent");
  assert.equal(color.shareColor(-0.3), "transparent");
  assert.equal(color.shareColor(NaN), "transparent");
  const alpha = (/** @type {string} */ s) => /** @type {number[]} */ (color.parseColor(s))[3];
  assert.deepEqual(/** @type {number[]} */ (color.parseColor(color.shareColor(0.5))).slice(0, 3), color.LIKELY);
  assert.ok(alpha(color.shareColor(0.1)) < alpha(color.shareColor(0.5)));
  assert.ok(Math.abs(alpha(color.shareColor(1)) - 0.65) < 1e-9);
  assert.equal(color.shareColor(3), color.shareColor(1));
});

test("LINE_COLORS are 8 distinct hex colours, the same list as the matplotlib figures", () => {
  assert.equal(color.LINE_COLORS.length, 8);
  assert.equal(new Set(color.LINE_COLORS).size, 8);
  for (const c of color.LINE_COLORS) assert.match(c, /^#[0-9A-F]{6}$/);
  const py = fs.readFileSync(path.join(__dirname, "..", "..", "lmlens", "views", "logit_lens_figures.py"), "utf8");
  const m = /^LINE_COLORS = \[([^\]]*)\]/m.exec(py);
  assert.ok(m, "LINE_COLORS in logit_lens_figures.py");
  assert.deepEqual(m[1].split(",").map((s) => s.trim().replace(/"/g, "")), color.LINE_COLORS);
});
