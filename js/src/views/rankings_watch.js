// @ts-check
"use strict";
/**
 * The rankings-watch view (logit lens): one line per watched token across layers, drawn as
 * plain SVG. The y axis is the rank on a log scale with 1 on top (a switch shows the
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

const { h, svg } = require("../dom.js");
const { LINE_COLORS } = require("../color.js");
const { formatProb, formatInt } = require("../format.js");
const { mountView } = require("../ui/listeners.js");
const { arrOf, layerAxis, vocabLookup, strings } = require("../ui/spec.js");
const { chip, tokenText, contextLabel } = require("../ui/token_text.js");
const { detailPanel } = require("../ui/detail.js");
const { topkList } = require("../ui/topk.js");
const { segmented } = require("../ui/switch.js");
const { viewHeader, controls } = require("../ui/header.js");

/** Highest spec version this module reads. */
const VERSION = 1;
/** The chart's drawing box (viewBox units) and margins. */
const W = 720;
const H = 300;
const M = { l: 58, r: 18, t: 14, b: 40 };

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
 * An axis label of a decade: rank 1000 → "1k"; probability 0.01 → "1%", 1e-6 → "0.0001%",
 * below that "1e-5%" (so the label fits the margin).
 * @param {number} v
 * @param {string} mode
 * @returns {string}
 */
function tickText(v, mode) {
  if (mode === "rank") return v >= 1000 ? `${v / 1000}k` : String(v);
  const pct = v * 100;
  if (pct < 1e-4 * 0.999) return `1e${Math.round(Math.log10(pct))}%`;
  return v >= 0.01 ? `${pct}%` : `${Number(pct.toPrecision(2))}%`;
}

/** @param {import("../model.js").Model} model */
function read(model) {
  const labels = strings(model, "watch_labels");
  const w = labels.length;
  const { layerLabels, layerNames, nL } = layerAxis(model);
  const topIds = arrOf(model, "top_ids", [nL, -1]);
  return {
    labels, w, layerLabels, layerNames, nL,
    ranks: arrOf(model, "ranks", [nL, w]).data,
    probs: arrOf(model, "probs", [nL, w]).data,
    outRanks: arrOf(model, "output_ranks", [nL]).data,
    outProbs: arrOf(model, "output_probs", [nL]).data,
    topIds: topIds.data,
    topProbs: arrOf(model, "top_probs", topIds.shape).data,
    k: topIds.shape[1],
    watchIds: arrOf(model, "watch_ids", [w]).data,
    str: vocabLookup(model),
    outputId: Number(model.get("output_id")),
    causal: model.get("lm_kind") !== "masked",
    context: strings(model, "context"),
  };
}

/**
 * A line's key swatch; the output's is dashed grey, the others take their line colour.
 * @param {number} j  watched index, -1 for the output
 * @returns {HTMLElement}
 */
function swatch(j) {
  const sw = h("span", { className: j < 0 ? "lm-wt-swatch lm-wt-dashed" : "lm-wt-swatch" });
  if (j >= 0) sw.style.background = LINE_COLORS[j % LINE_COLORS.length];
  return sw;
}

