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
 *   k, n_positions (before any size-budget cut), model_name, title, notices: string[]
 */

const { decode, row } = require("../decode.js");
const { probColor, probGradient } = require("../color.js");
const { formatProb, visibleToken, formatInt } = require("../format.js");
const { h, guard } = require("../dom.js");

/** Highest spec version this module reads. */
const VERSION = 1;
/** Tokens of left context shown in the detail header. */
const CONTEXT = 6;

/**
 * @param {import("../model.js").Model} model
 * @param {string} key
 * @returns {import("../decode.js").Decoded}
 */
function arr(model, key) {
  const rec = model.get(key);
  if (!rec) throw new Error(`predictions spec: missing "${key}"`);
  return decode(rec);
}

/**
 * A token inside running text: newlines show as ↵ and still break the line.
 * @param {string} s
 * @returns {string}
 */
function inlineToken(s) {
  if (s === "") return "∅";
  return s.replace(/\r/g, "␍").replace(/\t/g, "⇥").replace(/\n/g, "↵\n");
}

/**
 * @param {{model: import("../model.js").Model, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  /** @type {string[]} */
  const tokens = model.get("tokens");
  const n = tokens.length;
  const mode = model.get("mode") === "same" ? "same" : "next";
  const ids = arr(model, "token_ids").data;
  const probs = arr(model, "probs").data;
  const ranks = arr(model, "ranks").data;
  const topIds = arr(model, "topk_ids");
  const topProbs = arr(model, "topk_probs");
  const generated = arr(model, "generated").data;
  const vocabIds = arr(model, "vocab_ids").data;
  /** @type {string[]} */
  const vocabStrings = model.get("vocab_strings");
  for (const [name, a] of /** @type {[string, {length: number}][]} */ ([
    ["token_ids", ids], ["probs", probs], ["ranks", ranks], ["generated", generated],
  ])) {
    if (a.length !== n) throw new Error(`predictions spec: ${name} has ${a.length} entries for ${n} tokens`);
  }
  if (topIds.shape[0] !== n || topProbs.shape.join() !== topIds.shape.join()) {
    throw new Error(`predictions spec: topk arrays [${topIds.shape}] / [${topProbs.shape}] do not fit ${n} tokens`);
  }
  const k = topIds.shape[1];
  /** @type {Map<number, string>} */
  const vocab = new Map();
  vocabIds.forEach((id, j) => vocab.set(id, vocabStrings[j]));
  const total = model.get("n_positions") || n;
  /** @type {string[]} */
  const notices = model.get("notices") || [];
  const name = model.get("model_name") || "";

  // ---- layout --------------------------------------------------------------------------
  const meta = [name, `${formatInt(total)} tokens`, `top-${k}`];
  if (mode === "same") meta.push("masked LM: prediction at each position");
  const legend = h("div", { className: "lm-legend", attrs: { "aria-hidden": "true" } }, [
    h("span", { text: "unlikely" }),
    h("span", { className: "lm-legend-bar", style: { background: probGradient() } }),
    h("span", { text: "likely" }),
    h("span", { className: "lm-legend-ticks", text: "0.01% · 1% · 100%" }),
  ]);
  const head = h("div", { className: "lm-head" }, [
    h("span", { className: "lm-title", text: model.get("title") || "Predictions" }),
    h("span", { className: "lm-meta", text: meta.filter(Boolean).join(" · ") }),
    legend,
  ]);
  const noticeBox = notices.length
    ? h("div", { className: "lm-notices", attrs: { role: "note" } }, notices.map((t) => h("p", { text: t })))
    : null;

  const text = h("div", { className: "lm-text", attrs: { role: "group", "aria-label": "tokens" } });
  /** @type {HTMLElement[]} */
  const spans = [];
  const frag = document.createDocumentFragment();
  for (let i = 0; i < n; i++) {
    const s = h("span", {
      className: generated[i] ? "lm-tok lm-gen" : "lm-tok",
      text: inlineToken(tokens[i]),
      attrs: { "data-i": String(i), tabindex: i === 0 ? "0" : "-1" },
    });
    s.style.backgroundColor = probColor(probs[i]);
    spans.push(s);
    frag.appendChild(s);
  }
  text.appendChild(frag);

  const title = h("span", { className: "lm-detail-title" });
  const status = h("span", { className: "lm-status", text: "hover a token · click to pin" });
  const unpin = h("button", { className: "lm-unpin", text: "Unpin", attrs: { type: "button" } });
  unpin.hidden = true;
  const self = h("div", { className: "lm-self" });
  const list = h("ol", { className: "lm-topk" });
  const foot = h("div", { className: "lm-foot" });
  const detail = h("div", { className: "lm-detail", attrs: { "aria-live": "polite" } }, [
    h("div", { className: "lm-detail-head" }, [title, status, unpin]),
    self,
    list,
    foot,
  ]);

  const view = h("div", { className: "lm-view lm-predictions" }, [head, noticeBox, text, detail]);
  el.appendChild(view);

  // ---- state ---------------------------------------------------------------------------
  let locked = -1;
  let shown = -1;
  const fallbackIndex = n - 1;

  /**
   * The id this position's predictions should be compared with (-1: unknown).
   * @param {number} i
   * @returns {number}
   */
  function actualIndex(i) {
    if (mode === "same") return i;
    return i + 1 < n ? i + 1 : -1;
  }

  /** @param {number} i */
  function show(i) {
    if (i < 0 || i >= n) return;
    if (shown >= 0) spans[shown].classList.remove("lm-active", "lm-locked");
    for (const s of text.querySelectorAll(".lm-target")) s.classList.remove("lm-target");
    shown = i;
    spans[i].classList.add("lm-active");
    if (locked === i) spans[i].classList.add("lm-locked");
    const a = actualIndex(i);
    if (a >= 0 && a !== i) spans[a].classList.add("lm-target");
    detail.setAttribute("data-lm-index", String(i));
    detail.classList.toggle("lm-is-locked", locked >= 0);
    unpin.hidden = locked < 0;
    status.hidden = locked >= 0;

    // header: "Next after … of France is" / "At … France"
    title.textContent = "";
    title.appendChild(document.createTextNode(mode === "same" ? "Predicted at " : "Next after "));
    const start = Math.max(0, i - CONTEXT);
    const ctx = h("span", { className: "lm-context" }, [
      start > 0 ? "…" : "",
      visibleToken(tokens.slice(start, i).join("")),
      h("b", { text: visibleToken(tokens[i]) }),
    ]);
    title.appendChild(ctx);

    // the token's own probability (causal: from the position before it)
    self.textContent = "";
    if (mode === "next") {
      if (i === 0) {
        self.textContent = "The first token has no prediction: nothing comes before it.";
      } else {
        self.append(
          h("span", { className: "lm-chip", text: visibleToken(tokens[i]) }),
          ` had ${formatProb(probs[i])}`,
          ranks[i] > 0 ? ` (rank ${formatInt(ranks[i])})` : "",
          " given the text before it.",
        );
      }
    }

    list.textContent = "";
    const ti = row(topIds, i);
    const tp = row(topProbs, i);
    const actualId = a >= 0 ? ids[a] : -1;
    let actualListed = false;
    for (let j = 0; j < k; j++) {
      const isActual = ti[j] === actualId;
      actualListed = actualListed || isActual;
      const p = tp[j];
      list.appendChild(
        h("li", { className: isActual ? "lm-row lm-actual" : "lm-row" }, [
          h("span", { className: "lm-rank", text: String(j + 1) }),
          h("span", { className: "lm-chip", text: visibleToken(vocab.get(ti[j]) ?? `#${ti[j]}`) }),
          h("span", { className: "lm-bar" }, [
            h("span", { style: { width: `${Math.max(0, Math.min(1, p)) * 100}%` } }),
          ]),
          h("span", { className: "lm-pct", text: formatProb(p) }),
          isActual ? h("span", { className: "lm-tag", text: "actual" }) : null,
        ])
      );
    }

    foot.textContent = "";
    if (a >= 0 && !actualListed) {
      foot.append(
        "actual ",
        h("span", { className: "lm-chip", text: visibleToken(tokens[a]) }),
        ` ${formatProb(probs[a])}`,
        ranks[a] > 0 ? ` · rank ${formatInt(ranks[a])}` : "",
      );
    } else if (a < 0 && mode === "next") {
      foot.textContent =
        total > n ? "The text continues beyond the tokens shown." : "End of the text: what the model would write next.";
    }
  }

  /** @param {number} i */
  function lock(i) {
    locked = i;
    show(i);
  }

  function release() {
    locked = -1;
    show(shown >= 0 ? shown : fallbackIndex);
  }

  /**
   * @param {EventTarget|null} t
   * @returns {number}
   */
  function indexOf(t) {
    const s = t instanceof Element ? t.closest(".lm-tok") : null;
    if (!s || !text.contains(s)) return -1;
    return Number(s.getAttribute("data-i"));
  }

  /** @param {number} i */
  function focusToken(i) {
    if (i < 0 || i >= n) return;
    for (const s of spans) s.tabIndex = -1;
    spans[i].tabIndex = 0;
    spans[i].focus();
  }

  const onOver = guard(el, (/** @type {Event} */ e) => {
    const i = indexOf(e.target);
    if (i >= 0 && locked < 0) show(i);
  });
  const onClick = guard(el, (/** @type {Event} */ e) => {
    const i = indexOf(e.target);
    if (i < 0) return;
    if (locked === i) release();
    else lock(i);
  });
  const onFocus = guard(el, (/** @type {Event} */ e) => {
    const i = indexOf(e.target);
    if (i >= 0 && locked < 0) show(i);
  });
  const onKey = guard(el, (/** @type {KeyboardEvent} */ e) => {
    const i = indexOf(e.target);
    if (e.key === "Escape" && locked >= 0) {
      release();
    } else if (i >= 0 && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      if (locked === i) release();
      else lock(i);
    } else if (i >= 0 && (e.key === "ArrowRight" || e.key === "ArrowLeft")) {
      e.preventDefault();
      const j = Math.max(0, Math.min(n - 1, i + (e.key === "ArrowRight" ? 1 : -1)));
      if (locked >= 0) lock(j);
      focusToken(j);
    } else {
      return;
    }
  });
  const onUnpin = guard(el, () => release());

  text.addEventListener("mouseover", onOver);
  text.addEventListener("click", onClick);
  text.addEventListener("focusin", onFocus);
  view.addEventListener("keydown", onKey);
  unpin.addEventListener("click", onUnpin);

  if (n > 0) show(fallbackIndex);

  return () => {
    text.removeEventListener("mouseover", onOver);
    text.removeEventListener("click", onClick);
    text.removeEventListener("focusin", onFocus);
    view.removeEventListener("keydown", onKey);
    unpin.removeEventListener("click", onUnpin);
    view.remove();
  };
}

module.exports = { render, VERSION };
