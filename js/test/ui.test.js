"use strict";
// Tests of js/src/ui: every piece two views share, in a tiny DOM stub (./dom_stub.js).
// Each DOM piece is checked by what a user does (hover, click, keys) and what the page then
// holds; the listener table by counting listeners before and after cleanup.
const test = require("node:test");
const assert = require("node:assert/strict");
const dom = require("./dom_stub.js");
const { staticModel } = require("../src/model.js");
const { listenerTable, mountView } = require("../src/ui/listeners.js");
const { arr, arrOf, expectShape, strings, vocabLookup, layerAxis } = require("../src/ui/spec.js");
const { pinState } = require("../src/ui/pin.js");
const { tokenStrip } = require("../src/ui/token_strip.js");
const { chip, contextLabel } = require("../src/ui/token_text.js");
const { detailPanel } = require("../src/ui/detail.js");
const { segmented } = require("../src/ui/switch.js");
const { legend } = require("../src/ui/legend.js");
const { topkList, probBar, barWidth } = require("../src/ui/topk.js");
const { viewHeader, noticeBox, controls } = require("../src/ui/header.js");

test.beforeEach(() => dom.install());
test.afterEach(() => dom.uninstall());

/** @param {ArrayBufferView} view */
function rec(dtype, shape, view) {
  return { dtype, shape, b64: Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString("base64") };
}

/** A root element like the shell's, holding an error box, so guard() has somewhere to write. */
function root() {
  const r = document.createElement("div");
  r.className = "lmlens-root";
  const el = document.createElement("div");
  r.appendChild(el);
  return { r, el };
}

// ---- listeners ------------------------------------------------------------------------------

test("listenerTable: every listener it adds, clear() removes; handlers are guarded", () => {
  const { r, el } = root();
  const a = document.createElement("button");
  el.appendChild(a);
  const t = listenerTable(el);
  let clicks = 0;
  t.on(a, "click", () => { clicks += 1; });
  t.on(a, "keydown", () => { throw new Error("boom"); });
  assert.equal(t.size(), 2);
  assert.equal(dom.listenerCount(r), 2);
  dom.fire(a, "click");
  assert.equal(clicks, 1);
  dom.fire(a, "keydown"); // the exception lands in the view's error box, not in the console
  const box = r.querySelector(".lmlens-error");
  assert.ok(box && /lmlens could not draw this view\. Error: boom/.test(box.textContent));
  t.clear();
  assert.equal(t.size(), 0);
  assert.equal(dom.listenerCount(r), 0);
  dom.fire(a, "click");
  assert.equal(clicks, 1, "no handler left");
});

test("listenerTable.model: model listeners are removed by clear() too", () => {
  const { el } = root();
  const model = staticModel({ kind: "x" });
  const t = listenerTable(el);
  const seen = [];
  t.model(model, "change:position", (v) => seen.push(v));
  model.set("position", 3);
  t.clear();
  model.set("position", 4);
  assert.deepEqual(seen, [3]);
});

test("mountView: cleanup removes the view and every listener; N renders leave exactly one view", () => {
  const { r, el } = root();
  const draw = () => mountView(el, "lm-demo", ({ view, listen }) => {
    const b = document.createElement("button");
    view.appendChild(b);
    listen.on(b, "click", () => {});
    listen.on(view, "keydown", () => {});
  });
  let cleanup = draw();
  const one = dom.listenerCount(r);
  assert.equal(one, 2);
  for (let i = 0; i < 5; i++) {
    cleanup();
    cleanup = draw();
  }
  assert.equal(dom.listenerCount(r), one);
  assert.equal(el.querySelectorAll(".lm-view").length, 1);
  assert.ok(el.querySelector(".lm-view.lm-demo"));
  cleanup();
  assert.equal(dom.listenerCount(r), 0);
  assert.equal(el.childNodes.length, 0);
});

