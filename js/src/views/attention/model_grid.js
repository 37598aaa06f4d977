// @ts-check
"use strict";
/**
 * The model mode (BertViz's model view, on one canvas): a thumbnail heatmap of every layer (rows)
 * × head (columns), and a last column for the rollout. Each thumbnail max-pools the query × key
 * matrix into its pixels, so a single strong cell stays visible. Hovering a thumbnail shows that
 * head in detail below (a full heatmap whose cells report their values); a click pins it (Unpin or
 * Escape releases; the arrow keys move it).
 */

const { h } = require("../../dom.js");
const { css, headRGB } = require("../../color.js");
const { formatInt } = require("../../format.js");
const { pinState } = require("../../ui/pin.js");
const { chip } = require("../../ui/token_text.js");
const { detailPanel } = require("../../ui/detail.js");
const { sentenceSets } = require("./data.js");
const { themeRGB, sizeCanvas, matrixPixels } = require("./paint.js");
const { heatmap } = require("./heatmap.js");

/** Room for the layer labels (left) and head labels (top), and the gap between cells (CSS px). */
const LEFT = 58;
const TOP = 20;
const GAP = 4;

/**
 * Thumbnail side for `cols` columns in `width` CSS px.
 * @param {number} width
 * @param {number} cols
 * @returns {number}
 */
function cellSide(width, cols) {
  return Math.max(24, Math.min(64, Math.floor((width - LEFT - 10) / cols) - GAP));
}

/**
 * @param {{d: import("./data.js").AttData, state: import("./controls.js").AttState,
 *          listen: import("../../ui/listeners.js").ListenerTable, view: HTMLElement, width: number,
 *          fmt: (v: number, rollout?: boolean) => string}} o
 * @returns {{el: HTMLElement, update: (what: string) => void}}
 */
