"use strict";
// Tests of js/src/views/_lens.js: the helpers shared by the logit-lens views (rank scale, compact
// numbers, token chips, cell colours, spec access). Pure functions; no DOM except a stub for svg().
const test = require("node:test");
const assert = require("node:assert/strict");
const fs = require("node:fs");
const path = require("node:path");
const L = require("../src/views/_lens.js");
const { VIRIDIS, css, probToUnit } = require("../src/color.js");
const { parseColor, luminance } = require("../src/dom.js");
const { staticModel } = require("../src/model.js");

/** @param {ArrayBufferView} view */
function b64(view) {
  return Buffer.from(view.buffer, view.byteOffset, view.byteLength).toString("base64");
}

/** WCAG contrast ratio of two "rgb(...)" / "#rrggbb" colours. */
function contrast(a, b) {
  const rgb = (s) => parseColor(s) || [1, 3, 5].map((i) => parseInt(s.slice(i, i + 2), 16));
  const [hi, lo] = [luminance(rgb(a)), luminance(rgb(b))].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
}

test("rankUnit: log scale, rank 1 → 1, 100 → 0.5, RANK_MAX or worse → 0", () => {
  assert.equal(L.RANK_MAX, 10000);
  assert.equal(L.rankUnit(1), 1);
  assert.ok(Math.abs(L.rankUnit(100) - 0.5) < 1e-12);
  assert.equal(L.rankUnit(10000), 0);
  assert.equal(L.rankUnit(49152), 0);
  assert.ok(Math.abs(L.rankUnit(10, 100) - 0.5) < 1e-12, "custom max");
  for (const bad of [0, -3, 0.5, NaN, undefined]) assert.equal(L.rankUnit(/** @type {any} */ (bad)), 0, String(bad));
  let prev = 2;
  for (let r = 1; r <= 20000; r = Math.ceil(r * 1.7)) {
    const t = L.rankUnit(r);
    assert.ok(t >= 0 && t <= 1 && t <= prev, `rank ${r}`);
    prev = t;
  }
});

test("rankText: exact below 1000, one decimal in thousands below 9.95k, then whole k", () => {
  const cases = [[1, "1"], [7, "7"], [999, "999"], [1000, "1.0k"], [1234, "1.2k"], [9949, "9.9k"],
    [9950, "10k"], [45678, "46k"], [49152, "49k"]];
  for (const [rank, want] of cases) assert.equal(L.rankText(rank), want, String(rank));
  for (let r = 1; r < 200000; r = Math.ceil(r * 1.3)) assert.ok(L.rankText(r).length <= 4, `rank ${r} fits a cell`);
});

test("probText: percent without the sign, at most 3 characters, NaN → dash", () => {
  const cases = [[1, "100"], [0.996, "100"], [0.995, "100"], [0.873, "87"], [0.5, "50"], [0.0995, "10"],
    [0.0345, "3.5"], [0.00995, "1.0"], [0.0004, ".04"], [0.0001, ".01"], [0.00009, "0"], [0, "0"]];
  for (const [p, want] of cases) assert.equal(L.probText(p), want, String(p));
  assert.equal(L.probText(NaN), "–");
  for (let e = -8; e <= 0; e += 0.1) assert.ok(L.probText(10 ** e).length <= 3, `1e${e.toFixed(1)}`);
});

test("tokenText: spaces-only tokens as ␣, control characters escaped, everything else kept", () => {
  assert.equal(L.tokenText(" "), "␣");
  assert.equal(L.tokenText("   "), "␣␣␣");
  assert.equal(L.tokenText(""), "∅");
  assert.equal(L.tokenText("a\nb"), "a↵b");
  assert.equal(L.tokenText("\t\r"), "⇥␍");
  assert.equal(L.tokenText("\x15"), "\\x15");
  assert.equal(L.tokenText("\x00x\x7f"), "\\x00x\\x7f");
  for (const s of [" Paris", "▁東京", "Ġthe", "</script>", "<img src=x onerror=alert(1)>", " a "]) {
    assert.equal(L.tokenText(s), s, "kept as text");
  }
});

test("cellColors: viridis ends, clamped, and a readable text colour on every shade", () => {
  assert.deepEqual(L.cellColors(1), { bg: css(VIRIDIS[VIRIDIS.length - 1]), fg: "#111111" });
  assert.deepEqual(L.cellColors(0), { bg: css(VIRIDIS[0]), fg: "#ffffff" });
  assert.deepEqual(L.cellColors(7), L.cellColors(1));
  assert.deepEqual(L.cellColors(-1), L.cellColors(0));
  for (let t = 0; t <= 1.0001; t += 0.02) {
    const { bg, fg } = L.cellColors(t);
    assert.ok(contrast(bg, fg) >= 3, `t=${t.toFixed(2)}: ${fg} on ${bg}`);
  }
});

