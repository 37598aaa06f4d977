"use strict";
// Tests of the attention view's pure parts (js/src/views/attention/*.js): the data arithmetic
// (mass threshold, sentence filters, pair series, head means), the pixel painting (max-pooling,
// mask and hidden cells, the line rasteriser) and the head colours (12, distinguishable with
// and without colour-vision deficiency, the same list as the matplotlib figures). The view
// itself runs in Chromium: tests/test_attention_view.py.
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const D = require("../src/views/attention/data.js");
const P = require("../src/views/attention/paint.js");
const color = require("../src/color.js");
const { niceTop } = require("../src/views/attention/pair.js");
const { formatter, keepRecords } = require("../src/views/attention.js");

/** An AttData of L layers, H heads, n positions from values [L][H][n][n] (codes = round(v × 255)). */
function data(vals, extra = {}) {
  const L = vals.length;
  const H = vals[0].length;
  const n = vals[0][0].length;
  const codes = vals.map((layer) => Uint8Array.from(layer.flat(2).map((v) => Math.round(v * 255))));
  return {
    n, L, H, layers: [...Array(L).keys()], heads: [...Array(H).keys()], codes, scales: codes.map(() => 1 / 255),
    roll: null, hidden: new Uint8Array(n), generated: new Uint8Array(n), causal: true, sb: -1,
    tokens: [...Array(n).keys()].map(String), weighting: "attention", offset: 0, total: n, ...extra,
  };
}

test("massKeep: the fewest strongest keys reaching the share of the row; zeros never", () => {
  const row = [100, 0, 50, 30, 20];
  assert.deepEqual(D.massKeep(row, [0, 1, 2, 3, 4], 1), [0, 2, 3, 4]);
  assert.deepEqual(D.massKeep(row, [0, 1, 2, 3, 4], 0.5), [0]); // 100 of 200
  assert.deepEqual(D.massKeep(row, [0, 1, 2, 3, 4], 0.7), [0, 2]); // 150 ≥ 140
  assert.deepEqual(D.massKeep(row, [2, 3, 4], 0.5), [2]); // the share of the candidates' sum
  assert.deepEqual(D.massKeep([0, 0], [0, 1], 0.9), []);
});

test("sentence filters: A is before sentence_b_start, B from it; one text is all", () => {
  assert.deepEqual(D.sentenceSets(5, 2, "AB"), { queries: [0, 1], keys: [2, 3, 4] });
  assert.deepEqual(D.sentenceSets(5, 2, "BA"), { queries: [2, 3, 4], keys: [0, 1] });
  assert.deepEqual(D.sentenceSets(5, 2, "BB").keys, [2, 3, 4]);
  assert.deepEqual(D.sentenceSets(3, -1, "AB"), { queries: [0, 1, 2], keys: [0, 1, 2] });
  assert.deepEqual(D.FILTERS.map(([v]) => v), ["all", "AA", "AB", "BA", "BB"]);
});

test("pair series: per head, the mean of the active heads, by position", () => {
  const d = data([
    [[[1, 0], [0.2, 0.8]], [[1, 0], [0.6, 0.4]]],
    [[[1, 0], [1, 0]], [[1, 0], [0, 1]]],
  ]);
  const s = D.pairSeries(d, 1, 0, [true, true]);
  assert.deepEqual(Array.from(s.perHead, (v) => +v.toFixed(2)), [0.2, 0.6, 1, 0]);
  assert.deepEqual(Array.from(s.mean, (v) => +v.toFixed(2)), [0.4, 0.5]);
  assert.deepEqual(Array.from(D.pairSeries(d, 1, 0, [false, true]).mean, (v) => +v.toFixed(2)), [0.6, 0]);
  assert.equal(s.rollout, null);
  assert.ok(Math.abs(D.value(d, 0, 1, 1, 1) - 0.4) < 1 / 255);
});

test("layer matrix: mean codes of the active heads, one head, or the rollout", () => {
  const d = data([[[[1, 0], [0.2, 0.8]], [[1, 0], [0.6, 0.4]]]], { roll: [Uint8Array.from([255, 0, 100, 155])] });
  assert.deepEqual(Array.from(D.layerMatrix(d, 0, [true, true], false)), [255, 0, 102, 153]);
  assert.deepEqual(Array.from(D.layerMatrix(d, 0, [false, true], false)), [255, 0, 153, 102]);
  assert.deepEqual(Array.from(D.layerMatrix(d, 0, [true, true], true)), [255, 0, 100, 155]);
  assert.equal(D.rowCodes(d, 0, -1, 1)[1], 155);
});

