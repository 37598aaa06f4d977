// @ts-check
"use strict";
/**
 * A query × key heatmap on a canvas (the matrix mode, and the detail of a model-view cell): one
 * head, the mean of the shown heads, or the rollout of one layer, scaled to its largest value;
 * the causal mask striped and hidden positions grey; token labels on both axes when the cells
 * are large enough (every few tokens otherwise). The pointer over a cell reports (query, key)
 * through `onCell`, which the caller turns into hover / pin; `mark` outlines a cell.
 */

const { h } = require("../../dom.js");
const { css, headRGB } = require("../../color.js");
const { tokenText } = require("../../ui/token_text.js");
const { layerMatrix, sentenceSets } = require("./data.js");
const { themeRGB, sizeCanvas, matrixPixels, topValue, putPixels } = require("./paint.js");

/** Label font (CSS px) and the room labels take on the left and at the top. */
const FONT = 11;
const LEFT = 96;
const TOP = 64;
/** Colour strength = (value / largest value)^GAMMA: weak cells stay visible next to a sink. */
const GAMMA = 0.6;

/**
 * @typedef {object} HeatmapTarget  what to draw
 * @property {number} layer  index into the shown layers
 * @property {number} head  head slot, -1 for the mean of the active heads, -2 for the rollout
 * @property {boolean[]} active
 * @property {string} filter
 */

/**
 * @param {{d: import("./data.js").AttData, listen: import("../../ui/listeners.js").ListenerTable, view: HTMLElement,
 *          maxSide: number, onCell: (q: number, k: number, e: MouseEvent) => void, onLeave?: () => void,
 *          onClick?: (q: number, k: number) => void}} o
 * @returns {{el: HTMLElement, draw: (t: HeatmapTarget) => void, mark: (q: number, k: number) => void,
 *            cellValue: (q: number, k: number) => number, canvas: HTMLCanvasElement}}
 */
