// @ts-check
"use strict";
/**
 * The neuron-factors view (ecco's explore(), and more): which groups of FFN neurons fire
 * together over the text, and what they write.
 *
 * - A list of factors, each with its colour, its share of the reconstruction, a sparkline of
 *   its activation over the positions and the tokens that fire it most. Clicking a factor (or
 *   ↑/↓ on the list) selects it; its checkbox shows or hides it in the "all factors" mode.
 *   Clicking a sparkline also pins the position under the pointer.
 * - The text, shaded by the selected factor ("one factor"), or with every shown factor at once
 *   ("all factors": each token in the colour of the factor that fires most there, relative to
 *   each factor's maximum). Hovering a token shows every factor's activation there; a click
 *   pins it (Escape or Unpin releases, ←/→ move), as in the other views.
 * - For the selected factor: its top neurons (layer, index, loading) and what each writes: the
 *   tokens its output direction promotes and suppresses (decoded through the final norm's scale
 *   and the unembedding).
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
const { formatInt, visibleToken } = require("../format.js");
const { h, guard } = require("../dom.js");

/** Highest spec version this module reads. */
const VERSION = 1;
/** Factor colours (Tableau 10, readable on light and dark backgrounds); cycled past 10. */
const PALETTE = /** @type {[number, number, number][]} */ ([
  [78, 121, 167], [242, 142, 43], [225, 87, 89], [118, 183, 178], [89, 161, 79],
  [237, 201, 72], [176, 122, 161], [255, 157, 167], [156, 117, 95], [186, 176, 172],
]);
/** Tokens listed per factor (that fire it most) and write tokens shown per direction. */
const TOP_TOKENS = 5;
const WRITE_TOKENS = 5;
/** Sparkline height (CSS px). */
const SPARK_H = 22;

/**
 * Colour of factor `f` at strength `t` in [0, 1] (translucent: text keeps the host colour).
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
 * Compact signed number: 1.234 → "+1.23", −0.0456 → "−0.0456".
 * @param {number} x
 * @returns {string}
 */
function signed(x) {
  if (typeof x !== "number" || Number.isNaN(x)) return "–";
  const s = Math.abs(x) >= 0.01 || x === 0 ? Number(x.toPrecision(3)).toString() : x.toExponential(1);
  return x > 0 ? `+${s}` : s.replace("-", "−");
}

/**
 * A token inside running text: newlines show as ↵ and still break the line; a token that holds
 * only the first bytes of a character (its display string is "") stays as a thin, hoverable gap.
 * @param {string} s
 * @returns {string}
 */
function inlineToken(s) {
  if (s === "") return "\u200b";
  return s.replace(/\r/g, "␍").replace(/\t/g, "⇥").replace(/\n/g, "↵\n");
}

/**
 * Positions of the `k` largest values of `a` (largest first, positive values only).
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
 * The token of each position in "all factors" mode: the shown factor with the largest
 * activation relative to its maximum, and that relative value.
 * @param {Float32Array[]} acts   per factor
 * @param {ArrayLike<number>} max per factor
 * @param {boolean[]} shown
 * @param {number} i
 * @returns {[number, number]} [factor or -1, strength]
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

// ---- the token strip (one function, so the shared ui/token_strip.js can replace it) -------

/**
 * @typedef {object} Strip
 * @property {HTMLElement} el
 * @property {HTMLElement[]} spans
 * @property {(i: number, pinned: boolean) => void} mark  show token `i` as the active one (-1: none)
 * @property {() => void} cleanup
 */

/**
 * The text as one span per token (`.lm-tok`), generated tokens marked, with hover, click-to-pin
 * and the keys of every lmlens view: ←/→ move, Enter / Space pin, Escape releases.
 * @param {{tokens: string[], generated: ArrayLike<number>, root: HTMLElement,
 *          onHover: (i: number) => void, onToggle: (i: number) => void, onMove: (i: number) => void,
 *          onEscape: () => void}} o
 * @returns {Strip}
 */
