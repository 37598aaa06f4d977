// @ts-check
"use strict";
/**
 * The matrix mode: the query × key heatmap of the chosen layer, for one head (when one is shown),
 * the mean of the shown heads, or the rollout. Hovering a cell shows (query, key, value) and
 * every head's value there; a click pins the cell (Unpin or Escape releases; arrows move it).
 */

const { h } = require("../../dom.js");
const { formatInt } = require("../../format.js");
const { pinState } = require("../../ui/pin.js");
const { chip } = require("../../ui/token_text.js");
const { detailPanel } = require("../../ui/detail.js");
const { probBar } = require("../../ui/topk.js");
const { value } = require("./data.js");
const { heatmap, GAMMA } = require("./heatmap.js");
const { headColor } = require("./controls.js");

/**
 * What the heatmap shows for a state: the rollout (-2), the one shown head, or the mean (-1).
 * @param {import("./controls.js").AttState} state
 * @param {boolean} hasRollout
 * @returns {number}
 */
function headOf(state, hasRollout) {
  if (state.rollout && hasRollout) return -2;
  const on = state.active.map((a, i) => (a ? i : -1)).filter((i) => i >= 0);
  return on.length === 1 ? on[0] : -1;
}

/**
 * @param {{d: import("./data.js").AttData, state: import("./controls.js").AttState,
 *          listen: import("../../ui/listeners.js").ListenerTable, view: HTMLElement, width: number,
 *          fmt: (v: number, rollout?: boolean) => string}} o
 * @returns {{el: HTMLElement, update: (what: string) => void}}
 */
function matrixView(o) {
  const { d, state, listen, view } = o;
  const n = d.n;
  const caption = h("div", { className: "lm-att-caption" });
  const pin = pinState((key, pinned) => show(key, pinned));
  const hm = heatmap({
    d, listen, view, maxSide: Math.max(120, Math.min(700, o.width - 130)),
    onCell: (q, k) => pin.hover(q * n + k),
    onLeave: () => {
      if (pin.pinned() < 0) pin.hover(-1);
    },
    onClick: (q, k) => pin.toggle(q * n + k),
  });
  hm.canvas.tabIndex = 0;
  const body = h("div", { className: "lm-att-detail-body" });
  const detail = detailPanel({ listen, pin, scope: view, status: "hover a cell · click to pin", children: [body] });
  const el = h("div", { className: "lm-att-matrix" }, [caption, hm.el, detail.el]);

  /** @param {number} key @param {boolean} pinned */
  function show(key, pinned) {
    detail.setPinned(pinned);
    body.textContent = "";
    el.setAttribute("data-lm-cell", String(key));
    if (key < 0) {
      hm.mark(-1, -1);
      detail.setTitle("Rows: queries (attend from) · columns: keys (attend to)");
      return;
    }
    const q = Math.floor(key / n);
    const k = key % n;
    hm.mark(q, k);
    const head = headOf(state, !!d.roll);
    const v = hm.cellValue(q, k);
    detail.setTitle(chip(d.labels[q]), ` (${formatInt(d.offset + q)}) → `, chip(d.labels[k]), ` (${formatInt(d.offset + k)}): ${o.fmt(v, head === -2)}`);
    if (d.hidden[q] || d.hidden[k]) body.appendChild(h("div", { className: "lm-foot", text: "A hidden position: left out." }));
    else if (d.causal && k > q) body.appendChild(h("div", { className: "lm-foot", text: "Masked: in a causal model a query attends only to itself and earlier keys." }));
    const l = state.layer;
    let peak = 0;
    for (let i = 0; i < d.H; i++) peak = Math.max(peak, value(d, l, i, q, k));
    const rows = h("div", { className: "lm-att-cellheads" });
    for (let i = 0; i < d.H; i++) {
      const hv = value(d, l, i, q, k);
      const bar = probBar(peak > 0 ? hv / peak : 0);
      /** @type {HTMLElement} */ (bar.firstChild).style.backgroundColor = headColor(i);
      rows.appendChild(h("span", { className: `lm-att-cellhead${state.active[i] ? "" : " lm-off"}` },
        [h("b", { text: `h${d.heads[i]}` }), bar, h("span", { text: o.fmt(hv) })]));
    }
    if (d.roll) rows.appendChild(h("span", { className: "lm-att-cellhead" }, [h("b", { text: "rollout" }), h("span", { text: o.fmt(value(d, l, -1, q, k), true) })]));
    body.appendChild(rows);
  }

  listen.on(hm.canvas, "keydown", (/** @type {KeyboardEvent} */ e) => {
    const moves = { ArrowLeft: [0, -1], ArrowRight: [0, 1], ArrowUp: [-1, 0], ArrowDown: [1, 0] };
    const m = moves[/** @type {keyof moves} */ (e.key)];
    if (!m) return;
    e.preventDefault();
    const cur = pin.shown() >= 0 ? pin.shown() : (n - 1) * n;
    const q = Math.max(0, Math.min(n - 1, Math.floor(cur / n) + m[0]));
    const k = Math.max(0, Math.min(n - 1, (cur % n) + m[1]));
    pin.move(q * n + k);
  });

  function update() {
    const head = headOf(state, !!d.roll);
    const what = head === -2 ? "rollout" : head >= 0 ? `head ${d.heads[head]}` : `mean of ${state.active.filter(Boolean).length} heads`;
    hm.draw({ layer: state.layer, head, active: state.active, filter: state.filter });
    caption.textContent = `Layer ${d.layers[state.layer]} · ${what} · colour strength (value / ${o.fmt(Number(hm.canvas.getAttribute("data-lm-top")), head === -2)})^${GAMMA}`;
    show(pin.shown(), pin.pinned() >= 0);
  }
  update();
  return { el, update };
}

module.exports = { matrixView, headOf };
