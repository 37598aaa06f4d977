// @ts-check
"use strict";
/**
 * A layer × position grid drawn on one canvas: the logit lens's rank grid and causal tracing's
 * heatmaps. Rows are layers (row 0 at the bottom, the last layer on top), columns positions;
 * a row of labels above the cells (optional) and one below, a sticky column of layer labels at
 * the left. Only the columns in view are drawn, so opening a grid of 2,000 positions costs what
 * one screenful costs; the canvas is sized in device pixels (devicePixelRatio), so it stays
 * crisp on high-DPI screens, and redrawn when it scrolls, resizes or the active cell changes.
 *
 * Interaction goes through a `pin` (ui/pin.js) whose keys are `base + row * nCols + col`, so
 * several grids can share one pin (one key space): hovering a cell shows it, a click pins it
 * (click again to release), arrow keys move the active cell while the grid has focus, Enter or
 * Space pins. The view draws the details in `onShow` and calls `grid.mark(key, pinned)`.
 *
 *   const grid = layerGrid({ listen, pin, nRows: 31, nCols: n, rowLabel: (r) => labels[r],
 *     bottomLabel: (c) => tokens[c], cell: (r, c) => ({ bg: color(r, c), text: "12" }), ariaLabel: "..." });
 *   view.append(grid.el);
 *
 * Colours of labels and lines come from the view's --lm-* variables (index.css), read when
 * drawing, so both themes apply. The root element carries its geometry for tests and tools:
 * data-lm-left / data-lm-top (CSS px from the canvas's corner to the first cell), data-lm-col-width,
 * data-lm-row-height.
 */

const { h } = require("../dom.js");
const { tokenText } = require("./token_text.js");

/** Default cell size, CSS px. */
const COL_W = 44;
const ROW_H = 19;

/**
 * @typedef {object} GridCell
 * @property {string} bg  background colour
 * @property {string} [fg]  text colour
 * @property {string} [text]  drawn centred when given
 */

/**
 * @typedef {object} GridOptions
 * @property {import("./listeners.js").ListenerTable} listen
 * @property {import("./pin.js").Pin} pin
 * @property {number} nRows  layers (row 0 is drawn at the bottom)
 * @property {number} nCols  positions
 * @property {number} [base]  the key of cell (0, 0); keys are base + row * nCols + col
 * @property {(r: number) => string} rowLabel
 * @property {(r: number) => string} [rowTitle]  longer name of a row (tooltip of the label column)
 * @property {(c: number) => string} bottomLabel  raw token string under column c
 * @property {(c: number) => string} [topLabel]  raw token string above column c (no top row without it)
 * @property {string} [bottomAxis]  caption of the bottom row, in the label column
 * @property {string} [topAxis]
 * @property {(c: number) => string} [bottomMark]  "" | "gen" | "subject": how the bottom label reads
 * @property {(c: number) => string} [topMark]
 * @property {(r: number, c: number) => GridCell} cell
 * @property {number} [edge]  draw a dashed line before this column (-1: none)
 * @property {number} [colWidth]
 * @property {number} [rowHeight]
 * @property {string} [className]  extra class of the root (the focusable element)
 * @property {string} ariaLabel
 */

/**
 * @typedef {object} Grid
 * @property {HTMLElement} el  the root (focusable)
 * @property {() => void} redraw  draw again (after the cells' colours changed)
 * @property {(key: number, pinned: boolean) => void} mark  show the active cell (-1 or another grid's key: none)
 * @property {(key: number) => void} scrollTo  scroll so the cell's column is in view
 * @property {(clientX: number, clientY: number) => number} keyAt  the key under a point, or -1
 */

/**
 * `s` cut to fit `width` px in the context's current font, with "…".
 * @param {CanvasRenderingContext2D} ctx
 * @param {string} s
 * @param {number} width
 * @returns {string}
 */
function fit(ctx, s, width) {
  if (ctx.measureText(s).width <= width) return s;
  let lo = 0;
  let hi = s.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (ctx.measureText(s.slice(0, mid) + "…").width <= width) lo = mid;
    else hi = mid - 1;
  }
  return s.slice(0, lo) + "…";
}

