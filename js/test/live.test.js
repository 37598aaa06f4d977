"use strict";
// The live widget's page side (js/src/live.js, ui/controls.js, ui/live.js) in the DOM stub, with
// a fake anywidget model: inputs drawn from the `live` description, requests sent with ids, the
// kernel's replies, a redraw on a new spec that leaves no listener behind, and the cleanup.
// The real thing runs in JupyterLab and Notebook 7: tests/test_jupyter_live.py.
const test = require("node:test");
const assert = require("node:assert/strict");
const dom = require("./dom_stub.js");
const index = require("../src/index.js");
const { staticModel } = require("../src/model.js");
const { viewModel } = require("../src/live.js");
const { liveAction, request } = require("../src/ui/live.js");
const { predictionsSpec } = require("./specs.js");

test.beforeEach(() => dom.install());
test.afterEach(() => dom.uninstall());

/** An anywidget-shaped model: get / on / off / send, plus `change` and `message` for the test. */
function fakeModel(state) {
  /** @type {Map<string, Set<Function>>} */
  const listeners = new Map();
  const sent = [];
  return {
    sent,
    get: (k) => state[k],
    on(ev, cb) {
      if (!listeners.has(ev)) listeners.set(ev, new Set());
      listeners.get(ev).add(cb);
    },
    off(ev, cb) {
      listeners.get(ev)?.delete(cb);
    },
    send(msg) {
      sent.push(msg);
    },
    change(values) {
      Object.assign(state, values);
      for (const k of Object.keys(values)) for (const cb of [...(listeners.get(`change:${k}`) || [])]) cb();
    },
    message(msg) {
      for (const cb of [...(listeners.get("msg:custom") || [])]) cb(msg, []);
    },
    listenerCount: () => [...listeners.values()].reduce((n, s) => n + s.size, 0),
  };
}

const CONTROLS = [
  { name: "text", type: "text", label: "text", value: "A B C" },
  { name: "layers", type: "range", label: "layers", value: [0, 2], options: ["embed", "0", "1"] },
  { name: "n_factors", type: "int", label: "factors", value: 8, min: 1, max: 64 },
  { name: "mode", type: "choice", label: "mode", value: "b", options: ["a", "b"] },
];
const tick = () => new Promise((r) => setImmediate(r));

test("a live widget: the view in its host, the inputs above, Run sends every value", () => {
  const model = fakeModel({ spec: predictionsSpec(), live: { actions: { run: {} }, controls: CONTROLS } });
  const el = document.createElement("div");
  document.body.appendChild(el);
  const cleanup = index.live({ model, el });
  assert.ok(el.classList.contains("lmlens-live"));
  assert.equal(el.getAttribute("data-lmlens-kind"), "predictions");
  const host = el.querySelector(".lm-live-host");
  assert.equal(host.querySelectorAll(".lm-view.lm-predictions").length, 1);
  assert.equal(host.getAttribute("data-lm-theme"), "light");
  assert.deepEqual(el.querySelectorAll(".lm-ctl").map((c) => c.getAttribute("data-name")), ["text", "layers", "n_factors", "mode"]);

  const [lo, hi] = el.querySelectorAll("select").slice(0, 2);
  lo.value = "2";
  dom.fire(lo, "change");
  assert.equal(hi.value, "2", "'from' after 'to' moves 'to'");
  el.querySelector(".lm-ctl-text").value = "B C";
  dom.fire(el.querySelector(".lm-run"), "click");
  assert.deepEqual(model.sent, [{ type: "lmlens:request", id: 1, action: "run", args: { text: "B C", layers: [2, 2], n_factors: 8, mode: "b" } }]);
  const live = el.querySelector(".lm-live");
  assert.equal(live.getAttribute("data-lm-pending"), "1");
  assert.equal(el.querySelector(".lm-run").disabled, true);
  assert.match(el.querySelector(".lm-live-status").textContent, /computing the view/);

  // Enter in the text box runs; Shift+Enter does not
  const box = el.querySelector(".lm-ctl-text");
  assert.ok(!dom.fire(box, "keydown", { key: "Enter", shiftKey: true }).defaultPrevented);
  assert.equal(model.sent.length, 1);
  assert.ok(dom.fire(box, "keydown", { key: "Enter" }).defaultPrevented);
  assert.equal(model.sent.length, 2);

  // replies: an unknown id is ignored, an error is shown, an answer clears the pending state
  model.message({ type: "lmlens:reply", id: 99, ok: true, seconds: 0.1 });
  assert.equal(live.getAttribute("data-lm-pending"), "2");
  model.message({ type: "lmlens:reply", id: 1, ok: false, error: "ValueError: layers: a range" });
  assert.match(el.querySelector(".lm-live-status").textContent, /ValueError: layers: a range/);
  assert.ok(el.querySelector(".lm-live-status").classList.contains("lm-live-bad"));
  model.message({ type: "lmlens:reply", id: 2, ok: true, seconds: 0.25 });
  assert.equal(live.getAttribute("data-lm-pending"), "0");
  assert.equal(live.getAttribute("data-lm-replies"), "2");
  assert.match(el.querySelector(".lm-live-status").textContent, /computed in 0\.25 s/);
  assert.equal(el.querySelector(".lm-run").disabled, false);

  cleanup();
  assert.equal(el.childNodes.length, 0);
  assert.equal(dom.listenerCount(el), 0);
  assert.equal(model.listenerCount(), 0, "no model listener left");
  assert.ok(!el.classList.contains("lmlens-live"));
});