function tokenStrip(o) {
  const n = o.tokens.length;
  const el = h("div", { className: "lm-text", attrs: { role: "group", "aria-label": "tokens" } });
  /** @type {HTMLElement[]} */
  const spans = [];
  const frag = document.createDocumentFragment();
  for (let i = 0; i < n; i++) {
    const s = h("span", {
      className: o.generated[i] ? "lm-tok lm-gen" : "lm-tok",
      text: inlineToken(o.tokens[i]),
      attrs: { "data-i": String(i), tabindex: i === 0 ? "0" : "-1", role: "button" },
      style: o.tokens[i] === "" ? { display: "inline-block", minWidth: "4px" } : {},
    });
    spans.push(s);
    frag.appendChild(s);
  }
  el.appendChild(frag);
  let active = -1;
  /** @param {number} i @param {boolean} pinned */
  function mark(i, pinned) {
    if (active >= 0 && active < n) spans[active].classList.remove("lm-active", "lm-locked");
    active = i;
    if (i < 0 || i >= n) return;
    spans[i].classList.add("lm-active");
    spans[i].classList.toggle("lm-locked", pinned);
    for (const s of spans) if (s.tabIndex === 0 && s !== spans[i]) s.tabIndex = -1;
    spans[i].tabIndex = 0;
  }
  /** @param {EventTarget|null} t */
  function indexAt(t) {
    const s = t instanceof Element ? t.closest(".lm-tok") : null;
    return s && el.contains(s) ? Number(s.getAttribute("data-i")) : -1;
  }
  const onOver = guard(o.root, (/** @type {Event} */ e) => {
    const i = indexAt(e.target);
    if (i >= 0) o.onHover(i);
  });
  const onClick = guard(o.root, (/** @type {Event} */ e) => {
    const i = indexAt(e.target);
    if (i >= 0) o.onToggle(i);
  });
  const onFocus = guard(o.root, (/** @type {Event} */ e) => {
    const i = indexAt(e.target);
    if (i >= 0) o.onHover(i);
  });
  const onKey = guard(o.root, (/** @type {KeyboardEvent} */ e) => {
    const i = indexAt(e.target);
    if (e.key === "Escape") {
      o.onEscape();
    } else if (i >= 0 && (e.key === "Enter" || e.key === " ")) {
      e.preventDefault();
      o.onToggle(i);
    } else if (i >= 0 && (e.key === "ArrowRight" || e.key === "ArrowLeft")) {
      e.preventDefault();
      const j = Math.max(0, Math.min(n - 1, i + (e.key === "ArrowRight" ? 1 : -1)));
      o.onMove(j);
      spans[j].focus();
    }
  });
  /** @type {[string, EventListener][]} */
  const listeners = [["mouseover", onOver], ["click", onClick], ["focusin", onFocus], ["keydown", onKey]];
  for (const [type, fn] of listeners) el.addEventListener(type, fn);
  return {
    el,
    spans,
    mark,
    cleanup: () => {
      for (const [type, fn] of listeners) el.removeEventListener(type, fn);
    },
  };
}

// ---- the view ------------------------------------------------------------------------------

/**
 * @param {import("../model.js").Model} model
 * @param {string} key
 * @returns {import("../decode.js").Decoded}
 */
function arr(model, key) {
  const rec = model.get(key);
  if (!rec) throw new Error(`neuron_factors spec: missing "${key}"`);
  return decode(rec);
}

/**
 * @param {{model: import("../model.js").Model, el: HTMLElement}} ctx
 * @returns {() => void} cleanup
 */