test("mountView: a build that throws leaves no view and no listener behind", () => {
  const { r, el } = root();
  assert.throws(() => mountView(el, "lm-demo", ({ view, listen }) => {
    listen.on(view, "click", () => {});
    throw new Error("bad spec");
  }), /bad spec/);
  assert.equal(el.childNodes.length, 0);
  assert.equal(dom.listenerCount(r), 0);
});

// ---- spec readers ---------------------------------------------------------------------------

test("arr / arrOf decode array records and name the view and key when something is wrong", () => {
  const m = staticModel({ kind: "rankings", ranks: rec("int32", [2, 2], new Int32Array([1, 5, 20, 10000])) });
  const out = arr(m, "ranks");
  assert.deepEqual(out.shape, [2, 2]);
  assert.deepEqual(Array.from(out.data), [1, 5, 20, 10000]);
  assert.deepEqual(Array.from(arrOf(m, "ranks", [2, -1]).data), [1, 5, 20, 10000]);
  assert.throws(() => arr(m, "probs"), /rankings spec: missing "probs"/);
  assert.throws(() => arrOf(m, "ranks", [3, 2]), /rankings spec: "ranks" is \[2,2\], expected \[3,2\]/);
  assert.throws(() => arrOf(m, "ranks", [4]), /expected \[4\]/);
  assert.throws(() => expectShape(m, "x", out, [-1, 2, 1]), /expected \[\*,2,1\]/);
});

test("strings, vocabLookup and layerAxis", () => {
  const ids = rec("int32", [3], new Int32Array([42, 7, 49151]));
  const m = staticModel({ kind: "rankings", vocab_ids: ids, vocab_strings: [" Paris", "東京", "</s>"],
    layer_labels: ["embed", "0", "1"], layer_names: ["embed", "blocks.0.resid_post", "blocks.1.resid_post"] });
  const look = vocabLookup(m);
  assert.equal(look(42), " Paris");
  assert.equal(look(7), "東京");
  assert.equal(look(49151), "</s>");
  assert.equal(look(3), "#3");
  assert.deepEqual(layerAxis(m), { layerLabels: ["embed", "0", "1"], nL: 3,
    layerNames: ["embed", "blocks.0.resid_post", "blocks.1.resid_post"] });
  assert.deepEqual(strings(m, "notices"), []);
  assert.throws(() => strings(staticModel({ kind: "k", notices: "one" }), "notices"), /"notices" is not a list/);
  assert.throws(() => vocabLookup(staticModel({ kind: "rankings", vocab_ids: ids, vocab_strings: ["a"] })), /differ in length/);
  assert.throws(() => vocabLookup(staticModel({ kind: "rankings_watch", vocab_strings: [] })), /missing "vocab_ids"/);
  assert.throws(() => layerAxis(staticModel({ kind: "k", layer_labels: ["a"], layer_names: [] })), /differ in length/);
});

// ---- hover and pin --------------------------------------------------------------------------

test("pinState: hover follows until a pin; toggle, move, release and select", () => {
  const calls = [];
  const pin = pinState((k, pinned) => calls.push([k, pinned]));
  pin.hover(3);
  pin.hover(3); // same item: no redraw
  pin.hover(5);
  assert.deepEqual(calls, [[3, false], [5, false]]);
  pin.toggle(5);
  assert.equal(pin.pinned(), 5);
  pin.hover(7); // pinned: hover does nothing
  assert.equal(pin.shown(), 5);
  pin.move(6); // arrows carry the pin
  assert.deepEqual([pin.shown(), pin.pinned()], [6, 6]);
  pin.toggle(6); // the pinned item again releases it
  assert.deepEqual([pin.shown(), pin.pinned()], [6, -1]);
  pin.move(2); // unpinned: arrows just show
  assert.deepEqual([pin.shown(), pin.pinned()], [2, -1]);
  pin.toggle(4);
  pin.toggle(1); // another item moves the pin
  assert.deepEqual([pin.shown(), pin.pinned()], [1, 1]);
  pin.release();
  assert.deepEqual(calls.at(-1), [1, false]);
  const n = calls.length;
  pin.release(); // nothing pinned: no redraw
  assert.equal(calls.length, n);
  pin.select(9);
  assert.deepEqual(calls.at(-1), [9, true]);
  pin.redraw();
  assert.deepEqual(calls.at(-1), [9, true]);
});