test("rankColors and probColors map through rankUnit / probToUnit; NaN is the darkest", () => {
  assert.deepEqual(L.rankColors(1), L.cellColors(1));
  assert.deepEqual(L.rankColors(100), L.cellColors(0.5));
  assert.deepEqual(L.rankColors(1e6), L.cellColors(0));
  assert.deepEqual(L.probColors(1), L.cellColors(1));
  assert.deepEqual(L.probColors(0.01), L.cellColors(probToUnit(0.01)));
  assert.deepEqual(L.probColors(1e-9), L.cellColors(0));
  assert.deepEqual(L.probColors(NaN), L.cellColors(0));
});

test("viridisGradient runs left (worst) to right (best) through every stop", () => {
  const g = L.viridisGradient();
  assert.match(g, /^linear-gradient\(to right, /);
  const stops = g.slice("linear-gradient(to right, ".length, -1).split(/,\s(?=rgb)/);
  assert.equal(stops.length, VIRIDIS.length);
  assert.equal(stops[0], `${css(VIRIDIS[0])} 0.0%`);
  assert.equal(stops[stops.length - 1], `${css(VIRIDIS[VIRIDIS.length - 1])} 100.0%`);
});

test("arr decodes a spec array record and names the view and key when it is missing", () => {
  const m = staticModel({ kind: "rankings", ranks: { dtype: "int32", shape: [2, 2], b64: b64(new Int32Array([1, 5, 20, 10000])) } });
  const out = L.arr(m, "ranks");
  assert.deepEqual(out.shape, [2, 2]);
  assert.deepEqual(Array.from(out.data), [1, 5, 20, 10000]);
  assert.throws(() => L.arr(m, "probs"), /rankings spec: missing "probs"/);
});

test("vocabLookup maps ids to display strings, unknown ids to #id, and checks lengths", () => {
  const ids = { dtype: "int32", shape: [3], b64: b64(new Int32Array([42, 7, 49151])) };
  const look = L.vocabLookup(staticModel({ kind: "rankings", vocab_ids: ids, vocab_strings: [" Paris", "東京", "</s>"] }));
  assert.equal(look(42), " Paris");
  assert.equal(look(7), "東京");
  assert.equal(look(49151), "</s>");
  assert.equal(look(3), "#3");
  assert.throws(() => L.vocabLookup(staticModel({ kind: "rankings", vocab_ids: ids, vocab_strings: ["a"] })), /differ in length/);
  assert.throws(() => L.vocabLookup(staticModel({ kind: "rankings_watch", vocab_strings: [] })), /missing "vocab_ids"/);
});

test("LINE_COLORS are 8 distinct hex colours, the same list as the matplotlib figures", () => {
  assert.equal(L.LINE_COLORS.length, 8);
  assert.equal(new Set(L.LINE_COLORS).size, 8);
  for (const c of L.LINE_COLORS) assert.match(c, /^#[0-9A-F]{6}$/);
  const py = fs.readFileSync(path.join(__dirname, "..", "..", "lmlens", "views", "logit_lens_figures.py"), "utf8");
  const m = /^LINE_COLORS = \[([^\]]*)\]/m.exec(py);
  assert.ok(m, "LINE_COLORS in logit_lens_figures.py");
  assert.deepEqual(m[1].split(",").map((s) => s.trim().replace(/"/g, "")), L.LINE_COLORS);
});

test("COMMON_CSS scopes every rule under & and uses the --lm-* colour variables", () => {
  const rules = L.COMMON_CSS.split("\n").filter((line) => line.includes("{"));
  assert.ok(rules.length >= 5);
  for (const r of rules) assert.match(r, /^& /, r);
  assert.match(L.COMMON_CSS, /var\(--lm-fg\)/);
  const literal = L.COMMON_CSS.match(/#[0-9a-f]{3,8}\b|rgba?\(/gi) || [];
  assert.deepEqual(literal, ["#d1495b"], "the one literal colour is the generated-token dash");
  assert.ok(!/https?:\/\//.test(L.COMMON_CSS));
});

test("svg creates SVG-namespace elements with attributes and text", () => {
  const made = [];
  const saved = global.document;
  global.document = /** @type {any} */ ({
    createElementNS(ns, tag) {
      const el = { ns, tag, attrs: {}, textContent: "", setAttribute(k, v) { this.attrs[k] = v; } };
      made.push(el);
      return el;
    },
  });
  try {
    const el = /** @type {any} */ (L.svg("text", { x: 3, "text-anchor": "end" }, "rank 1"));
    assert.equal(el.ns, "http://www.w3.org/2000/svg");
    assert.equal(el.tag, "text");
    assert.deepEqual(el.attrs, { x: "3", "text-anchor": "end" });
    assert.equal(el.textContent, "rank 1");
    assert.equal(/** @type {any} */ (L.svg("g")).textContent, "", "no text unless given");
    assert.equal(made.length, 2);
  } finally {
    global.document = saved;
  }
});

test("the file holds no URL-looking text, so Python can inline it", () => {
  const src = fs.readFileSync(path.join(__dirname, "..", "src", "views", "_lens.js"), "utf8");
  assert.ok(!/https?:\/\//.test(src) && !src.includes("</script") && !src.includes("<!--"));
});
