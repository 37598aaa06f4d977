// @ts-check
"use strict";
/**
 * The head view (BertViz's, on a canvas): the query tokens in a left column, the key tokens in a
 * right one, and for every shown head a line from each query to each key in the head's colour,
 * as opaque as the weight. Hovering a query shows only its lines (and, beside the keys, a box per
 * head as strong as its weight); hovering a key shows the lines into it; a click pins the token
 * (Unpin or Escape releases; ↑/↓ and ←/→ move). Lines are drawn on one canvas, batched by
 * opacity, so hundreds of tokens stay responsive; only the edges making up the chosen share of
 * each row's mass are drawn.
 */

const { h } = require("../../dom.js");
const { headRGB, css } = require("../../color.js");
const { formatInt } = require("../../format.js");
const { pinState } = require("../../ui/pin.js");
const { tokenStrip } = require("../../ui/token_strip.js");
const { chip } = require("../../ui/token_text.js");
const { detailPanel } = require("../../ui/detail.js");
const { rowCodes, massKeep, sentenceSets } = require("./data.js");
const { themeRGB, sizeCanvas } = require("./paint.js");
const { headColor } = require("./controls.js");

/** Opacity levels lines are batched into. */
const LEVELS = 24;
/** Width of the lines area and of each per-head box band (CSS px). */
const LINES_W = 240;
const BOX_W = 6;

/**
 * Row height for `n` tokens (CSS px).
 * @param {number} n
 * @returns {number}
 */
function rowHeight(n) {
  return n <= 40 ? 20 : n <= 100 ? 16 : 13;
}

/**
 * Strongest keys (or queries) of a list of values, as [index, value] largest first.
 * @param {number[]} idx
 * @param {(i: number) => number} val
 * @param {number} k
 * @returns {[number, number][]}
 */
function top(idx, val, k) {
  return idx.map((i) => /** @type {[number, number]} */ ([i, val(i)])).filter((p) => p[1] > 0)
    .sort((a, b) => b[1] - a[1] || a[0] - b[0]).slice(0, k);
}

/**
 * @param {{d: import("./data.js").AttData, state: import("./controls.js").AttState,
 *          listen: import("../../ui/listeners.js").ListenerTable, view: HTMLElement,
 *          subTable: () => import("../../ui/listeners.js").ListenerTable,
 *          fmt: (v: number) => string}} o
 * @returns {{el: HTMLElement, update: (what: string) => void}}
 */
