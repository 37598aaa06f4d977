"use strict";
// The canvas layer × position grid (js/src/ui/grid.js) and the causal-tracing view in the DOM stub
// (./dom_stub.js, which has no canvas: nothing is painted, the interaction is what is checked).
// Painting, pixels and high-DPI sizes are checked in Chromium (tests/test_*browser*.py).
const test = require("node:test");
const assert = require("node:assert/strict");
const dom = require("./dom_stub.js");
const { staticModel } = require("../src/model.js");
const index = require("../src/index.js");
const { listenerTable } = require("../src/ui/listeners.js");
const { pinState } = require("../src/ui/pin.js");
const { layerGrid, visibleColumns, COL_W, ROW_H } = require("../src/ui/grid.js");
const { restoredUnit } = require("../src/views/causal_trace.js");

test.beforeEach(() => dom.install());
test.afterEach(() => dom.uninstall());

/** @param {string} dtype @param {number[]} shape @param {ArrayBufferView} view */
function rec(dtype, shape, view) {
  return { dtype, shape, b64: Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString("base64") };
}

test("visibleColumns: only the columns in the viewport, clamped", () => {
  assert.deepEqual(visibleColumns(0, 500, 40, 44, 2000), [0, 11]);
  assert.deepEqual(visibleColumns(44 * 100 + 10, 500, 40, 44, 2000), [100, 111]);
  assert.deepEqual(visibleColumns(44 * 1995, 500, 40, 44, 2000), [1995, 2000]);
  assert.deepEqual(visibleColumns(0, 30, 40, 44, 5), [0, 0], "a viewport narrower than the labels shows none");
});

test("restoredUnit: corrupted → 0, clean → 1, clamped; no gap → 0", () => {
  assert.equal(restoredUnit(0.1, 0.1, 0.9), 0);
  assert.equal(restoredUnit(0.5, 0.1, 0.9), 0.5);
  assert.equal(restoredUnit(0.95, 0.1, 0.9), 1);
  assert.equal(restoredUnit(0.01, 0.1, 0.9), 0);
  assert.equal(restoredUnit(0.3, 0.2, 0.2), 0);
});

/** A 3-layer × 4-position grid whose keys start at `base`, on its own pin. */
function makeGrid(base = 0) {
  const root = document.createElement("div");
  root.className = "lmlens-root";
  const el = document.createElement("div");
  root.appendChild(el);
  const listen = listenerTable(el);
  const shown = [];
  const pin = pinState((k, p) => { shown.push([k, p]); grid.mark(k, p); });
  const grid = layerGrid({
    listen, pin, nRows: 3, nCols: 4, base, ariaLabel: "demo", rowLabel: (r) => String(r),
    bottomLabel: (c) => `t${c}`, cell: () => ({ bg: "red" }),
  });
  el.appendChild(grid.el);
  return { el, listen, pin, grid, shown };
}

/** A mouse event at cell (row, col) of a grid in the stub (its canvas sits at 0, 0; no label column). */
function at(row, col) {
  return { clientX: col * COL_W + COL_W / 2, clientY: (2 - row) * ROW_H + ROW_H / 2 };
}

test("layerGrid: hover shows a cell's key, click pins, keys move and clamp, cleanup removes every listener", () => {
  const g = makeGrid(100);
  const canvas = g.grid.el.querySelector("canvas");
  assert.equal(g.grid.el.getAttribute("data-lm-rows"), "3");
  assert.equal(g.grid.el.getAttribute("tabindex"), "0");
  dom.fire(canvas, "mousemove", at(0, 1));
  assert.deepEqual(g.shown.at(-1), [101, false], "row 0 is the bottom row; key = base + row * nCols + col");
  dom.fire(canvas, "mousemove", at(2, 3));
  assert.deepEqual(g.shown.at(-1), [100 + 2 * 4 + 3, false]);
  dom.fire(canvas, "click", at(1, 2));
  assert.deepEqual(g.shown.at(-1), [106, true]);
  dom.fire(canvas, "mousemove", at(0, 0));
  assert.equal(g.pin.shown(), 106, "a pinned cell stays while the pointer moves");
  dom.fire(g.grid.el, "keydown", { key: "ArrowUp" });
  assert.deepEqual(g.shown.at(-1), [110, true], "up is the next layer; the pin follows");
  dom.fire(g.grid.el, "keydown", { key: "ArrowUp" });
  assert.equal(g.pin.shown(), 110, "clamped at the top layer");
  dom.fire(g.grid.el, "keydown", { key: "ArrowRight" });
  dom.fire(g.grid.el, "keydown", { key: "ArrowRight" });
  assert.equal(g.pin.shown(), 111, "clamped at the last position");
  dom.fire(g.grid.el, "keydown", { key: "Enter" });
  assert.equal(g.pin.pinned(), -1, "Enter on the pinned cell releases it");
  g.listen.clear();
  assert.equal(dom.listenerCount(g.el), 0);
});

