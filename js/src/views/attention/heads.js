// @ts-check
"use strict";
/**
 * The head view (BertViz's, on a canvas): the query tokens in a left column, the key tokens in a
 * right one, and for every shown head a line from each query to each key in the head's colour,
 * as opaque as the weight. Hovering a query shows only its lines (and, beside the keys, a box per
 * head as strong as its weight); hovering a key shows the lines into it; a click pins the token
 * (Unpin or Escape releases; ←/→ move). Lines are rasterised in JS into a pixel buffer the
 * height of the visible part of the columns (paint.js lineRaster: a canvas stroke per line is far
 * too slow without GPU rasterisation), redrawn as the columns scroll, so hundreds of tokens stay
 * responsive; only the edges making up the chosen share of each row's mass are drawn, and none
 * weaker than 1.2% (worked out once per row for the layer, mass and filter shown). The drawing of
 * every line is kept and put back when the pointer leaves a token or moves to the next one, so a
 * hover draws only the hovered token's lines (~heads × tokens), never the ~10^4 of the whole.
 */

const { h } = require("../../dom.js");
const { headRGB } = require("../../color.js");
const { formatInt } = require("../../format.js");
const { pinState } = require("../../ui/pin.js");
const { tokenStrip } = require("../../ui/token_strip.js");
const { chip } = require("../../ui/token_text.js");
const { detailPanel } = require("../../ui/detail.js");
const { rowCodes, massKeep, sentenceSets } = require("./data.js");
const { themeRGB, sizeCanvas, lineRaster } = require("./paint.js");
const { headColor } = require("./controls.js");

