// @ts-check
"use strict";
/**
 * The causal-tracing view (ROME): one layer × position heatmap per traced site (ui/grid.js, on
 * canvas), last layer on top, each cell coloured by how much of the answer's probability comes
 * back when that one activation is restored into the run whose subject was corrupted (a switch
 * shows the probability itself, on a log scale). The subject's tokens are marked under the grid,
 * the answer is named in the header. Hovering a cell shows its numbers and the clean run's logit
 * lens at that layer and position (its top tokens, the answer's rank); a click pins it; arrow
 * keys move within a grid that has focus, Enter pins, Escape releases.
 *
 * Spec (kind "causal_trace", version 1), written by lmlens/views/causal_trace.py:
 *   tokens: string[n]; generated: uint8 [n]
 *   sites: string[S]; site_titles: string[S]; n_layers: L
 *   scores: float32 [S, L, n]           P(answer) with that cell restored (mean over noise draws)
 *   clean_prob, corrupted_prob: number; target_id: number
 *   answer_position: number (-1 when cut out); subject: int32 [k] (positions, ascending)
 *   lens_top_ids: int32 [L, n, k]; lens_top_probs: float16 [L, n, k]   the clean run's logit lens
 *   lens_target_ranks: int32 [L, n]; lens_target_probs: float32 [L, n]
 *   vocab_ids: int32 [m], vocab_strings: string[m]
 *   params: {noise, n_samples, window, seed, ...}; offset (first position shown), n_positions (all)
 *   model_name, title, summary, notices, lm_kind
 */

const { h } = require("../dom.js");
const { cellColors, probColors, viridisGradient } = require("../color.js");
const { formatProb, formatInt } = require("../format.js");
const { mountView } = require("../ui/listeners.js");
const { arrOf, strings, vocabLookup, tokenLabels } = require("../ui/spec.js");
const { pinState } = require("../ui/pin.js");
const { chip, contextLabel, tokenText } = require("../ui/token_text.js");
const { detailPanel } = require("../ui/detail.js");
const { topkList } = require("../ui/topk.js");
const { legend } = require("../ui/legend.js");
const { segmented } = require("../ui/switch.js");
const { viewHeader, controls } = require("../ui/header.js");
const { layerGrid } = require("../ui/grid.js");

/** Highest spec version this module reads. */
const VERSION = 1;

/**
 * Position of `score` on the colour scale from `lo` (corrupted) to `hi` (clean), clamped to [0, 1]
 * (pure; node tests cover it).
 * @param {number} score @param {number} lo @param {number} hi
 * @returns {number}
 */
function restoredUnit(score, lo, hi) {
  if (!(hi > lo)) return 0;
  const t = (score - lo) / (hi - lo);
  return t < 0 ? 0 : t > 1 ? 1 : t;
}

/** @param {import("../model.js").Model} model */
function read(model) {
  /** @type {string[]} */
  const tokens = model.get("tokens");
  const labels = tokenLabels(model);
  const n = tokens.length;
  const sites = strings(model, "sites");
  const titles = strings(model, "site_titles");
  const S = sites.length;
  const L = Number(model.get("n_layers"));
  if (!(S > 0) || titles.length !== S || !(L > 0)) throw new Error("causal_trace spec: sites, site_titles and n_layers disagree");
  const top = arrOf(model, "lens_top_ids", [L, n, -1]);
  const subject = arrOf(model, "subject", [-1]).data;
  const isSubject = new Uint8Array(n);
  for (const p of subject) if (p >= 0 && p < n) isSubject[p] = 1;
  const clean = Number(model.get("clean_prob"));
  const corrupted = Number(model.get("corrupted_prob"));
  const scores = arrOf(model, "scores", [S, L, n]).data;
  let lo = corrupted;
  let hi = clean;
  if (!(hi - lo > 1e-9)) { // the corruption changed nothing: scale by the scores themselves
    lo = Infinity;
    hi = -Infinity;
    for (const v of scores) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  }
  return {
    tokens, labels, n, sites, titles, S, L, scores, clean, corrupted, lo, hi, isSubject,
    generated: arrOf(model, "generated", [n]).data,
    topIds: top.data,
    topProbs: arrOf(model, "lens_top_probs", top.shape).data,
    k: top.shape[2],
    targetRanks: arrOf(model, "lens_target_ranks", [L, n]).data,
    targetProbs: arrOf(model, "lens_target_probs", [L, n]).data,
    targetId: Number(model.get("target_id")),
    answer: Number(model.get("answer_position")),
    str: vocabLookup(model),
    total: model.get("n_positions") || n,
    offset: model.get("offset") || 0,
    params: model.get("params") || {},
  };
}

