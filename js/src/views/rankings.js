// @ts-check
"use strict";
/**
 * The rankings view (logit lens): a layer × token grid, last layer on top, each cell coloured
 * by the rank of the target token at that layer (log scale, rank 1 brightest); a switch
 * shows probabilities instead. Hovering a cell shows the token, its rank and probability and
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
 */

const { h } = require("../dom.js");
const { rankColors, probColors, viridisGradient } = require("../color.js");
const { formatProb, formatInt, rankText, probText } = require("../format.js");
const { mountView } = require("../ui/listeners.js");
const { arrOf, layerAxis, vocabLookup, tokenLabels } = require("../ui/spec.js");
const { pinState } = require("../ui/pin.js");
const { tokenText, chip, contextLabel } = require("../ui/token_text.js");
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
        paint();
        pin.redraw();
      },
    });
    const { nodes } = viewHeader(model, {
      title: "Logit lens",
      meta: [model.get("model_name"), `${nL} layers`, `${formatInt(d.total)} tokens`, `target: ${TARGET_WORDS[d.target] || d.target}`],
    });
    let edge = -1;
    for (let p = 1; p < n; p++) if (d.genOut[p] && !d.genOut[p - 1]) { edge = p; break; }
    const anyGen = d.genOut.some((g) => g > 0);

    // ---- the grid: a header row of targets, one row per layer (last on top), the inputs ----
    const grid = h("div", {
      className: "lm-rk-grid",
      attrs: { role: "grid", tabindex: "0", "aria-label": "rank of the target token at each layer and position" },
    });
    grid.style.gridTemplateColumns = `max-content repeat(${n}, 44px)`;
    /** @type {HTMLElement[]} */
    const cells = new Array(nL * n);
    /** @type {HTMLElement[]} */
    const rowLabels = new Array(nL);
    /** @type {HTMLElement[]} */
    const topLabels = [];
    /** @type {HTMLElement[]} */
    const bottomLabels = [];
    const frag = document.createDocumentFragment();
    frag.appendChild(h("div", { className: "lm-rk-lab lm-rk-axis lm-rk-top", text: d.causal ? "next →" : "target" }));
    for (let p = 0; p < n; p++) {
      const s = tokenText(d.str(d.targetIds[p]));
      topLabels.push(h("div", { className: `lm-rk-tok lm-rk-top${d.genOut[p] ? " lm-rk-gen" : ""}`, text: s, title: s }));
      frag.appendChild(topLabels[p]);
    }
    for (let r = 0; r < nL; r++) {
      const layer = nL - 1 - r;
      rowLabels[layer] = h("div", { className: "lm-rk-lab", text: layerLabels[layer], title: layerNames[layer] });
      frag.appendChild(rowLabels[layer]);
      for (let p = 0; p < n; p++) {
        const c = h("div", {
          className: p === edge ? "lm-rk-cell lm-rk-edge" : "lm-rk-cell",
          attrs: { "data-l": String(layer), "data-p": String(p), role: "gridcell" },
        });
        cells[layer * n + p] = c;
        frag.appendChild(c);
      }
    }
    frag.appendChild(h("div", { className: "lm-rk-lab lm-rk-axis lm-rk-bottom", text: "input" }));
    for (let p = 0; p < n; p++) {
      const s = tokenText(d.labels[p]);
      bottomLabels.push(h("div", { className: `lm-rk-tok lm-rk-bottom${d.generated[p] ? " lm-rk-gen" : ""}`, text: s, title: s }));
      frag.appendChild(bottomLabels[p]);
    }
    grid.appendChild(frag);

    const pin = pinState((key, pinned) => show(key, pinned));
    const line = h("div", { className: "lm-rk-line" });
    const list = topkList();
    const detail = detailPanel({ listen, pin, scope: view, status: "hover a cell · click to pin", children: [line, list.el] });
    view.append(
      ...nodes.filter(Boolean),
      controls([toggle.el, scale.el, anyGen && h("span", { className: "lm-gen-key", text: "generated" })]),
      h("div", { className: "lm-rk-scroll" }, [grid]),
      detail.el,
    );

    function paint() {
      for (let i = 0; i < nL * n; i++) {
        const col = mode === "rank" ? rankColors(d.ranks[i]) : probColors(d.probs[i]);
        cells[i].style.backgroundColor = col.bg;
        cells[i].style.color = col.fg;
        cells[i].textContent = mode === "rank" ? rankText(d.ranks[i]) : probText(d.probs[i]);
      }
    }

    let on = -1;
    /** @param {number} key  layer * n + position @param {boolean} pinned */
    function show(key, pinned) {
      const layer = Math.floor(key / n);
      const p = key % n;
      if (on >= 0) {
        cells[on].classList.remove("lm-rk-on", "lm-rk-pinned");
        for (const x of [rowLabels[Math.floor(on / n)], topLabels[on % n], bottomLabels[on % n]]) x.classList.remove("lm-rk-hl");
      }
      on = key;
      cells[key].classList.add("lm-rk-on");
      cells[key].classList.toggle("lm-rk-pinned", pinned);
      for (const x of [rowLabels[layer], topLabels[p], bottomLabels[p]]) x.classList.add("lm-rk-hl");
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

    /** @param {EventTarget|null} t @returns {number} the cell's key, or -1 */
    function keyAt(t) {
      const c = t instanceof Element ? t.closest(".lm-rk-cell") : null;
      if (!c || !grid.contains(c)) return -1;
      return Number(c.getAttribute("data-l")) * n + Number(c.getAttribute("data-p"));
    }
    listen.on(grid, "mouseover", (/** @type {Event} */ e) => {
      const k = keyAt(e.target);
      if (k >= 0) pin.hover(k);
    });
    listen.on(grid, "click", (/** @type {Event} */ e) => {
      const k = keyAt(e.target);
      if (k >= 0) pin.toggle(k);
    });
    /** @type {Record<string, [number, number]>} */
    const MOVES = { ArrowUp: [1, 0], ArrowDown: [-1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    listen.on(grid, "keydown", (/** @type {KeyboardEvent} */ e) => {
      const cur = pin.shown();
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        pin.toggle(cur);
      } else if (MOVES[e.key]) {
        e.preventDefault();
        const layer = Math.max(0, Math.min(nL - 1, Math.floor(cur / n) + MOVES[e.key][0]));
        const p = Math.max(0, Math.min(n - 1, (cur % n) + MOVES[e.key][1]));
        pin.move(layer * n + p);
        cells[layer * n + p].scrollIntoView({ block: "nearest", inline: "nearest" });
      }
    });

    paint();
    if (n > 0 && nL > 0) pin.hover((nL - 1) * n + n - 1);
  });
}

module.exports = { render, VERSION };