/** Lines weaker than this code (of 255: 1.2% of a row for attention) are not drawn: invisible. */
const MIN_CODE = 3;
/** Time the first slice of a large drawing may take before it shows, and each later one (ms). */
const FIRST_SLICE_MS = 60;
const SLICE_MS = 150;
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
  /** @type {ReturnType<typeof lineRaster>|null} */
  let raster = null;
  /** @type {ImageData|null} */
  let image = null;
  let height = 0;
  let band = 0;
  let builtFor = "";
  /** The last complete drawing of every line (pointer off the tokens) and what it showed: moving
   * the pointer between tokens or off them shows it again instead of drawing ~10^4 lines anew. */
  let whole = { sig: "", img: /** @type {ImageData|null} */ (null) };

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
        tokens: pos.map((p) => d.labels[p]), generated: pos.map((p) => d.generated[p]), pin,
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
    ctx = sizeCanvas(canvas, LINES_W + 2 * bandW, height, 1).ctx;
    // the columns scroll inside a box at most 75% of the window high: draw that much at a time
    const win = typeof window !== "undefined" && window.innerHeight ? window.innerHeight : 1000;
    band = Math.min(height, Math.ceil(0.75 * win) + 2 * rowH);
    raster = lineRaster(LINES_W + 2 * bandW, band);
    image = ctx ? ctx.createImageData(LINES_W + 2 * bandW, band) : null;
    whole = { sig: "", img: null };
  }

  /** Keys drawn for each (head, query) row under the current layer, mass and filter, worked out
   * once (a hovered key's lines look through every row). */
  let kept = { sig: "", rows: /** @type {Map<number, Int32Array>} */ (new Map()) };

  /**
   * The keys whose lines row (`src`, `q`) of layer `l` draws, strongest first: those making up
   * the chosen share of the row's mass, none weaker than MIN_CODE.
   * @param {number} l @param {number} src @param {number} q @param {number[]} keys
   * @returns {Int32Array}
   */
  function keptKeys(l, src, q, keys) {
    const sig = `${l}|${state.mass}|${builtFor}`;
    if (kept.sig !== sig) kept = { sig, rows: new Map() };
    const id = (src + 1) * n + q;
    let ks = kept.rows.get(id);
    if (!ks) {
      const codes = rowCodes(d, l, src, q);
      ks = Int32Array.from(massKeep(codes, keys, state.mass).filter((k) => codes[k] >= MIN_CODE));
      kept.rows.set(id, ks);
    }
    return ks;
  }

  /** Head slots drawn now, or [-1] for the rollout. */
  const sources = () => (state.rollout && d.roll ? [-1] : d.heads.map((_, i) => i).filter((i) => state.active[i]));
  const colorOf = (/** @type {number} */ src) => (src < 0 ? themeRGB(view, "--lm-fg", [31, 35, 40]) : headRGB(src));

  let job = 0;

  /**
   * Draw the lines for `key` (-1: every row; < n: query `key`; ≥ n: key `key - n`). A large
   * drawing (every row of a long text) goes on in slices between events, showing what is done
   * after each, so the page stays responsive; a new drawing cancels the one under way. The canvas
   * says `data-lm-drawn` when a drawing is complete.
   * @param {number} key
   */
  function draw(key) {
    if (!ctx || !raster || !image) return;
    const rs = raster;
    const c = ctx;
    const img = image;
    const y0 = Math.max(0, Math.min(height - band, row.scrollTop - rowH));  // the band drawn
    const my = ++job;
    const l = state.layer;
    const srcs = sources();
    const rgbs = srcs.map(colorOf);
    const drawn = `${l}:${key}:${srcs.join(",")}`;
    // what a drawing of every line depends on: layer, heads and their colours, mass, band
    const sig = key < 0 ? `${drawn}|${rgbs.join(";")}|${state.mass}|${y0}|${builtFor}` : "";
    if (sig && whole.sig === sig && whole.img) {
      c.clearRect(0, 0, LINES_W + 2 * bandW, height);
      c.putImageData(whole.img, 0, y0);
      canvas.setAttribute("data-lm-drawn", drawn);
      return;
    }
    canvas.removeAttribute("data-lm-drawn");
    rs.clear();
    const fq = key >= 0 && key < n ? key : -1;
    const fk = key >= n ? key - n : -1;
    const queries = (fq >= 0 ? [fq] : sets.queries).filter((q) => !d.hidden[q] && yQ.has(q));
    const keys = sets.keys.filter((k) => !d.hidden[k]);
    const x0 = bandW;
    const x1 = bandW + LINES_W - 1;
    const W = LINES_W + 2 * bandW;
    // boxes beside the other column: one per shown head, as strong as its weight
    if (fq >= 0 || fk >= 0) {
      const w = Math.max(2, Math.floor(bandW / Math.max(1, srcs.length)));
      srcs.forEach((src, j) => {
        const rgb = colorOf(src);
        const others = fq >= 0 ? keys : queries;
        const qRow = fq >= 0 ? rowCodes(d, l, src, fq) : null;  // one row view, not one per key
        for (const p of others) {
          const code = qRow ? qRow[p] : rowCodes(d, l, src, p)[fk];
          if (!code) continue;
          const y = /** @type {number} */ ((fq >= 0 ? yK : yQ).get(p)) - rowH / 2 + 1 - y0;
          if (y < -rowH || y > band) continue;
          const x = fq >= 0 ? x1 + 1 + j * w : x0 - (j + 1) * w;
          rs.box(x, y, w - 1, rowH - 2, rgb, code / 255);
        }
      });
    }
    let at = 0;  // next (source, query) row: at = s * queries.length + qi
    const rows = srcs.length * queries.length;
    let slice = FIRST_SLICE_MS;
    const step = (/** @type {boolean} */ later) => {
      if (my !== job || (later && !canvas.isConnected)) return;  // a newer drawing, or the view is gone
      const t0 = performance.now();
      while (at < rows && performance.now() - t0 < slice) {
        const si = Math.floor(at / queries.length);
        const q = queries[at % queries.length];
        at++;
        const codes = rowCodes(d, l, srcs[si], q);
        const yq = /** @type {number} */ (yQ.get(q)) - y0;
        for (const k of keptKeys(l, srcs[si], q, keys)) {
          if (fk >= 0 && k !== fk) continue;
          const yk = /** @type {number} */ (yK.get(k)) - y0;
          if ((yq < 0 && yk < 0) || (yq >= band && yk >= band)) continue;  // never crosses the band
          rs.line(x0, yq, x1, yk, rgbs[si], codes[k] / 255);
        }
      }
      c.clearRect(0, 0, W, height);
      rs.pixels(img.data);
      c.putImageData(img, 0, y0);
      if (at < rows) {
        slice = SLICE_MS;
        setTimeout(() => step(true), 0);
      } else {
        if (sig) whole = { sig, img: new ImageData(img.data.slice(), img.width, img.height) };
        canvas.setAttribute("data-lm-drawn", drawn);
      }
    };
    step(false);
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
    detail.setTitle(`${isQ ? "Query" : "Key"} `, chip(d.labels[p]), ` (position ${formatInt(d.offset + p)}) ${isQ ? "attends to" : "is attended by"}:`);
    const others = (isQ ? sets.keys : sets.queries).filter((x) => !d.hidden[x]);
    for (const src of sources()) {
      const qRow = isQ ? rowCodes(d, l, src, p) : null;
      const val = (/** @type {number} */ x) => (qRow ? qRow[x] : rowCodes(d, l, src, x)[p]) * (src < 0 ? 1 / 255 : d.scales[l]);
      const sw = h("span", { className: "lm-att-swatch" });
      sw.style.backgroundColor = src < 0 ? "" : headColor(src);
      const items = top(others, val, 4).map(([x, v]) => h("span", { className: "lm-att-topk" }, [chip(d.labels[x]), ` ${o.fmt(v)}`]));
      body.appendChild(h("div", { className: "lm-att-headrow" }, [sw, h("b", { text: src < 0 ? "rollout" : `head ${d.heads[src]}` }), ...items]));
    }
  }

  let scrolled = false;
  listen.on(row, "scroll", () => {
    if (scrolled) return;
    scrolled = true;
    setTimeout(() => {
      scrolled = false;
      draw(pin.shown());
    }, 16);
  });

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
