// @ts-check
"use strict";
/**
 * The neuron-factors view (ecco's explore(), and more): which groups of FFN neurons fire
 * together over the text, and what they write.
 *
 * - A list of factors, each with its colour, its share of the reconstruction, a sparkline of
 *   its activation over the positions and the tokens that fire it most. Clicking a factor (or
 *   ↑/↓ on the list) selects it; its box shows or hides it in the "all factors" mode. Hovering a
 *   sparkline shows the position under the pointer; a click there also pins it.
 * - The text (ui/token_strip.js), shaded by the selected factor ("one factor"), or by every
 *   shown factor at once ("all factors": each token in the colour of the factor that fires most
 *   there, relative to each factor's maximum). Hovering a token shows every factor's activation
 *   there; a click pins it (Escape or Unpin releases, ←/→ move), as in the other views.
 * - For the selected factor: the tokens that fire it most (click one to pin it), its top
 *   neurons (layer, index, loading) and what each writes: the tokens its output direction
 *   promotes and suppresses (decoded through the final norm's scale and the unembedding).
 *
 * Spec (kind "neuron_factors", version 1), written by lmlens/views/neuron_factors.py:
 *   tokens: string[n]; generated: uint8 [n]
 *   activations: float32 [F, n]    factor × position (NMF's W.T)
 *   factor_max: float32 [F]        each factor's maximum over the whole text (colour scale)
 *   factor_share: float32 [F]      share of the reconstruction
 *   neurons: int32 [F, t, 3]       top neurons of each factor: layer, neuron, sign (-1: negative part)
 *   loadings: float32 [F, t]       their loadings; loading_total: float32 [F]
 *   writes: null | {row: int32 [F, t] (row of the tables below, -1: none),
 *                   top_ids, bottom_ids: int32 [w, k]; top_logits, bottom_logits: float32 [w, k]}
 *   vocab_ids: int32 [v]; vocab_strings: string[v]   strings of the write ids
 *   n_positions (before any size-budget cut), layers: int[], n_neurons, positive, negative_share,
 *   relative_error, converged, n_iter, transferred, model_name, title, summary, notices
 */

const { decode, row } = require("../decode.js");
const { css } = require("../color.js");
const { formatInt, formatSigned } = require("../format.js");
const { h } = require("../dom.js");
const { mountView } = require("../ui/listeners.js");
const { arrOf, expectShape, vocabLookup, tokenLabels } = require("../ui/spec.js");
const { pinState } = require("../ui/pin.js");
const { tokenStrip } = require("../ui/token_strip.js");
const { chip } = require("../ui/token_text.js");
const { detailPanel } = require("../ui/detail.js");
const { segmented } = require("../ui/switch.js");
const { viewHeader, controls } = require("../ui/header.js");
const { probBar } = require("../ui/topk.js");

/** Highest spec version this module reads. */
const VERSION = 1;
/** Factor colours (Tableau 10: distinct hues that read on light and dark backgrounds); cycled. */
const PALETTE = /** @type {[number, number, number][]} */ ([
  [78, 121, 167], [242, 142, 43], [225, 87, 89], [118, 183, 178], [89, 161, 79],
  [237, 201, 72], [176, 122, 161], [255, 157, 167], [156, 117, 95], [186, 176, 172],
]);
/** Tokens listed per factor (that fire it most) and write tokens shown per direction. */
const TOP_TOKENS = 5;
const WRITE_TOKENS = 5;
/** Sparkline height (CSS px) and the drawing width when the list has no width yet. */
const SPARK_H = 22;
const SPARK_W = 400;

/**
 * Tint of factor `f` at strength `t` in [0, 1] (translucent: the text keeps the host's colour).
 * @param {number} f
 * @param {number} t
 * @returns {string}
 */
function factorColor(f, t) {
  const c = PALETTE[f % PALETTE.length];
  if (!(t > 0)) return "transparent";
  return css([c[0], c[1], c[2], 0.06 + 0.64 * Math.min(1, t) ** 0.9]);
}

/**
 * Positions of the `k` largest values of `a` (largest first, ties by position; positive only).
 * @param {ArrayLike<number>} a
 * @param {number} k
 * @returns {number[]}
 */
function topPositions(a, k) {
  const idx = Array.from({ length: a.length }, (_, i) => i).filter((i) => a[i] > 0);
  idx.sort((x, y) => a[y] - a[x] || x - y);
  return idx.slice(0, k);
}

