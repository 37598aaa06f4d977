// @ts-check
"use strict";
/**
 * The rankings view (logit lens): a layer × token grid (ui/grid.js, drawn on a canvas), last
 * layer on top, each cell coloured by the rank of the target token at that layer (log scale,
 * rank 1 brightest); a switch shows probabilities instead. Hovering a cell shows the token, its rank and probability and
 * the layer's top-k there; a click pins it (click again, Unpin or Escape releases). Arrow keys
 * move the active cell when the grid has focus. Generated positions are marked.
 *
 * Spec (kind "rankings", version 1), written by lmlens/views/rankings.py:
 *   tokens: string[n]                     input tokens (display strings)
 *   token_ids, target_ids: int32 [n]      the input and the target token at each position
 *   ranks: int32 [L, n]                   rank of the target at each layer (1 = top)
 *   probs: float32 [L, n]                 its probability
 *   top_ids: int32 [L, n, k], top_probs: float16 [L, n, k]
 *   vocab_ids: int32 [m], vocab_strings: string[m]
 *   generated: uint8 [n]                  1 where lens.generate produced the input token
 *   layer_names, layer_labels: string[L]  embeddings first
 *   target: "output" | "next" | "input" | "given";  lm_kind: "causal" | "masked"
 *   n_positions (before any size-budget cut), k, model_name, title, summary, notices
 *   focus (optional): the position shown at first (the probe's slot); default the last
 */

const { h } = require("../dom.js");
const { rankColors, probColors, viridisGradient } = require("../color.js");
const { formatProb, formatInt, rankText, probText } = require("../format.js");
const { mountView } = require("../ui/listeners.js");
const { arrOf, layerAxis, vocabLookup, tokenLabels } = require("../ui/spec.js");
const { pinState } = require("../ui/pin.js");
const { chip, contextLabel } = require("../ui/token_text.js");
const { layerGrid } = require("../ui/grid.js");
const { detailPanel } = require("../ui/detail.js");
const { topkList } = require("../ui/topk.js");
const { legend } = require("../ui/legend.js");
const { segmented } = require("../ui/switch.js");
const { viewHeader, controls } = require("../ui/header.js");

/** Highest spec version this module reads. */
const VERSION = 1;

const TARGET_WORDS = {
  output: "the model's output",
  next: "the next token",
  input: "the input token",
  given: "the chosen token",
};

const SCALES = {
  rank: { lo: "rank 10k+", hi: "rank 1", gradient: "" },
  prob: { lo: "0.01%", hi: "100%", gradient: "" },
};

/** @param {import("../model.js").Model} model */
function read(model) {
  /** @type {string[]} */
  const tokens = model.get("tokens");
  const n = tokens.length;
  const labels = tokenLabels(model);
  const { layerLabels, layerNames, nL } = layerAxis(model);
  const topIds = arrOf(model, "top_ids", [nL, n, -1]);
  const causal = model.get("lm_kind") !== "masked";
  const generated = arrOf(model, "generated", [n]).data;
  // columns whose target is a generated token (causal: position i predicts token i + 1)
  const genOut = new Uint8Array(n);
  for (let p = 0; p < n; p++) genOut[p] = causal ? (p + 1 < n ? generated[p + 1] : generated[p]) : generated[p];
  return {
    tokens, labels, n, layerLabels, layerNames, nL, causal, generated, genOut,
    ranks: arrOf(model, "ranks", [nL, n]).data,
    probs: arrOf(model, "probs", [nL, n]).data,
    topIds: topIds.data,
    topProbs: arrOf(model, "top_probs", topIds.shape).data,
    k: topIds.shape[2],
    targetIds: arrOf(model, "target_ids", [n]).data,
    str: vocabLookup(model),
    target: /** @type {keyof typeof TARGET_WORDS} */ (model.get("target") || "output"),
    total: model.get("n_positions") || n,
  };
}