// ---- token strip and detail panel -----------------------------------------------------------

function stripView({ keys, mode } = {}) {
  const { r, el } = root();
  const listen = listenerTable(el);
  const view = document.createElement("div");
  el.appendChild(view);
  const shown = [];
  const others = [];
  let strip;
  const pin = pinState((k, pinned) => {
    shown.push([k, pinned]);
    strip.mark(k, pinned);
    detail.setPinned(pinned);
  });
  const tokens = ["The", " capital", "\n", " of", " France"];
  strip = tokenStrip({ tokens, generated: [0, 0, 0, 1, 1], pin, listen, keys, mode, onOther: (i) => others.push(i) });
  const detail = detailPanel({ listen, pin, scope: view, status: "hover a token · click to pin", children: [] });
  view.append(strip.el, detail.el);
  return { r, el, view, listen, pin, strip, detail, shown, others, tokens };
}

test("tokenStrip: one span per token, newlines break, generated marked, hover and click pin", () => {
  const v = stripView();
  const spans = v.strip.spans;
  assert.deepEqual(spans.map((s) => s.textContent), ["The", " capital", "↵\n", " of", " France"]);
  assert.deepEqual(spans.map((s) => s.classList.contains("lm-gen")), [false, false, false, true, true]);
  dom.fire(spans[1], "mouseover");
  assert.deepEqual(v.shown.at(-1), [1, false]);
  assert.ok(spans[1].classList.contains("lm-active"));
  assert.equal(spans[1].tabIndex, 0, "the shown token is the strip's tab stop");
  dom.fire(spans[3], "click");
  assert.deepEqual(v.shown.at(-1), [3, true]);
  assert.ok(spans[3].classList.contains("lm-locked") && !spans[1].classList.contains("lm-active"));
  assert.equal(spans[1].tabIndex, -1);
  dom.fire(spans[0], "mouseover"); // pinned: hover leaves it
  assert.equal(v.pin.shown(), 3);
  assert.deepEqual(v.others.at(-1), 0, "the hovered token still reaches onOther");
  const unpin = v.detail.el.querySelector(".lm-unpin");
  const status = v.detail.el.querySelector(".lm-status");
  assert.ok(!unpin.hidden && status.hidden && v.detail.el.classList.contains("lm-is-locked"));
  dom.fire(spans[3], "click"); // second click releases
  assert.equal(v.pin.pinned(), -1);
  assert.ok(unpin.hidden && !status.hidden);
});

test("tokenStrip byte pieces: a character split over tokens is drawn once over one slice per token", () => {
  const { el } = root();
  const listen = listenerTable(el);
  const shown = [];
  let strip;
  const pin = pinState((k, pinned) => { shown.push([k, pinned]); strip.mark(k, pinned); });
  // 東京は split as E6 9D | B1 | E4 BA | AC E3 81 | AF  (byte-level BPE): "" until a token completes
  const tokens = ["", "東", "", "京", "は", "", ""];
  const labels = ["<E6 9D>(東)", "<B1>(東)", "<E4 BA>(京)", "<AC>(京)", "は", "<E3 81>(の)", "<AE>"];
  strip = tokenStrip({ tokens, labels, pin, listen });
  el.appendChild(strip.el);
  assert.ok(!strip.el.textContent.includes("∅"), "no empty placeholder");
  const groups = strip.el.querySelectorAll(".lm-tok-group");
  assert.equal(groups.length, 2);
  assert.deepEqual(groups.map((g) => g.querySelector(".lm-tok-text").textContent), ["東", "京"]);
  assert.deepEqual(groups.map((g) => g.querySelectorAll(".lm-slice").length), [2, 2]);
  // every token keeps its own span (hover, pin, colour) and its label as tooltip
  assert.equal(strip.spans.length, tokens.length);
  assert.equal(strip.spans[0].title, "<E6 9D>(東)");
  assert.equal(strip.spans[4].title, "", "a whole token needs no tooltip");
  dom.fire(strip.spans[0], "mouseover");
  assert.deepEqual(shown.at(-1), [0, false]);
  dom.fire(strip.spans[3], "click");
  assert.deepEqual(shown.at(-1), [3, true]);
  // a cut character at the end (no completing token) reads as its bytes
  assert.deepEqual([strip.spans[5].textContent, strip.spans[6].textContent], ["<E3 81>(の)", "<AE>"]);
  // the characters drawn read back as the text
  assert.equal(strip.el.textContent.replace(/<[^>]*>\([^)]*\)|<[^>]*>/g, ""), "東京は");
});