test("matrix pixels: a block of cells shows its largest value; masked and hidden cells differ", () => {
  const n = 4;
  const vals = Float32Array.from([10, 0, 0, 0, 0, 200, 0, 0, 5, 5, 5, 0, 0, 0, 0, 255]);
  const px = P.matrixPixels(vals, n, [0, 1, 2, 3], [0, 1, 2, 3], 2, 2, { rgb: [1, 2, 3], maskRGB: [9, 9, 9], top: 255, hidden: new Uint8Array(n), causal: true });
  // top-left block holds 10 and 200 (and no masked cell wins over a value): alpha 200
  assert.deepEqual(Array.from(px.subarray(0, 4)), [1, 2, 3, 200]);
  // top-right block is all above the diagonal: masked
  assert.equal(px[4], 9);
  assert.equal(px[3 * 4 + 3], 255); // bottom-right: 255
  const hidden = Uint8Array.from([0, 1, 0, 0]);
  const big = P.matrixPixels(vals, n, [0, 1, 2, 3], [0, 1, 2, 3], 8, 8, { rgb: [1, 2, 3], maskRGB: [9, 9, 9], top: 255, hidden, causal: false });
  const at = (x, y) => Array.from(big.subarray((y * 8 + x) * 4, (y * 8 + x) * 4 + 4));
  assert.deepEqual(at(0, 0), [1, 2, 3, 10]); // cell (0, 0), upscaled 2×
  assert.deepEqual(at(1, 1), [1, 2, 3, 10]);
  assert.deepEqual(at(2, 0), [9, 9, 9, 40]); // key 1 is hidden
  const g = P.matrixPixels(Float32Array.from([64]), 1, [0], [0], 1, 1, { rgb: [0, 0, 0], maskRGB: [0, 0, 0], top: 255, gamma: 0.5, hidden: [0], causal: false });
  assert.equal(P.topValue(vals, n, [0, 1, 2, 3], [0, 1, 2, 3], hidden, true), 255);
  assert.equal(P.topValue(vals, n, [0, 1, 2], [0, 1, 2, 3], new Uint8Array(n), true), 200); // 255 is row 3
  assert.equal(g[3], Math.round(255 * Math.sqrt(64 / 255)));
});

/** Max-pooling the plain way, cell by cell, for each pixel: the reference the fast path must match. */
function poolReference(vals, n, rows, cols, w, h, hidden, causal) {
  const out = [];
  for (let y = 0; y < h; y++) {
    const r0 = Math.floor((y * rows.length) / h);
    const r1 = Math.max(r0 + 1, Math.floor(((y + 1) * rows.length) / h));
    for (let x = 0; x < w; x++) {
      const c0 = Math.floor((x * cols.length) / w);
      const c1 = Math.max(c0 + 1, Math.floor(((x + 1) * cols.length) / w));
      let best = -1;
      let masked = false;
      for (let r = r0; r < r1; r++) {
        for (let c = c0; c < c1; c++) {
          const q = rows[r];
          const k = cols[c];
          if (hidden[q] || hidden[k]) continue;
          if (causal && k > q) masked = true;
          else best = Math.max(best, vals[q * n + k]);
        }
      }
      out.push(best >= 0 ? best : masked ? "mask" : "hidden");
    }
  }
  return out;
}

test("matrix pixels: every block shows the largest visible cell, for any size, filter, mask and hidden set", () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const reuse = new Uint8ClampedArray(64 * 64 * 4).fill(9);
  for (const n of [1, 5, 23, 64]) {
    for (const causal of [false, true]) {
      for (const hideSome of [false, true]) {
        const all = Array.from({ length: n }, (_, i) => i);
        const half = Math.max(1, n >> 1);
        for (const [rows, cols] of [[all, all], [all.slice(half), all.slice(0, half)], [all, all.filter((i) => i % 2 === 0)]]) {
          for (const [w, h] of [[64, 64], [7, 3], [3 * n, 2 * n]]) {
            const vals = Uint8Array.from({ length: n * n }, () => (rnd() < 0.3 ? 0 : Math.floor(rnd() * 256)));
            const hidden = Uint8Array.from(all, (i) => (hideSome && (i === 1 || rnd() < 0.1) ? 1 : 0));
            const px = P.matrixPixels(vals, n, rows, cols, w, h, { rgb: [1, 2, 3], maskRGB: [9, 8, 7], top: 255, hidden, causal }, w * h === 64 * 64 ? reuse : undefined);
            if (!rows.length || !cols.length) {
              assert.ok(px.every((v) => v === 0));  // nothing to show: transparent
              continue;
            }
            const want = poolReference(vals, n, rows, cols, w, h, hidden, causal);
            want.forEach((v, i) => {
              const got = Array.from(px.subarray(i * 4, i * 4 + 4));
              const x = i % w;
              const y = Math.floor(i / w);
              if (v === "hidden") assert.deepEqual(got, [9, 8, 7, 40], `n ${n} ${w}×${h} pixel ${x},${y}`);
              else if (v === "mask") assert.deepEqual(got, [9, 8, 7, (x + y) % 6 < 2 ? 70 : 18], `n ${n} ${w}×${h} pixel ${x},${y}`);
              else assert.deepEqual(got, [1, 2, 3, v], `n ${n} ${w}×${h} pixel ${x},${y}`);
            });
          }
        }
      }
    }
  }
});