function heatmap(o) {
  const { d } = o;
  const n = d.n;
  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { className: "lm-att-hm-canvas", attrs: { role: "img", "aria-label": "attention matrix" } }));
  const overlay = /** @type {HTMLCanvasElement} */ (h("canvas", { className: "lm-att-hm-overlay", attrs: { "aria-hidden": "true" } }));
  const el = h("div", { className: "lm-att-hm" }, [canvas, overlay]);
  /** @type {Float32Array} */
  let vals = new Float32Array(0);
  /** @type {number[]} */
  let rows = [];
  /** @type {number[]} */
  let cols = [];
  let cell = 1;
  let w = 0;
  let hgt = 0;
  let labels = true;
  let scale = 1;
  /** @type {CanvasRenderingContext2D|null} */
  let octx = null;

  /** @param {HeatmapTarget} t */
  function draw(t) {
    const sets = sentenceSets(n, d.sb, t.filter);
    rows = sets.queries;
    cols = sets.keys;
    const m = Math.max(rows.length, cols.length);
    cell = Math.max(0.25, Math.min(22, o.maxSide / m));
    labels = cell >= 4;
    const left = labels ? LEFT : 8;
    const topM = labels ? TOP : 8;
    w = Math.max(1, Math.round(cols.length * cell));
    hgt = Math.max(1, Math.round(rows.length * cell));
    const W = left + w + 8;
    const H = topM + hgt + 8;
    const { ctx, dpr } = sizeCanvas(canvas, W, H);
    const ov = sizeCanvas(overlay, W, H);
    octx = ov.ctx;
    if (!ctx) return;
    if (t.head === -2) {
      vals = layerMatrix(d, t.layer, t.active, true);
      scale = 1 / 255;
    } else if (t.head === -1) {
      vals = layerMatrix(d, t.layer, t.active, false);
      scale = d.scales[t.layer];
    } else {
      vals = layerMatrix(d, t.layer, t.active.map((_, i) => i === t.head), false);
      scale = d.scales[t.layer];
    }
    const top = topValue(vals, n, rows, cols, d.hidden, d.causal);
    const fg = themeRGB(o.view, "--lm-fg", [31, 35, 40]);
    const rgb = t.head === -2 ? fg : t.head === -1 ? themeRGB(o.view, "--lm-accent", [9, 105, 218]) : headRGB(t.head);
    const wD = Math.round(w * dpr);
    const hD = Math.round(hgt * dpr);
    putPixels(ctx, matrixPixels(vals, n, rows, cols, wD, hD, { rgb, maskRGB: fg, top, gamma: GAMMA, hidden: d.hidden, causal: d.causal }), wD, hD, left, topM, dpr);
    ctx.fillStyle = css(fg);
    ctx.font = `${FONT}px system-ui, sans-serif`;
    if (labels) {
      const stride = Math.max(1, Math.ceil((FONT + 1) / cell));
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      for (let r = 0; r < rows.length; r += stride) {
        ctx.fillText(clip(d.labels[rows[r]]), left - 4, topM + (r + 0.5) * cell, LEFT - 8);
      }
      ctx.textAlign = "left";
      for (let c = 0; c < cols.length; c += stride) {
        ctx.save();
        ctx.translate(left + (c + 0.5) * cell, topM - 4);
        ctx.rotate(-Math.PI / 3);
        ctx.fillText(clip(d.labels[cols[c]]), 0, 0, TOP + 10);
        ctx.restore();
      }
    } else {
      ctx.textAlign = "left";
      ctx.textBaseline = "alphabetic";
    }
    canvas.setAttribute("data-lm-drawn", `${t.layer}:${t.head}:${t.active.map(Number).join("")}:${t.filter}`);
    canvas.setAttribute("data-lm-top", String(top * scale));
    mark(-1, -1);
  }

  /** @param {string} s */
  function clip(s) {
    const t = tokenText(s);
    return t.length > 14 ? `${t.slice(0, 13)}…` : t;
  }

  /** Outline cell (q, k) with a crosshair; (-1, -1) clears. @param {number} q @param {number} k */
  function mark(q, k) {
    if (!octx) return;
    const left = labels ? LEFT : 8;
    const topM = labels ? TOP : 8;
    octx.clearRect(0, 0, left + w + 8, topM + hgt + 8);
    const r = rows.indexOf(q);
    const c = cols.indexOf(k);
    if (r < 0 || c < 0) return;
    const fg = themeRGB(o.view, "--lm-fg", [31, 35, 40]);
    octx.strokeStyle = css(fg);
    octx.globalAlpha = 0.35;
    octx.lineWidth = 1;
    octx.strokeRect(left + 0.5, topM + r * cell + 0.5, w - 1, Math.max(1, cell) - 1);
    octx.strokeRect(left + c * cell + 0.5, topM + 0.5, Math.max(1, cell) - 1, hgt - 1);
    octx.globalAlpha = 1;
    octx.lineWidth = 2;
    const s = Math.max(3, cell);
    octx.strokeRect(left + (c + 0.5) * cell - s / 2, topM + (r + 0.5) * cell - s / 2, s, s);
  }

  /** Cell under a pointer event, or null. @param {MouseEvent} e @returns {[number, number]|null} */
  function cellAt(e) {
    const b = canvas.getBoundingClientRect();
    const left = labels ? LEFT : 8;
    const topM = labels ? TOP : 8;
    const c = Math.floor((e.clientX - b.left - left) / cell);
    const r = Math.floor((e.clientY - b.top - topM) / cell);
    if (r < 0 || c < 0 || r >= rows.length || c >= cols.length) return null;
    return [rows[r], cols[c]];
  }

  o.listen.on(canvas, "mousemove", (/** @type {MouseEvent} */ e) => {
    const at = cellAt(e);
    if (at) o.onCell(at[0], at[1], e);
    else if (o.onLeave) o.onLeave();
  });
  o.listen.on(canvas, "mouseleave", () => {
    if (o.onLeave) o.onLeave();
  });
  o.listen.on(canvas, "click", (/** @type {MouseEvent} */ e) => {
    const at = cellAt(e);
    if (at && o.onClick) o.onClick(at[0], at[1]);
  });

  return { el, draw, mark, canvas, cellValue: (q, k) => vals[q * n + k] * scale };
}

module.exports = { heatmap, GAMMA };