test("tokenStrip keys: Enter pins, arrows move (the pin follows), Escape anywhere and Unpin release", () => {
  const v = stripView();
  const spans = v.strip.spans;
  spans[0].focus(); // focus shows, like hover
  assert.equal(v.pin.shown(), 0);
  dom.fire(spans[0], "keydown", { key: "Enter" });
  assert.equal(v.pin.pinned(), 0);
  const e = dom.fire(spans[0], "keydown", { key: "ArrowRight" });
  assert.ok(e.defaultPrevented);
  assert.deepEqual([v.pin.shown(), v.pin.pinned()], [1, 1]);
  assert.equal(document.activeElement, spans[1]);
  dom.fire(spans[1], "keydown", { key: "ArrowLeft" });
  dom.fire(spans[0], "keydown", { key: "ArrowLeft" }); // stays at the first token
  assert.equal(v.pin.pinned(), 0);
  dom.fire(v.detail.el, "keydown", { key: "Escape" }); // anywhere in the view
  assert.equal(v.pin.pinned(), -1);
  dom.fire(spans[4], "click");
  dom.fire(v.detail.el.querySelector(".lm-unpin"), "click");
  assert.deepEqual([v.pin.shown(), v.pin.pinned()], [4, -1]);
});

test("tokenStrip with keys: only items are hoverable / focusable; others go to onOther; leaving resets", () => {
  const keys = Int32Array.from([-1, -1, 0, -1, 1]); // targets at tokens 2 and 4
  const v = stripView({ keys });
  const spans = v.strip.spans;
  assert.deepEqual(spans.map((s) => s.hasAttribute("tabindex")), [false, false, true, false, true]);
  dom.fire(spans[1], "mouseover");
  assert.deepEqual(v.shown, []);
  assert.equal(v.others.at(-1), 1);
  dom.fire(spans[4], "mouseover");
  assert.deepEqual(v.shown.at(-1), [1, false]);
  assert.equal(v.others.at(-1), -1);
  assert.equal(v.strip.tokenOf(1), 4);
  assert.equal(v.strip.tokenOf(7), -1);
  dom.fire(spans[4], "keydown", { key: "ArrowLeft" }); // item 1 → item 0 (token 2), skipping non-items
  assert.equal(v.pin.shown(), 0);
  assert.equal(document.activeElement, spans[2]);
  dom.fire(spans[1], "click"); // not an item: nothing pinned
  assert.equal(v.pin.pinned(), -1);
  dom.fire(v.strip.el, "mouseleave");
  assert.equal(v.others.at(-1), -1);
});

test("tokenStrip select mode: click and arrows choose, hover does not, there is always one", () => {
  const v = stripView({ mode: "select" });
  const spans = v.strip.spans;
  v.pin.select(2);
  dom.fire(spans[4], "mouseover");
  assert.equal(v.pin.shown(), 2);
  dom.fire(spans[4], "click");
  dom.fire(spans[4], "click"); // a second click keeps it chosen
  assert.deepEqual([v.pin.shown(), v.pin.pinned()], [4, 4]);
  dom.fire(spans[4], "keydown", { key: "ArrowLeft" });
  assert.deepEqual([v.pin.shown(), v.pin.pinned()], [3, 3]);
  assert.ok(spans[3].classList.contains("lm-locked"));
});

