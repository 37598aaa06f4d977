"use strict";
// Tests of the pure helpers of js/src/views/neuron_factors.js (the view itself runs in Chromium:
// tests/test_factors_view.py).
const test = require("node:test");
const assert = require("node:assert/strict");
const V = require("../src/views/neuron_factors.js");

test("the dominant factor is the largest relative to each factor's maximum, among the shown", () => {
  const acts = [Float32Array.from([4, 1, 0]), Float32Array.from([1, 1, 0])];
  const max = [8, 1];
  assert.deepEqual(V.dominant(acts, max, [true, true], 0), [1, 1]); // 1/1 beats 4/8
});

test("dominant: hidden factors and zero maxima are skipped; nothing fires → -1", () => {
  const acts = [Float32Array.from([4, 1, 0]), Float32Array.from([1, 1, 0])];
  assert.deepEqual(V.dominant(acts, [8, 1], [true, false], 1), [0, 0.125]);
  assert.deepEqual(V.dominant(acts, [8, 1], [true, true], 2), [-1, 0]);
  assert.deepEqual(V.dominant(acts, [0, 0], [true, true], 0), [-1, 0]);
});

test("top positions: largest first, ties by position, positive values only", () => {
  assert.deepEqual(V.topPositions([0, 3, 1, 3, -2], 3), [1, 3, 2]);
  assert.deepEqual(V.topPositions([0, 0], 2), []);
});

test("factor colours: one hue per factor, clear at 0, cycling past the palette", () => {
  assert.equal(V.factorColor(2, 0), "transparent");
  assert.match(V.factorColor(0, 1), /^rgba\(78, 121, 167, 0\.7\)$/);
  assert.equal(V.factorColor(V.PALETTE.length, 0.5), V.factorColor(0, 0.5));
  assert.notEqual(V.factorColor(1, 0.5), V.factorColor(0, 0.5));
});
