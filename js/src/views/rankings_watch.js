// @ts-check
"use strict";
/**
 * The rankings-watch view (logit lens): one line per watched token across layers, drawn as
 * plain SVG. The y axis is the rank on a log scale with 1 on top (a toggle shows the
 * probability instead); the dashed grey line is the token the model finally outputs. Hovering
 * (or arrow keys on the chart) picks a layer: the panel lists every watched token's rank and
 * probability there and the layer's top-k.
 *
 * Spec (kind "rankings_watch", version 1), written by lmlens/views/rankings_watch.py:
 *   watch_labels: string[w]; watch_ids: int32 [w]
 *   ranks: int32 [L, w]; probs: float32 [L, w]
 *   output_id: number; output_ranks: int32 [L]; output_probs: float32 [L]
 *   top_ids: int32 [L, k]; top_probs: float16 [L, k]
 *   layer_names, layer_labels: string[L]; position; context: string[] (tokens up to position)
 *   context_cut, position_generated, lm_kind, vocab_ids, vocab_strings, title, summary, notices
 */

const { h, guard } = require("../dom.js");
const { formatProb, visibleToken, formatInt } = require("../format.js");
const L = require("./_lens.js");

/** Highest spec version this module reads. */
const VERSION = 1;
const W = 720;
const H = 300;
const M = { l: 58, r: 18, t: 14, b: 40 };
const OUTPUT_COLOR = "#8a8a8a";

const CSS = `
& .lm-wt-chart { width: 100%; max-width: ${W}px; height: auto; display: block; overflow: visible; }
& .lm-wt-chart text { fill: var(--lm-muted); font-size: 11px; font-family: inherit; }
& .lm-wt-chart .lm-wt-grid { stroke: var(--lm-border); stroke-width: 1; }
& .lm-wt-chart .lm-wt-guide { stroke: var(--lm-fg); stroke-width: 1; stroke-dasharray: 3 3; }
& .lm-wt-chart:focus-visible { outline: 2px solid var(--lm-accent); outline-offset: 2px; }
& .lm-wt-keys { display: flex; flex-wrap: wrap; gap: 4px 14px; margin: 0 0 6px; }
& .lm-wt-key { display: inline-flex; align-items: center; gap: 6px; }
& .lm-wt-swatch { display: inline-block; width: 18px; height: 3px; border-radius: 2px; }
& .lm-wt-swatch.lm-wt-dashed { height: 0; border-top: 2px dashed ${OUTPUT_COLOR}; }
& .lm-wt-table { border-collapse: collapse; margin: 2px 0 8px; font-variant-numeric: tabular-nums; }
& .lm-wt-table td { padding: 1px 8px 1px 0; }
& .lm-wt-table td.lm-wt-num { text-align: right; }
`;

/**
 * Nice decade ticks between lo and hi (both > 0).
 * @param {number} lo
 * @param {number} hi
 * @returns {number[]}
 */
function decades(lo, hi) {
  const out = [];
  for (let e = Math.floor(Math.log10(lo)); e <= Math.ceil(Math.log10(hi)); e++) {
    const v = 10 ** e;
    if (v >= lo * 0.999 && v <= hi * 1.001) out.push(v);
  }
  return out;
}

/**
 * @param {number} v
 * @param {string} mode
 * @returns {string}
 */
function tickText(v, mode) {
  if (mode === "rank") return v >= 1000 ? `${v / 1000}k` : String(v);
  return v >= 0.01 ? `${v * 100}%` : `${Number((v * 100).toPrecision(2))}%`;
}