test("tokenStrip: cleanup through the listener table removes every strip and panel listener", () => {
  const v = stripView();
  assert.ok(dom.listenerCount(v.r) >= 7);
  assert.equal(dom.listenerCount(v.r), v.listen.size());
  v.listen.clear();
  assert.equal(dom.listenerCount(v.r), 0);
});

test("contextLabel: up to six tokens of left context, an ellipsis when cut, the token in bold", () => {
  const tokens = ["a", "b", "c", "d", "e", "f", "g", "h\n"];
  const c = contextLabel(tokens, 7);
  assert.equal(c.className, "lm-context");
  assert.equal(c.textContent, "…bcdefgh↵");
  assert.equal(c.querySelector("b").textContent, "h↵");
  assert.equal(contextLabel(tokens, 2).textContent, "abc");
  assert.equal(contextLabel(tokens, 2, { cut: true }).textContent, "…abc");
  assert.equal(contextLabel(tokens, 3, { before: 1 }).textContent, "…cd");
  // byte pieces: the bold token reads as its chip label; an empty context shows nothing, not ∅
  const ja = ["", "東", "京"];
  const labels = ["<E6 9D>(東)", "<B1>(東)", "京"];
  assert.equal(contextLabel(ja, 1, { labels }).textContent, "<B1>(東)");
  assert.equal(contextLabel(ja, 2, { labels }).textContent, "東京");
  assert.equal(contextLabel(ja, 0, { labels }).querySelector("b").textContent, "<E6 9D>(東)");
});

test("detailPanel without a pin: a title and rows, no Unpin button, no listeners", () => {
  const { el } = root();
  const listen = listenerTable(el);
  const row = document.createElement("p");
  const d = detailPanel({ listen, status: "hover the chart", children: [row], live: false, className: "lm-heat" });
  d.setTitle("layer ", chip(" 3"));
  assert.equal(d.el.className, "lm-detail lm-heat");
  assert.equal(d.el.getAttribute("aria-live"), null);
  assert.equal(d.el.querySelector(".lm-detail-title").textContent, "layer  3");
  assert.equal(d.el.querySelector(".lm-unpin"), null);
  assert.equal(d.el.querySelector(".lm-status").textContent, "hover the chart");
  assert.ok(d.el.contains(row));
  d.setPinned(true); // no unpin: the hint stays
  assert.ok(!d.el.querySelector(".lm-status").hidden);
  assert.equal(listen.size(), 0);
});

// ---- switch, legend, top-k, header ----------------------------------------------------------

test("segmented: one button pressed; a click on another sets it and reports once", () => {
  const { r, el } = root();
  const listen = listenerTable(el);
  const changes = [];
  const s = segmented({ label: "colour by", options: [["rank", "rank"], ["prob", "probability", "tip"]], value: "rank",
    onChange: (v) => changes.push(v), listen });
  el.appendChild(s.el);
  const [a, b] = s.el.querySelectorAll("button");
  assert.equal(s.el.getAttribute("role"), "group");
  assert.equal(s.el.getAttribute("aria-label"), "colour by");
  assert.deepEqual([a.getAttribute("aria-pressed"), b.getAttribute("aria-pressed")], ["true", "false"]);
  assert.equal(b.title, "tip");
  dom.fire(b, "click");
  dom.fire(b, "click"); // already on: no second report
  assert.deepEqual(changes, ["prob"]);
  assert.equal(s.value(), "prob");
  assert.deepEqual([a.getAttribute("aria-pressed"), b.getAttribute("aria-pressed")], ["false", "true"]);
  s.set("rank"); // set from code: no report
  assert.deepEqual(changes, ["prob"]);
  assert.equal(a.getAttribute("aria-pressed"), "true");
  assert.equal(dom.listenerCount(r), 1, "one delegated listener for the group");
  const labelled = segmented({ label: "method", showLabel: true, options: [["x", "X"]], value: "x", onChange() {}, listen });
  assert.equal(labelled.el.querySelector(".lm-seg-label").textContent, "method");
  assert.ok(labelled.el.querySelector(".lm-seg"));
});