function render({ model, el }) {
  /** @type {string[]} */
  const tokens = model.get("tokens");
  const n = tokens.length;
  const generated = arr(model, "generated").data;
  const A = arr(model, "activations");
  const F = A.shape[0];
  if (A.shape[1] !== n) throw new Error(`neuron_factors spec: activations are [${A.shape}] for ${n} tokens`);
  const acts = Array.from({ length: F }, (_, f) => /** @type {Float32Array} */ (row(A, f)));
  const fmax = arr(model, "factor_max").data;
  const share = arr(model, "factor_share").data;
  const neurons = arr(model, "neurons");
  const t = neurons.shape[1];
  if (neurons.shape[0] !== F || neurons.shape[2] !== 3) throw new Error(`neuron_factors spec: neurons are [${neurons.shape}], expected [${F}, t, 3]`);
  const loadings = arr(model, "loadings");
  const loadTotal = arr(model, "loading_total").data;
  const w = model.get("writes");
  const writes = w ? {
    row: decode(w.row), topIds: decode(w.top_ids), topLogits: decode(w.top_logits),
    botIds: decode(w.bottom_ids), botLogits: decode(w.bottom_logits),
  } : null;
  /** @type {Map<number, string>} */
  const vocab = new Map();
  if (model.get("vocab_ids")) {
    const ids = arr(model, "vocab_ids").data;
    /** @type {string[]} */
    const strs = model.get("vocab_strings") || [];
    ids.forEach((id, j) => vocab.set(id, strs[j]));
  }
  const positive = String(model.get("positive") || "clip");
  const total = model.get("n_positions") || n;
  /** @type {number[]} */
  const layers = model.get("layers") || [];
  /** @type {string[]} */
  const notices = model.get("notices") || [];

  // ---- layout ------------------------------------------------------------------------------
  const layerText = layers.length === 1 ? `block ${layers[0]}` : `${layers.length} blocks`;
  const rel = Number(model.get("relative_error"));
  const solved = model.get("transferred")
    ? "transferred factors"
    : `${model.get("converged") ? "converged" : "not converged"} (${model.get("n_iter")} it.)`;
  const meta = [model.get("model_name") || "", `${F} factors`, layerText,
    `${formatInt(model.get("n_neurons") || 0)} neuron columns`, `relative error ${(rel * 100).toFixed(1)}%`, solved];
  const head = h("div", { className: "lm-head" }, [
    h("span", { className: "lm-title", text: model.get("title") || "Neuron factors" }),
    h("span", { className: "lm-meta", text: meta.filter(Boolean).join(" · ") }),
  ]);
  const noticeBox = notices.length
    ? h("div", { className: "lm-notices", attrs: { role: "note" } }, notices.map((s) => h("p", { text: s })))
    : null;

  /** @type {HTMLButtonElement[]} */
  const modeButtons = ["one", "all"].map((key) => /** @type {HTMLButtonElement} */ (h("button", {
    className: "lm-unpin lm-choice",
    text: key === "one" ? "one factor" : "all factors",
    title: key === "one" ? "shade the text by the selected factor"
      : "colour each token by the shown factor that fires most there",
    attrs: { type: "button", "data-key": key, "aria-pressed": "false" },
    style: { marginRight: "4px" },
  })));
  const controls = h("div", {
    className: "lm-controls",
    style: { display: "flex", flexWrap: "wrap", gap: "6px 16px", alignItems: "center", margin: "0 0 8px" },
  }, [
    h("span", { attrs: { role: "group", "aria-label": "shade by" }, style: { whiteSpace: "nowrap" } }, [
      h("span", { text: "shade by ", style: { color: "var(--lm-muted)", fontSize: "12px" } }), ...modeButtons,
    ]),
    h("span", { text: "click a factor for its neurons · ↑/↓ move · the box shows or hides it", style: { color: "var(--lm-muted)", fontSize: "11px" } }),
  ]);

  // factor list: one row per factor
  const list = h("div", {
    className: "lm-factors", attrs: { role: "listbox", "aria-label": "factors" },
    style: { display: "grid", gridTemplateColumns: "auto auto minmax(120px, 1fr) minmax(0, 1.1fr)", gap: "2px 10px", alignItems: "center", margin: "0 0 8px" },
  });
  /** @type {HTMLElement[]} */
  const rowsEls = [];
  /** @type {HTMLInputElement[]} */
  const boxes = [];
  /** @type {HTMLCanvasElement[]} */
  const sparks = [];
  for (let f = 0; f < F; f++) {
    const box = /** @type {HTMLInputElement} */ (h("input", { attrs: { type: "checkbox", "aria-label": `show factor ${f + 1}`, "data-f": String(f) } }));
    box.checked = true;
    boxes.push(box);
    const label = h("span", {
      className: "lm-factor", attrs: { role: "option", tabindex: f === 0 ? "0" : "-1", "data-f": String(f), "aria-selected": "false" },
      style: { display: "inline-flex", alignItems: "center", gap: "6px", cursor: "pointer", whiteSpace: "nowrap", borderRadius: "4px", padding: "0 4px" },
    }, [
      h("span", { style: { display: "inline-block", width: "12px", height: "12px", borderRadius: "3px", background: factorColor(f, 1) } }),
      h("span", { text: `F${f + 1}`, style: { fontWeight: "600" } }),
      h("span", { text: `${(share[f] * 100).toFixed(0)}%`, title: "share of the reconstruction", style: { color: "var(--lm-muted)", fontSize: "11px" } }),
    ]);
    const spark = /** @type {HTMLCanvasElement} */ (h("canvas", {
      attrs: { "data-f": String(f), role: "img", "aria-label": `factor ${f + 1} over the positions` },
      style: { display: "block", width: "100%", height: `${SPARK_H}px`, cursor: "pointer" },
    }));
    sparks.push(spark);
    const peaks = h("span", { style: { overflow: "hidden", whiteSpace: "nowrap", textOverflow: "ellipsis", minWidth: "0" } },
      topPositions(acts[f], 3).map((p) => h("span", { className: "lm-chip", text: visibleToken(tokens[p]), style: { marginRight: "3px" } })));
    const parts = [h("span", {}, [box]), label, spark, peaks];
    for (const p of parts) p.setAttribute("data-f", String(f));
    rowsEls.push(label);
    list.append(...parts);
  }

  const strip = tokenStrip({
    tokens, generated, root: el,
    onHover: (i) => { if (pinned < 0) showToken(i); },
    onToggle: (i) => { if (pinned === i) release(); else pin(i); },
    onMove: (i) => { if (pinned >= 0) pin(i); else showToken(i); },
    onEscape: () => release(),
  });

  const tokTitle = h("span", { className: "lm-detail-title" });
  const status = h("span", { className: "lm-status", text: "hover a token · click to pin" });
  const unpin = h("button", { className: "lm-unpin", text: "Unpin", attrs: { type: "button" } });
  unpin.hidden = true;
  const tokBars = h("div", { style: { display: "flex", flexWrap: "wrap", gap: "2px 12px" } });
  const tokDetail = h("div", { className: "lm-detail lm-token-detail", attrs: { "aria-live": "polite" } }, [
    h("div", { className: "lm-detail-head" }, [tokTitle, status, unpin]), tokBars,
  ]);

  const facTitle = h("span", { className: "lm-detail-title" });
  const facPeaks = h("div", { className: "lm-self" });
  const table = h("table", { className: "lm-neurons", style: { borderCollapse: "collapse", width: "100%", fontSize: "12px", tableLayout: "fixed" } });
  const facNote = h("div", { className: "lm-foot" });
  const facDetail = h("div", { className: "lm-detail lm-factor-detail" }, [
    h("div", { className: "lm-detail-head" }, [facTitle]), facPeaks, table, facNote,
  ]);

  const view = h("div", { className: "lm-view lm-neuron-factors" }, [head, noticeBox, controls, list, strip.el, tokDetail, facDetail]);
  el.appendChild(view);

  // ---- state -------------------------------------------------------------------------------
  let sel = 0;
  /** @type {"one"|"all"} */
  let mode = "one";
  const shown = boxes.map(() => true);
  let pinned = -1;
  let cur = -1;

  function paintText() {
    for (let i = 0; i < n; i++) {
      const s = strip.spans[i];
      if (mode === "one") {
        const v = fmax[sel] > 0 ? acts[sel][i] / fmax[sel] : 0;
        s.style.backgroundColor = factorColor(sel, v);
        s.title = `F${sel + 1}: ${signed(acts[sel][i]).replace("+", "")} (${(v * 100).toFixed(0)}% of its maximum)`;
      } else {
        const [f, v] = dominant(acts, fmax, shown, i);
        s.style.backgroundColor = f >= 0 ? factorColor(f, v) : "transparent";
        s.title = f >= 0 ? `F${f + 1} fires most here (${(v * 100).toFixed(0)}% of its maximum)` : "";
      }
    }
  }

  /**
   * @param {string} name
   * @param {string} dflt
   */
  function cssVar(name, dflt) {
    return getComputedStyle(view).getPropertyValue(name).trim() || dflt;
  }

  /** @param {number} f */
  function drawSpark(f) {
    const c = sparks[f];
    const W = Math.max(60, Math.round(c.getBoundingClientRect().width) || 240);
    const dpr = Math.min(2, window.devicePixelRatio || 1);
    if (c.width !== Math.round(W * dpr)) {
      c.width = Math.round(W * dpr);
      c.height = Math.round(SPARK_H * dpr);
    }
    const ctx = c.getContext("2d");
    if (!ctx) return;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, SPARK_H);
    const col = PALETTE[f % PALETTE.length];
    const on = mode === "one" ? f === sel : shown[f];
    const m = fmax[f] > 0 ? fmax[f] : 1;
    const x = (/** @type {number} */ i) => (n <= 1 ? W / 2 : (i / (n - 1)) * (W - 2) + 1);
    const y = (/** @type {number} */ v) => SPARK_H - 2 - (v / m) * (SPARK_H - 4);
    ctx.beginPath();
    ctx.moveTo(x(0), SPARK_H - 2);
    for (let i = 0; i < n; i++) ctx.lineTo(x(i), y(acts[f][i]));
    ctx.lineTo(x(n - 1), SPARK_H - 2);
    ctx.closePath();
    ctx.fillStyle = css([col[0], col[1], col[2], on ? 0.35 : 0.12]);
    ctx.fill();
    ctx.beginPath();
    for (let i = 0; i < n; i++) (i ? ctx.lineTo : ctx.moveTo).call(ctx, x(i), y(acts[f][i]));
    ctx.strokeStyle = css([col[0], col[1], col[2], on ? 1 : 0.35]);
    ctx.lineWidth = 1.2;
    ctx.stroke();
    if (cur >= 0) {
      ctx.strokeStyle = cssVar("--lm-fg", "#1f2328");
      ctx.lineWidth = pinned >= 0 ? 1.5 : 1;
      ctx.beginPath();
      ctx.moveTo(x(cur), 0);
      ctx.lineTo(x(cur), SPARK_H);
      ctx.stroke();
    }
  }
  function drawSparks() {
    for (let f = 0; f < F; f++) drawSpark(f);
  }

  function paintList() {
    for (let f = 0; f < F; f++) {
      const on = f === sel;
      rowsEls[f].setAttribute("aria-selected", String(on));
      rowsEls[f].style.boxShadow = on ? "0 0 0 1.5px var(--lm-fg)" : "";
      rowsEls[f].style.opacity = mode === "all" && !shown[f] ? "0.45" : "";
    }
    modeButtons.forEach((b) => {
      const active = b.getAttribute("data-key") === mode;
      b.setAttribute("aria-pressed", String(active));
      b.style.background = active ? "var(--lm-accent)" : "transparent";
      b.style.color = active ? "var(--lm-surface-fg, #fff)" : "var(--lm-accent)";
    });
  }

  /**
   * Chips of the write tokens of one direction.
   * @param {import("../decode.js").Decoded} ids
   * @param {import("../decode.js").Decoded} logits
   * @param {number} r
   * @returns {HTMLElement}
   */
  function writeChips(ids, logits, r) {
    const idRow = row(ids, r);
    const lgRow = row(logits, r);
    const cell = h("span", { style: { display: "flex", flexWrap: "wrap", gap: "2px 4px" } });
    for (let j = 0; j < Math.min(WRITE_TOKENS, idRow.length); j++) {
      const tok = visibleToken(vocab.get(idRow[j]) ?? `#${idRow[j]}`);
      cell.appendChild(h("span", {
        className: "lm-chip", text: tok,
        title: `${JSON.stringify(tok)}: logit ${signed(lgRow[j])} per unit of activation`,
        style: { maxWidth: "8em" },
      }));
    }
    return cell;
  }

  function showFactor() {
    const f = sel;
    facDetail.setAttribute("data-lm-factor", String(f));
    facTitle.textContent = "";
    facTitle.append(
      h("span", { style: { display: "inline-block", width: "10px", height: "10px", borderRadius: "3px", marginRight: "6px", background: factorColor(f, 1) } }),
      `Factor ${f + 1} of ${F} · ${(share[f] * 100).toFixed(0)}% of the reconstruction`,
    );
    facPeaks.textContent = "";
    facPeaks.append("fires most at: ");
    for (const p of topPositions(acts[f], TOP_TOKENS)) {
      const chip = h("span", {
        className: "lm-chip lm-peak", text: visibleToken(tokens[p]),
        title: `position ${p}: ${signed(acts[f][p]).replace("+", "")} — click to pin`,
        attrs: { "data-p": String(p), role: "button", tabindex: "0" },
        style: { cursor: "pointer", marginRight: "4px", backgroundColor: factorColor(f, acts[f][p] / (fmax[f] || 1)) },
      });
      facPeaks.appendChild(chip);
    }
    table.textContent = "";
    const split = positive === "split";
    const heads = ["#", "layer", "neuron", "loading", ...(writes ? ["promotes (when it fires)", "suppresses"] : [])];
    const widths = ["2em", "3.5em", "5.5em", "13.5em"];
    table.appendChild(h("colgroup", {}, heads.map((_, j) => h("col", { style: j < widths.length ? { width: widths[j] } : {} }))));
    const headRow = h("tr", {}, heads
      .map((s) => h("th", { text: s, style: { textAlign: "left", padding: "1px 6px", color: "var(--lm-muted)", fontWeight: "500" } })));
    table.appendChild(h("thead", {}, [headRow]));
    const body = h("tbody");
    const ld = row(loadings, f);
    const maxLoad = ld.length ? ld[0] || 1 : 1;
    for (let j = 0; j < t; j++) {
      const at = (f * t + j) * 3;
      const [layer, neuron, sign] = [neurons.data[at], neurons.data[at + 1], neurons.data[at + 2]];
      const pct = loadTotal[f] > 0 ? (100 * ld[j]) / loadTotal[f] : 0;
      const bar = h("span", { className: "lm-bar", style: { display: "inline-block", width: "48px", verticalAlign: "middle", marginRight: "6px" } }, [
        h("span", { style: { width: `${Math.max(1, (100 * ld[j]) / maxLoad)}%` } }),
      ]);
      /** @type {(HTMLElement|string)[]} */
      const cells = [
        String(j + 1), String(layer),
        `${neuron}${sign < 0 ? " (−)" : split ? " (+)" : ""}`,
      ];
      const tr = h("tr", { className: "lm-neuron-row" });
      for (const c of cells) tr.appendChild(h("td", { text: String(c), style: { padding: "1px 6px", fontVariantNumeric: "tabular-nums" } }));
      tr.appendChild(h("td", { style: { padding: "1px 6px", whiteSpace: "nowrap" } }, [bar, h("span", { text: `${signed(ld[j]).replace("+", "")} (${pct.toFixed(pct >= 1 ? 0 : 1)}%)`, style: { fontVariantNumeric: "tabular-nums" } })]));
      if (writes) {
        const r = row(writes.row, f)[j];
        if (r >= 0) {
          // a negative part fires when the activation is negative: it writes −w, so the roles swap
          const up = sign < 0 ? writeChips(writes.botIds, writes.botLogits, r) : writeChips(writes.topIds, writes.topLogits, r);
          const down = sign < 0 ? writeChips(writes.topIds, writes.topLogits, r) : writeChips(writes.botIds, writes.botLogits, r);
          tr.append(h("td", { style: { padding: "1px 6px" } }, [up]), h("td", { style: { padding: "1px 6px" } }, [down]));
        } else {
          tr.append(h("td", { text: "–" }), h("td", { text: "–" }));
        }
      }
      body.appendChild(tr);
    }
    table.appendChild(body);
    facNote.textContent = writes
      ? `Promotes / suppresses: the tokens whose logits the neuron's output direction raises / lowers most (hover one for its logit per unit of activation)${positive === "abs" ? "; with positive='abs' a factor also holds negative activations, which swap the two" : ""}.`
      : "This model has no unembedding: what the neurons write cannot be decoded.";
  }

  /** @param {number} i */
  function showToken(i) {
    if (i < 0 || i >= n) return;
    cur = i;
    strip.mark(i, pinned >= 0);
    tokDetail.setAttribute("data-lm-position", String(i));
    tokDetail.classList.toggle("lm-is-locked", pinned >= 0);
    unpin.hidden = pinned < 0;
    status.hidden = pinned >= 0;
    tokTitle.textContent = "";
    tokTitle.append(`Position ${i}${generated[i] ? " (generated)" : ""}: `, h("span", { className: "lm-chip", text: visibleToken(tokens[i]) }));
    tokBars.textContent = "";
    for (let f = 0; f < F; f++) {
      const v = fmax[f] > 0 ? acts[f][i] / fmax[f] : 0;
      tokBars.appendChild(h("span", { className: "lm-tok-factor", attrs: { "data-f": String(f) }, style: { whiteSpace: "nowrap", opacity: mode === "all" && !shown[f] ? "0.45" : "" } }, [
        h("span", { text: `F${f + 1} `, style: { fontWeight: f === sel ? "700" : "400" } }),
        h("span", { className: "lm-bar", style: { display: "inline-block", width: "40px", verticalAlign: "middle" } }, [
          h("span", { style: { width: `${Math.max(0, Math.min(100, v * 100))}%`, background: factorColor(f, 1) } }),
        ]),
        h("span", { text: ` ${(v * 100).toFixed(0)}%`, style: { fontVariantNumeric: "tabular-nums", color: "var(--lm-muted)" } }),
      ]));
    }
    if (total > n) tokBars.appendChild(h("span", { className: "lm-foot", text: `Showing ${formatInt(n)} of ${formatInt(total)} tokens.` }));
    drawSparks();
  }

  /** @param {number} i */
  function pin(i) {
    pinned = i;
    showToken(i);
  }
  function release() {
    if (pinned < 0) return;
    const i = pinned;
    pinned = -1;
    showToken(i);
  }

  /** @param {number} f */
  function select(f) {
    if (f < 0 || f >= F) return;
    sel = f;
    for (const r of rowsEls) r.tabIndex = -1;
    rowsEls[f].tabIndex = 0;
    paintList();
    paintText();
    showFactor();
    drawSparks();
    if (cur >= 0) showToken(cur);
  }

  // ---- events ------------------------------------------------------------------------------
  /** @param {EventTarget|null} tg */
  const factorAt = (tg) => {
    const e = tg instanceof Element ? tg.closest("[data-f]") : null;
    return e && list.contains(e) ? Number(e.getAttribute("data-f")) : -1;
  };
  const onListClick = guard(el, (/** @type {MouseEvent} */ e) => {
    const f = factorAt(e.target);
    if (f < 0) return;
    if (e.target instanceof HTMLInputElement) {
      shown[f] = e.target.checked;
      if (mode === "one" && shown[f]) select(f);
      paintList();
      paintText();
      drawSparks();
      if (cur >= 0) showToken(cur);
      return;
    }
    if (e.target instanceof HTMLCanvasElement) {
      const r = e.target.getBoundingClientRect();
      const p = Math.round(((e.clientX - r.left - 1) / Math.max(1, r.width - 2)) * (n - 1));
      select(f);
      pin(Math.max(0, Math.min(n - 1, p)));
      return;
    }
    select(f);
  });
  const onListMove = guard(el, (/** @type {MouseEvent} */ e) => {
    if (!(e.target instanceof HTMLCanvasElement) || pinned >= 0) return;
    const r = e.target.getBoundingClientRect();
    showToken(Math.max(0, Math.min(n - 1, Math.round(((e.clientX - r.left - 1) / Math.max(1, r.width - 2)) * (n - 1)))));
  });
  const onListKey = guard(el, (/** @type {KeyboardEvent} */ e) => {
    const f = factorAt(e.target);
    if (f < 0 || e.target instanceof HTMLInputElement) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      const g = Math.max(0, Math.min(F - 1, f + (e.key === "ArrowDown" ? 1 : -1)));
      select(g);
      rowsEls[g].focus();
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      select(f);
    } else if (e.key === "Escape") {
      release();
    }
  });
  const onMode = guard(el, (/** @type {Event} */ e) => {
    const b = e.currentTarget instanceof Element ? e.currentTarget : null;
    if (!b) return;
    mode = b.getAttribute("data-key") === "all" ? "all" : "one";
    paintList();
    paintText();
    drawSparks();
    if (cur >= 0) showToken(cur);
  });
  const onPeak = guard(el, (/** @type {Event} */ e) => {
    const c = e.target instanceof Element ? e.target.closest(".lm-peak") : null;
    if (!c) return;
    if (e instanceof KeyboardEvent && e.key !== "Enter" && e.key !== " ") return;
    e.preventDefault();
    pin(Number(c.getAttribute("data-p")));
    strip.spans[pinned].scrollIntoView({ block: "nearest" });
  });
  const onUnpin = guard(el, () => release());
  const onResize = guard(el, () => drawSparks());

  /** @type {[EventTarget, string, EventListener][]} what cleanup unhooks */
  const listeners = [
    [list, "click", onListClick],
    [list, "mousemove", onListMove],
    [list, "keydown", onListKey],
    [facPeaks, "click", onPeak],
    [facPeaks, "keydown", onPeak],
    [unpin, "click", onUnpin],
    [window, "resize", onResize],
    ...modeButtons.map((b) => /** @type {[EventTarget, string, EventListener]} */ ([b, "click", onMode])),
  ];
  for (const [target, type, fn] of listeners) target.addEventListener(type, fn);

  select(0);
  showToken(F > 0 ? topPositions(acts[0], 1)[0] ?? 0 : 0);

  return () => {
    for (const [target, type, fn] of listeners) target.removeEventListener(type, fn);
    strip.cleanup();
    view.remove();
  };
}

module.exports = { render, VERSION, factorColor, dominant, topPositions, signed, PALETTE };