test("layerGrid: keys start at the top right when the shown key belongs to another grid", () => {
  const g = makeGrid(12);
  g.pin.hover(3); // a key of another grid sharing the pin
  dom.fire(g.grid.el, "keydown", { key: "ArrowLeft" });
  assert.equal(g.pin.shown(), 12 + 2 * 4 + 2);
  assert.equal(g.grid.keyAt(-5, 5), -1, "outside the cells: no key");
});

/** A 2-site, 2-layer, 3-position causal-trace spec (vocabulary = the tokens). */
function traceSpec() {
  const scores = new Float32Array([0.1, 0.2, 0.3, 0.1, 0.9, 0.5, /* mlp */ 0.1, 0.6, 0.2, 0.1, 0.1, 0.4]);
  return {
    kind: "causal_trace", version: 1, title: "T", model_name: "m", summary: "", notices: [], lm_kind: "causal",
    tokens: ["A", " B", " C"], generated: rec("uint8", [3], new Uint8Array([0, 0, 0])),
    sites: ["resid", "mlp"], site_titles: ["resid · r", "mlp · m"], n_layers: 2, n_positions: 3, offset: 0,
    scores: rec("float32", [2, 2, 3], scores), clean_prob: 0.8, corrupted_prob: 0.1, target_id: 2,
    answer_position: 2, subject: rec("int32", [1], new Int32Array([1])),
    lens_top_ids: rec("int32", [2, 3, 1], new Int32Array([0, 1, 2, 2, 2, 2])),
    lens_top_probs: rec("float16", [2, 3, 1], new Uint16Array(6).fill(0x3800)),
    lens_target_ranks: rec("int32", [2, 3], new Int32Array([5, 4, 3, 1, 1, 1])),
    lens_target_probs: rec("float32", [2, 3], new Float32Array([0.1, 0.1, 0.1, 0.5, 0.5, 0.5])),
    vocab_ids: rec("int32", [3], new Int32Array([0, 1, 2])), vocab_strings: ["A", " B", " C"],
    params: { n_samples: 4, window: 1 },
  };
}

test("causal_trace in the stub: opens on the strongest cell, hover and pin show numbers, cleanup", () => {
  const el = document.createElement("div");
  document.body.appendChild(el);
  const cleanup = index.render({ model: staticModel(traceSpec()), el });
  const detail = el.querySelector(".lm-detail");
  assert.deepEqual([detail.getAttribute("data-lm-site"), detail.getAttribute("data-lm-layer"), detail.getAttribute("data-lm-position")],
    ["resid", "1", "1"], "the strongest cell of the first site");
  assert.match(detail.textContent, /\) = 90% \(clean 80%, corrupted 10%\) — 114% of the drop restored/);
  const grids = el.querySelectorAll(".lm-ct-grid");
  assert.equal(grids.length, 2);
  dom.fire(grids[1].querySelector("canvas"), "click", { clientX: 1 * COL_W + 5, clientY: 12 + 5 }); // mlp, layer 0, pos 1
  assert.deepEqual([detail.getAttribute("data-lm-site"), detail.getAttribute("data-lm-layer"), detail.getAttribute("data-lm-position")],
    ["mlp", "0", "1"]);
  assert.match(detail.textContent, /= 60% .* 71% of the drop restored/);
  assert.match(detail.textContent, /is rank 4 \(10%\)/);
  assert.ok(detail.classList.contains("lm-is-locked"));
  const listeners = dom.listenerCount(el);
  cleanup();
  assert.equal(dom.listenerCount(el), 0);
  const again = index.render({ model: staticModel(traceSpec()), el });
  assert.equal(dom.listenerCount(el), listeners);
  again();
});