/**
 * @param {{model: import("../model.js").Model, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  const d = read(model);
  const { n, nL, layerLabels, layerNames } = d;
  return mountView(el, "lm-rankings", ({ view, listen }) => {
    let mode = "rank";
    const scale = legend({ ...SCALES.rank, gradient: viridisGradient() });
    const toggle = segmented({
      label: "colour by", options: [["rank", "rank"], ["prob", "probability"]], value: mode, listen,
      onChange(v) {
        mode = v;
        scale.set({ ...(v === "rank" ? SCALES.rank : SCALES.prob), gradient: viridisGradient() });
        grid.redraw();
      },
    });
    const { nodes } = viewHeader(model, {
      title: "Logit lens",
      meta: [model.get("model_name"), `${nL} layers`, `${formatInt(d.total)} tokens`, `target: ${TARGET_WORDS[d.target] || d.target}`],
    });
    let edge = -1;
    for (let p = 1; p < n; p++) if (d.genOut[p] && !d.genOut[p - 1]) { edge = p; break; }
    const anyGen = d.genOut.some((g) => g > 0);

    // ---- the grid (ui/grid.js, one canvas): a row of targets, one row per layer (last on top), the inputs ----
    const pin = pinState((key, pinned) => show(key, pinned));
    const grid = layerGrid({
      listen, pin, nRows: nL, nCols: n, className: "lm-rk-grid",
      ariaLabel: "rank of the target token at each layer and position; arrow keys move, Enter pins",
      rowLabel: (r) => layerLabels[r],
      topLabel: (c) => d.str(d.targetIds[c]),
      topMark: (c) => (d.genOut[c] ? "gen" : ""),
      topAxis: d.causal ? "next →" : "target",
      bottomLabel: (c) => d.labels[c],
      bottomMark: (c) => (d.generated[c] ? "gen" : ""),
      bottomAxis: "input",
      edge,
      cell(r, c) {
        const i = r * n + c;
        const colors = mode === "rank" ? rankColors(d.ranks[i]) : probColors(d.probs[i]);
        return { bg: colors.bg, fg: colors.fg, text: mode === "rank" ? rankText(d.ranks[i]) : probText(d.probs[i]) };
      },
    });
    const line = h("div", { className: "lm-rk-line" });
    const list = topkList();
    const detail = detailPanel({ listen, pin, scope: view, status: "hover a cell · click to pin", children: [line, list.el] });
    view.append(
      ...nodes.filter(Boolean),
      controls([toggle.el, scale.el, anyGen && h("span", { className: "lm-gen-key", text: "generated" })]),
      grid.el,
      detail.el,
    );

    /** @param {number} key  layer * n + position @param {boolean} pinned */
    function show(key, pinned) {
      const layer = Math.floor(key / n);
      const p = key % n;
      grid.mark(key, pinned);
      detail.el.setAttribute("data-lm-layer", String(layer));
      detail.el.setAttribute("data-lm-position", String(p));
      detail.setPinned(pinned);
      detail.setTitle(
        h("b", { text: layerLabels[layer] === "embed" ? "embeddings" : `layer ${layerLabels[layer]}` }),
        ` · ${d.causal ? "after" : "at"} `,
        contextLabel(d.tokens, p, { labels: d.labels }),
        d.generated[p] ? " (generated)" : "",
      );
      const tid = d.targetIds[p];
      line.textContent = "";
      line.append(
        `${TARGET_WORDS[d.target] || "target"} `,
        chip(d.str(tid)),
        ` is rank ${formatInt(d.ranks[key])} here (${formatProb(d.probs[key])})`,
        h("span", { className: "lm-status", text: `  ${layerNames[layer]}` }),
      );
      const base = key * d.k;
      /** @type {import("../ui/topk.js").TopkRow[]} */
      const rows = [];
      for (let j = 0; j < d.k; j++) {
        const id = d.topIds[base + j];
        rows.push({ text: d.str(id), p: d.topProbs[base + j], tag: id === tid ? "target" : "" });
      }
      list.fill(rows);
    }

    // the top layer at the spec's optional `focus` position (a probe's slot), else at the last
    const focus = model.get("focus");
    const at = Number.isInteger(focus) && focus >= 0 && focus < n ? focus : n - 1;
    if (n > 0 && nL > 0) pin.hover((nL - 1) * n + at);
  });
}

module.exports = { render, VERSION };