/**
 * "All factors" mode: the shown factor with the largest activation at position `i` relative to
 * its maximum, and that relative value ([-1, 0] when none fires).
 * @param {ArrayLike<number>[]} acts  per factor
 * @param {ArrayLike<number>} max  per factor
 * @param {boolean[]} shown
 * @param {number} i
 * @returns {[number, number]}
 */
function dominant(acts, max, shown, i) {
  let best = -1;
  let val = 0;
  for (let f = 0; f < acts.length; f++) {
    if (!shown[f] || !(max[f] > 0)) continue;
    const t = acts[f][i] / max[f];
    if (t > val) {
      val = t;
      best = f;
    }
  }
  return [best, val];
}

/**
 * Read and check the spec (nothing is drawn yet).
 * @param {import("../model.js").Model} model
 */
function read(model) {
  /** @type {string[]} */
  const tokens = model.get("tokens");
  const tokLabels = tokenLabels(model);
  const n = tokens.length;
  const A = arrOf(model, "activations", [-1, n]);
  const F = A.shape[0];
  const neurons = arrOf(model, "neurons", [F, -1, 3]);
  const t = neurons.shape[1];
  const w = model.get("writes");
  const writes = w ? {
    row: expectShape(model, "writes.row", decode(w.row), [F, t]),
    topIds: decode(w.top_ids), topLogits: decode(w.top_logits),
    botIds: decode(w.bottom_ids), botLogits: decode(w.bottom_logits),
    str: vocabLookup(model),
  } : null;
  return {
    tokens, tokLabels, n, F, t, neurons, writes,
    generated: arrOf(model, "generated", [n]).data,
    acts: Array.from({ length: F }, (_, f) => row(A, f)),
    fmax: arrOf(model, "factor_max", [F]).data,
    share: arrOf(model, "factor_share", [F]).data,
    loadings: arrOf(model, "loadings", [F, t]),
    loadTotal: arrOf(model, "loading_total", [F]).data,
    positive: String(model.get("positive") || "clip"),
    total: model.get("n_positions") || n,
    /** @type {number[]} */
    layers: model.get("layers") || [],
  };
}