/**
 * The columns `[c0, c1)` visible in a viewport `viewW` px wide scrolled by `scroll` px, with a
 * `left` px label column and `colW` px columns (pure; node tests cover it).
 * @param {number} scroll
 * @param {number} viewW
 * @param {number} left
 * @param {number} colW
 * @param {number} nCols
 * @returns {[number, number]}
 */
function visibleColumns(scroll, viewW, left, colW, nCols) {
  const c0 = Math.max(0, Math.floor(scroll / colW));
  const c1 = Math.min(nCols, Math.ceil((scroll + Math.max(0, viewW - left)) / colW));
  return [c0, Math.max(c0, c1)];
}

/**
 * @param {GridOptions} o
 * @returns {Grid}
 */
function layerGrid(o) {
  const { listen, pin, nRows, nCols } = o;
  const base = o.base || 0;
  const colW = o.colWidth || COL_W;
  const rowH = o.rowHeight || ROW_H;
  const topH = o.topLabel ? rowH + 2 : 0;
  const bottomH = rowH + 4;
  const bodyH = nRows * rowH;
  const height = topH + bodyH + bottomH;
  const canvas = /** @type {HTMLCanvasElement} */ (h("canvas", { className: "lm-grid-canvas" }));
  const sizer = h("div", { className: "lm-grid-sizer" }, [canvas]);
  const scroller = h("div", { className: "lm-grid-scroll" }, [sizer]);
  const el = h("div", {
    className: o.className ? `lm-grid ${o.className}` : "lm-grid",
    attrs: {
      role: "application", tabindex: "0", "aria-label": o.ariaLabel, "aria-roledescription": "grid",
      "data-lm-rows": String(nRows), "data-lm-cols": String(nCols),
      "data-lm-col-width": String(colW), "data-lm-row-height": String(rowH), "data-lm-top": String(topH),
    },
  }, [scroller]);
  /** @type {CanvasRenderingContext2D|null} */
  const ctx = typeof canvas.getContext === "function" ? canvas.getContext("2d") : null;

  let active = -1; // cell index (row * nCols + col) of this grid, or -1
  let pinned = false;
  let left = 0; // label column width, measured at the first draw
  let frame = 0;
  /** @type {Map<string, string>} */
  const labelCache = new Map();

  /** @param {string} name */
  const cssVar = (name, style) => style.getPropertyValue(name).trim();

  function measureLeft(font) {
    if (!ctx) return 40;
    ctx.font = font;
    let w = 0;
    for (let r = 0; r < nRows; r++) w = Math.max(w, ctx.measureText(o.rowLabel(r)).width);
    for (const s of [o.topAxis, o.bottomAxis]) if (s) w = Math.max(w, ctx.measureText(s).width);
    return Math.ceil(Math.max(28, w + 12));
  }

  function draw() {
    frame = 0;
    if (!ctx || !el.isConnected) return;
    const style = getComputedStyle(el);
    const sans = style.fontFamily || "sans-serif";
    const mono = cssVar("--lm-mono", style) || "monospace";
    const numFont = `10.5px ${sans}`;
    if (!left) {
      left = measureLeft(numFont);
      el.setAttribute("data-lm-left", String(left));
      sizer.style.width = `${left + nCols * colW}px`;
      sizer.style.height = `${height}px`;
    }
    const total = left + nCols * colW;
    const viewW = Math.min(total, scroller.clientWidth || Math.min(total, 960));
    const dpr = (typeof window !== "undefined" && window.devicePixelRatio) || 1;
    const pw = Math.round(viewW * dpr);
    const ph = Math.round(height * dpr);
    if (canvas.width !== pw || canvas.height !== ph) {
      canvas.width = pw;
      canvas.height = ph;
      canvas.style.width = `${viewW}px`;
      canvas.style.height = `${height}px`;
    }
    const col = {
      fg: cssVar("--lm-fg", style), muted: cssVar("--lm-muted", style), border: cssVar("--lm-border", style),
      chip: cssVar("--lm-chip", style), accent: cssVar("--lm-accent", style), gen: cssVar("--lm-gen", style),
      line: cssVar("--lm-grid-line", style), bg: cssVar("--lm-host-bg", style) || cssVar("--lm-bg", style),
    };
    const sl = scroller.scrollLeft || 0;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, viewW, height);
    ctx.textBaseline = "middle";
    const [c0, c1] = visibleColumns(sl, viewW, left, colW, nCols);
    const ar = active >= 0 ? Math.floor(active / nCols) : -1;
    const ac = active >= 0 ? active % nCols : -1;
    const x0 = left - sl;

    // cells, then the grid lines over them
    ctx.textAlign = "center";
    ctx.font = numFont;
    for (let c = c0; c < c1; c++) {
      const x = x0 + c * colW;
      for (let r = 0; r < nRows; r++) {
        const y = topH + (nRows - 1 - r) * rowH;
        const cell = o.cell(r, c);
        ctx.fillStyle = cell.bg;
        ctx.fillRect(x, y, colW, rowH);
        if (cell.text) {
          ctx.fillStyle = cell.fg || col.fg;
          ctx.fillText(cell.text, x + colW / 2, y + rowH / 2 + 0.5);
        }
      }
    }
    ctx.fillStyle = col.line;
    for (let c = c0; c < c1; c++) ctx.fillRect(x0 + (c + 1) * colW - 1, topH, 1, bodyH);
    for (let r = 0; r < nRows; r++) ctx.fillRect(left, topH + (r + 1) * rowH - 1, viewW - left, 1);
    if (o.edge !== undefined && o.edge > 0 && o.edge >= c0 && o.edge < c1) {
      ctx.strokeStyle = col.gen;
      ctx.lineWidth = 2;
      ctx.setLineDash([4, 3]);
      ctx.beginPath();
      ctx.moveTo(x0 + o.edge * colW + 1, topH);
      ctx.lineTo(x0 + o.edge * colW + 1, topH + bodyH);
      ctx.stroke();
      ctx.setLineDash([]);
    }

    // the label rows above and below the cells
    /**
     * @param {(c: number) => string} label @param {((c: number) => string)|undefined} markOf
     * @param {number} y @param {number} rowHeight @param {string} which @param {string} color
     */
    const labels = (label, markOf, y, rowHeight, which, color) => {
      for (let c = c0; c < c1; c++) {
        const x = x0 + c * colW;
        const mark = markOf ? markOf(c) : "";
        const on = c === ac;
        if (on) {
          ctx.fillStyle = col.chip;
          ctx.fillRect(x, y, colW, rowHeight);
        }
        ctx.font = `${mark === "gen" ? "italic " : ""}${on || mark === "subject" ? "600 " : ""}10.5px ${mono}`;
        const key = `${which}${c}${ctx.font}`;
        let text = labelCache.get(key);
        if (text === undefined) {
          text = fit(ctx, tokenText(label(c)), colW - 4);
          labelCache.set(key, text);
        }
        ctx.fillStyle = mark === "gen" ? col.gen : on ? col.fg : color;
        ctx.fillText(text, x + colW / 2, y + rowHeight / 2 + 0.5);
        if (mark === "subject") {
          ctx.fillStyle = col.accent;
          ctx.fillRect(x + 3, y + rowHeight - 3, colW - 6, 2);
        }
      }
    };
    if (o.topLabel) {
      labels(o.topLabel, o.topMark, 0, topH - 1, "t", col.muted);
      ctx.fillStyle = col.border;
      ctx.fillRect(left, topH - 1, viewW - left, 1);
    }
    labels(o.bottomLabel, o.bottomMark, topH + bodyH + 1, bottomH - 1, "b", col.fg);
    ctx.fillStyle = col.border;
    ctx.fillRect(left, topH + bodyH, viewW - left, 1);

    // the active cell
    if (ac >= c0 && ac < c1) {
      const x = x0 + ac * colW;
      const y = topH + (nRows - 1 - ar) * rowH;
      const w = pinned ? 2.5 : 2;
      ctx.strokeStyle = pinned ? col.accent : col.fg;
      ctx.lineWidth = w;
      ctx.strokeRect(x + w / 2, y + w / 2, colW - w, rowH - w);
      // a 1 px ring in the page colour inside it: the outline reads on dark and light cells alike
      if (col.bg) {
        ctx.strokeStyle = col.bg;
        ctx.lineWidth = 1;
        ctx.strokeRect(x + w + 0.5, y + w + 0.5, colW - 2 * w - 1, rowH - 2 * w - 1);
      }
    }

    // the sticky label column, over whatever scrolled under it
    ctx.fillStyle = col.bg || "transparent";
    ctx.clearRect(0, 0, left, height);
    if (col.bg) ctx.fillRect(0, 0, left, height);
    ctx.fillStyle = col.border;
    ctx.fillRect(left - 1, 0, 1, height);
    ctx.textAlign = "right";
    for (let r = 0; r < nRows; r++) {
      const y = topH + (nRows - 1 - r) * rowH;
      if (r === ar) {
        ctx.fillStyle = col.chip;
        ctx.fillRect(0, y, left - 1, rowH);
      }
      ctx.font = `${r === ar ? "600 " : ""}${numFont}`;
      ctx.fillStyle = r === ar ? col.fg : col.muted;
      ctx.fillText(o.rowLabel(r), left - 6, y + rowH / 2 + 0.5);
    }
    ctx.font = `10px ${sans}`;
    ctx.fillStyle = col.muted;
    if (o.topAxis && topH) ctx.fillText(o.topAxis, left - 6, topH / 2);
    if (o.bottomAxis) ctx.fillText(o.bottomAxis, left - 6, topH + bodyH + bottomH / 2 + 0.5);
  }

  function redraw() {
    if (frame) return;
    if (typeof requestAnimationFrame === "function") frame = requestAnimationFrame(draw);
    else draw();
  }
  listen.atCleanup(() => {
    if (frame && typeof cancelAnimationFrame === "function") cancelAnimationFrame(frame);
    frame = 0;
  });

  /** @param {number} clientX @param {number} clientY @returns {number} */
  function keyAt(clientX, clientY) {
    const rect = canvas.getBoundingClientRect();
    const x = clientX - rect.left;
    const y = clientY - rect.top;
    if (x < left || y < topH || y >= topH + bodyH) return -1;
    const c = Math.floor((x - left + (scroller.scrollLeft || 0)) / colW);
    const r = nRows - 1 - Math.floor((y - topH) / rowH);
    if (c < 0 || c >= nCols || r < 0 || r >= nRows) return -1;
    return base + r * nCols + c;
  }

  /** @param {number} key */
  function scrollTo(key) {
    const i = key - base;
    if (i < 0 || i >= nRows * nCols) return;
    const c = i % nCols;
    const viewW = scroller.clientWidth || 0;
    const sl = scroller.scrollLeft || 0;
    const x = c * colW; // in scrolled content coordinates, after the label column
    if (x < sl) scroller.scrollLeft = x;
    else if (viewW && left + x + colW > sl + viewW) scroller.scrollLeft = left + x + colW - viewW;
  }

  listen.on(canvas, "mousemove", (/** @type {MouseEvent} */ e) => {
    const k = keyAt(e.clientX, e.clientY);
    if (k >= 0) pin.hover(k);
  });
  listen.on(canvas, "click", (/** @type {MouseEvent} */ e) => {
    const k = keyAt(e.clientX, e.clientY);
    if (k >= 0) pin.toggle(k);
  });
  listen.on(scroller, "scroll", redraw);
  listen.resize(scroller, redraw);
  /** @type {Record<string, [number, number]>} */
  const MOVES = { ArrowUp: [1, 0], ArrowDown: [-1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  listen.on(el, "keydown", (/** @type {KeyboardEvent} */ e) => {
    let cur = pin.shown() - base;
    if (cur < 0 || cur >= nRows * nCols) cur = nRows * nCols - 1; // from another grid: start top right
    if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      pin.toggle(base + cur);
    } else if (MOVES[e.key]) {
      e.preventDefault();
      const r = Math.max(0, Math.min(nRows - 1, Math.floor(cur / nCols) + MOVES[e.key][0]));
      const c = Math.max(0, Math.min(nCols - 1, (cur % nCols) + MOVES[e.key][1]));
      pin.move(base + r * nCols + c);
      scrollTo(base + r * nCols + c);
    }
  });

  redraw();
  return {
    el,
    redraw,
    mark(key, isPinned) {
      const i = key - base;
      active = i >= 0 && i < nRows * nCols ? i : -1;
      pinned = active >= 0 && isPinned;
      redraw();
    },
    scrollTo,
    keyAt,
  };
}

module.exports = { layerGrid, visibleColumns, COL_W, ROW_H };
