"use strict";
// Tests of js/src/color.js and js/src/format.js (pure functions, no DOM).
const test = require("node:test");
const assert = require("node:assert/strict");
const color = require("../src/color.js");
const { formatProb, visibleToken, formatInt } = require("../src/format.js");

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

test("formatProb: 3 significant digits, floor and NaN", () => {
  assert.equal(formatProb(0.1234), "12.3%");
  assert.equal(formatProb(1), "100%");
  assert.equal(formatProb(0.012), "1.2%");
  assert.equal(formatProb(0.000456), "0.0456%");
  assert.equal(formatProb(1e-7), "<0.01%");
  assert.equal(formatProb(NaN), "–");
});

test("visibleToken and formatInt", () => {
  assert.equal(visibleToken(" a\nb\t"), " a↵b⇥");
  assert.equal(visibleToken(""), "∅");
  assert.equal(visibleToken("</script>"), "</script>");
  assert.equal(formatInt(1234567), "1,234,567");
  assert.equal(formatInt(12), "12");
});