/**
 * @param {{model: import("../model.js").Model, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  const d = read(model);
  const { tokens, tokLabels, n, F, t, acts, fmax, share, writes } = d;
  return mountView(el, "lm-neuron-factors", ({ view, listen }) => {
    let sel = 0;
    /** @type {"one"|"all"} */
    let mode = "one";
    const shown = acts.map(() => true);

    const rel = Number(model.get("relative_error"));
    const { nodes } = viewHeader(model, {
      title: "Neuron factors",
      meta: [model.get("model_name"), `${F} factors`,
        d.layers.length === 1 ? `block ${d.layers[0]}` : `${d.layers.length} blocks`,
        `${formatInt(model.get("n_neurons") || 0)} neuron columns`, `relative error ${(rel * 100).toFixed(1)}%`,
        model.get("transferred") ? "transferred factors"
          : `${model.get("converged") ? "converged" : "not converged"} (${model.get("n_iter")} it.)`],
    });
    const modeSwitch = segmented({
      label: "shade by", showLabel: true, listen, value: mode,
      options: [
        ["one", "one factor", "shade the text by the selected factor"],
        ["all", "all factors", "colour each token by the shown factor that fires most there"],
      ],
      onChange(v) {
        mode = v === "all" ? "all" : "one";
        paint();
      },
    });
    const hint = h("span", { className: "lm-nf-hint", text: "click a factor for its neurons · ↑/↓ move · the box shows or hides it" });

    // ---- the factor list ---------------------------------------------------------------------
    const list = h("div", { className: "lm-nf-list", attrs: { role: "listbox", "aria-label": "factors" } });
    /** @type {HTMLElement[]} */
    const labels = [];
    /** @type {HTMLInputElement[]} */
    const boxes = [];
    /** @type {HTMLCanvasElement[]} */
    const sparks = [];
    for (let f = 0; f < F; f++) {
      const box = /** @type {HTMLInputElement} */ (h("input", { attrs: { type: "checkbox", "aria-label": `show factor ${f + 1}` } }));
      box.checked = true;
      boxes.push(box);
      const swatch = h("span", { className: "lm-nf-swatch" });
      swatch.style.backgroundColor = factorColor(f, 1);
      const label = h("span", {
        className: "lm-factor", attrs: { role: "option", tabindex: f === 0 ? "0" : "-1", "aria-selected": "false" },
      }, [swatch, h("b", { text: `F${f + 1}` }),
        h("span", { className: "lm-nf-share", text: `${(share[f] * 100).toFixed(0)}%`, title: "share of the reconstruction" })]);
      labels.push(label);
      const spark = /** @type {HTMLCanvasElement} */ (h("canvas", {
        className: "lm-nf-spark", attrs: { role: "img", "aria-label": `factor ${f + 1} over the positions` },
      }));
      sparks.push(spark);
      const peaks = h("span", { className: "lm-nf-peaks" }, topPositions(acts[f], 3).map((p) => chip(tokLabels[p])));
      const parts = [h("span", {}, [box]), label, spark, peaks];
      for (const p of parts) p.setAttribute("data-f", String(f));
      list.append(...parts);
    }

    // ---- the text and the two panels ----------------------------------------------------------
    const pin = pinState((i, pinned) => showToken(i, pinned));
    const strip = tokenStrip({ tokens, labels: tokLabels, generated: d.generated, pin, listen });
    const bars = h("div", { className: "lm-nf-bars" });
    const tokDetail = detailPanel({ listen, pin, scope: view, status: "hover a token · click to pin", className: "lm-token-detail", children: [bars] });
    const peaks = h("div", { className: "lm-self" });
    const table = h("table", { className: "lm-nf-neurons" });
    const foot = h("div", { className: "lm-foot" });
    const facDetail = detailPanel({ listen, live: false, className: "lm-factor-detail", children: [peaks, table, foot] });

    view.append(...nodes.filter(Boolean), controls([modeSwitch.el, hint]), list, strip.el, tokDetail.el, facDetail.el);

    // ---- drawing -------------------------------------------------------------------------------
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    const sparkW = Math.round(sparks.length ? sparks[0].getBoundingClientRect().width : 0) || SPARK_W;
    for (const c of sparks) {
      c.width = Math.round(sparkW * dpr);
      c.height = Math.round(SPARK_H * dpr);
      c.style.height = `${SPARK_H}px`;
    }
    /** @param {string} name @param {string} dflt */
    const cssVar = (name, dflt) => getComputedStyle(view).getPropertyValue(name).trim() || dflt;
    /** x of position i on a sparkline */
    const xAt = (/** @type {number} */ i) => (n <= 1 ? sparkW / 2 : (i / (n - 1)) * (sparkW - 2) + 1);
    /** position under a pointer event on a sparkline */
    const posAt = (/** @type {MouseEvent} */ e, /** @type {Element} */ c) => {
      const r = c.getBoundingClientRect();
      return Math.max(0, Math.min(n - 1, Math.round(((e.clientX - r.left - 1) / Math.max(1, r.width - 2)) * (n - 1))));
    };

    /** @param {number} f */
    function drawSpark(f) {
      const ctx = sparks[f].getContext("2d");
      if (!ctx) return;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      ctx.clearRect(0, 0, sparkW, SPARK_H);
      const col = PALETTE[f % PALETTE.length];
      const on = mode === "one" ? f === sel : shown[f];
      const m = fmax[f] > 0 ? fmax[f] : 1;
      const y = (/** @type {number} */ v) => SPARK_H - 2 - (v / m) * (SPARK_H - 4);
      ctx.beginPath();
      ctx.moveTo(xAt(0), SPARK_H - 2);
      for (let i = 0; i < n; i++) ctx.lineTo(xAt(i), y(acts[f][i]));
      ctx.lineTo(xAt(n - 1), SPARK_H - 2);
      ctx.closePath();
      ctx.fillStyle = css([col[0], col[1], col[2], on ? 0.35 : 0.12]);
      ctx.fill();
      ctx.beginPath();
      for (let i = 0; i < n; i++) (i ? ctx.lineTo : ctx.moveTo).call(ctx, xAt(i), y(acts[f][i]));
      ctx.strokeStyle = css([col[0], col[1], col[2], on ? 1 : 0.35]);
      ctx.lineWidth = 1.2;
      ctx.stroke();
      const cur = pin.shown();
      if (cur >= 0) {
        ctx.strokeStyle = cssVar("--lm-fg", "#1f2328");
        ctx.lineWidth = pin.pinned() >= 0 ? 1.5 : 1;
        ctx.beginPath();
        ctx.moveTo(xAt(cur), 0);
        ctx.lineTo(xAt(cur), SPARK_H);
        ctx.stroke();
      }
    }

    function paintText() {
      for (let i = 0; i < n; i++) {
        const s = strip.spans[i];
        if (mode === "one") {
          const v = fmax[sel] > 0 ? acts[sel][i] / fmax[sel] : 0;
          s.style.backgroundColor = factorColor(sel, v);
          s.title = `F${sel + 1}: ${formatSigned(acts[sel][i]).replace("+", "")} (${(v * 100).toFixed(0)}% of its maximum)`;
        } else {
          const [f, v] = dominant(acts, fmax, shown, i);
          s.style.backgroundColor = f >= 0 ? factorColor(f, v) : "transparent";
          s.title = f >= 0 ? `F${f + 1} fires most here (${(v * 100).toFixed(0)}% of its maximum)` : "";
        }
      }
    }

    function paintList() {
      for (let f = 0; f < F; f++) {
        labels[f].setAttribute("aria-selected", String(f === sel));
        labels[f].tabIndex = f === sel ? 0 : -1;
        for (const p of list.querySelectorAll(`[data-f="${f}"]`)) p.classList.toggle("lm-off", mode === "all" && !shown[f]);
      }
    }

    /**
     * Chips of the tokens one direction of a neuron writes (hover: the logit).
     * @param {import("../decode.js").Decoded} ids
     * @param {import("../decode.js").Decoded} logits
     * @param {number} r
     * @param {(id: number) => string} str
     */
    function writeChips(ids, logits, r, str) {
      const idRow = row(ids, r);
      const lgRow = row(logits, r);
      const cell = h("span", { className: "lm-nf-writes" });
      for (let j = 0; j < Math.min(WRITE_TOKENS, idRow.length); j++) {
        const c = chip(str(idRow[j]));
        c.title = `logit ${formatSigned(lgRow[j])} per unit of activation`;
        cell.appendChild(c);
      }
      return cell;
    }

    function showFactor() {
      const f = sel;
      facDetail.el.setAttribute("data-lm-factor", String(f));
      const swatch = h("span", { className: "lm-nf-swatch" });
      swatch.style.backgroundColor = factorColor(f, 1);
      facDetail.setTitle(swatch, `Factor ${f + 1} of ${F} · ${(share[f] * 100).toFixed(0)}% of the reconstruction`);
      peaks.textContent = "";
      peaks.append("fires most at: ");
      for (const p of topPositions(acts[f], TOP_TOKENS)) {
        const c = chip(tokLabels[p], "lm-peak");
        c.title = `position ${p}: ${formatSigned(acts[f][p]).replace("+", "")} — click to pin`;
        c.setAttribute("data-p", String(p));
        c.setAttribute("role", "button");
        c.tabIndex = 0;
        c.style.backgroundColor = factorColor(f, acts[f][p] / (fmax[f] || 1));
        peaks.appendChild(c);
      }
      table.textContent = "";
      const heads = ["#", "layer", "neuron", "loading", ...(writes ? ["promotes (when it fires)", "suppresses"] : [])];
      table.appendChild(h("thead", {}, [h("tr", {}, heads.map((s) => h("th", { text: s })))]));
      const body = h("tbody");
      const ld = row(d.loadings, f);
      const maxLoad = ld[0] || 1;
      for (let j = 0; j < t; j++) {
        const at = (f * t + j) * 3;
        const [layer, neuron, sign] = [d.neurons.data[at], d.neurons.data[at + 1], d.neurons.data[at + 2]];
        const pct = d.loadTotal[f] > 0 ? (100 * ld[j]) / d.loadTotal[f] : 0;
        const tr = h("tr", { className: "lm-neuron-row" }, [
          h("td", { text: String(j + 1) }),
          h("td", { text: String(layer) }),
          h("td", { text: `${neuron}${sign < 0 ? " (−)" : d.positive === "split" ? " (+)" : ""}` }),
          h("td", { className: "lm-nf-load" }, [probBar(ld[j] / maxLoad),
            h("span", { text: ` ${formatSigned(ld[j]).replace("+", "")} (${pct.toFixed(pct >= 1 ? 0 : 1)}%)` })]),
        ]);
        if (writes) {
          const r = row(writes.row, f)[j];
          // a negative part fires when the activation is negative: it writes −w, so the two swap
          const up = sign < 0 ? [writes.botIds, writes.botLogits] : [writes.topIds, writes.topLogits];
          const down = sign < 0 ? [writes.topIds, writes.topLogits] : [writes.botIds, writes.botLogits];
          tr.append(
            h("td", {}, [r >= 0 ? writeChips(up[0], up[1], r, writes.str) : "–"]),
            h("td", {}, [r >= 0 ? writeChips(down[0], down[1], r, writes.str) : "–"]),
          );
        }
        body.appendChild(tr);
      }
      table.appendChild(body);
      foot.textContent = writes
        ? `Promotes / suppresses: the tokens whose logits the neuron's output direction raises / lowers most (hover one for its logit per unit of activation)${d.positive === "abs" ? "; with positive='abs' a factor also holds negative activations, which swap the two" : ""}.`
        : "This model has no unembedding: what the neurons write cannot be decoded.";
    }

    /** @param {number} i @param {boolean} pinned */
    function showToken(i, pinned) {
      strip.mark(i, pinned);
      tokDetail.setPinned(pinned);
      tokDetail.el.setAttribute("data-lm-position", String(i));
      tokDetail.setTitle(`Position ${i}${d.generated[i] ? " (generated)" : ""}: `, chip(tokLabels[i]));
      bars.textContent = "";
      for (let f = 0; f < F; f++) {
        const v = fmax[f] > 0 ? acts[f][i] / fmax[f] : 0;
        const bar = probBar(v);
        /** @type {HTMLElement} */ (bar.firstChild).style.backgroundColor = factorColor(f, 1);
        bars.appendChild(h("span", {
          className: `lm-tok-factor${f === sel ? " lm-on" : ""}${mode === "all" && !shown[f] ? " lm-off" : ""}`,
          attrs: { "data-f": String(f) },
        }, [h("b", { text: `F${f + 1}` }), bar, h("span", { className: "lm-pct", text: `${(v * 100).toFixed(0)}%` })]));
      }
      if (d.total > n) bars.appendChild(h("span", { className: "lm-foot", text: `Showing ${formatInt(n)} of ${formatInt(d.total)} tokens.` }));
      for (let f = 0; f < F; f++) drawSpark(f);
    }

    function paint() {
      paintList();
      paintText();
      pin.redraw();
      for (let f = 0; f < F; f++) drawSpark(f);
    }

    /** @param {number} f */
    function select(f) {
      if (f < 0 || f >= F) return;
      sel = f;
      showFactor();
      paint();
    }

    // ---- events --------------------------------------------------------------------------------
    /** @param {EventTarget|null} tg */
    const factorAt = (tg) => {
      const e = tg instanceof Element ? tg.closest("[data-f]") : null;
      return e && list.contains(e) ? Number(e.getAttribute("data-f")) : -1;
    };
    listen.on(list, "click", (/** @type {MouseEvent} */ e) => {
      const f = factorAt(e.target);
      if (f < 0) return;
      if (e.target instanceof HTMLInputElement) {
        shown[f] = e.target.checked;
        paint();
      } else if (e.target instanceof HTMLCanvasElement) {
        select(f);
        pin.select(posAt(e, e.target));
      } else {
        select(f);
      }
    });
    listen.on(list, "mousemove", (/** @type {MouseEvent} */ e) => {
      if (e.target instanceof HTMLCanvasElement) pin.hover(posAt(e, e.target));
    });
    listen.on(list, "keydown", (/** @type {KeyboardEvent} */ e) => {
      const f = factorAt(e.target);
      if (f < 0 || e.target instanceof HTMLInputElement) return;
      if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        e.preventDefault();
        const g = Math.max(0, Math.min(F - 1, f + (e.key === "ArrowDown" ? 1 : -1)));
        select(g);
        labels[g].focus();
      } else if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        select(f);
      }
    });
    /** @param {Event} e */
    const onPeak = (e) => {
      const c = e.target instanceof Element ? e.target.closest(".lm-peak") : null;
      if (!c || (e instanceof KeyboardEvent && e.key !== "Enter" && e.key !== " ")) return;
      e.preventDefault();
      const p = Number(c.getAttribute("data-p"));
      pin.select(p);
      strip.spans[p].scrollIntoView({ block: "nearest" });
    };
    listen.on(peaks, "click", onPeak);
    listen.on(peaks, "keydown", onPeak);

    select(0);
    pin.hover(F > 0 ? topPositions(acts[0], 1)[0] ?? 0 : 0);
  });
}

module.exports = { render, VERSION, factorColor, dominant, topPositions, PALETTE };
