// @ts-check
"use strict";
/**
 * The layer-predictions view (logit lens): the text as tokens; click one (or use the arrow
 * keys on the text) to choose the position. Below, one row per layer (last on top) holds that
 * layer's top-k tokens, each with a bar for its probability. The token the last layer ranks
 * first is outlined wherever it appears; hovering a token outlines it in every layer.
 *
 * Spec (kind "layer_predictions", version 1), written by lmlens/views/layer_predictions.py:
 *   tokens: string[n]; generated: uint8 [n]; offset: first position shown; position: index in tokens
 *   top_ids: int32 [L, n, k]; top_probs: float16 [L, n, k]
 *   layer_names, layer_labels: string[L]; vocab_ids, vocab_strings; lm_kind; k; n_positions
 *   title, summary, notices, model_name
 */

const { h } = require("../dom.js");
const { formatProb, formatInt } = require("../format.js");
const { mountView } = require("../ui/listeners.js");
const { arrOf, layerAxis, vocabLookup, tokenLabels } = require("../ui/spec.js");
const { pinState } = require("../ui/pin.js");
const { tokenStrip } = require("../ui/token_strip.js");
const { tokenText, contextLabel } = require("../ui/token_text.js");
const { detailPanel } = require("../ui/detail.js");
const { barWidth } = require("../ui/topk.js");
const { viewHeader } = require("../ui/header.js");

/** Highest spec version this module reads. */
const VERSION = 1;

/** @param {import("../model.js").Model} model */
function read(model) {
  /** @type {string[]} */
  const tokens = model.get("tokens");
  const n = tokens.length;
  const labels = tokenLabels(model);
  const { layerLabels, layerNames, nL } = layerAxis(model);
  const topIds = arrOf(model, "top_ids", [nL, n, -1]);
  return {
    tokens, labels, n, layerLabels, layerNames, nL,
    topIds: topIds.data,
    topProbs: arrOf(model, "top_probs", topIds.shape).data,
    k: topIds.shape[2],
    generated: arrOf(model, "generated", [n]).data,
    str: vocabLookup(model),
    offset: Number(model.get("offset") || 0),
    causal: model.get("lm_kind") !== "masked",
    total: model.get("n_positions") || n,
    position: Math.max(0, Math.min(n - 1, Number(model.get("position") || 0))),
  };
}

/**
 * @param {{model: import("../model.js").Model, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  const d = read(model);
  const { n, nL, k } = d;
  return mountView(el, "lm-layer-predictions", ({ view, listen }) => {
    const { nodes } = viewHeader(model, {
      title: "Layer predictions",
      meta: [model.get("model_name"), `${nL} layers`, `${formatInt(d.total)} tokens`, `top-${k}`],
    });
    const pin = pinState((i, pinned) => choose(i, pinned));
    const strip = tokenStrip({
      tokens: d.tokens, labels: d.labels, generated: d.generated, pin, listen, mode: "select",
      className: "lm-lp-text", label: "tokens: click one",
    });
    const grid = h("div", { className: "lm-lp-grid" });
    grid.style.gridTemplateColumns = `max-content repeat(${k}, minmax(64px, 1fr))`;
    const detail = detailPanel({ listen, live: false, children: [h("div", { className: "lm-lp-scroll" }, [grid])] });
    view.append(...nodes.filter(Boolean), strip.el, detail.el);

    // the grid's cells, built once and refilled for each position
    grid.appendChild(h("div", { className: "lm-lp-head", text: "layer" }));
    for (let j = 0; j < k; j++) grid.appendChild(h("div", { className: "lm-lp-head", text: `#${j + 1}` }));
    /** @type {{cell: HTMLElement, tok: HTMLElement, pct: HTMLElement, bar: HTMLElement}[]} */
    const cells = new Array(nL * k);
    for (let r = 0; r < nL; r++) {
      const layer = nL - 1 - r;
      grid.appendChild(h("div", { className: "lm-lp-lab", text: d.layerLabels[layer], title: d.layerNames[layer] }));
      for (let j = 0; j < k; j++) {
        const tok = h("span", { className: "lm-lp-tok" });
        const pct = h("span", { className: "lm-lp-pct" });
        const bar = h("span", { className: "lm-lp-bar" });
        const cell = h("div", { className: "lm-lp-cell", attrs: { "data-l": String(layer), "data-j": String(j) } }, [tok, pct, bar]);
        cells[layer * k + j] = { cell, tok, pct, bar };
        grid.appendChild(cell);
      }
    }

    /** @param {number} pos @param {boolean} pinned */
    function choose(pos, pinned) {
      strip.mark(pos, pinned);
      view.setAttribute("data-lm-position", String(d.offset + pos));
      detail.setTitle(
        `Top ${k} ${d.causal ? "after" : "at"} `,
        contextLabel(d.tokens, pos, { cut: d.offset > 0, labels: d.labels }),
        ` · position ${d.offset + pos}${d.generated[pos] ? " (generated)" : ""}`,
      );
      const final = d.topIds[((nL - 1) * n + pos) * k];
      for (let layer = 0; layer < nL; layer++) {
        for (let j = 0; j < k; j++) {
          const at = (layer * n + pos) * k + j;
          const id = d.topIds[at];
          const p = d.topProbs[at];
          const c = cells[layer * k + j];
          const s = tokenText(d.str(id));
          c.tok.textContent = s;
          c.pct.textContent = formatProb(p);
          c.bar.style.width = barWidth(p);
          c.cell.title = `${s} · ${formatProb(p)} · layer ${d.layerLabels[layer]}`;
          c.cell.setAttribute("data-id", String(id));
          c.cell.classList.toggle("lm-lp-final", id === final);
          c.cell.classList.remove("lm-lp-same");
        }
      }
    }

    listen.on(grid, "mouseover", (/** @type {Event} */ e) => {
      const c = e.target instanceof Element ? e.target.closest(".lm-lp-cell") : null;
      const id = c ? c.getAttribute("data-id") : null;
      for (const x of cells) x.cell.classList.toggle("lm-lp-same", id !== null && x.cell.getAttribute("data-id") === id);
    });
    listen.on(grid, "mouseleave", () => {
      for (const x of cells) x.cell.classList.remove("lm-lp-same");
    });
    if (n > 0) pin.select(d.position);
  });
}

module.exports = { render, VERSION };
