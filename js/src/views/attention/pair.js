// @ts-check
"use strict";
/**
 * The pair mode (the LUKE thesis's token-to-token plot, made interactive): pick two token
 * positions in the text, "from" (the query) and "to" (the key); a chart shows the attention
 * from one to the other in every layer, a dot per shown head, a line for their mean and a dashed
 * one for the rollout. Positions, never strings: a repeated word is two positions.
 */

const { h, svg } = require("../../dom.js");
const { formatInt } = require("../../format.js");
const { pinState } = require("../../ui/pin.js");
const { tokenStrip } = require("../../ui/token_strip.js");
const { chip } = require("../../ui/token_text.js");
const { detailPanel } = require("../../ui/detail.js");
const { segmented } = require("../../ui/switch.js");
const { pairSeries } = require("./data.js");
const { headColor } = require("./controls.js");

/** Chart size and margins (CSS px, the SVG's own units). */
const CW = 640;
const CH = 260;
const M = { left: 52, right: 14, top: 12, bottom: 34 };

/**
 * A "nice" upper bound of the y axis for values up to `max`.
 * @param {number} max
 * @returns {number}
 */
function niceTop(max) {
  if (!(max > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(max));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= max * 1.05) return m * p;
  return 10 * p;
}

/**
 * @param {{d: import("./data.js").AttData, state: import("./controls.js").AttState,
 *          listen: import("../../ui/listeners.js").ListenerTable, view: HTMLElement,
 *          fmt: (v: number, rollout?: boolean) => string}} o
 * @returns {{el: HTMLElement, update: (what: string) => void}}
 */