function headView(o) {
  const { d, state, listen, view } = o;
  const n = d.n;
  const rowH = rowHeight(n);
  const bandW = Math.min(BOX_W * d.H, 72);
  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { className: "lm-att-lines", attrs: { role: "img", "aria-label": "attention lines" } }));
  const leftWrap = h("div", { className: "lm-att-colwrap" });
  const rightWrap = h("div", { className: "lm-att-colwrap" });
  const row = h("div", { className: "lm-att-hv" }, [leftWrap, canvas, rightWrap]);
  row.style.setProperty("--lm-att-row", `${rowH}px`);
  const body = h("div", { className: "lm-att-detail-body" });
  const pin = pinState((key, pinned) => show(key, pinned));
  const detail = detailPanel({ listen, pin, scope: view, status: "hover a token · click to pin", children: [body] });
  const el = h("div", { className: "lm-att-headview" }, [row, detail.el]);

  /** @type {import("../../ui/listeners.js").ListenerTable|null} */
  let table = null;
  /** @type {ReturnType<typeof tokenStrip>|null} */
  let left = null;
  /** @type {ReturnType<typeof tokenStrip>|null} */
  let right = null;
  let sets = sentenceSets(n, d.sb, state.filter);
  /** @type {Map<number, number>} */
  let yQ = new Map();
  /** @type {Map<number, number>} */
  let yK = new Map();
  /** @type {CanvasRenderingContext2D|null} */
  let ctx = null;
  let height = 0;
  let builtFor = "";

  function buildColumns() {
    if (table) table.clear();
    table = o.subTable();
    builtFor = state.filter;
    sets = sentenceSets(n, d.sb, state.filter);
    /** @param {number} i */
    const onOther = (i) => {
      if (i < 0 && pin.pinned() < 0) pin.hover(-1);
    };
    const strip = (/** @type {number[]} */ pos, /** @type {number} */ base, /** @type {string} */ side) => {
      const s = tokenStrip({
        tokens: pos.map((p) => d.tokens[p]), generated: pos.map((p) => d.generated[p]), pin,
        listen: /** @type {import("../../ui/listeners.js").ListenerTable} */ (table),
        keys: Int32Array.from(pos, (p) => base + p), label: side === "left" ? "queries" : "keys",
        className: `lm-att-col lm-att-${side}`, onOther,
      });
      s.spans.forEach((sp, i) => {
        if (d.hidden[pos[i]]) sp.classList.add("lm-att-hidden");
        sp.title = `position ${formatInt(d.offset + pos[i])}${d.hidden[pos[i]] ? " (hidden)" : ""}`;
      });
      return s;
    };
    left = strip(sets.queries, 0, "left");
    right = strip(sets.keys, n, "right");
    leftWrap.textContent = "";
    rightWrap.textContent = "";
    leftWrap.appendChild(left.el);
    rightWrap.appendChild(right.el);
    yQ = new Map(sets.queries.map((p, i) => [p, i * rowH + rowH / 2]));
    yK = new Map(sets.keys.map((p, i) => [p, i * rowH + rowH / 2]));
    height = Math.max(sets.queries.length, sets.keys.length) * rowH;
    ctx = sizeCanvas(canvas, LINES_W + 2 * bandW, height).ctx;
  }

  /** Head slots drawn now, or [-1] for the rollout. */
  const sources = () => (state.rollout && d.roll ? [-1] : d.heads.map((_, i) => i).filter((i) => state.active[i]));
  const colorOf = (/** @type {number} */ src) => (src < 0 ? themeRGB(view, "--lm-fg", [31, 35, 40]) : headRGB(src));

  /** @param {number} key  -1: every row; < n: query `key`; ≥ n: key `key - n` */
  function draw(key) {
    if (!ctx) return;
    const c = ctx;
    c.clearRect(0, 0, LINES_W + 2 * bandW, height);
    const l = state.layer;
    const fq = key >= 0 && key < n ? key : -1;
    const fk = key >= n ? key - n : -1;
    const queries = fq >= 0 ? [fq] : sets.queries;
    const keys = sets.keys.filter((k) => !d.hidden[k]);
    const x0 = bandW;
    const x1 = bandW + LINES_W;
    c.lineWidth = key >= 0 ? 1.6 : 1.1;
    const srcs = sources();
    for (const src of srcs) {
      /** @type {number[][]} */
      const levels = Array.from({ length: LEVELS }, () => []);
      for (const q of queries) {
        if (d.hidden[q] || !yQ.has(q)) continue;
        const codes = rowCodes(d, l, src, q);
        for (const k of massKeep(codes, keys, state.mass)) {
          if (fk >= 0 && k !== fk) continue;
          const lv = Math.min(LEVELS - 1, Math.ceil((codes[k] / 255) * (LEVELS - 1)));
          levels[lv].push(/** @type {number} */ (yQ.get(q)), /** @type {number} */ (yK.get(k)));
        }
      }
      const rgb = colorOf(src);
      c.strokeStyle = css(rgb);
      for (let lv = 1; lv < LEVELS; lv++) {
        const ys = levels[lv];
        if (!ys.length) continue;
        c.globalAlpha = lv / (LEVELS - 1);
        c.beginPath();
        for (let j = 0; j < ys.length; j += 2) {
          c.moveTo(x0, ys[j]);
          c.lineTo(x1, ys[j + 1]);
        }
        c.stroke();
      }
    }
    c.globalAlpha = 1;
    // boxes beside the other column: one per shown head, as strong as its weight
    if (fq >= 0 || fk >= 0) {
      const w = Math.max(2, Math.floor(bandW / Math.max(1, srcs.length)));
      srcs.forEach((src, j) => {
        c.fillStyle = css(colorOf(src));
        const others = fq >= 0 ? keys : sets.queries.filter((q) => !d.hidden[q]);
        for (const p of others) {
          const code = fq >= 0 ? rowCodes(d, l, src, fq)[p] : rowCodes(d, l, src, p)[fk];
          if (!code) continue;
          c.globalAlpha = code / 255;
          const y = /** @type {number} */ ((fq >= 0 ? yK : yQ).get(p)) - rowH / 2 + 1;
          const x = fq >= 0 ? x1 + j * w : x0 - (j + 1) * w;
          c.fillRect(x, y, w - 1, rowH - 2);
        }
      });
      c.globalAlpha = 1;
    }
    canvas.setAttribute("data-lm-drawn", `${state.layer}:${key}:${srcs.join(",")}`);
  }

  /** @param {number} key @param {boolean} pinned */
  function show(key, pinned) {
    if (left) left.mark(key, pinned);
    if (right) right.mark(key, pinned);
    draw(key);
    detail.setPinned(pinned);
    el.setAttribute("data-lm-token", String(key));
    describe(key);
  }

  /** @param {number} key */
  function describe(key) {
    const l = state.layer;
    body.textContent = "";
    if (key < 0) {
      detail.setTitle(`Layer ${d.layers[l]} · ${state.rollout && d.roll ? "rollout" : `${sources().length} of ${d.H} heads`}`);
      body.appendChild(h("div", { className: "lm-foot", text: "Hover a query (left) to see where it attends, or a key (right) to see what attends to it; click to pin." }));
      return;
    }
    const isQ = key < n;
    const p = isQ ? key : key - n;
    detail.setTitle(`${isQ ? "Query" : "Key"} `, chip(d.tokens[p]), ` (position ${formatInt(d.offset + p)}) ${isQ ? "attends to" : "is attended by"}:`);
    const others = (isQ ? sets.keys : sets.queries).filter((x) => !d.hidden[x]);
    for (const src of sources()) {
      const val = (/** @type {number} */ x) => (isQ ? rowCodes(d, l, src, p)[x] : rowCodes(d, l, src, x)[p]) * (src < 0 ? 1 / 255 : d.scales[l]);
      const sw = h("span", { className: "lm-att-swatch" });
      sw.style.backgroundColor = src < 0 ? "" : headColor(src);
      const items = top(others, val, 4).map(([x, v]) => h("span", { className: "lm-att-topk" }, [chip(d.tokens[x]), ` ${o.fmt(v)}`]));
      body.appendChild(h("div", { className: "lm-att-headrow" }, [sw, h("b", { text: src < 0 ? "rollout" : `head ${d.heads[src]}` }), ...items]));
    }
  }

  buildColumns();
  show(-1, false);
  return {
    el,
    update() {
      if (state.filter !== builtFor) {
        pin.release();
        buildColumns();
        pin.hover(-1);
        show(-1, false);
      } else {
        show(pin.shown(), pin.pinned() >= 0);
      }
    },
  };
}

module.exports = { headView, rowHeight, top };