test("legend: labels, the gradient it is given, optional ticks; set() changes them", () => {
  const l = legend({ lo: "unlikely", hi: "likely", gradient: "linear-gradient(to right, red, blue)", ticks: "0.01% · 100%" });
  assert.equal(l.el.getAttribute("aria-hidden"), "true");
  assert.equal(l.el.textContent, "unlikelylikely0.01% · 100%");
  assert.equal(l.el.querySelector(".lm-legend-bar").style.background, "linear-gradient(to right, red, blue)");
  l.set({ lo: "0", hi: "largest share", gradient: "g2" });
  assert.equal(l.el.textContent, "0largest share");
  assert.ok(l.el.querySelector(".lm-legend-ticks").hidden);
  assert.equal(l.el.querySelector(".lm-legend-bar").style.background, "g2");
});

test("topkList: rank, chip, bar width, percentage and tag per row; fill replaces the rows", () => {
  const t = topkList();
  t.fill([{ text: " Paris", p: 0.5, tag: "actual" }, { text: " ", p: 0.001 }, { text: "x", p: 1.7 }]);
  const rows = t.el.querySelectorAll("li");
  assert.equal(rows.length, 3);
  assert.deepEqual(rows.map((r) => r.querySelector(".lm-chip").textContent), [" Paris", "␣", "x"]);
  assert.deepEqual(rows.map((r) => r.querySelector(".lm-rank").textContent), ["1", "2", "3"]);
  assert.deepEqual(rows.map((r) => r.querySelector(".lm-pct").textContent), ["50%", "0.1%", "170%"]);
  assert.deepEqual(rows.map((r) => r.querySelector(".lm-bar").firstChild.style.width), ["50%", "0.1%", "100%"]);
  assert.deepEqual(rows.map((r) => r.classList.contains("lm-actual")), [true, false, false]);
  assert.equal(rows[0].querySelector(".lm-tag").textContent, "actual");
  t.fill([{ text: "a", p: 0.1 }]);
  assert.equal(t.el.querySelectorAll("li").length, 1);
  assert.equal(barWidth(NaN), "0%");
  assert.equal(barWidth(-1), "0%");
  assert.equal(probBar(0.25).firstChild.style.width, "25%");
});

test("viewHeader: spec title (or the default), meta parts, summary and notices; setMeta", () => {
  const m = staticModel({ kind: "k", title: "Logit <b>", summary: "sum & more", notices: ["first", "second"] });
  const { nodes, setMeta } = viewHeader(m, { title: "Default", meta: ["model", "", null, "3 layers", false] });
  const [head, summary, notices] = nodes;
  assert.equal(head.querySelector(".lm-title").textContent, "Logit <b>");
  assert.equal(head.querySelector(".lm-meta").textContent, "model · 3 layers");
  assert.equal(summary.textContent, "sum & more");
  assert.deepEqual(notices.querySelectorAll("p").map((p) => p.textContent), ["first", "second"]);
  assert.equal(notices.getAttribute("role"), "note");
  setMeta(["x", "y"]);
  assert.equal(head.querySelector(".lm-meta").textContent, "x · y");
  const bare = viewHeader(staticModel({ kind: "k" }), { title: "Default", meta: [] });
  assert.equal(bare.nodes[0].querySelector(".lm-title").textContent, "Default");
  assert.deepEqual(bare.nodes.slice(1), [null, null]);
  assert.equal(noticeBox([]), null);
  assert.equal(noticeBox(["n"], "lm-x").className, "lm-notices lm-x");
  assert.equal(controls([null, false, chip("a")]).childNodes.length, 1);
});

test("listenerTable.atCleanup and resize: cleared with the rest", () => {
  const { el } = root();
  const t = listenerTable(el);
  const done = [];
  t.atCleanup(() => done.push("frame cancelled"));
  t.resize(el, () => {});
  t.clear();
  assert.deepEqual(done, ["frame cancelled"]);
  assert.equal(t.size(), 0);
});