/**
 * @param {{model: import("../model.js").Model, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  /** @type {string[]} */
  const labels = model.get("watch_labels");
  const w = labels.length;
  const { layerLabels, layerNames, nL } = L.layerAxis(model);
  const ranks = L.arr(model, "ranks");
  const probs = L.arr(model, "probs");
  const outRanks = L.arr(model, "output_ranks").data;
  const outProbs = L.arr(model, "output_probs").data;
  const topIds = L.arr(model, "top_ids");
  const topProbs = L.arr(model, "top_probs");
  const watchIds = L.arr(model, "watch_ids").data;
  const str = L.vocabLookup(model);
  const outputId = Number(model.get("output_id"));
  if (ranks.shape.join() !== `${nL},${w}` || probs.shape.join() !== ranks.shape.join()) {
    throw new Error(`rankings_watch spec: ranks [${ranks.shape}] do not fit ${nL} layers × ${w} tokens`);
  }
  if (outRanks.length !== nL || topIds.shape[0] !== nL) throw new Error("rankings_watch spec: per-layer arrays do not fit");
  const k = topIds.shape[1];
  const causal = model.get("lm_kind") !== "masked";
  /** @type {string[]} */
  const context = model.get("context") || [];
  /** @type {string[]} */
  const notices = model.get("notices") || [];

  // ---- layout --------------------------------------------------------------------------
  let mode = "rank";
  const toggle = L.segmented("y axis", [["rank", "rank"], ["prob", "probability"]], mode, guard(el, (v) => {
    mode = v;
    draw();
  }));
  const ctxText = visibleToken(context.slice(0, -1).join(""));
  const head = h("div", { className: "lm-head" }, [
    h("span", { className: "lm-title", text: model.get("title") || "Watched tokens" }),
    h("span", { className: "lm-meta", text: [model.get("model_name") || "", `${nL} layers`].filter(Boolean).join(" · ") }),
  ]);
  const where = h("div", { className: "lm-detail-title" }, [
    causal ? "Next token after " : "Token at ",
    h("span", { className: "lm-context" }, [
      model.get("context_cut") ? "…" : "",
      ctxText,
      h("b", { text: visibleToken(context[context.length - 1] || "") }),
    ]),
    ` (position ${model.get("position")}${model.get("position_generated") ? ", generated" : ""})`,
  ]);
  const summary = model.get("summary") ? h("p", { className: "lm-summary", text: model.get("summary") }) : null;
  const noticeBox = notices.length
    ? h("div", { className: "lm-notices", attrs: { role: "note" } }, notices.map((t) => h("p", { text: t })))
    : null;
  const keys = h("div", { className: "lm-wt-keys" });
  labels.forEach((lab, j) => {
    const sw = h("span", { className: "lm-wt-swatch" });
    sw.style.background = L.LINE_COLORS[j % L.LINE_COLORS.length];
    keys.appendChild(h("span", { className: "lm-wt-key" }, [sw, h("span", { className: "lm-chip", text: L.tokenText(lab) })]));
  });
  keys.appendChild(h("span", { className: "lm-wt-key" }, [
    h("span", { className: "lm-wt-swatch lm-wt-dashed" }),
    "output ",
    h("span", { className: "lm-chip", text: L.tokenText(str(outputId)) }),
  ]));
  const controls = h("div", { className: "lm-controls" }, [toggle.el]);

  const chart = L.svg("svg", {
    class: "lm-wt-chart", viewBox: `0 0 ${W} ${H}`, role: "img", tabindex: "0",
    "aria-label": `rank of ${w} watched tokens at each of ${nL} layers`,
  });
  const detailTitle = h("span", { className: "lm-detail-title" });
  const table = h("table", { className: "lm-wt-table" });
  const list = h("ol", { className: "lm-topk" });
  const detail = h("div", { className: "lm-detail", attrs: { "aria-live": "polite" } }, [
    h("div", { className: "lm-detail-head" }, [detailTitle, h("span", { className: "lm-status", text: "hover the chart" })]),
    table,
    list,
  ]);
  const view = h("div", { className: "lm-view lm-rankings-watch" }, [
    head, where, summary, noticeBox, controls, keys, chart, detail,
  ]);
  L.scopedStyle(view, L.COMMON_CSS + CSS);
  el.appendChild(view);

  // ---- chart ---------------------------------------------------------------------------
  const x = (/** @type {number} */ i) => M.l + (nL > 1 ? (i / (nL - 1)) * (W - M.l - M.r) : (W - M.l - M.r) / 2);
  /** @type {(v: number) => number} */
  let y = () => 0;
  let guide = /** @type {SVGElement|null} */ (null);
  let current = nL - 1;

  /**
   * @param {number} layer
   * @param {number} j  watched index, or -1 for the output token
   * @returns {number}
   */
  function value(layer, j) {
    if (j < 0) return mode === "rank" ? outRanks[layer] : outProbs[layer];
    return mode === "rank" ? ranks.data[layer * w + j] : probs.data[layer * w + j];
  }

  function draw() {
    chart.textContent = "";
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < nL; i++) {
      for (let j = -1; j < w; j++) {
        const v = Math.max(value(i, j), mode === "rank" ? 1 : 1e-7);
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
    }
    if (mode === "rank") {
      lo = 1;
      hi = 10 ** Math.ceil(Math.log10(Math.max(10, hi)));
    } else {
      lo = 10 ** Math.floor(Math.log10(Math.max(1e-7, lo)));
      hi = 1;
    }
    const top = M.t;
    const bottom = H - M.b;
    const span = Math.log10(hi) - Math.log10(lo) || 1;
    y = mode === "rank"
      ? (v) => top + ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / span) * (bottom - top)
      : (v) => bottom - ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / span) * (bottom - top);
    for (const v of decades(lo, hi)) {
      chart.appendChild(L.svg("line", { class: "lm-wt-grid", x1: M.l, x2: W - M.r, y1: y(v), y2: y(v) }));
      chart.appendChild(L.svg("text", { x: M.l - 6, y: y(v) + 4, "text-anchor": "end" }, tickText(v, mode)));
    }
    const step = Math.max(1, Math.ceil(nL / 16));
    for (let i = 0; i < nL; i += step) {
      chart.appendChild(L.svg("text", { x: x(i), y: H - M.b + 16, "text-anchor": "middle" }, layerLabels[i]));
    }
    chart.appendChild(L.svg("text", { x: (M.l + W - M.r) / 2, y: H - 6, "text-anchor": "middle" }, "layer (block output)"));
    chart.appendChild(L.svg("text", { x: 12, y: (top + bottom) / 2, "text-anchor": "middle",
      transform: `rotate(-90 12 ${(top + bottom) / 2})` }, mode === "rank" ? "rank (1 = top)" : "probability"));
    for (let j = -1; j < w; j++) {
      const pts = [];
      for (let i = 0; i < nL; i++) pts.push(`${x(i).toFixed(1)},${y(value(i, j)).toFixed(1)}`);
      const color = j < 0 ? OUTPUT_COLOR : L.LINE_COLORS[j % L.LINE_COLORS.length];
      const attrs = { points: pts.join(" "), fill: "none", stroke: color, "stroke-width": j < 0 ? 1.5 : 2.2,
        "stroke-linejoin": "round", "data-watch": j };
      if (j < 0) Object.assign(attrs, { "stroke-dasharray": "5 4" });
      chart.appendChild(L.svg("polyline", attrs));
      if (j >= 0) {
        for (let i = 0; i < nL; i++) chart.appendChild(L.svg("circle", { cx: x(i), cy: y(value(i, j)), r: 2.4, fill: color }));
      }
    }
    guide = L.svg("line", { class: "lm-wt-guide", y1: top, y2: bottom, x1: x(current), x2: x(current) });
    chart.appendChild(guide);
    chart.appendChild(L.svg("rect", { x: M.l - 8, y: 0, width: W - M.l - M.r + 16, height: H - M.b + 4, fill: "transparent",
      class: "lm-wt-hit" }));
    show(current);
  }

  /** @param {number} layer */
  function show(layer) {
    current = Math.max(0, Math.min(nL - 1, layer));
    if (guide) {
      guide.setAttribute("x1", String(x(current)));
      guide.setAttribute("x2", String(x(current)));
    }
    detail.setAttribute("data-lm-layer", String(current));
    detailTitle.textContent = "";
    detailTitle.append(
      h("b", { text: layerLabels[current] === "embed" ? "embeddings" : `layer ${layerLabels[current]}` }),
      h("span", { className: "lm-status", text: `  ${layerNames[current]}` }),
    );
    table.textContent = "";
    const rows = [];
    for (let j = 0; j < w; j++) rows.push([j, labels[j], ranks.data[current * w + j], probs.data[current * w + j]]);
    rows.push([-1, `output ${L.tokenText(str(outputId))}`, outRanks[current], outProbs[current]]);
    for (const [j, lab, r, p] of rows) {
      const sw = h("span", { className: j < 0 ? "lm-wt-swatch lm-wt-dashed" : "lm-wt-swatch" });
      if (Number(j) >= 0) sw.style.background = L.LINE_COLORS[Number(j) % L.LINE_COLORS.length];
      table.appendChild(h("tr", { className: "lm-wt-row" }, [
        h("td", {}, [sw]),
        h("td", {}, [h("span", { className: "lm-chip", text: L.tokenText(String(lab)) })]),
        h("td", { className: "lm-wt-num", text: `rank ${formatInt(Number(r))}` }),
        h("td", { className: "lm-wt-num", text: formatProb(Number(p)) }),
      ]));
    }
    list.textContent = "";
    const watched = new Set(Array.from(watchIds));
    for (let j = 0; j < k; j++) {
      const id = topIds.data[current * k + j];
      const pj = topProbs.data[current * k + j];
      const tag = watched.has(id) ? "watched" : id === outputId ? "output" : "";
      list.appendChild(h("li", { className: tag ? "lm-row lm-actual" : "lm-row" }, [
        h("span", { className: "lm-rank", text: String(j + 1) }),
        h("span", { className: "lm-chip", text: L.tokenText(str(id)) }),
        h("span", { className: "lm-bar" }, [h("span", { style: { width: `${Math.max(0, Math.min(1, pj)) * 100}%` } })]),
        h("span", { className: "lm-pct", text: formatProb(pj) }),
        tag ? h("span", { className: "lm-tag", text: tag }) : null,
      ]));
    }
  }

  const onMove = guard(el, (/** @type {MouseEvent} */ e) => {
    const box = chart.getBoundingClientRect();
    if (!box.width) return;
    const px = ((e.clientX - box.left) / box.width) * W;
    const i = nL > 1 ? Math.round(((px - M.l) / (W - M.l - M.r)) * (nL - 1)) : 0;
    show(i);
  });
  const onKey = guard(el, (/** @type {KeyboardEvent} */ e) => {
    if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
      e.preventDefault();
      show(current + (e.key === "ArrowRight" ? 1 : -1));
    }
  });
  chart.addEventListener("mousemove", onMove);
  chart.addEventListener("keydown", onKey);
  draw();

  return () => {
    chart.removeEventListener("mousemove", onMove);
    chart.removeEventListener("keydown", onKey);
    view.remove();
  };
}

module.exports = { render, VERSION, decades };