/**
 * @param {{model: import("../model.js").Model, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  const d = read(model);
  const { nL, w, layerLabels, layerNames } = d;
  return mountView(el, "lm-rankings-watch", ({ view, listen }) => {
    let mode = "rank";
    const toggle = segmented({
      label: "y axis", options: [["rank", "rank"], ["prob", "probability"]], value: mode, listen,
      onChange(v) {
        mode = v;
        draw();
      },
    });
    const { nodes } = viewHeader(model, {
      title: "Watched tokens",
      meta: [model.get("model_name"), `${nL} layers`],
    });
    const last = Math.max(0, d.context.length - 1);
    const where = h("div", { className: "lm-detail-title lm-wt-where" }, [
      d.causal ? "Next token after " : "Token at ",
      contextLabel(d.context, last, { before: last, cut: !!model.get("context_cut") }),
      ` (position ${model.get("position")}${model.get("position_generated") ? ", generated" : ""})`,
    ]);
    const keys = h("div", { className: "lm-wt-keys" });
    d.labels.forEach((lab, j) => keys.appendChild(h("span", { className: "lm-wt-key" }, [swatch(j), chip(lab)])));
    keys.appendChild(h("span", { className: "lm-wt-key" }, [swatch(-1), "output ", chip(d.str(d.outputId))]));

    const chart = svg("svg", {
      class: "lm-wt-chart", viewBox: `0 0 ${W} ${H}`, role: "img", tabindex: "0",
      "aria-label": `rank of ${w} watched tokens at each of ${nL} layers`,
    });
    const table = h("table", { className: "lm-wt-table" });
    const list = topkList();
    const detail = detailPanel({ listen, status: "hover the chart", children: [table, list.el] });
    const [head, ...rest] = nodes;
    view.append(/** @type {HTMLElement} */ (head), where, ...rest.filter(Boolean), controls([toggle.el]), keys, chart, detail.el);

    // ---- chart ---------------------------------------------------------------------------
    const x = (/** @type {number} */ i) => M.l + (nL > 1 ? (i / (nL - 1)) * (W - M.l - M.r) : (W - M.l - M.r) / 2);
    /** @type {(v: number) => number} */
    let y = () => 0;
    /** @type {SVGElement|null} */
    let guide = null;
    let current = nL - 1;

    /**
     * @param {number} layer
     * @param {number} j  watched index, or -1 for the output token
     * @returns {number}
     */
    function value(layer, j) {
      if (j < 0) return mode === "rank" ? d.outRanks[layer] : d.outProbs[layer];
      return mode === "rank" ? d.ranks[layer * w + j] : d.probs[layer * w + j];
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
        chart.appendChild(svg("line", { class: "lm-wt-grid", x1: M.l, x2: W - M.r, y1: y(v), y2: y(v) }));
        chart.appendChild(svg("text", { x: M.l - 6, y: y(v) + 4, "text-anchor": "end" }, tickText(v, mode)));
      }
      const step = Math.max(1, Math.ceil(nL / 16));
      for (let i = 0; i < nL; i += step) {
        chart.appendChild(svg("text", { x: x(i), y: H - M.b + 16, "text-anchor": "middle" }, layerLabels[i]));
      }
      chart.appendChild(svg("text", { x: (M.l + W - M.r) / 2, y: H - 6, "text-anchor": "middle" }, "layer (block output)"));
      chart.appendChild(svg("text", { x: 12, y: (top + bottom) / 2, "text-anchor": "middle",
        transform: `rotate(-90 12 ${(top + bottom) / 2})` }, mode === "rank" ? "rank (1 = top)" : "probability"));
      for (let j = -1; j < w; j++) {
        const pts = [];
        for (let i = 0; i < nL; i++) pts.push(`${x(i).toFixed(1)},${y(value(i, j)).toFixed(1)}`);
        const cls = j < 0 ? "lm-wt-line lm-wt-output" : "lm-wt-line";
        /** @type {Record<string, string|number>} */
        const attrs = { class: cls, points: pts.join(" "), "data-watch": j };
        if (j >= 0) attrs.stroke = LINE_COLORS[j % LINE_COLORS.length];
        chart.appendChild(svg("polyline", attrs));
        if (j >= 0) {
          for (let i = 0; i < nL; i++) {
            chart.appendChild(svg("circle", { cx: x(i), cy: y(value(i, j)), r: 2.4, fill: LINE_COLORS[j % LINE_COLORS.length] }));
          }
        }
      }
      guide = svg("line", { class: "lm-wt-guide", y1: top, y2: bottom, x1: x(current), x2: x(current) });
      chart.appendChild(guide);
      chart.appendChild(svg("rect", { class: "lm-wt-hit", x: M.l - 8, y: 0, width: W - M.l - M.r + 16, height: H - M.b + 4 }));
      show(current);
    }

    /** @param {number} layer */
    function show(layer) {
      current = Math.max(0, Math.min(nL - 1, layer));
      if (guide) {
        guide.setAttribute("x1", String(x(current)));
        guide.setAttribute("x2", String(x(current)));
      }
      detail.el.setAttribute("data-lm-layer", String(current));
      detail.setTitle(
        h("b", { text: layerLabels[current] === "embed" ? "embeddings" : `layer ${layerLabels[current]}` }),
        h("span", { className: "lm-status", text: `  ${layerNames[current]}` }),
      );
      table.textContent = "";
      /** @type {[number, string, number, number][]} */
      const rows = [];
      for (let j = 0; j < w; j++) rows.push([j, tokenText(d.labels[j]), d.ranks[current * w + j], d.probs[current * w + j]]);
      rows.push([-1, `output ${tokenText(d.str(d.outputId))}`, d.outRanks[current], d.outProbs[current]]);
      for (const [j, lab, r, p] of rows) {
        table.appendChild(h("tr", { className: "lm-wt-row" }, [
          h("td", {}, [swatch(j)]),
          h("td", {}, [h("span", { className: "lm-chip", text: lab })]),
          h("td", { className: "lm-wt-num", text: `rank ${formatInt(r)}` }),
          h("td", { className: "lm-wt-num", text: formatProb(p) }),
        ]));
      }
      const watched = new Set(Array.from(d.watchIds));
      /** @type {import("../ui/topk.js").TopkRow[]} */
      const top = [];
      for (let j = 0; j < d.k; j++) {
        const id = d.topIds[current * d.k + j];
        top.push({ text: d.str(id), p: d.topProbs[current * d.k + j], tag: watched.has(id) ? "watched" : id === d.outputId ? "output" : "" });
      }
      list.fill(top);
    }

    listen.on(chart, "mousemove", (/** @type {MouseEvent} */ e) => {
      const box = chart.getBoundingClientRect();
      if (!box.width) return;
      const px = ((e.clientX - box.left) / box.width) * W;
      show(nL > 1 ? Math.round(((px - M.l) / (W - M.l - M.r)) * (nL - 1)) : 0);
    });
    listen.on(chart, "keydown", (/** @type {KeyboardEvent} */ e) => {
      if (e.key === "ArrowLeft" || e.key === "ArrowRight") {
        e.preventDefault();
        show(current + (e.key === "ArrowRight" ? 1 : -1));
      }
    });
    draw();
  });
}

module.exports = { render, VERSION, decades, tickText };
