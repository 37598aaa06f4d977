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

const { h, guard } = require("../dom.js");
const { formatProb, visibleToken, formatInt } = require("../format.js");
const L = require("./_lens.js");

/** Highest spec version this module reads. */
const VERSION = 1;
/** Tokens of left context in the header. */
const CONTEXT = 6;

const CSS = `
& .lm-lp-text { max-height: 9em; margin: 0 0 8px; }
& .lm-lp-grid { display: grid; gap: 2px 4px; align-items: stretch; width: max-content; min-width: 100%; }
& .lm-lp-scroll { overflow-x: auto; }
& .lm-lp-lab { color: var(--lm-muted); text-align: right; padding-right: 6px; font-variant-numeric: tabular-nums;
  font-size: 11px; line-height: 30px; }
& .lm-lp-head { color: var(--lm-muted); font-size: 10px; text-align: center; }
& .lm-lp-cell { position: relative; height: 30px; padding: 1px 5px 5px; border-radius: 4px; background: var(--lm-surface);
  box-shadow: inset 0 0 0 1px var(--lm-border); overflow: hidden; cursor: default; }
& .lm-lp-tok { display: block; white-space: pre; overflow: hidden; text-overflow: ellipsis; font-size: 12px; line-height: 15px;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", "Noto Sans Mono CJK JP", monospace; }
& .lm-lp-pct { display: block; font-size: 10px; line-height: 10px; color: var(--lm-muted); font-variant-numeric: tabular-nums; }
& .lm-lp-bar { position: absolute; left: 0; bottom: 0; height: 3px; background: var(--lm-bar); }
& .lm-lp-cell.lm-lp-final { box-shadow: inset 0 0 0 2px var(--lm-accent); }
& .lm-lp-cell.lm-lp-same { box-shadow: inset 0 0 0 2px var(--lm-fg); }
`;

