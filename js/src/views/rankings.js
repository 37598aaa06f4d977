// @ts-check
"use strict";
/**
 * The rankings view (logit lens): a layer × token grid, last layer on top, each cell coloured
 * by the rank of the target token at that layer (log scale, rank 1 brightest); a toggle
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

const { h, guard } = require("../dom.js");
const { formatProb, visibleToken, formatInt } = require("../format.js");
const L = require("./_lens.js");

/** Highest spec version this module reads. */
const VERSION = 1;
/** Tokens of left context in the detail header. */
const CONTEXT = 6;

const TARGET_WORDS = {
  output: "the model's output",
  next: "the next token",
  input: "the input token",
  given: "the chosen token",
};

const CSS = `
& .lm-rk-scroll { overflow-x: auto; border: 1px solid var(--lm-border); border-radius: 8px; }
& .lm-rk-grid { display: grid; width: max-content; font-size: 10.5px; line-height: 18px; }
& .lm-rk-grid > div { height: 19px; white-space: pre; overflow: hidden; text-overflow: ellipsis; }
& .lm-rk-cell { text-align: center; font-variant-numeric: tabular-nums; cursor: pointer;
  border-right: 1px solid rgba(127, 127, 127, 0.12); border-bottom: 1px solid rgba(127, 127, 127, 0.12); }
& .lm-rk-cell.lm-rk-on { outline: 2px solid var(--lm-fg); outline-offset: -2px; }
& .lm-rk-cell.lm-rk-pinned { outline: 2.5px solid var(--lm-accent); outline-offset: -2.5px; }
& .lm-rk-cell.lm-rk-edge { border-left: 2px dashed #d1495b; }
& .lm-rk-lab { position: sticky; left: 0; z-index: 1; padding: 0 6px 0 4px; text-align: right; color: var(--lm-muted);
  font-variant-numeric: tabular-nums; border-right: 1px solid var(--lm-border); }
& .lm-rk-tok { padding: 0 2px; text-align: center; color: var(--lm-fg);
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", "Noto Sans Mono CJK JP", monospace; }
& .lm-rk-top { border-bottom: 1px solid var(--lm-border); color: var(--lm-muted); }
& .lm-rk-bottom { border-top: 1px solid var(--lm-border); }
& .lm-rk-tok.lm-rk-gen { color: #d1495b; font-style: italic; }
& .lm-rk-hl { background: var(--lm-chip); font-weight: 600; color: var(--lm-fg); }
& .lm-rk-axis { color: var(--lm-muted); font-size: 10px; text-align: right; padding-right: 6px; }
& .lm-rk-grid:focus-visible { outline: 2px solid var(--lm-accent); outline-offset: 2px; }
& .lm-rk-line { margin: 0 0 6px; }
& .lm-rk-line .lm-chip { margin: 0 2px; }
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
  const ranks = L.arr(model, "ranks");
  const probs = L.arr(model, "probs");
  const topIds = L.arr(model, "top_ids");
  const topProbs = L.arr(model, "top_probs");
  const targetIds = L.arr(model, "target_ids").data;
  const generated = L.arr(model, "generated").data;
  const str = L.vocabLookup(model);
  if (ranks.shape.join() !== `${nL},${n}` || probs.shape.join() !== ranks.shape.join()) {
    throw new Error(`rankings spec: ranks [${ranks.shape}] / probs [${probs.shape}] do not fit ${nL} layers × ${n} tokens`);
  }
  if (topIds.shape[0] !== nL || topIds.shape[1] !== n || topProbs.shape.join() !== topIds.shape.join()) {
    throw new Error(`rankings spec: top arrays [${topIds.shape}] do not fit ${nL} × ${n}`);
  }
  if (targetIds.length !== n || generated.length !== n) throw new Error("rankings spec: per-token arrays do not fit");
  const k = topIds.shape[2];
  const causal = model.get("lm_kind") !== "masked";
  const target = /** @type {keyof typeof TARGET_WORDS} */ (model.get("target") || "output");
  const total = model.get("n_positions") || n;
  /** @type {string[]} */
  const notices = model.get("notices") || [];
  const theme = el.getAttribute("data-lm-theme") || "light";

  // columns whose target is a generated token (causal: position i predicts token i + 1)
  const genOut = new Uint8Array(n);
  for (let p = 0; p < n; p++) genOut[p] = causal ? (p + 1 < n ? generated[p + 1] : generated[p]) : generated[p];
  let edge = -1;
  for (let p = 1; p < n; p++) if (genOut[p] && !genOut[p - 1]) { edge = p; break; }
  const anyGen = genOut.some((g) => g > 0);

  // ---- layout --------------------------------------------------------------------------
  let mode = "rank";
  const legendBar = h("span", { className: "lm-legend-bar", style: { background: L.viridisGradient() } });
  const legendLo = h("span", { text: "rank 10k+" });
  const legendHi = h("span", { text: "rank 1" });
  const legend = h("span", { className: "lm-lens-legend", attrs: { "aria-hidden": "true" } }, [
    legendLo, legendBar, legendHi,
  ]);
  const toggle = L.segmented("colour by", [["rank", "rank"], ["prob", "probability"]], mode, guard(el, (v) => {
    mode = v;
    paint();
    legendLo.textContent = mode === "rank" ? "rank 10k+" : "0.01%";
    legendHi.textContent = mode === "rank" ? "rank 1" : "100%";
    if (shown) show(shown[0], shown[1]);
  }));
  const meta = [model.get("model_name") || "", `${nL} layers`, `${formatInt(total)} tokens`, `target: ${TARGET_WORDS[target] || target}`];
  const head = h("div", { className: "lm-head" }, [
    h("span", { className: "lm-title", text: model.get("title") || "Logit lens" }),
    h("span", { className: "lm-meta", text: meta.filter(Boolean).join(" · ") }),
  ]);
  const controls = h("div", { className: "lm-controls" }, [
    toggle.el, legend, anyGen ? h("span", { className: "lm-gen-key", text: "generated" }) : null,
  ]);
  const summary = model.get("summary") ? h("p", { className: "lm-summary", text: model.get("summary") }) : null;
  const noticeBox = notices.length
    ? h("div", { className: "lm-notices", attrs: { role: "note" } }, notices.map((t) => h("p", { text: t })))
    : null;

  const grid = h("div", {
    className: "lm-rk-grid",
    attrs: { role: "grid", tabindex: "0", "aria-label": "rank of the target token at each layer and position" },
  });
  grid.style.gridTemplateColumns = `max-content repeat(${n}, 44px)`;
  const bg = L.hostBackground(el, theme);
  /** @type {HTMLElement[]} */
  const cells = new Array(nL * n);
  /** @type {HTMLElement[]} */
  const rowLabels = new Array(nL);
  /** @type {HTMLElement[]} */
  const topLabels = new Array(n);
  /** @type {HTMLElement[]} */
  const bottomLabels = new Array(n);
  const frag = document.createDocumentFragment();
  // header row: the target tokens
  const corner = h("div", { className: "lm-rk-lab lm-rk-axis lm-rk-top", text: causal ? "next →" : "target" });
  corner.style.background = bg;
  frag.appendChild(corner);
  for (let p = 0; p < n; p++) {
    const s = L.tokenText(str(targetIds[p]));
    const d = h("div", { className: `lm-rk-tok lm-rk-top${genOut[p] ? " lm-rk-gen" : ""}`, text: s, title: s });
    topLabels[p] = d;
    frag.appendChild(d);
  }
  for (let r = 0; r < nL; r++) {
    const layer = nL - 1 - r;
    const lab = h("div", { className: "lm-rk-lab", text: layerLabels[layer], title: layerNames[layer] });
    lab.style.background = bg;
    rowLabels[layer] = lab;
    frag.appendChild(lab);
    for (let p = 0; p < n; p++) {
      const c = h("div", {
        className: p === edge ? "lm-rk-cell lm-rk-edge" : "lm-rk-cell",
        attrs: { "data-l": String(layer), "data-p": String(p), role: "gridcell" },
      });
      cells[layer * n + p] = c;
      frag.appendChild(c);
    }
  }
  const corner2 = h("div", { className: "lm-rk-lab lm-rk-axis lm-rk-bottom", text: "input" });
  corner2.style.background = bg;
  frag.appendChild(corner2);
  for (let p = 0; p < n; p++) {
    const s = L.tokenText(tokens[p]);
    const d = h("div", { className: `lm-rk-tok lm-rk-bottom${generated[p] ? " lm-rk-gen" : ""}`, text: s, title: s });
    bottomLabels[p] = d;
    frag.appendChild(d);
  }
  grid.appendChild(frag);
  const scroll = h("div", { className: "lm-rk-scroll" }, [grid]);

  const title = h("span", { className: "lm-detail-title" });
  const status = h("span", { className: "lm-status", text: "hover a cell · click to pin" });
  const unpin = h("button", { className: "lm-unpin", text: "Unpin", attrs: { type: "button" } });
  unpin.hidden = true;
  const line = h("div", { className: "lm-rk-line" });
  const list = h("ol", { className: "lm-topk" });
  const detail = h("div", { className: "lm-detail", attrs: { "aria-live": "polite" } }, [
    h("div", { className: "lm-detail-head" }, [title, status, unpin]),
    line,
    list,
  ]);

  const view = h("div", { className: "lm-view lm-rankings" }, [head, summary, noticeBox, controls, scroll, detail]);
  L.scopedStyle(view, L.COMMON_CSS + CSS);
  el.appendChild(view);

  // ---- painting ------------------------------------------------------------------------
  function paint() {
    const rd = ranks.data;
    const pd = probs.data;
    for (let i = 0; i < nL * n; i++) {
      const c = cells[i];
      const col = mode === "rank" ? L.rankColors(rd[i]) : L.probColors(pd[i]);
      c.style.backgroundColor = col.bg;
      c.style.color = col.fg;
      c.textContent = mode === "rank" ? L.rankText(rd[i]) : L.probText(pd[i]);
    }
  }
  paint();

  // ---- detail --------------------------------------------------------------------------
  /** @type {[number, number]|null} */
  let shown = null;
  /** @type {[number, number]|null} */
  let pinned = null;

  /**
   * @param {number} layer
   * @param {number} p
   */
  function show(layer, p) {
    if (layer < 0 || layer >= nL || p < 0 || p >= n) return;
    if (shown) {
      cells[shown[0] * n + shown[1]].classList.remove("lm-rk-on", "lm-rk-pinned");
      rowLabels[shown[0]].classList.remove("lm-rk-hl");
      topLabels[shown[1]].classList.remove("lm-rk-hl");
      bottomLabels[shown[1]].classList.remove("lm-rk-hl");
    }
    shown = [layer, p];
    const c = cells[layer * n + p];
    c.classList.add("lm-rk-on");
    if (pinned) c.classList.add("lm-rk-pinned");
    rowLabels[layer].classList.add("lm-rk-hl");
    topLabels[p].classList.add("lm-rk-hl");
    bottomLabels[p].classList.add("lm-rk-hl");
    detail.setAttribute("data-lm-layer", String(layer));
    detail.setAttribute("data-lm-position", String(p));
    detail.classList.toggle("lm-is-locked", !!pinned);
    unpin.hidden = !pinned;
    status.hidden = !!pinned;

    title.textContent = "";
    const start = Math.max(0, p - CONTEXT);
    title.append(
      h("b", { text: layerLabels[layer] === "embed" ? "embeddings" : `layer ${layerLabels[layer]}` }),
      ` · ${causal ? "after" : "at"} `,
      h("span", { className: "lm-context" }, [
        start > 0 ? "…" : "",
        visibleToken(tokens.slice(start, p).join("")),
        h("b", { text: visibleToken(tokens[p]) }),
      ]),
      generated[p] ? " (generated)" : "",
    );

    const rank = ranks.data[layer * n + p];
    const prob = probs.data[layer * n + p];
    const tid = targetIds[p];
    line.textContent = "";
    line.append(
      `${TARGET_WORDS[target] || "target"} `,
      h("span", { className: "lm-chip", text: L.tokenText(str(tid)) }),
      ` is rank ${formatInt(rank)} here (${formatProb(prob)})`,
      h("span", { className: "lm-status", text: `  ${layerNames[layer]}` }),
    );

    list.textContent = "";
    const base = (layer * n + p) * k;
    for (let j = 0; j < k; j++) {
      const id = topIds.data[base + j];
      const pj = topProbs.data[base + j];
      const isT = id === tid;
      list.appendChild(
        h("li", { className: isT ? "lm-row lm-actual" : "lm-row" }, [
          h("span", { className: "lm-rank", text: String(j + 1) }),
          h("span", { className: "lm-chip", text: L.tokenText(str(id)) }),
          h("span", { className: "lm-bar" }, [h("span", { style: { width: `${Math.max(0, Math.min(1, pj)) * 100}%` } })]),
          h("span", { className: "lm-pct", text: formatProb(pj) }),
          isT ? h("span", { className: "lm-tag", text: "target" }) : null,
        ])
      );
    }
  }

  /**
   * @param {EventTarget|null} t
   * @returns {[number, number]|null}
   */
  function cellOf(t) {
    const c = t instanceof Element ? t.closest(".lm-rk-cell") : null;
    if (!c || !grid.contains(c)) return null;
    return [Number(c.getAttribute("data-l")), Number(c.getAttribute("data-p"))];
  }

  const onOver = guard(el, (/** @type {Event} */ e) => {
    const at = cellOf(e.target);
    if (at && !pinned) show(at[0], at[1]);
  });
  const onClick = guard(el, (/** @type {Event} */ e) => {
    const at = cellOf(e.target);
    if (!at) return;
    if (pinned && pinned[0] === at[0] && pinned[1] === at[1]) pinned = null;
    else pinned = at;
    show(at[0], at[1]);
  });
  const onKey = guard(el, (/** @type {KeyboardEvent} */ e) => {
    const cur = shown || [nL - 1, n - 1];
    /** @type {Record<string, [number, number]>} */
    const moves = { ArrowUp: [1, 0], ArrowDown: [-1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (e.key === "Escape" && pinned) {
      pinned = null;
      show(cur[0], cur[1]);
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      pinned = pinned ? null : [cur[0], cur[1]];
      show(cur[0], cur[1]);
    } else if (moves[e.key]) {
      e.preventDefault();
      const l2 = Math.max(0, Math.min(nL - 1, cur[0] + moves[e.key][0]));
      const p2 = Math.max(0, Math.min(n - 1, cur[1] + moves[e.key][1]));
      if (pinned) pinned = [l2, p2];
      show(l2, p2);
      cells[l2 * n + p2].scrollIntoView({ block: "nearest", inline: "nearest" });
    }
  });
  const onUnpin = guard(el, () => {
    pinned = null;
    if (shown) show(shown[0], shown[1]);
  });

  grid.addEventListener("mouseover", onOver);
  grid.addEventListener("click", onClick);
  grid.addEventListener("keydown", onKey);
  unpin.addEventListener("click", onUnpin);

  if (n > 0) show(nL - 1, n - 1);

  return () => {
    grid.removeEventListener("mouseover", onOver);
    grid.removeEventListener("click", onClick);
    grid.removeEventListener("keydown", onKey);
    unpin.removeEventListener("click", onUnpin);
    view.remove();
  };
}

module.exports = { render, VERSION };
