"use strict";
// The views in the DOM stub (./dom_stub.js): a hand-made predictions spec drawn, hovered, pinned
// and re-rendered; a broken spec refused before anything is drawn; the watch chart's axis labels.
// The five views on real specs run in Chromium (tests/test_*browser*.py).
const test = require("node:test");
const assert = require("node:assert/strict");
const dom = require("./dom_stub.js");
const { staticModel } = require("../src/model.js");
const index = require("../src/index.js");
const { decades, tickText } = require("../src/views/rankings_watch.js");
const { rec, predictionsSpec } = require("./specs.js");

test.beforeEach(() => dom.install());
test.afterEach(() => dom.uninstall());

test("predictions in the stub: drawn, hover shows a position's top-k, click pins, cleanup removes all", () => {
  const el = document.createElement("div");
  document.body.appendChild(el);
  const cleanup = index.render({ model: staticModel(predictionsSpec()), el });
  assert.equal(el.getAttribute("data-lm-theme"), "light");
  const toks = el.querySelectorAll(".lm-tok");
  assert.deepEqual(toks.map((t) => t.textContent), ["A", " B", " C"]);
  const detail = el.querySelector(".lm-detail");
  assert.equal(detail.getAttribute("data-lm-index"), "2", "the last position at first");
  dom.fire(toks[0], "mouseover");
  assert.equal(detail.getAttribute("data-lm-index"), "0");
  const chips = () => el.querySelector(".lm-topk").querySelectorAll(".lm-chip").map((c) => c.textContent);
  assert.deepEqual(chips(), [" C", " B"]);
  assert.deepEqual(el.querySelectorAll(".lm-row").map((r) => r.classList.contains("lm-actual")), [false, true]);
  assert.ok(toks[1].classList.contains("lm-target"), "the token predicted here is underlined");
  dom.fire(toks[1], "click");
  dom.fire(toks[2], "mouseover");
  assert.equal(detail.getAttribute("data-lm-index"), "1");
  assert.match(el.querySelector(".lm-self").textContent, /had 25% \(rank 2\)/);
  const listeners = dom.listenerCount(el);
  cleanup();
  assert.equal(el.childNodes.length, 0);
  assert.equal(dom.listenerCount(el), 0);
  // the same element again, N times: one view, the same listeners
  let c = index.render({ model: staticModel(predictionsSpec()), el });
  for (let i = 0; i < 4; i++) {
    c();
    c = index.render({ model: staticModel(predictionsSpec()), el });
  }
  assert.equal(el.querySelectorAll(".lm-view").length, 1);
  assert.equal(dom.listenerCount(el), listeners);
  c();
});

test("a spec whose arrays do not fit is refused before anything is drawn", () => {
  const el = document.createElement("div");
  const spec = predictionsSpec();
  spec.topk_probs = rec("float32", [3, 1], new Float32Array([0.5, 0.5, 0.4]));
  assert.throws(() => index.render({ model: staticModel(spec), el }), /predictions spec: "topk_probs" is \[3,1\], expected \[3,2\]/);
  assert.equal(el.childNodes.length, 0);
  assert.equal(dom.listenerCount(el), 0);
  const bad = predictionsSpec();
  bad.probs = rec("float32", [2], new Float32Array([0.5, 0.5]));
  assert.throws(() => index.render({ model: staticModel(bad), el }), /"probs" is \[2\], expected \[3\]/);
});

test("rankings_watch axis: decade ticks and labels that fit the margin", () => {
  assert.deepEqual(decades(1, 1e4), [1, 10, 100, 1000, 10000]);
  assert.deepEqual(decades(0.003, 1), [0.01, 0.1, 1]);
  assert.deepEqual(decades(1e-7, 1).map((v) => tickText(v, "prob")),
    ["1e-5%", "0.0001%", "0.001%", "0.01%", "0.1%", "1%", "10%", "100%"]);
  assert.deepEqual([1, 10, 1000, 10000].map((v) => tickText(v, "rank")), ["1", "10", "1k", "10k"]);
  for (const v of decades(1e-12, 1)) assert.ok(tickText(v, "prob").length <= 7, tickText(v, "prob"));
});