function pairView(o) {
  const { d, state, listen, view } = o;
  /** @type {"from"|"to"} */
  let picking = "from";
  const which = segmented({
    label: "a click sets", showLabel: true, listen, value: picking,
    options: [["from", "from (query)", "the token that attends"], ["to", "to (key)", "the token attended to"]],
    onChange(v) {
      picking = v === "to" ? "to" : "from";
    },
  });
  const pin = pinState((k) => pick(k));
  const strip = tokenStrip({ tokens: d.tokens, labels: d.labels, generated: d.generated, pin, listen, mode: "select", label: "pick a token", className: "lm-att-pairtext" });
  const chart = /** @type {SVGSVGElement} */ (/** @type {unknown} */ (svg("svg", {
    class: "lm-att-chart", viewBox: `0 0 ${CW} ${CH}`, width: CW, height: CH, role: "img", "aria-label": "attention across layers",
  })));
  const body = h("div", { className: "lm-att-detail-body" });
  const detail = detailPanel({ listen, live: true, children: [chart, body] });
  const el = h("div", { className: "lm-att-pair" }, [h("div", { className: "lm-controls" }, [which.el, h("span", { className: "lm-status", text: "click a token, then another; ←/→ move" })]), strip.el, detail.el]);
  let started = false;

  /** @param {number} k */
  function pick(k) {
    if (!started) return;
    if (k < 0) return;
    strip.mark(k, false);
    if (picking === "from") {
      state.pair = [k, state.pair[1]];
      picking = "to";
      which.set("to");
    } else {
      state.pair = [state.pair[0], k];
    }
    draw();
  }

  function marks() {
    strip.spans.forEach((s, i) => {
      s.classList.toggle("lm-att-from", i === state.pair[0]);
      s.classList.toggle("lm-att-to", i === state.pair[1]);
      s.classList.toggle("lm-att-hidden", !!d.hidden[i]);
    });
  }

  function draw() {
    marks();
    const [q, k] = state.pair;
    const s = pairSeries(d, q, k, state.active);
    const showRoll = !!(s.rollout && state.rollout && d.weighting === "attention");
    let max = 0;
    for (let l = 0; l < d.L; l++) {
      for (let i = 0; i < d.H; i++) if (state.active[i]) max = Math.max(max, s.perHead[l * d.H + i]);
      if (showRoll && s.rollout) max = Math.max(max, s.rollout[l]);
    }
    const top = d.weighting === "attention" ? Math.min(1, niceTop(max)) : niceTop(max);
    const pw = CW - M.left - M.right;
    const ph = CH - M.top - M.bottom;
    const dx = Math.min(3, pw / Math.max(1, d.L) / Math.max(2, d.H));
    // a layer's dots spread ±spread around it: keep the outer layers' dots inside the plot
    const spread = ((d.H - 1) / 2) * dx + 4;
    const x = (/** @type {number} */ l) => M.left + spread + (d.L === 1 ? pw / 2 - spread : (l / (d.L - 1)) * (pw - 2 * spread));
    const y = (/** @type {number} */ v) => M.top + ph - (v / top) * ph;
    chart.textContent = "";
    for (const t of [0, 0.25, 0.5, 0.75, 1]) {
      chart.appendChild(svg("line", { x1: M.left, x2: CW - M.right, y1: y(t * top), y2: y(t * top), class: "lm-att-gridline" }));
      chart.appendChild(svg("text", { x: M.left - 6, y: y(t * top) + 4, "text-anchor": "end", class: "lm-att-tick" }, o.fmt(t * top)));
    }
    const step = Math.max(1, Math.ceil(d.L / 16));
    for (let l = 0; l < d.L; l += step) {
      chart.appendChild(svg("text", { x: x(l), y: CH - M.bottom + 16, "text-anchor": "middle", class: "lm-att-tick" }, String(d.layers[l])));
    }
    chart.appendChild(svg("text", { x: M.left + pw / 2, y: CH - 4, "text-anchor": "middle", class: "lm-att-tick" }, "layer"));
    for (let i = 0; i < d.H; i++) {
      if (!state.active[i]) continue;
      for (let l = 0; l < d.L; l++) {
        const v = s.perHead[l * d.H + i];
        const dot = svg("circle", { cx: x(l) + (i - (d.H - 1) / 2) * dx, cy: y(v), r: 3.2, fill: headColor(i), class: "lm-att-dot" });
        dot.appendChild(svg("title", {}, `layer ${d.layers[l]}, head ${d.heads[i]}: ${o.fmt(v)}`));
        chart.appendChild(dot);
      }
    }
    const path = (/** @type {ArrayLike<number>} */ vs) => Array.from({ length: d.L }, (_, l) => `${l ? "L" : "M"}${x(l).toFixed(1)},${y(vs[l]).toFixed(1)}`).join("");
    if (showRoll && s.rollout) chart.appendChild(svg("path", { d: path(s.rollout), class: "lm-att-roll" }));
    chart.appendChild(svg("path", { d: path(s.mean), class: "lm-att-mean" }));
    for (let l = 0; l < d.L; l++) {
      const dot = svg("circle", { cx: x(l), cy: y(s.mean[l]), r: 3.6, class: "lm-att-meandot" });
      dot.appendChild(svg("title", {}, `layer ${d.layers[l]}, mean of the shown heads: ${o.fmt(s.mean[l])}`));
      chart.appendChild(dot);
    }
    chart.setAttribute("data-lm-pair", `${q}:${k}`);
    el.setAttribute("data-lm-pair", `${q}:${k}`);
    detail.setTitle("From ", chip(d.labels[q]), ` (position ${formatInt(d.offset + q)}) to `, chip(d.labels[k]), ` (position ${formatInt(d.offset + k)})`);
    body.textContent = "";
    const notes = [];
    if (d.causal && k > q) notes.push("In a causal model a position attends only to itself and earlier ones: this pair is 0 in every head. Pick a key before the query.");
    if (d.hidden[q] || d.hidden[k]) notes.push("A hidden position: left out (0).");
    const best = Array.from(s.mean).reduce((b, v, l) => (v > s.mean[b] ? l : b), 0);
    notes.push(`Dots: one per shown head; line: their mean (highest at layer ${d.layers[best]}: ${o.fmt(s.mean[best])})${showRoll ? "; dashed: the rollout" : ""}.`);
    for (const t of notes) body.appendChild(h("div", { className: "lm-foot", text: t }));
  }

  started = true;
  draw();
  return {
    el,
    update() {
      draw();
    },
  };
}

module.exports = { pairView, niceTop };