test("a new spec (and new inputs) redraws once, with no listener or node left from before", async () => {
  const model = fakeModel({ spec: predictionsSpec(), live: { actions: { run: {} }, controls: CONTROLS.slice(0, 1) } });
  const el = document.createElement("div");
  const cleanup = index.live({ model, el });
  const live = el.querySelector(".lm-live");
  await tick();
  const draws = Number(live.getAttribute("data-lm-draws"));
  const listeners = dom.listenerCount(el);
  const onModel = model.listenerCount();
  for (let i = 0; i < 4; i++) {
    const spec = predictionsSpec();
    spec.title = `P${i}`;
    model.change({ spec, live: { actions: { run: {} }, controls: [{ ...CONTROLS[0], value: `text ${i}` }] } });
    await tick();
  }
  assert.equal(Number(live.getAttribute("data-lm-draws")), draws + 4, "spec and live in one message: one draw");
  assert.equal(el.querySelectorAll(".lm-view.lm-predictions").length, 1);
  assert.equal(el.querySelector(".lm-title").textContent, "P3");
  assert.equal(el.querySelector(".lm-ctl-text").value, "text 3");
  assert.equal(el.querySelectorAll(".lm-ctls").length, 1);
  assert.equal(dom.listenerCount(el), listeners);
  assert.equal(model.listenerCount(), onModel);
  cleanup();
  model.change({ spec: predictionsSpec() });
  await tick();
  assert.equal(el.childNodes.length, 0, "nothing drawn after the cleanup");
});

test("a broken spec shows its error inside the widget, and the next spec draws again", async () => {
  const bad = predictionsSpec();
  bad.probs = null;
  const model = fakeModel({ spec: bad, live: { actions: {}, controls: [] } });
  const el = document.createElement("div");
  const cleanup = index.live({ model, el });
  assert.match(el.querySelector(".lmlens-error").textContent, /predictions spec: missing "probs"/);
  assert.equal(el.querySelectorAll(".lm-ctls").length, 0, "no inputs without controls");
  model.change({ spec: predictionsSpec() });
  await tick();
  assert.equal(el.querySelectorAll(".lm-view.lm-predictions").length, 1);
  assert.equal(el.querySelectorAll(".lmlens-error").length, 0);
  cleanup();
});

test("views ask through ui/live.js: inert on a static page, a request in a widget", () => {
  const still = staticModel(predictionsSpec());
  assert.equal(liveAction(still, "attribute"), null);
  request(still, "attribute", { position: 1 }); // no-op
  const sent = [];
  const widget = fakeModel({ spec: predictionsSpec(), live: { actions: { attribute: { positions: [1, 2] } }, controls: [] } });
  const ui = {};
  const vm = viewModel(widget, ui, (m) => sent.push(m));
  assert.deepEqual(liveAction(vm, "attribute"), { positions: [1, 2] });
  assert.equal(liveAction(vm, "slice"), null);
  request(vm, "slice", { layer: 1 });
  request(vm, "attribute", { position: 2 }, "the attribution of “C”");
  assert.deepEqual(sent, [{ type: "lmlens:request", action: "attribute", args: { position: 2 }, label: "the attribution of “C”" }]);
  // the spec's keys read through; UI state set by a view stays for the next draw, never synced
  assert.equal(vm.get("kind"), "predictions");
  vm.set("ui_mode", "signed");
  assert.equal(viewModel(widget, ui, () => {}).get("ui_mode"), "signed");
  assert.equal(widget.get("ui_mode"), undefined);
});