/**
 * @param {{model: import("../model.js").Model, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  const d = read(model);
  const { n, L, S } = d;
  const answer = d.str(d.targetId);
  return mountView(el, "lm-causal-trace", ({ view, listen }) => {
    let mode = "restored";
    const scales = {
      restored: { lo: `corrupted ${formatProb(d.lo)}`, hi: `clean ${formatProb(d.hi)}` },
      prob: { lo: "0.01%", hi: "100%" },
    };
    const scale = legend({ ...scales.restored, gradient: viridisGradient() });
    const toggle = segmented({
      label: "colour by",
      options: [["restored", "restored", "from the corrupted to the clean probability (linear)"], ["prob", "probability", "log scale"]],
      value: mode, listen,
      onChange(v) {
        mode = v;
        scale.set({ ...(v === "prob" ? scales.prob : scales.restored), gradient: viridisGradient() });
        for (const g of grids) g.redraw();
      },
    });
    const w = d.params.window > 1 ? ` · mlp/attn window ${d.params.window}` : "";
    const { nodes } = viewHeader(model, {
      title: "Causal tracing",
      meta: [model.get("model_name"), `${L} layers`, `${formatInt(d.total)} tokens`, `answer ${tokenText(answer)}`,
        d.params.n_samples ? `${d.params.n_samples} noise samples${w}` : ""],
    });
    const answerLine = h("p", { className: "lm-ct-answer" }, [
      "answer ", chip(answer), ` · clean ${formatProb(d.clean)} · subject corrupted ${formatProb(d.corrupted)}`,
    ]);

    const cells = L * n;
    const pin = pinState((key, pinned) => show(key, pinned));
    /** @type {import("../ui/grid.js").Grid[]} */
    const grids = [];
    /** @type {HTMLElement[]} */
    const blocks = [];
    for (let s = 0; s < S; s++) {
      const grid = layerGrid({
        listen, pin, nRows: L, nCols: n, base: s * cells, className: "lm-ct-grid", rowHeight: 12,
        ariaLabel: `${d.titles[s]}: probability of the answer with one activation restored, per layer and position; arrow keys move, Enter pins`,
        rowLabel: (r) => String(r),
        bottomLabel: (c) => d.labels[c],
        bottomMark: (c) => (d.isSubject[c] ? "subject" : d.generated[c] ? "gen" : ""),
        bottomAxis: "input",
        cell(r, c) {
          const v = d.scores[s * cells + r * n + c];
          const colors = mode === "prob" ? probColors(v) : cellColors(restoredUnit(v, d.lo, d.hi));
          return { bg: colors.bg };
        },
      });
      grid.el.setAttribute("data-lm-site", d.sites[s]);
      grids.push(grid);
      blocks.push(h("div", { className: "lm-ct-site" }, [h("div", { className: "lm-ct-site-title", text: d.titles[s] }), grid.el]));
    }

    const line = h("div", { className: "lm-ct-line" });
    const lensLine = h("div", { className: "lm-ct-lens" });
    const list = topkList();
    const detail = detailPanel({
      listen, pin, scope: view, status: "hover a cell · click to pin",
      children: [line, lensLine, list.el],
    });
    view.append(
      ...nodes.filter(Boolean),
      answerLine,
      controls([toggle.el, scale.el, h("span", { className: "lm-ct-key", text: "subject" })]),
      ...blocks,
      detail.el,
    );

    /** @param {number} key  site * L * n + layer * n + position @param {boolean} pinned */
    function show(key, pinned) {
      const s = Math.floor(key / cells);
      const i = key % cells;
      const layer = Math.floor(i / n);
      const p = i % n;
      for (const g of grids) g.mark(key, pinned);
      const v = d.scores[key];
      detail.el.setAttribute("data-lm-site", d.sites[s]);
      detail.el.setAttribute("data-lm-layer", String(layer));
      detail.el.setAttribute("data-lm-position", String(p + d.offset));
      detail.setPinned(pinned);
      detail.setTitle(
        h("b", { text: `${d.sites[s]} · layer ${layer}` }), " · at ", contextLabel(d.tokens, p, { cut: d.offset > 0, labels: d.labels }),
        d.isSubject[p] ? " (subject)" : "",
      );
      const gap = d.clean - d.corrupted;
      const share = gap > 1e-9 ? ` — ${Math.round(((v - d.corrupted) / gap) * 100)}% of the drop restored` : "";
      line.textContent = "";
      line.append("restoring it: P(", chip(answer), `) = ${formatProb(v)} (clean ${formatProb(d.clean)}, corrupted ${formatProb(d.corrupted)})${share}`);
      lensLine.textContent = "";
      lensLine.append(
        h("span", { className: "lm-status", text: `clean run, logit lens at layer ${layer} here: ` }),
        chip(answer), ` is rank ${formatInt(d.targetRanks[i])} (${formatProb(d.targetProbs[i])})`,
      );
      const base = i * d.k;
      /** @type {import("../ui/topk.js").TopkRow[]} */
      const rows = [];
      for (let j = 0; j < d.k; j++) {
        const id = d.topIds[base + j];
        rows.push({ text: d.str(id), p: d.topProbs[base + j], tag: id === d.targetId ? "answer" : "" });
      }
      list.fill(rows);
    }

    // open on the strongest cell of the first site
    let best = 0;
    for (let i = 1; i < cells; i++) if (d.scores[i] > d.scores[best]) best = i;
    if (cells > 0) pin.hover(best);
  });
}

module.exports = { render, VERSION, restoredUnit };