test("line raster: a shallow line splits between two rows, a steep one fills every row it crosses", () => {
  const r = P.lineRaster(10, 20);
  r.line(0, 2.25, 9, 2.25, [255, 0, 0], 1);
  let px = r.pixels();
  const a = (x, y) => px[(y * 10 + x) * 4 + 3];
  assert.equal(a(4, 2), Math.round(0.75 * 255));
  assert.equal(a(4, 3), Math.round(0.25 * 255));
  assert.equal(a(4, 5), 0);
  assert.equal(px[(2 * 10 + 4) * 4], 255); // un-premultiplied colour
  r.clear();
  r.line(0, 0, 9, 18, [0, 0, 255], 0.5);
  px = r.pixels();
  for (let y = 0; y < 18; y++) {
    const row = Array.from({ length: 10 }, (_, x) => a(x, y));
    assert.ok(row.some((v) => v > 0), `row ${y} is crossed`);
  }
  // steep: each row's coverage split between the two columns the line passes between
  r.clear();
  r.line(0, 0, 9, 18, [0, 0, 255], 1);
  px = r.pixels();
  assert.equal(a(0, 1), Math.round(0.5 * 255)); // row 1: x = 0.5
  assert.equal(a(1, 1), Math.round(0.5 * 255));
  assert.equal(a(2, 1), 0);
  assert.equal(a(2, 4), 255); // row 4: x = 2 exactly
  r.clear();
  r.line(0, 5, 9, 5, [0, 0, 0], 0.5);
  r.line(0, 5, 9, 5, [0, 0, 0], 0.5);
  px = r.pixels();
  assert.equal(a(3, 5), Math.round(0.75 * 255)); // "over": 0.5 + 0.5 × 0.5
  r.box(2, 10, 3, 2, [0, 255, 0], 1);
  px = r.pixels();
  assert.equal(a(2, 10), 255);
  assert.equal(a(4, 11), 255);
  assert.equal(a(5, 10), 0);  // lines leaving the buffer are clipped, never smeared along its edge
  r.clear();
  r.line(0, -6, 9, -2, [0, 0, 0], 1); // above, shallow
  r.line(0, 30, 9, 22, [0, 0, 0], 1); // below, shallow
  r.line(0, -40, 9, -15, [0, 0, 0], 1); // above, steep
  px = r.pixels();
  assert.ok(px.every((v) => v === 0));
  r.line(0, -4.5, 9, 4.5, [0, 0, 0], 1); // enters at x ≈ 4.5
  px = r.pixels();
  assert.equal(a(0, 0), 0);
  assert.equal(a(2, 0), 0);
  assert.ok(a(5, 0) > 0 && a(9, 4) > 0);
  // a buffer that is not a whole number of tiles: every pixel addressable, none aliased
  const odd = P.lineRaster(37, 21);
  for (let y = 0; y < 21; y++) odd.box(0, y, 37, 1, [y, 0, 0], 1);
  const op = odd.pixels();
  for (let y = 0; y < 21; y++) for (let x = 0; x < 37; x++) assert.equal(op[(y * 37 + x) * 4], y);
});

/** sRGB hex → CIELAB under a colour-vision simulation (Machado et al. 2009, severity 1). */
const CVD = {
  normal: [[1, 0, 0], [0, 1, 0], [0, 0, 1]],
  protan: [[0.152286, 1.052583, -0.204868], [0.114503, 0.786281, 0.099216], [-0.003882, -0.048116, 1.051998]],
  deutan: [[0.367322, 0.860646, -0.227968], [0.280085, 0.672501, 0.047413], [-0.011820, 0.042940, 0.968881]],
  tritan: [[1.255528, -0.076749, -0.178779], [-0.078411, 0.930809, 0.147602], [0.004733, 0.691367, 0.303900]],
};
function lab(hex, m) {
  const lin = color.hexRGB(hex).map((v) => { const c = v / 255; return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; });
  const s = m.map((row) => Math.min(1, Math.max(0, row[0] * lin[0] + row[1] * lin[1] + row[2] * lin[2])));
  const X = (0.4124 * s[0] + 0.3576 * s[1] + 0.1805 * s[2]) / 0.95047;
  const Y = 0.2126 * s[0] + 0.7152 * s[1] + 0.0722 * s[2];
  const Z = (0.0193 * s[0] + 0.1192 * s[1] + 0.9505 * s[2]) / 1.08883;
  const f = (t) => (t > 0.008856 ? Math.cbrt(t) : 7.787 * t + 16 / 116);
  return [116 * f(Y) - 16, 500 * (f(X) - f(Y)), 200 * (f(Y) - f(Z))];
}