/**
 * @param {{model: import("../model.js").Model, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  /** @type {string[]} */
  const tokens = model.get("tokens");
  const n = tokens.length;
  const { layerLabels, layerNames, nL } = L.layerAxis(model);
  const topIds = L.arr(model, "top_ids");
  const topProbs = L.arr(model, "top_probs");
  const generated = L.arr(model, "generated").data;
  const str = L.vocabLookup(model);
  if (topIds.shape[0] !== nL || topIds.shape[1] !== n || topProbs.shape.join() !== topIds.shape.join()) {
    throw new Error(`layer_predictions spec: top arrays [${topIds.shape}] do not fit ${nL} layers × ${n} tokens`);
  }
  if (generated.length !== n) throw new Error("layer_predictions spec: generated does not fit the tokens");
  const k = topIds.shape[2];
  const offset = Number(model.get("offset") || 0);
  const causal = model.get("lm_kind") !== "masked";
  const total = model.get("n_positions") || n;
  /** @type {string[]} */
  const notices = model.get("notices") || [];

  // ---- layout --------------------------------------------------------------------------
  const head = h("div", { className: "lm-head" }, [
    h("span", { className: "lm-title", text: model.get("title") || "Layer predictions" }),
    h("span", {
      className: "lm-meta",
      text: [model.get("model_name") || "", `${nL} layers`, `${formatInt(total)} tokens`, `top-${k}`].filter(Boolean).join(" · "),
    }),
  ]);
  const summary = model.get("summary") ? h("p", { className: "lm-summary", text: model.get("summary") }) : null;
  const noticeBox = notices.length
    ? h("div", { className: "lm-notices", attrs: { role: "note" } }, notices.map((t) => h("p", { text: t })))
    : null;
  const text = h("div", { className: "lm-text lm-lp-text", attrs: { role: "group", "aria-label": "tokens: click one" } });
  /** @type {HTMLElement[]} */
  const spans = [];
  for (let i = 0; i < n; i++) {
    const s = h("span", {
      className: generated[i] ? "lm-tok lm-gen" : "lm-tok",
      text: visibleToken(tokens[i]),
      attrs: { "data-i": String(i), tabindex: "-1" },
    });
    spans.push(s);
    text.appendChild(s);
  }
  const title = h("div", { className: "lm-detail-title" });
  const grid = h("div", { className: "lm-lp-grid" });
  grid.style.gridTemplateColumns = `max-content repeat(${k}, minmax(64px, 1fr))`;
  const view = h("div", { className: "lm-view lm-layer-predictions" }, [
    head, summary, noticeBox, text,
    h("div", { className: "lm-detail" }, [h("div", { className: "lm-detail-head" }, [title]), h("div", { className: "lm-lp-scroll" }, [grid])]),
  ]);
  L.scopedStyle(view, L.COMMON_CSS + CSS);
  el.appendChild(view);

  // the grid's cells, built once and refilled for each position
  grid.appendChild(h("div", { className: "lm-lp-head", text: "layer" }));
  for (let j = 0; j < k; j++) grid.appendChild(h("div", { className: "lm-lp-head", text: `#${j + 1}` }));
  /** @type {{cell: HTMLElement, tok: HTMLElement, pct: HTMLElement, bar: HTMLElement}[]} */
  const cells = new Array(nL * k);
  for (let r = 0; r < nL; r++) {
    const layer = nL - 1 - r;
    grid.appendChild(h("div", { className: "lm-lp-lab", text: layerLabels[layer], title: layerNames[layer] }));
    for (let j = 0; j < k; j++) {
      const tok = h("span", { className: "lm-lp-tok" });
      const pct = h("span", { className: "lm-lp-pct" });
      const bar = h("span", { className: "lm-lp-bar" });
      const cell = h("div", { className: "lm-lp-cell", attrs: { "data-l": String(layer), "data-j": String(j) } }, [tok, pct, bar]);
      cells[layer * k + j] = { cell, tok, pct, bar };
      grid.appendChild(cell);
    }
  }

  // ---- state ---------------------------------------------------------------------------
  let pos = Math.max(0, Math.min(n - 1, Number(model.get("position") || 0)));

  /** @param {number} i */
  function choose(i) {
    if (i < 0 || i >= n) return;
    spans[pos].classList.remove("lm-active", "lm-locked");
    spans[pos].tabIndex = -1;
    pos = i;
    spans[pos].classList.add("lm-active", "lm-locked");
    spans[pos].tabIndex = 0;
    view.setAttribute("data-lm-position", String(offset + pos));
    title.textContent = "";
    const start = Math.max(0, pos - CONTEXT);
    title.append(
      `Top ${k} ${causal ? "after" : "at"} `,
      h("span", { className: "lm-context" }, [
        start > 0 || offset > 0 ? "…" : "",
        visibleToken(tokens.slice(start, pos).join("")),
        h("b", { text: visibleToken(tokens[pos]) }),
      ]),
      ` · position ${offset + pos}${generated[pos] ? " (generated)" : ""}`,
    );
    const final = topIds.data[((nL - 1) * n + pos) * k];
    for (let layer = 0; layer < nL; layer++) {
      for (let j = 0; j < k; j++) {
        const at = (layer * n + pos) * k + j;
        const id = topIds.data[at];
        const p = topProbs.data[at];
        const c = cells[layer * k + j];
        const s = L.tokenText(str(id));
        c.tok.textContent = s;
        c.pct.textContent = formatProb(p);
        c.bar.style.width = `${Math.max(0, Math.min(1, p)) * 100}%`;
        c.cell.title = `${s} · ${formatProb(p)} · layer ${layerLabels[layer]}`;
        c.cell.setAttribute("data-id", String(id));
        c.cell.classList.toggle("lm-lp-final", id === final);
        c.cell.classList.remove("lm-lp-same");
      }
    }
  }

  /**
   * @param {EventTarget|null} t
   * @returns {number}
   */
  function tokenIndex(t) {
    const s = t instanceof Element ? t.closest(".lm-tok") : null;
    if (!s || !text.contains(s)) return -1;
    return Number(s.getAttribute("data-i"));
  }

  const onClick = guard(el, (/** @type {Event} */ e) => {
    const i = tokenIndex(e.target);
    if (i >= 0) choose(i);
  });
  const onKey = guard(el, (/** @type {KeyboardEvent} */ e) => {
    if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
    e.preventDefault();
    choose(Math.max(0, Math.min(n - 1, pos + (e.key === "ArrowRight" ? 1 : -1))));
    spans[pos].focus();
  });
  const onOver = guard(el, (/** @type {Event} */ e) => {
    const c = e.target instanceof Element ? e.target.closest(".lm-lp-cell") : null;
    const id = c ? c.getAttribute("data-id") : null;
    for (const x of cells) x.cell.classList.toggle("lm-lp-same", id !== null && x.cell.getAttribute("data-id") === id);
  });
  const onLeave = guard(el, () => {
    for (const x of cells) x.cell.classList.remove("lm-lp-same");
  });
  text.addEventListener("click", onClick);
  text.addEventListener("keydown", onKey);
  grid.addEventListener("mouseover", onOver);
  grid.addEventListener("mouseleave", onLeave);
  if (n > 0) choose(pos);

  return () => {
    text.removeEventListener("click", onClick);
    text.removeEventListener("keydown", onKey);
    grid.removeEventListener("mouseover", onOver);
    grid.removeEventListener("mouseleave", onLeave);
    view.remove();
  };
}

module.exports = { render, VERSION };
