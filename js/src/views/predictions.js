// @ts-check
"use strict";
/**
 * The predictions view: the text as tokens, each tinted by the probability the model gave
 * it; hovering (or focusing) a token shows the model's top-k predictions there, and they stay
 * while the pointer moves on to read them; a click pins them (click again, the Unpin button or
 * Escape releases). Arrow keys move between tokens.
 *
 * Spec (kind "predictions", version 1), written by lmlens/views/predictions.py:
 *   tokens: string[n]                display strings
 *   token_ids, ranks: int32 [n]      ranks[i] = rank of token i in its prediction (0 = none)
 *   probs: float32 [n]               probability the model gave token i (NaN = none)
 *   topk_ids: int32 [n, k]           top-k predicted ids at each position
 *   topk_probs: float16 [n, k]
 *   vocab_ids: int32 [m], vocab_strings: string[m]   display strings of every id above
 *   generated: uint8 [n]             1 where lens.generate produced the token
 *   mode: "next" | "same"            causal LMs predict the next token; masked LMs the same one
 *   k, n_positions (before any size-budget cut), model_name, title, summary, notices: string[]
 */

const { row } = require("../decode.js");
const { probColor, probGradient } = require("../color.js");
const { formatProb, formatInt } = require("../format.js");
const { h } = require("../dom.js");
const { mountView } = require("../ui/listeners.js");
const { arrOf, vocabLookup, tokenLabels } = require("../ui/spec.js");
const { pinState } = require("../ui/pin.js");
const { tokenStrip } = require("../ui/token_strip.js");
const { chip, contextLabel } = require("../ui/token_text.js");
const { detailPanel } = require("../ui/detail.js");
const { topkList } = require("../ui/topk.js");
const { legend } = require("../ui/legend.js");
const { viewHeader } = require("../ui/header.js");

/** Highest spec version this module reads. */
const VERSION = 1;

/**
 * @param {import("../model.js").Model} model
 */
function read(model) {
  /** @type {string[]} */
  const tokens = model.get("tokens");
  const n = tokens.length;
  const topIds = arrOf(model, "topk_ids", [n, -1]);
  return {
    tokens,
    labels: tokenLabels(model),
    n,
    mode: model.get("mode") === "same" ? "same" : "next",
    ids: arrOf(model, "token_ids", [n]).data,
    probs: arrOf(model, "probs", [n]).data,
    ranks: arrOf(model, "ranks", [n]).data,
    generated: arrOf(model, "generated", [n]).data,
    topIds,
    topProbs: arrOf(model, "topk_probs", topIds.shape),
    k: topIds.shape[1],
    str: vocabLookup(model),
    total: model.get("n_positions") || n,
  };
}

/**
 * @param {{model: import("../model.js").Model, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  const d = read(model);
  const { tokens, n, mode, probs, ranks } = d;
  return mountView(el, "lm-predictions", ({ view, listen }) => {
    const { nodes } = viewHeader(model, {
      title: "Predictions",
      meta: [model.get("model_name"), `${formatInt(d.total)} tokens`, `top-${d.k}`,
        mode === "same" && "masked LM: prediction at each position"],
      legend: legend({ lo: "unlikely", hi: "likely", gradient: probGradient(), ticks: "0.01% · 1% · 100%" }).el,
    });
    const pin = pinState((i, pinned) => show(i, pinned));
    const strip = tokenStrip({ tokens, labels: d.labels, generated: d.generated, pin, listen });
    strip.spans.forEach((s, i) => { s.style.backgroundColor = probColor(probs[i]); });
    const self = h("div", { className: "lm-self" });
    const list = topkList();
    const foot = h("div", { className: "lm-foot" });
    const detail = detailPanel({ listen, pin, scope: view, status: "hover a token · click to pin", children: [self, list.el, foot] });
    view.append(...nodes.filter(Boolean), strip.el, detail.el);

    /** the token position `i`'s predictions are compared with (-1: none) */
    const actualIndex = (/** @type {number} */ i) => (mode === "same" ? i : i + 1 < n ? i + 1 : -1);
    let target = -1;

    /** @param {number} i @param {boolean} pinned */
    function show(i, pinned) {
      strip.mark(i, pinned);
      detail.setPinned(pinned);
      const a = actualIndex(i);
      if (target >= 0) strip.spans[target].classList.remove("lm-target");
      target = a !== i ? a : -1;
      if (target >= 0) strip.spans[target].classList.add("lm-target");
      detail.el.setAttribute("data-lm-index", String(i));
      detail.setTitle(mode === "same" ? "Predicted at " : "Next after ", contextLabel(tokens, i, { labels: d.labels }));

      // the token's own probability (causal: from the position before it)
      self.textContent = "";
      if (mode === "next" && i === 0) {
        self.textContent = "The first token has no prediction: nothing comes before it.";
      } else if (mode === "next") {
        self.append(chip(d.labels[i]), ` had ${formatProb(probs[i])}`,
          ranks[i] > 0 ? ` (rank ${formatInt(ranks[i])})` : "", " given the text before it.");
      }

      const ti = row(d.topIds, i);
      const tp = row(d.topProbs, i);
      const actualId = a >= 0 ? d.ids[a] : -1;
      // the actual next token's row reads as it does in the text: a byte piece with the
      // character its following bytes make ("<E6 9D>(東)")
      list.fill(Array.from(ti, (id, j) => ({
        text: id === actualId ? d.labels[a] : d.str(id), p: tp[j], tag: id === actualId ? "actual" : "",
      })));

      foot.textContent = "";
      if (a >= 0 && !Array.from(ti).includes(actualId)) {
        foot.append("actual ", chip(d.labels[a]), ` ${formatProb(probs[a])}`,
          ranks[a] > 0 ? ` · rank ${formatInt(ranks[a])}` : "");
      } else if (a < 0 && mode === "next") {
        foot.textContent = d.total > n
          ? "The text continues beyond the tokens shown."
          : "End of the text: what the model would write next.";
      }
    }

    if (n > 0) pin.hover(n - 1);
  });
}

module.exports = { render, VERSION };