test("12 head colours, at least 18 ΔE apart in normal, protan, deutan and tritan vision", () => {
  assert.equal(color.HEAD_COLORS.length, 12);
  for (const [name, m] of Object.entries(CVD)) {
    const labs = color.HEAD_COLORS.map((c) => lab(c, m));
    let min = Infinity;
    for (let i = 0; i < labs.length; i++) for (let j = i + 1; j < labs.length; j++) min = Math.min(min, Math.hypot(...labs[i].map((v, k) => v - labs[j][k])));
    assert.ok(min >= 18, `${name}: closest pair ΔE ${min.toFixed(1)}`);
  }
  for (const c of color.HEAD_COLORS) {
    const L = lab(c, CVD.normal)[0];
    assert.ok(L >= 42 && L <= 72, `${c} L* ${L.toFixed(0)} reads on light and dark`);
  }
  // Okabe & Ito's 8 (bertviz-style palettes) give fewer than 12; past 12 heads the colours repeat
  assert.deepEqual(color.headRGB(12), color.headRGB(0));
  const py = fs.readFileSync(path.join(__dirname, "..", "..", "lmlens", "views", "attention_figure.py"), "utf8");
  const m = /^HEAD_COLORS = \[([^\]]*)\]/m.exec(py);
  assert.ok(m, "HEAD_COLORS in attention_figure.py");
  assert.deepEqual(m[1].split(",").map((s) => s.trim().replace(/"/g, "")), color.HEAD_COLORS);
});

test("pair chart axis tops and value formats", () => {
  assert.equal(niceTop(0.37), 0.5);
  assert.equal(niceTop(0.9), 1);
  assert.equal(niceTop(1.0), 2);
  assert.equal(niceTop(0), 1);
  const att = formatter("attention");
  assert.equal(att(0.1234), "12%");
  assert.equal(att(0.01234), "1.2%");
  assert.equal(att(0.0004), "<0.1%");
  assert.equal(att(0), "0%");
  const norm = formatter("norm");
  assert.equal(norm(3.14159), "3.14");
  assert.equal(norm(0.3, true), "30%"); // the rollout stays a share
});

test("live: the layers a mode lacks (heads and matrix one, model and pair all; rollout too)", () => {
  const d = data([[[[1]]], [[[1]]], [[[1]]]]);
  d.codes[1] = null;
  assert.deepEqual(D.missingLayers(d, "heads", 0), []);
  assert.deepEqual(D.missingLayers(d, "matrix", 1), [1]);
  assert.deepEqual(D.missingLayers(d, "model", 0), [1]);
  assert.deepEqual(D.missingLayers(d, "pair", 2), [1]);
  d.roll = [new Uint8Array(1), new Uint8Array(1), null];
  assert.deepEqual(D.missingLayers(d, "heads", 2), [2]);
});

test("live: a spec with null layers is read only in a live widget; records received are kept", () => {
  const rec = { dtype: "uint8", shape: [1, 1, 1], b64: "AA==", scale: 1 / 255, offset: 0 };
  const spec = { kind: "attention", tokens: ["a"], layers: [3, 5], heads: [0], weights: [rec, null], rollout: null, hidden: { dtype: "uint8", shape: [1], b64: "AA==" } };
  const ui = {};
  const model = { get: (k) => (k in ui ? ui[k] : spec[k]), set: (k, v) => { ui[k] = v; } };
  assert.throws(() => D.readSpec(model), /holds only some layers.*save the static view/);
  const s1 = D.readSpec(model, true);
  keepRecords(model, s1);
  assert.deepEqual(s1.records, [rec, null]);
  // the kernel's answer holds layer 5 only: layer 3 comes from what was kept
  const rec5 = { ...rec, b64: "AQ==" };
  spec.weights = [null, rec5];
  const s2 = D.readSpec(model, true);
  keepRecords(model, s2);
  assert.deepEqual(s2.records, [rec, rec5]);
});