function modelView(o) {
  const { d, state, listen, view } = o;
  const cols = d.H + (d.roll ? 1 : 0);
  const side = cellSide(o.width, cols);
  const W = LEFT + cols * (side + GAP);
  const H = TOP + d.L * (side + GAP);
  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", {
    className: "lm-att-grid", attrs: { role: "img", tabindex: "0", "aria-label": "every layer and head; hover or use the arrow keys" },
  }));
  const overlay = /** @type {HTMLCanvasElement} */ (h("canvas", { className: "lm-att-hm-overlay", attrs: { "aria-hidden": "true" } }));
  const wrap = h("div", { className: "lm-att-hm" }, [canvas, overlay]);
  const info = h("div", { className: "lm-foot lm-att-info" });
  const pin = pinState((key, pinned) => show(key, pinned));
  const hm = heatmap({
    d, listen, view, maxSide: Math.max(120, Math.min(520, o.width - 130)),
    onCell: (q, k) => {
      info.textContent = "";
      info.append(chip(d.labels[q]), ` (${formatInt(d.offset + q)}) → `, chip(d.labels[k]), ` (${formatInt(d.offset + k)}): ${o.fmt(hm.cellValue(q, k), key() % cols === d.H)}`);
      hm.mark(q, k);
    },
    onLeave: () => {
      info.textContent = "";
      hm.mark(-1, -1);
    },
  });
  const detail = detailPanel({ listen, pin, scope: view, status: "hover a thumbnail · click to pin", children: [hm.el, info] });
  const el = h("div", { className: "lm-att-model" }, [wrap, detail.el]);
  const key = () => pin.shown();
  /** @type {CanvasRenderingContext2D|null} */
  let octx = null;
  let drawnFor = "";

  function drawGrid() {
    drawnFor = state.filter;
    const { ctx, dpr } = sizeCanvas(canvas, W, H);
    octx = sizeCanvas(overlay, W, H).ctx;
    if (!ctx) return;
    const n = d.n;
    const { queries, keys } = sentenceSets(n, d.sb, state.filter);
    const fg = themeRGB(view, "--lm-fg", [31, 35, 40]);
    const sD = Math.max(1, Math.round(side * dpr));
    // each thumbnail is drawn into one reused tile, copied into its layer's strip of pixels, and
    // the strip put on the canvas once (a put per layer, not per thumbnail)
    const tile = new Uint8ClampedArray(sD * sD * 4);
    const strip = ctx.createImageData(canvas.width, sD);
    const rowBytes = canvas.width * 4;
    for (let l = 0; l < d.L; l++) {
      strip.data.fill(0);
      for (let c = 0; c < cols; c++) {
        const vals = c < d.H ? d.codes[l].subarray(c * n * n, (c + 1) * n * n) : /** @type {Uint8Array[]} */ (d.roll)[l];
        matrixPixels(vals, n, queries, keys, sD, sD, { rgb: c < d.H ? headRGB(c) : fg, maskRGB: fg, top: 255, gamma: 0.6, hidden: d.hidden, causal: d.causal }, tile);
        const x = Math.round((LEFT + c * (side + GAP)) * dpr);
        const wide = Math.max(0, Math.min(sD, canvas.width - x)) * 4;
        for (let y = 0; y < sD; y++) strip.data.set(tile.subarray(y * sD * 4, y * sD * 4 + wide), y * rowBytes + x * 4);
      }
      ctx.putImageData(strip, 0, Math.round((TOP + l * (side + GAP)) * dpr));
    }
    ctx.fillStyle = css(fg);
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    ctx.textAlign = "right";
    for (let l = 0; l < d.L; l++) ctx.fillText(`layer ${d.layers[l]}`, LEFT - 6, TOP + l * (side + GAP) + side / 2);
    ctx.textAlign = "center";
    ctx.textBaseline = "alphabetic";
    for (let c = 0; c < cols; c++) ctx.fillText(c < d.H ? `h${d.heads[c]}` : "rollout", LEFT + c * (side + GAP) + side / 2, TOP - 6, side + GAP);
    canvas.setAttribute("data-lm-drawn", state.filter);
  }

  /** Key of the thumbnail under a pointer event, or -1. @param {MouseEvent} e */
  function keyAt(e) {
    const b = canvas.getBoundingClientRect();
    const c = Math.floor((e.clientX - b.left - LEFT) / (side + GAP));
    const l = Math.floor((e.clientY - b.top - TOP) / (side + GAP));
    return c >= 0 && l >= 0 && c < cols && l < d.L ? l * cols + c : -1;
  }

  /** @param {number} k @param {boolean} pinned */
  function show(k, pinned) {
    detail.setPinned(pinned);
    el.setAttribute("data-lm-cell", String(k));
    if (octx) {
      octx.clearRect(0, 0, W, H);
      if (k >= 0) {
        const l = Math.floor(k / cols);
        const c = k % cols;
        octx.strokeStyle = css(themeRGB(view, "--lm-fg", [31, 35, 40]));
        octx.lineWidth = pinned ? 2.5 : 1.5;
        octx.strokeRect(LEFT + c * (side + GAP) - 1.5, TOP + l * (side + GAP) - 1.5, side + 3, side + 3);
      }
    }
    if (k < 0) return;
    const l = Math.floor(k / cols);
    const c = k % cols;
    const roll = c === d.H;
    detail.setTitle(`Layer ${d.layers[l]}, ${roll ? "rollout" : `head ${d.heads[c]}`}`);
    info.textContent = "";
    hm.draw({ layer: l, head: roll ? -2 : c, active: state.active, filter: state.filter });
  }

  listen.on(canvas, "mousemove", (/** @type {MouseEvent} */ e) => {
    const k = keyAt(e);
    if (k >= 0) pin.hover(k);
  });
  listen.on(canvas, "click", (/** @type {MouseEvent} */ e) => {
    const k = keyAt(e);
    if (k >= 0) pin.toggle(k);
  });
  listen.on(canvas, "keydown", (/** @type {KeyboardEvent} */ e) => {
    const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -cols, ArrowDown: cols };
    const m = moves[/** @type {keyof moves} */ (e.key)];
    if (m === undefined && e.key !== "Enter") return;
    e.preventDefault();
    const cur = Math.max(0, pin.shown());
    if (e.key === "Enter") pin.toggle(cur);
    else pin.move(Math.max(0, Math.min(d.L * cols - 1, cur + m)));
  });

  drawGrid();
  pin.hover(state.layer * cols + Math.max(0, state.active.indexOf(true)));
  return {
    el,
    update() {
      if (state.filter !== drawnFor) drawGrid();
      pin.redraw();
    },
  };
}

module.exports = { modelView, cellSide };
